/**
 * The API's configuration (`edge/main.ts`, the Supabase Edge Function, and inside
 * `deno task start`). Production refuses to start with a missing or weak secret.
 */
import type { TrustedProxies } from "../net/client_address.ts";
import {
  appEnv,
  type AppEnvName,
  databaseSocket,
  databaseUrl,
  type Env,
  int,
  jwtSecret,
  list,
  type TokenSources,
  tokenSources,
  trustedProxies,
  url,
} from "./env.ts";
import { vapidPublicKey } from "./push.ts";
import { loadWebhookConfig, type WebhookConfig, webhookVariables } from "./webhooks.ts";

export interface Config extends TokenSources {
  env: AppEnvName;
  port: number;
  /** `DATABASE_URL` (unset: `deno task start`'s embedded cluster). */
  databaseUrl?: string;
  /**
   * `DATABASE_SOCKET`: a Unix socket of `databaseUrl`'s server, used instead of its host and
   * port. The embedded cluster's is used without it.
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
  /** `TRUSTED_PROXIES`: rate limits and the security log use the forwarded client address. */
  trustedProxies: TrustedProxies;
  /** Origins allowed by CORS besides our own. */
  corsOrigins: string[];
  /**
   * `PUBLIC_URL`: where users reach the service, for links in e-mails (sign-in unlock links).
   * Outside production it defaults to `http://localhost:<port>`; production without it sends
   * no such links (a request's own Host header must never choose where a secret link points).
   */
  publicUrl?: string;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Largest accepted provider webhook body, bytes (providers' events can be larger). */
  webhookBodyLimit: number;
  /** Per-request time budget, milliseconds. */
  requestTimeoutMs: number;
  /** Inbound provider secrets and outbound delivery settings (see {@linkcode WebhookConfig}). */
  webhooks: WebhookConfig;
  /**
   * Each channel's transport in this process's job worker (`deno task start` sets it), `off`
   * where none is configured: `/api/health` reports it. Unset for the API alone.
   */
  notify?: Record<string, string>;
  /** `VAPID_PUBLIC_KEY`: served to browsers subscribing to web push (unset: push is off). */
  vapidPublicKey?: string;
}

/** The variables {@linkcode loadConfig} reads (README "Environment", column `api`). */
export const apiVariables = [
  "APP_ENV",
  "PORT",
  "DATABASE_URL",
  "DATABASE_SOCKET",
  "DATABASE_POOL_SIZE",
  "JWT_SECRET",
  "JWT_ISSUER",
  "JWKS_URL",
  "JWKS_ISSUER",
  "JWKS_AUDIENCE",
  "AUTH_MODE",
  "SUPABASE_JWT_SECRET",
  "SUPABASE_JWKS_URL",
  "ACCESS_TOKEN_TTL",
  "REFRESH_TOKEN_TTL",
  "PASSWORD_ITERATIONS",
  "TRUSTED_PROXIES",
  "CORS_ORIGINS",
  "PUBLIC_URL",
  "BODY_LIMIT",
  "WEBHOOK_BODY_LIMIT",
  "REQUEST_TIMEOUT_MS",
  "VAPID_PUBLIC_KEY",
  ...webhookVariables,
] as const;

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

/**
 * Reads the API's configuration; throws, naming the variable, when one is invalid or
 * production is misconfigured. `defaults` stand in for unset variables.
 */
export function loadConfig(
  env: Env = Deno.env.toObject(),
  defaults: Partial<Config> = {},
): Config {
  const name = appEnv(env);
  const secret = jwtSecret(env, name, defaults.jwtSecret);
  if (!secret) {
    throw new Error(
      `JWT_SECRET is ${name === "production" ? "required in production" : "not set"}`,
    );
  }
  const tokens = tokenSources(env);
  const port = int(env, "PORT", defaults.port ?? 8000);
  const publicUrl = url(env, "PUBLIC_URL", ["http:", "https:"]) ?? defaults.publicUrl;
  return {
    env: name,
    port,
    databaseUrl: databaseUrl(env) ?? defaults.databaseUrl,
    databaseSocket: databaseSocket(env) ?? defaults.databaseSocket,
    databasePoolSize: int(
      env,
      "DATABASE_POOL_SIZE",
      defaults.databasePoolSize ?? defaultPoolSize(),
      1,
    ),
    jwtSecret: secret,
    jwtIssuer: tokens.jwtIssuer ?? defaults.jwtIssuer ?? "clinic-edge",
    accessTokenTtl: int(env, "ACCESS_TOKEN_TTL", defaults.accessTokenTtl ?? 900),
    refreshTokenTtl: int(env, "REFRESH_TOKEN_TTL", defaults.refreshTokenTtl ?? 30 * 24 * 3600),
    passwordIterations: int(
      env,
      "PASSWORD_ITERATIONS",
      defaults.passwordIterations ?? (name === "test" ? 1000 : 600_000),
    ),
    trustedProxies: trustedProxies(env),
    corsOrigins: list(env, "CORS_ORIGINS"),
    publicUrl: publicUrl?.replace(/\/+$/, "") ??
      (name === "production" ? undefined : `http://localhost:${port}`),
    jwksUrl: tokens.jwksUrl ?? defaults.jwksUrl,
    jwksIssuer: tokens.jwksIssuer ?? defaults.jwksIssuer,
    jwksAudience: tokens.jwksAudience ?? defaults.jwksAudience,
    supabaseAuth: tokens.supabaseAuth ?? defaults.supabaseAuth,
    bodyLimit: int(env, "BODY_LIMIT", defaults.bodyLimit ?? 64 * 1024),
    webhookBodyLimit: int(env, "WEBHOOK_BODY_LIMIT", defaults.webhookBodyLimit ?? 1024 * 1024),
    requestTimeoutMs: int(env, "REQUEST_TIMEOUT_MS", defaults.requestTimeoutMs ?? 10_000),
    webhooks: defaults.webhooks ?? loadWebhookConfig(env),
    vapidPublicKey: vapidPublicKey(env, defaults.vapidPublicKey),
  };
}
