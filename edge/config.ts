/**
 * Configuration from the environment (see README "Environment"). Production refuses to start
 * with a missing or weak secret.
 */

export type AppEnvName = "development" | "test" | "production";

export interface Config {
  env: AppEnvName;
  port: number;
  databaseUrl?: string;
  /** HS256 secret for our access tokens (Supabase's JWT secret on Supabase). */
  jwtSecret: string;
  jwtIssuer: string;
  /** Access token lifetime, seconds. */
  accessTokenTtl: number;
  /** Refresh token lifetime, seconds. */
  refreshTokenTtl: number;
  /** PBKDF2-SHA256 iterations for new password hashes. */
  passwordIterations: number;
  /** Origins allowed by CORS besides our own. */
  corsOrigins: string[];
  /** External identity provider (e.g. Clerk): JWKS URL, issuer and audience. */
  jwksUrl?: string;
  jwksIssuer?: string;
  jwksAudience?: string;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Per-request time budget, milliseconds. */
  requestTimeoutMs: number;
}

const weakSecrets = new Set(["secret", "changeme", "password", "super-secret-jwt-token"]);

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
  const int = (key: string, fallback: number) => {
    const value = env[key];
    if (value === undefined || value === "") return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a whole number`);
    return n;
  };
  return {
    env: name,
    port: int("PORT", defaults.port ?? 8000),
    databaseUrl: env.DATABASE_URL ?? defaults.databaseUrl,
    jwtSecret,
    jwtIssuer: env.JWT_ISSUER ?? defaults.jwtIssuer ?? "clinic-edge",
    accessTokenTtl: int("ACCESS_TOKEN_TTL", defaults.accessTokenTtl ?? 900),
    refreshTokenTtl: int("REFRESH_TOKEN_TTL", defaults.refreshTokenTtl ?? 30 * 24 * 3600),
    passwordIterations: int(
      "PASSWORD_ITERATIONS",
      defaults.passwordIterations ?? (name === "test" ? 1000 : 600_000),
    ),
    corsOrigins: (env.CORS_ORIGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    jwksUrl: env.JWKS_URL ?? defaults.jwksUrl,
    jwksIssuer: env.JWKS_ISSUER ?? defaults.jwksIssuer,
    jwksAudience: env.JWKS_AUDIENCE ?? defaults.jwksAudience,
    bodyLimit: int("BODY_LIMIT", defaults.bodyLimit ?? 64 * 1024),
    requestTimeoutMs: int("REQUEST_TIMEOUT_MS", defaults.requestTimeoutMs ?? 10_000),
  };
}
