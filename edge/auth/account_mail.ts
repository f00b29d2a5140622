/**
 * Account e-mails — a password reset, an address to verify or to change to, a sign-in unlock
 * link, a staff invitation — all go this one way: a job (`auth.account_email`, `auth.unlock_link`) makes the token,
 * the database stores only its hash and renders the text from the account kinds'
 * notification templates in the account's language (private.account_mail), and the e-mail
 * transport sends it (SMTP when configured; the recording transport in development and tests).
 * The token exists in clear only in the e-mail. The link opens a PWA page with the token in the
 * fragment (never sent to a server or a Referer), which POSTs it: a mail scanner that follows
 * links cannot use it up. No account for the address (a reset asked for an unknown e-mail): no
 * mail, and the job is done — the request that queued it could not tell.
 */
import type { Transport } from "../notify/transport.ts";
import { type Job, type JobContext, PermanentJobError, uuidField } from "../jobs/job.ts";
import { authLimits } from "./limits.ts";
import { newOpaqueToken, sha256Hex } from "./opaque.ts";

export type AccountMail = keyof typeof authLimits.accountLinks;

/** The PWA page each link opens (web/src/app). */
export const accountLinkPage: Record<AccountMail, string> = {
  password_reset: "reset-password",
  email_verify: "confirm-email",
  email_change: "confirm-email",
  login_unlock: "unlock",
  staff_invite: "accept-invite",
};

function isAccountMail(value: unknown): value is AccountMail {
  return typeof value === "string" && Object.hasOwn(accountLinkPage, value);
}

function htmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

interface Rendered {
  to: string;
  language: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends one account e-mail of `purpose` as the job's payload describes it. */
export async function sendAccountEmail(
  purpose: unknown,
  job: Job,
  ctx: JobContext,
  email: Transport | undefined,
): Promise<void> {
  if (!isAccountMail(purpose)) {
    throw new PermanentJobError(`payload.purpose must be one of ${Object.keys(accountLinkPage)}`);
  }
  const { url } = job.payload;
  if (typeof url !== "string" || !URL.canParse(url)) {
    throw new PermanentJobError("payload.url must be an absolute URL");
  }
  const address = job.payload.email;
  if (address !== undefined && typeof address !== "string") {
    throw new PermanentJobError("payload.email must be a string");
  }
  const invitation = purpose === "staff_invite" ? uuidField(job.payload, "invitation_id") : null;
  const user = purpose === "password_reset" || invitation
    ? null
    : uuidField(job.payload, "user_id");
  if (!email) throw new PermanentJobError("no e-mail transport configured");
  const token = newOpaqueToken();
  const tokenHash = await sha256Hex(token);
  const { ttlSeconds } = authLimits.accountLinks[purpose];
  // An invitation's lifetime was set when it was made (api.invite_staff).
  const [row] = invitation
    ? await ctx.sql`select private.invitation_mail(${invitation}, ${tokenHash}) as mail`
    : await ctx.sql`
    select private.account_mail(${purpose}, ${user}, ${address ?? null},
      ${tokenHash}, ${ttlSeconds}) as mail`;
  const mail = row?.mail as Rendered | null;
  if (!mail) return;
  const [suppressed] = await ctx.sql`select private.email_suppression(${mail.to}) as reason`;
  if (suppressed.reason) {
    throw new PermanentJobError(`address suppressed after a ${suppressed.reason}`);
  }
  const link = `${url.replace(/\/+$/, "")}/${accountLinkPage[purpose]}#${token}`;
  await email.send({
    channel: "email",
    to: mail.to,
    subject: mail.subject,
    text: mail.text.replaceAll("{{link}}", link),
    html: mail.html.replaceAll("{{link}}", htmlEscape(link)),
    language: mail.language,
    kind: purpose,
    idempotencyKey: `${job.kind}:${job.id}`,
  });
}
