/**
 * Deno Deploy / plain `Deno.serve` entry: the API alone, against `DATABASE_URL`.
 * (The full one-origin service with the embedded cluster is `edge/start.ts`.)
 */
import postgres from "postgres";
import { loadConfig } from "./config.ts";
import { createApp } from "./app.ts";

const config = loadConfig();
if (!config.databaseUrl) throw new Error("DATABASE_URL is required");
const sql = postgres(config.databaseUrl, { max: 10, onnotice: () => {} });
const app = createApp({ config, sql });

Deno.serve({ port: config.port }, app.fetch);
