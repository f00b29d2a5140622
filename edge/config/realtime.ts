/**
 * The realtime server's configuration when it runs alone (realtime/main.ts); the one inside
 * `deno task start` takes `StartConfig`'s.
 */
import type { TrustedProxies } from "../net/client_address.ts";
import {
  appEnv,
  databaseUrl,
  type Env,
  int,
  jwtSecret,
  realtimeMaxSocketsPerAddress,
  realtimePublication,
  text,
  type TokenSources,
  tokenSources,
  trustedProxies,
} from "./env.ts";

export interface RealtimeConfig extends TokenSources {
  /** `JWT_SECRET`: the HS256 secret shared with the API (this or `JWKS_URL` is required). */
  jwtSecret?: string;
  /**
   * `DATABASE_URL`: a role with REPLICATION; enables postgres_changes (logical replication),
   * database-backed authorization and durable catch-up.
   */
  databaseUrl?: string;
  /** `REALTIME_SLOT`: the replication slot (default `realtime_<database>`). */
  slotName?: string;
  /** `REALTIME_PUBLICATION`: the publication of the streamed tables (default `supabase_realtime`). */
  publication?: string;
  /** `REALTIME_PORT`, else `PORT` (default 4000). */
  port: number;
  /** `REALTIME_HOST` (default 127.0.0.1). */
  host: string;
  /** `REALTIME_CATCHUP_WINDOW_MS` (unset: the server's default, 5 minutes). */
  catchUpWindowMs?: number;
  /** `REALTIME_SWEEP_MS` (unset: the server's default, 5 s). */
  sweepIntervalMs?: number;
  /** `REALTIME_MAX_SOCKETS_PER_ADDRESS` (unset: the server's default, 500). */
  maxSocketsPerAddress?: number;
  trustedProxies: TrustedProxies;
}

/** The variables {@linkcode loadRealtimeConfig} reads (README "Environment", column `realtime`). */
export const realtimeVariables = [
  "APP_ENV",
  "JWT_SECRET",
  "JWT_ISSUER",
  "JWKS_URL",
  "JWKS_ISSUER",
  "JWKS_AUDIENCE",
  "AUTH_MODE",
  "SUPABASE_JWT_SECRET",
  "SUPABASE_JWKS_URL",
  "DATABASE_URL",
  "REALTIME_SLOT",
  "REALTIME_PUBLICATION",
  "REALTIME_PORT",
  "PORT",
  "REALTIME_HOST",
  "REALTIME_CATCHUP_WINDOW_MS",
  "REALTIME_SWEEP_MS",
  "REALTIME_MAX_SOCKETS_PER_ADDRESS",
  "TRUSTED_PROXIES",
] as const;

/** Reads the realtime server's configuration; throws, naming the variable, when one is bad. */
export function loadRealtimeConfig(env: Env = Deno.env.toObject()): RealtimeConfig {
  const secret = jwtSecret(env, appEnv(env));
  const tokens = tokenSources(env);
  if (!secret && !tokens.jwksUrl && !tokens.supabaseAuth) {
    throw new Error("JWT_SECRET (or JWKS_URL, or AUTH_MODE=supabase) is required");
  }
  return {
    ...tokens,
    jwtSecret: secret,
    databaseUrl: databaseUrl(env),
    slotName: text(env, "REALTIME_SLOT"),
    publication: realtimePublication(env),
    port: int(env, "REALTIME_PORT", int(env, "PORT", 4000)),
    host: text(env, "REALTIME_HOST") ?? "127.0.0.1",
    catchUpWindowMs: int(env, "REALTIME_CATCHUP_WINDOW_MS"),
    sweepIntervalMs: int(env, "REALTIME_SWEEP_MS", undefined, 1),
    maxSocketsPerAddress: realtimeMaxSocketsPerAddress(env),
    trustedProxies: trustedProxies(env),
  };
}
