/**
 * The job worker on its own, for scale-out: `DATABASE_URL=… deno run -A edge/jobs/main.ts`.
 * Any number of these (and the one inside `deno task start`) can share a database: claims are
 * `FOR UPDATE SKIP LOCKED` under a lease. SIGINT/SIGTERM finish running jobs, then exit.
 *
 * Environment: `DATABASE_URL` (required), `APP_ENV` (development and test record messages with
 * the development transport; production has no channel providers configured yet, so
 * deliveries are marked `skipped`), `WORKER_CONCURRENCY` (10), `WORKER_QUEUES` (default),
 * `DATABASE_SOCKET` (a Unix socket of that server, as for the API).
 */
import postgres from "postgres";
import { developmentTransports } from "../notify/transport.ts";
import { loadWebhookConfig } from "../config.ts";
import { serviceHandlers, serviceSchedules } from "./handlers.ts";
import { startWorker } from "./worker.ts";

const url = Deno.env.get("DATABASE_URL");
if (!url) {
  console.error("DATABASE_URL is required");
  Deno.exit(2);
}
const appEnv = Deno.env.get("APP_ENV") ?? "development";
const concurrency = Number(Deno.env.get("WORKER_CONCURRENCY") ?? 10);
const queues = (Deno.env.get("WORKER_QUEUES") ?? "default").split(",").map((q) => q.trim())
  .filter(Boolean);

const sql = postgres(url, {
  max: Math.max(4, Math.min(concurrency + 2, 50)),
  path: Deno.env.get("DATABASE_SOCKET") || undefined,
  onnotice: () => {},
});
const worker = startWorker({
  sql,
  concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 10,
  queues,
  handlers: serviceHandlers({
    transports: appEnv === "production" ? {} : developmentTransports(sql),
    webhooks: { config: loadWebhookConfig(Deno.env.toObject()) },
  }),
  schedules: serviceSchedules,
});
await worker.ready;
console.log(`Job worker ${worker.id} running (queues: ${queues.join(", ")})`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping the job worker…`);
  await worker.stop();
  await sql.end({ timeout: 5 });
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
