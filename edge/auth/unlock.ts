/**
 * The `auth.unlock_link` job: the right password arrived from a source that may not sign in
 * (see supabase/migrations/20261122000500_authentication.sql), so the account's owner gets a
 * link that makes their browser a known device. The token is made here, stored only hashed,
 * and exists in clear only in the e-mail. The link opens the PWA's `/unlock` page with the
 * token in the fragment (never sent to a server or a Referer), which POSTs it to
 * `/api/auth/unlock`: a mail scanner that follows links cannot use it up.
 */
import type { Transport } from "../notify/transport.ts";
import { type Job, type JobContext, PermanentJobError, uuidField } from "../jobs/job.ts";
import { authLimits } from "./limits.ts";
import { newOpaqueToken, sha256Hex } from "./opaque.ts";

export async function sendUnlockLink(
  job: Job,
  ctx: JobContext,
  email: Transport | undefined,
): Promise<void> {
  const userId = uuidField(job.payload, "user_id");
  const { url } = job.payload;
  if (typeof url !== "string" || !URL.canParse(url)) {
    throw new PermanentJobError("payload.url must be an absolute URL");
  }
  if (!email) throw new PermanentJobError("no e-mail transport configured");
  const token = newOpaqueToken();
  const { ttlSeconds } = authLimits.lockout.unlockLink;
  const [row] = await ctx.sql`
    select private.login_unlock_issue(${userId}, ${await sha256Hex(token)}, ${ttlSeconds}) as to`;
  if (!row?.to) return; // the account is gone
  const [suppressed] = await ctx.sql`select private.email_suppression(${row.to}) as reason`;
  if (suppressed.reason) {
    throw new PermanentJobError(`address suppressed after a ${suppressed.reason}`);
  }
  const minutes = ttlSeconds / 60;
  await email.send({
    channel: "email",
    to: row.to,
    subject: "Unlock sign-in to your clinic account",
    text: "Someone signed in to your clinic account with the right password from a browser " +
      "we did not let in, after repeated failed attempts on the account.\n\n" +
      "If that was you, open this link in the browser you sign in with, then sign in " +
      `again (the link works once, within ${minutes} minutes):\n\n` +
      `${url}/unlock#${token}\n\n` +
      "If it was not you, someone knows your password: tell your clinic so it is changed.",
    idempotencyKey: `auth.unlock_link:${job.id}`,
  });
}
