/**
 * E-mail over SMTP, read by the processes that send (the job worker, `deno task start`):
 * `SMTP_URL` turns the SMTP transport on, `EMAIL_FROM` is the sender. Every e-mail to a patient
 * carries a one-click unsubscribe link (RFC 8058), so sending also needs where users reach the
 * service (`PUBLIC_URL`) and the secret the links are signed with (`JWT_SECRET`).
 */
import { type Env, text, url } from "./env.ts";

export interface EmailConfig {
  /** `SMTP_URL`: `smtps://user:pass@host:465` (TLS), or `smtp://…:587` (STARTTLS required). */
  smtpUrl: string;
  /** `EMAIL_FROM`: the sender, `Clinic <no-reply@clinic.example>` or a bare address. */
  from: string;
  /** The sender's domain: the right-hand side of every Message-ID. */
  senderDomain: string;
  /** `EMAIL_UNSUBSCRIBE_MAILTO`: an address that also takes unsubscribe requests (optional). */
  unsubscribeMailto?: string;
  /** `PUBLIC_URL` without a trailing slash: the base of unsubscribe links. */
  publicUrl: string;
  /** `JWT_SECRET`: the service secret the unsubscribe links' key is derived from. */
  linkSecret: string;
}

/** The variables {@linkcode loadEmailConfig} reads itself. */
export const emailVariables = ["SMTP_URL", "EMAIL_FROM", "EMAIL_UNSUBSCRIBE_MAILTO"] as const;

const ADDRESS = /^[^@\s<>"]+@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/** The address of `Name <a@b>` or `a@b`, with its domain; null when there is none. */
export function senderAddress(from: string): { address: string; domain: string } | null {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from.trim();
  const domain = ADDRESS.exec(address)?.[1];
  return domain ? { address, domain: domain.toLowerCase() } : null;
}

/**
 * The e-mail settings, `undefined` without `SMTP_URL`. `link` gives the unsubscribe links'
 * base and secret as the process knows them; a missing one is an error naming the variable.
 */
export function loadEmailConfig(
  env: Env,
  link: () => { publicUrl?: string; secret?: string },
): EmailConfig | undefined {
  const smtpUrl = url(env, "SMTP_URL", ["smtp:", "smtps:"]);
  if (!smtpUrl) return undefined;
  if (!URL.parse(smtpUrl)?.hostname) throw new Error("SMTP_URL must name a host");
  const from = text(env, "EMAIL_FROM");
  if (!from) throw new Error("EMAIL_FROM is required with SMTP_URL");
  const sender = senderAddress(from);
  if (!sender) throw new Error("EMAIL_FROM must be an address, e.g. Clinic <no-reply@example.com>");
  const mailto = text(env, "EMAIL_UNSUBSCRIBE_MAILTO");
  if (mailto !== undefined && !ADDRESS.test(mailto)) {
    throw new Error("EMAIL_UNSUBSCRIBE_MAILTO must be an e-mail address");
  }
  const { publicUrl, secret } = link();
  if (!publicUrl) throw new Error("PUBLIC_URL is required with SMTP_URL (unsubscribe links)");
  if (!secret) throw new Error("JWT_SECRET is required with SMTP_URL (it signs unsubscribe links)");
  return {
    smtpUrl,
    from,
    senderDomain: sender.domain,
    unsubscribeMailto: mailto,
    publicUrl: publicUrl.replace(/\/+$/, ""),
    linkSecret: secret,
  };
}
