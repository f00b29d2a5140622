/**
 * Reading the environment: each variable is parsed here, by one function, whichever process
 * kind reads it (the loaders in this folder), and a bad value throws an error naming it. An
 * empty value counts as unset.
 */
import { parseTrustedProxies, type TrustedProxies } from "../net/client_address.ts";

/** Variable name → value, as `Deno.env.toObject()` gives it. */
export type Env = Record<string, string | undefined>;

export type AppEnvName = "development" | "test" | "production";

/**
 * Channel transports of the job worker: `development` records what would be sent
 * (`private.outbound_messages`); `none` has no channel provider, so deliveries are `skipped`.
 */
export type NotifyTransport = "development" | "none";

/** The value, `undefined` when unset or empty. */
export function text(env: Env, name: string): string | undefined {
  return env[name] || undefined;
}

/** A whole number of at least `min` (default 0), `fallback` when unset. */
export function int(env: Env, name: string, fallback: number, min?: number): number;
export function int(env: Env, name: string, fallback?: undefined, min?: number): number | undefined;
export function int(env: Env, name: string, fallback?: number, min = 0): number | undefined {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`${name} must be a whole number${min > 0 ? ` of at least ${min}` : ""}`);
  }
  return n;
}

/** A comma-separated list, blanks dropped. */
export function list(env: Env, name: string): string[] {
  return (text(env, name) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** An absolute URL with one of `protocols` (e.g. `["http:", "https:"]`), or unset. */
export function url(env: Env, name: string, protocols: string[]): string | undefined {
  const value = text(env, name);
  if (value !== undefined && !protocols.includes(URL.parse(value)?.protocol ?? "")) {
    const schemes = protocols.map((p) => p.slice(0, -1)).join(" or ");
    throw new Error(`${name} must be an absolute ${schemes} URL`);
  }
  return value;
}

/** The lists of every variable `prefix` + suffix that is set, by suffix. */
export function byPrefix(env: Env, prefix: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // Keys first, then only the matching values: a variable is read only when it is ours.
  for (const name of Object.keys(env)) {
    if (!name.startsWith(prefix) || name.length === prefix.length) continue;
    const values = list(env, name);
    if (values.length) out[name.slice(prefix.length)] = values;
  }
  return out;
}

/** `APP_ENV`: development (default), test or production. */
export function appEnv(env: Env): AppEnvName {
  const name = text(env, "APP_ENV") ?? "development";
  if (name !== "development" && name !== "test" && name !== "production") {
    throw new Error(`APP_ENV must be development, test or production (got '${name}')`);
  }
  return name;
}

/** Outside production the development transport; in production none is configured yet. */
export function notifyTransport(name: AppEnvName): NotifyTransport {
  return name === "production" ? "none" : "development";
}

const weakSecrets = new Set(["secret", "changeme", "password", "super-secret-jwt-token"]);

/**
 * `JWT_SECRET` (else `fallback`): the HS256 secret of our tokens. Production refuses a weak
 * one; whether it may be missing is the loader's to say.
 */
export function jwtSecret(env: Env, name: AppEnvName, fallback?: string): string | undefined {
  const secret = text(env, "JWT_SECRET") ?? fallback;
  if (name === "production" && secret) {
    if (secret.length < 32 || weakSecrets.has(secret.toLowerCase())) {
      throw new Error("JWT_SECRET is too weak: use at least 32 random characters");
    }
  }
  return secret;
}

/** Tokens from an external identity provider (e.g. Clerk), and our own tokens' issuer. */
export interface TokenSources {
  /** `JWT_ISSUER`: the `iss` of our tokens. */
  jwtIssuer?: string;
  /** `JWKS_URL`, `JWKS_ISSUER`, `JWKS_AUDIENCE`: the provider's key set, issuer, audience. */
  jwksUrl?: string;
  jwksIssuer?: string;
  jwksAudience?: string;
  /** `AUTH_MODE=supabase`: the project's Supabase Auth (see {@linkcode SupabaseAuth}). */
  supabaseAuth?: SupabaseAuth;
}

export function tokenSources(env: Env): TokenSources {
  return {
    jwtIssuer: text(env, "JWT_ISSUER"),
    jwksUrl: url(env, "JWKS_URL", ["http:", "https:"]),
    jwksIssuer: text(env, "JWKS_ISSUER"),
    jwksAudience: text(env, "JWKS_AUDIENCE"),
    supabaseAuth: supabaseAuth(env),
  };
}

/**
 * The project's Supabase Auth, whose users are ours by id (AUTH_MODE=supabase; migration
 * 20261206000200_supabase_auth.sql links them): its tokens are verified with the project's JWT
 * secret (HS256) or its JWKS (ES256/RS256) and used as they are.
 */
export interface SupabaseAuth {
  /** `SUPABASE_JWT_SECRET`: the project's (legacy) HS256 JWT secret. */
  jwtSecret?: string;
  /** `SUPABASE_JWKS_URL`: `https://<project>.supabase.co/auth/v1/.well-known/jwks.json`. */
  jwksUrl?: string;
}

/**
 * `AUTH_MODE`: `own` (default: our sign-in, and `JWKS_URL`'s provider) or `supabase` (also the
 * project's Supabase Auth: `SUPABASE_JWT_SECRET` and/or `SUPABASE_JWKS_URL`).
 */
export function supabaseAuth(env: Env): SupabaseAuth | undefined {
  const mode = text(env, "AUTH_MODE") ?? "own";
  if (mode !== "own" && mode !== "supabase") {
    throw new Error(`AUTH_MODE must be own or supabase (got '${mode}')`);
  }
  if (mode === "own") return undefined;
  const jwtSecret = text(env, "SUPABASE_JWT_SECRET");
  const jwksUrl = url(env, "SUPABASE_JWKS_URL", ["http:", "https:"]);
  if (!jwtSecret && !jwksUrl) {
    throw new Error("AUTH_MODE=supabase needs SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL");
  }
  return { jwtSecret, jwksUrl };
}

/** `DATABASE_URL`: the service's PostgreSQL. */
export function databaseUrl(env: Env): string | undefined {
  return url(env, "DATABASE_URL", ["postgres:", "postgresql:"]);
}

/**
 * `DATABASE_SOCKET`: a Unix socket of `DATABASE_URL`'s server (`…/.s.PGSQL.<port>`), used
 * instead of its host and port.
 */
export function databaseSocket(env: Env): string | undefined {
  return text(env, "DATABASE_SOCKET");
}

/**
 * `TRUSTED_PROXIES`: IPs and CIDRs of the reverse proxies in front of the service; behind one,
 * the client's address comes from `X-Forwarded-For`.
 */
export function trustedProxies(env: Env): TrustedProxies {
  return parseTrustedProxies(list(env, "TRUSTED_PROXIES"));
}

/**
 * `REALTIME_MAX_SOCKETS_PER_ADDRESS`: open realtime sockets per client address (unset: the
 * realtime server's default).
 */
export function realtimeMaxSocketsPerAddress(env: Env): number | undefined {
  return int(env, "REALTIME_MAX_SOCKETS_PER_ADDRESS");
}

/**
 * `REALTIME_PUBLICATION`: the publication the realtime server streams (unset: its default,
 * `supabase_realtime`); a lower-case identifier, as private.use_realtime_publication takes.
 */
export function realtimePublication(env: Env): string | undefined {
  const name = text(env, "REALTIME_PUBLICATION");
  if (name !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error("REALTIME_PUBLICATION must be a lower-case identifier (letters, digits, _)");
  }
  return name;
}
