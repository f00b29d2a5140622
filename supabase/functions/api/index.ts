/**
 * Supabase Edge Function `api`: the same Hono app. Supabase routes
 * `/functions/v1/api/...` to this function with the path `/api/...`, which is the app's base
 * path. Uses the project's database (SUPABASE_DB_URL) and JWT secret.
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
});
const sql = postgres(config.databaseUrl!, { max: 5, prepare: false, onnotice: () => {} });
const app = createApp({ config, sql });

Deno.serve(app.fetch);
