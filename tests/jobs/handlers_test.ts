/**
 * The service's job kinds (edge/jobs/handlers.ts, edge/webhooks/jobs.ts): a payload of the
 * wrong shape is permanent in every handler — dead at its first attempt, never retried.
 */
import assert from "node:assert/strict";
import { loadWebhookConfig } from "../../edge/config.ts";
import { enqueue, serviceHandlers, startWorker } from "../../edge/jobs/mod.ts";
import { memoryTransport } from "../../edge/notify/transport.ts";
import { freshDatabase } from "../support/db.ts";

/** Every payload field a handler reads, each of the wrong shape. */
const MALFORMED = {
  delivery_id: "not-a-uuid",
  inbox_id: 42,
  user_id: "someone",
  url: 7,
  months_ahead: "three",
  succeeded_days: -1,
  dead_days: 1.5,
  days: "30",
};

/** The kinds that read no payload field: nothing in theirs can be malformed. */
const WITHOUT_PAYLOAD = [
  "appointment.no_shows",
  "appointment.reminders",
  "auth.purge_expired",
  "holds.purge_expired",
  "webhook.sweep",
];

Deno.test("the same malformed payload is dead at its first attempt in every handler", async () => {
  await using db = await freshDatabase();
  const handlers = serviceHandlers({
    transports: { email: memoryTransport(), sms: memoryTransport() },
    webhooks: { config: loadWebhookConfig({}) },
  });
  const kinds = Object.keys(handlers).filter((kind) => !WITHOUT_PAYLOAD.includes(kind)).sort();
  assert.deepEqual(
    Object.keys(handlers).filter((kind) => WITHOUT_PAYLOAD.includes(kind)).sort(),
    WITHOUT_PAYLOAD,
    "the kinds without a payload are kinds of the service",
  );
  for (const kind of kinds) await enqueue(db.sql, kind, MALFORMED, { maxAttempts: 5 });

  // A retry would wait a minute: every job has had exactly one attempt once none is left
  // unclaimed or running.
  const worker = startWorker({
    sql: db.sql,
    handlers,
    schedules: [],
    pollMs: 20,
    backoff: { baseMs: 60_000, maxMs: 60_000 },
    log: () => {},
  });
  await worker.ready;
  try {
    for (let i = 0; i < 800; i++) {
      const [{ n }] = await db.sql`
        select count(*)::int as n from public.jobs where attempts = 0 or status = 'running'`;
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await worker.stop();
  }
  const jobs = await db.sql`
    select kind, status::text as status, attempts, last_error from public.jobs order by kind`;
  assert.deepEqual(
    jobs.map((j) => [j.kind, j.status, j.attempts]),
    kinds.map((kind) => [kind, "dead", 1]),
  );
  for (const job of jobs) assert.match(job.last_error, /^PermanentJobError: payload\.\w+ must be/);
});
