/**
 * Webhook settings, read by the API (inbound verification, endpoint admin) and the job worker
 * (outbound delivery): provider secrets per source (and per clinic where a provider account
 * is per clinic), and outbound delivery settings. Lists are comma-separated, newest first
 * (rotation).
 */
import { byPrefix, type Env, int, list, url } from "./env.ts";

export interface WebhookConfig {
  /** `STRIPE_WEBHOOK_SECRETS`: endpoint secrets of the platform's Stripe endpoint. */
  stripeSecrets: string[];
  /** `STRIPE_WEBHOOK_SECRETS_<CLINIC_CODE>` (`-` written `_`): per-clinic Stripe accounts. */
  stripeClinicSecrets: Record<string, string[]>;
  /** `TWILIO_AUTH_TOKEN`: primary then secondary auth token. */
  twilioAuthTokens: string[];
  /** `TWILIO_AUTH_TOKEN_<CLINIC_CODE>`: per-clinic Twilio (sub)accounts. */
  twilioClinicAuthTokens: Record<string, string[]>;
  /** `TWILIO_WEBHOOK_URL`: the public URL Twilio calls for `POST /api/webhooks/twilio`. */
  twilioWebhookUrl?: string;
  /** `STANDARD_WEBHOOK_SECRETS_<SOURCE>` (`whsec_…`), by lower-case source (`_` written `-`). */
  standardSecrets: Record<string, string[]>;
  /** `WEBHOOK_ALLOW_HOSTS`: outbound SSRF allow-list (hosts, IPs, CIDRs) for tests and on-prem. */
  allowHosts: string[];
  /** `WEBHOOK_DELIVERY_TIMEOUT_MS`: deadline of one outbound attempt. */
  deliveryTimeoutMs: number;
  /** `WEBHOOK_DISABLE_AFTER_HOURS`: an endpoint failing this long is disabled. */
  disableAfterHours: number;
  /** `WEBHOOK_ROTATION_GRACE_HOURS`: how long a rotated-out secret still signs. */
  rotationGraceHours: number;
  /** Clock for the ±5 min signature timestamp window (tests replaying fixed vectors). */
  now?: () => Date;
}

/** The variables {@linkcode loadWebhookConfig} reads (`<…>`: any suffix). */
export const webhookVariables = [
  "STRIPE_WEBHOOK_SECRETS",
  "STRIPE_WEBHOOK_SECRETS_<CODE>",
  "TWILIO_AUTH_TOKEN",
  "TWILIO_AUTH_TOKEN_<CODE>",
  "TWILIO_WEBHOOK_URL",
  "STANDARD_WEBHOOK_SECRETS_<SOURCE>",
  "WEBHOOK_ALLOW_HOSTS",
  "WEBHOOK_DELIVERY_TIMEOUT_MS",
  "WEBHOOK_DISABLE_AFTER_HOURS",
  "WEBHOOK_ROTATION_GRACE_HOURS",
] as const;

const keyed = (secrets: Record<string, string[]>, key: (suffix: string) => string) =>
  Object.fromEntries(Object.entries(secrets).map(([suffix, list]) => [key(suffix), list]));

const clinicCode = (suffix: string) => suffix.toUpperCase().replaceAll("_", "-");

/** Reads {@linkcode WebhookConfig} from the environment. */
export function loadWebhookConfig(env: Env): WebhookConfig {
  const standardSecrets = keyed(
    byPrefix(env, "STANDARD_WEBHOOK_SECRETS_"),
    (suffix) => suffix.toLowerCase().replaceAll("_", "-"),
  );
  for (const [source, secrets] of Object.entries(standardSecrets)) {
    if (secrets.some((s) => !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s))) {
      throw new Error(`STANDARD_WEBHOOK_SECRETS for '${source}' must be whsec_<base64> secrets`);
    }
  }
  return {
    stripeSecrets: list(env, "STRIPE_WEBHOOK_SECRETS"),
    stripeClinicSecrets: keyed(byPrefix(env, "STRIPE_WEBHOOK_SECRETS_"), clinicCode),
    twilioAuthTokens: list(env, "TWILIO_AUTH_TOKEN"),
    twilioClinicAuthTokens: keyed(byPrefix(env, "TWILIO_AUTH_TOKEN_"), clinicCode),
    twilioWebhookUrl: url(env, "TWILIO_WEBHOOK_URL", ["http:", "https:"]),
    standardSecrets,
    allowHosts: list(env, "WEBHOOK_ALLOW_HOSTS"),
    deliveryTimeoutMs: int(env, "WEBHOOK_DELIVERY_TIMEOUT_MS", 10_000),
    disableAfterHours: int(env, "WEBHOOK_DISABLE_AFTER_HOURS", 5 * 24),
    rotationGraceHours: int(env, "WEBHOOK_ROTATION_GRACE_HOURS", 24),
  };
}
