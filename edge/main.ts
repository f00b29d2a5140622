/**
 * Deno Deploy / plain `Deno.serve` entry: the API alone, against `DATABASE_URL`.
 * (The full one-origin service with the embedded cluster is `edge/start.ts`.)
 */
import postgres from "postgres";
import { configOrExit, loadConfig } from "./config.ts";
import { createApp } from "./app.ts";

const config = configOrExit("api", () => loadConfig(undefined, { databasePoolSize: 10 }));
if (!config.databaseUrl) {
  console.error("api: DATABASE_URL is required");
  Deno.exit(2);
}
const sql = postgres(config.databaseUrl, {
  max: config.databasePoolSize,
  path: config.databaseSocket,
  onnotice: () => {},
});
const app = createApp({ config, sql });

Deno.serve({ port: config.port }, app.fetch);
