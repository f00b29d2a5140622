/**
 * The API alone in its own process for `bench/webhooks` (so the load generator does not share
 * its event loop): `deno run -A bench/webhooks/server.ts <database-url> <stripe-secret> [pool]
 * [unix-socket]`.
 * Prints `listening <port>` once ready; SIGTERM stops it.
 */
import postgres from "postgres";
import { createApp } from "../../edge/app.ts";
import { loadConfig } from "../../edge/config.ts";

const [url, secret, pool, socket] = Deno.args;
const sql = postgres(url, {
  max: Number(pool ?? 16),
  path: socket || undefined,
  onnotice: () => {},
});
const config = loadConfig({
  APP_ENV: "test",
  JWT_SECRET: "bench-secret-bench-secret-bench-secret",
  STRIPE_WEBHOOK_SECRETS: secret,
});
const app = createApp({ config, sql });
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, app.fetch);
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  await sql.end({ timeout: 2 });
  Deno.exit(0);
});
