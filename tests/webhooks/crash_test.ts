/**
 * Kill the worker mid-processing (a real subprocess, SIGKILL, with the event's effects applied
 * but not committed) → after the lease the event is processed exactly once by another worker.
 */
import assert from "node:assert/strict";
import { startWorker } from "../../edge/jobs/worker.ts";
import { webhookHandlers } from "../../edge/webhooks/jobs.ts";
import { loadWebhookConfig } from "../../edge/config.ts";
import { freshDatabase } from "../support/db.ts";
import { killWhenPrinted } from "../support/process.ts";
import {
  CLINIC_A,
  count,
  PATIENT_LIM,
  stripeEvent,
  stripeRequest,
  testApp,
  until,
} from "./_support.ts";

Deno.test("SIGKILL mid-processing → processed exactly once after the lease", async () => {
  await using db = await freshDatabase({ seed: true });
  const app = testApp(db.sql);
  const body = stripeEvent("payment_intent.succeeded", {
    id: "pi_crash",
    amount: 8000,
    currency: "sgd",
    metadata: { clinic_id: CLINIC_A, patient_id: PATIENT_LIM },
  });
  const res = await app.request(...await stripeRequest(body));
  assert.equal(res.status, 200);
  const { id } = await res.json();

  await killWhenPrinted(
    new URL("./_crash_worker.ts", import.meta.url),
    [db.url, "1000"],
    `applied ${id}`,
  );

  // Killed with the payment written inside its open transaction: nothing committed.
  const [killed] = await db.sql`
    select status, attempts, locked_by from public.webhook_inbox where id = ${id}`;
  assert.deepEqual({ ...killed }, { status: "processing", attempts: 1, locked_by: "doomed" });
  await until(
    "the dead backend's transaction to roll back",
    async () =>
      (await count(
        db.sql,
        "pg_stat_activity where datname = current_database() and state = 'idle in transaction'",
      )) === 0,
  );
  assert.equal(await count(db.sql, "public.payments where provider_payment_id = 'pi_crash'"), 0);

  const worker = startWorker({
    sql: db.sql,
    handlers: webhookHandlers({ config: loadWebhookConfig({}), inboxLeaseSeconds: 2 }),
    schedules: [],
    leaseMs: 1000,
    pollMs: 50,
    backoff: { baseMs: 10, maxMs: 10 },
    workerId: "survivor",
    log: () => {},
  });
  try {
    await worker.ready;
    await until("the event to be processed", async () => {
      const [row] = await db.sql`select status from public.webhook_inbox where id = ${id}`;
      return row.status === "processed";
    }, 30_000);
  } finally {
    await worker.stop();
  }

  const [done] = await db.sql`
    select status, attempts, outcome, locked_by from public.webhook_inbox where id = ${id}`;
  assert.deepEqual({ ...done }, {
    status: "processed",
    attempts: 2,
    outcome: "created",
    locked_by: null,
  }, "the crashed attempt counts");
  const payments = await db.sql`
    select status, amount::text from public.payments where provider_payment_id = 'pi_crash'`;
  assert.deepEqual(payments.map((p) => ({ ...p })), [{ status: "paid", amount: "80.00" }]);
  assert.equal(
    await count(db.sql, "audit.logs where table_name = 'payments' and action = 'INSERT'"),
    1,
    "exactly once",
  );
  assert.equal(await count(db.sql, "public.jobs where status in ('running', 'dead')"), 0);
});
