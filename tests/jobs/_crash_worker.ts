/**
 * A worker process for the crash test: runs `test.crash` jobs by announcing the job on stdout
 * and then hanging (until the test kills the process with SIGKILL mid-job).
 * Usage: deno run -A tests/jobs/_crash_worker.ts <database-url> <lease-ms> [batch-size]
 * (with a batch size, it runs one job at a time and claims up to that many).
 */
import postgres from "postgres";
import { startWorker } from "../../edge/jobs/worker.ts";

const [url, lease, batch] = Deno.args;
const sql = postgres(url, { max: 4, onnotice: () => {} });
const worker = startWorker({
  sql,
  handlers: {
    "test.crash": async (job) => {
      console.log(`started ${job.id} attempt ${job.attempts}`);
      await new Promise(() => {}); // mid-job forever
    },
  },
  schedules: [],
  leaseMs: Number(lease),
  ...(batch ? { concurrency: 1, batchSize: Number(batch) } : {}),
  pollMs: 100,
  log: () => {},
});
await worker.ready;
console.log("ready");
