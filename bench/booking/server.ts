/**
 * The API as its own process for bench/booking: the real Hono app (edge/app.ts) behind
 * Deno.serve on loopback, with a postgres.js pool of BENCH_POOL connections. Prints
 * "listening <port>" when ready; SIGTERM stops it.
 */
import postgres from "postgres";
import { loadConfig } from "../../edge/config.ts";
import { createApp } from "../../edge/app.ts";

const config = loadConfig({
  APP_ENV: "production",
  JWT_SECRET: Deno.env.get("JWT_SECRET"),
  DATABASE_URL: Deno.env.get("DATABASE_URL"),
});
const pool = Number(Deno.env.get("BENCH_POOL") ?? "16");
const sql = postgres(config.databaseUrl!, {
  max: pool,
  path: config.databaseSocket,
  onnotice: () => {},
  // So bench/booking/main.ts can sample what these connections are doing.
  connection: { application_name: "bench-booking-api" },
});
const app = createApp({ config, sql });
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(`listening ${port}`) },
  (req, info) => app.fetch(req, info),
);
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  await sql.end({ timeout: 5 });
  Deno.exit(0);
});
