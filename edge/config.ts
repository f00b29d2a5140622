/**
 * Configuration from the environment (see README "Environment"). Production refuses to start
 * with a missing or weak secret.
 */
import { parseTrustedProxies, type TrustedProxies } from "./net/client_address.ts";

export type AppEnvName = "development" | "test" | "production";

export interface Config {
  env: AppEnvName;
  port: number;
  databaseUrl?: string;
  /**
   * `DATABASE_SOCKET`: a Unix socket of `databaseUrl`'s server (`…/.s.PGSQL.<port>`), used
   * instead of its host and port. The embedded cluster's is used without it.
   */
  databaseSocket?: string;
  /**
   * Connections of the API's postgres pool (`DATABASE_POOL_SIZE`), by default
   * {@linkcode defaultPoolSize}.
   */
  databasePoolSize: number;
  /** HS256 secret for our access tokens (Supabase's JWT secret on Supabase). */
  jwtSecret: string;
  jwtIssuer: string;
  /** Access token lifetime, seconds. */
  accessTokenTtl: number;
  /** Refresh token lifetime, seconds. */
  refreshTokenTtl: number;
  /** PBKDF2-SHA256 iterations for new password hashes. */
  passwordIterations: number;
  /**
   * `TRUSTED_PROXIES`: IPs and CIDRs of the reverse proxies in front of the API; behind one,
   * the client's address (rate limits, security log) comes from `X-Forwarded-For`.
   */
  trustedProxies: TrustedProxies;
  /** Origins allowed by CORS besides our own. */
  corsOrigins: string[];
  /**
   * `PUBLIC_URL`: where users reach the service, for links in e-mails (sign-in unlock links).
   * Outside production it defaults to `http://localhost:<port>`; production without it sends
   * no such links (a request's own Host header must never choose where a secret link points).
   */
  publicUrl?: string;
  /** External identity provider (e.g. Clerk): JWKS URL, issuer and audience. */
  jwksUrl?: string;
  jwksIssuer?: string;
  jwksAudience?: string;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Largest accepted provider webhook body, bytes (providers' events can be larger). */
  webhookBodyLimit: number;
  /** Per-request time budget, milliseconds. */
  requestTimeoutMs: number;
  /**
   * `REALTIME_MAX_SOCKETS_PER_ADDRESS`: open realtime sockets per client address (unset:
   * the realtime server's default).
   */
  realtimeMaxSocketsPerAddress?: number;
  /** Inbound provider secrets and outbound delivery settings (see {@linkcode WebhookConfig}). */
  webhooks?: WebhookConfig;
}

/**
 * Webhooks: provider secrets per source (and per clinic where a provider account is per
 * clinic), and outbound delivery settings. Lists are comma-separated, newest first (rotation).
 */
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

const list = (value: string | undefined): string[] =>
  (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);

/** Reads {@linkcode WebhookConfig} from the environment. */
export function loadWebhookConfig(
  env: Record<string, string | undefined>,
  int: (key: string, fallback: number) => number = (key, fallback) => {
    const n = Number(env[key] ?? fallback);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a whole number`);
    return n;
  },
): WebhookConfig {
  const byPrefix = (prefix: string, key: (rest: string) => string) => {
    const out: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(env)) {
      if (!name.startsWith(prefix) || name.length === prefix.length) continue;
      const secrets = list(value);
      if (secrets.length) out[key(name.slice(prefix.length))] = secrets;
    }
    return out;
  };
  const clinicCode = (rest: string) => rest.toUpperCase().replaceAll("_", "-");
  const standardSecrets = byPrefix(
    "STANDARD_WEBHOOK_SECRETS_",
    (rest) => rest.toLowerCase().replaceAll("_", "-"),
  );
  for (const [source, secrets] of Object.entries(standardSecrets)) {
    if (secrets.some((s) => !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s))) {
      throw new Error(`STANDARD_WEBHOOK_SECRETS for '${source}' must be whsec_<base64> secrets`);
    }
  }
  const twilioWebhookUrl = env.TWILIO_WEBHOOK_URL || undefined;
  if (twilioWebhookUrl && !URL.canParse(twilioWebhookUrl)) {
    throw new Error("TWILIO_WEBHOOK_URL must be an absolute URL");
  }
  return {
    stripeSecrets: list(env.STRIPE_WEBHOOK_SECRETS),
    stripeClinicSecrets: byPrefix("STRIPE_WEBHOOK_SECRETS_", clinicCode),
    twilioAuthTokens: list(env.TWILIO_AUTH_TOKEN),
    twilioClinicAuthTokens: byPrefix("TWILIO_AUTH_TOKEN_", clinicCode),
    twilioWebhookUrl,
    standardSecrets,
    allowHosts: list(env.WEBHOOK_ALLOW_HOSTS),
    deliveryTimeoutMs: int("WEBHOOK_DELIVERY_TIMEOUT_MS", 10_000),
    disableAfterHours: int("WEBHOOK_DISABLE_AFTER_HOURS", 5 * 24),
    rotationGraceHours: int("WEBHOOK_ROTATION_GRACE_HOURS", 24),
  };
}

const weakSecrets = new Set(["secret", "changeme", "password", "super-secret-jwt-token"]);

/**
 * PostgreSQL's rule of thumb for a pool: twice the cores plus one (a connection waiting on the
 * disk). More connections than the server can run at once only add contention: on 2 cores,
 * bench/booking's p95 at 750/s was 14–15 ms with 4–5 connections and 21–23 ms with 6–8, and
 * PostgreSQL spent ~8% more CPU per booking with 8; fewer than 4–5 leave the cores idle
 * while connections wait for their commit's WAL flush.
 */
export function defaultPoolSize(cores = navigator.hardwareConcurrency): number {
  return 2 * cores + 1;
}

/** Reads the configuration; throws with a clear message when production is misconfigured. */
export function loadConfig(
  env: Record<string, string | undefined> = Deno.env.toObject(),
  defaults: Partial<Config> = {},
): Config {
  const name = (env.APP_ENV ?? defaults.env ?? "development") as AppEnvName;
  if (!["development", "test", "production"].includes(name)) {
    throw new Error(`APP_ENV must be development, test or production (got '${name}')`);
  }
  const jwtSecret = env.JWT_SECRET ?? defaults.jwtSecret;
  if (name === "production") {
    if (!jwtSecret) throw new Error("JWT_SECRET is required in production");
    if (jwtSecret.length < 32 || weakSecrets.has(jwtSecret.toLowerCase())) {
      throw new Error("JWT_SECRET is too weak: use at least 32 random characters");
    }
  }
  if (!jwtSecret) throw new Error("JWT_SECRET is not set");
  const publicUrl = env.PUBLIC_URL || defaults.publicUrl;
  if (publicUrl && !/^https?:$/.test(URL.parse(publicUrl)?.protocol ?? "")) {
    throw new Error("PUBLIC_URL must be an absolute http(s) URL");
  }
  const int = (key: string, fallback: number) => {
    const value = env[key];
    if (value === undefined || value === "") return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a whole number`);
    return n;
  };
  const port = int("PORT", defaults.port ?? 8000);
  return {
    env: name,
    port,
    databaseUrl: env.DATABASE_URL ?? defaults.databaseUrl,
    databaseSocket: env.DATABASE_SOCKET || defaults.databaseSocket,
    databasePoolSize: int(
      "DATABASE_POOL_SIZE",
      defaults.databasePoolSize ?? defaultPoolSize(),
    ),
    jwtSecret,
    jwtIssuer: env.JWT_ISSUER ?? defaults.jwtIssuer ?? "clinic-edge",
    accessTokenTtl: int("ACCESS_TOKEN_TTL", defaults.accessTokenTtl ?? 900),
    refreshTokenTtl: int("REFRESH_TOKEN_TTL", defaults.refreshTokenTtl ?? 30 * 24 * 3600),
    passwordIterations: int(
      "PASSWORD_ITERATIONS",
      defaults.passwordIterations ?? (name === "test" ? 1000 : 600_000),
    ),
    trustedProxies: parseTrustedProxies(list(env.TRUSTED_PROXIES)),
    corsOrigins: list(env.CORS_ORIGINS),
    publicUrl: publicUrl?.replace(/\/+$/, "") ??
      (name === "production" ? undefined : `http://localhost:${port}`),
    jwksUrl: env.JWKS_URL ?? defaults.jwksUrl,
    jwksIssuer: env.JWKS_ISSUER ?? defaults.jwksIssuer,
    jwksAudience: env.JWKS_AUDIENCE ?? defaults.jwksAudience,
    bodyLimit: int("BODY_LIMIT", defaults.bodyLimit ?? 64 * 1024),
    webhookBodyLimit: int("WEBHOOK_BODY_LIMIT", defaults.webhookBodyLimit ?? 1024 * 1024),
    requestTimeoutMs: int("REQUEST_TIMEOUT_MS", defaults.requestTimeoutMs ?? 10_000),
    realtimeMaxSocketsPerAddress: env.REALTIME_MAX_SOCKETS_PER_ADDRESS
      ? int("REALTIME_MAX_SOCKETS_PER_ADDRESS", 0)
      : defaults.realtimeMaxSocketsPerAddress,
    webhooks: defaults.webhooks ?? loadWebhookConfig(env, int),
  };
}
