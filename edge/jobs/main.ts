/**
 * The job worker on its own, for scale-out: `DATABASE_URL=… deno run -A edge/jobs/main.ts`.
 * Any number of these (and the one inside `deno task start`) can share a database: claims are
 * `FOR UPDATE SKIP LOCKED` under a lease. SIGINT/SIGTERM finish running jobs, then exit.
 * Its variables: README "Environment", column `worker` (edge/config/worker.ts).
 */
import postgres from "postgres";
import { configOrExit, loadWorkerConfig } from "../config.ts";
import { startServiceWorker } from "./service.ts";

const config = configOrExit("worker", () => loadWorkerConfig());
const sql = postgres(config.databaseUrl, {
  max: Math.max(4, Math.min(config.concurrency + 2, 50)),
  path: config.databaseSocket,
  onnotice: () => {},
});
const worker = startServiceWorker(sql, config, {
  concurrency: config.concurrency,
  queues: config.queues,
});
await worker.ready;
console.log(`Job worker ${worker.id} running (queues: ${config.queues.join(", ")})`);

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
