/**
 * Supabase Edge Function `api`: the same Hono app. Supabase routes
 * `/functions/v1/api/...` to this function with the path `/api/...`, which is the app's base
 * path. Uses the project's database (SUPABASE_DB_URL) and JWT secret; with AUTH_MODE=supabase,
 * the project's JWKS (under SUPABASE_URL, which Supabase provides; secrets named SUPABASE_*
 * cannot be set on a function).
 */
import postgres from "postgres";
import { loadConfig } from "../../../edge/config.ts";
import { createApp } from "../../../edge/app.ts";

const env = Deno.env.toObject();
const config = loadConfig({
  ...env,
  APP_ENV: env.APP_ENV ?? "production",
  DATABASE_URL: env.DATABASE_URL ?? env.SUPABASE_DB_URL,
  JWT_SECRET: env.JWT_SECRET ?? env.SUPABASE_JWT_SECRET,
  SUPABASE_JWKS_URL: env.SUPABASE_JWKS_URL ??
    (env.SUPABASE_URL ? `${env.SUPABASE_URL}/auth/v1/.well-known/jwks.json` : undefined),
});
const sql = postgres(config.databaseUrl!, { max: 5, prepare: false, onnotice: () => {} });
const app = createApp({ config, sql });

Deno.serve(app.fetch);
