/**
 * A job worker process for the webhook crash test: runs the real `webhook.process` handler,
 * which announces on stdout once the event's effects are applied (inside the still-open
 * transaction) and then hangs there until the test kills the process with SIGKILL.
 * Usage: deno run -A tests/webhooks/_crash_worker.ts <database-url> <job-lease-ms>
 */
import postgres from "postgres";
import { startWorker } from "../../edge/jobs/worker.ts";
import { webhookHandlers } from "../../edge/webhooks/jobs.ts";
import { loadWebhookConfig } from "../../edge/config.ts";

const [url, lease] = Deno.args;
const sql = postgres(url, { max: 4, onnotice: () => {} });
const worker = startWorker({
  sql,
  handlers: webhookHandlers({
    config: loadWebhookConfig({}),
    inboxLeaseSeconds: 2,
    afterApply: async (event) => {
      console.log(`applied ${event.id}`);
      await new Promise(() => {}); // mid-transaction forever
    },
  }),
  schedules: [],
  leaseMs: Number(lease),
  pollMs: 100,
  workerId: "doomed",
  log: () => {},
});
await worker.ready;
console.log("ready");
