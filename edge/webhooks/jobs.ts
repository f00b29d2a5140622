/**
 * Webhook processing as job-worker handlers (edge/jobs): `serviceHandlers` and
 * `serviceSchedules` (edge/jobs/handlers.ts) register them next to the service's own.
 *
 * | kind              | payload          | what it does |
 * | ----------------- | ---------------- | ------------ |
 * | `webhook.process` | `{inbox_id}`     | applies one inbound event (enqueued by ingest, retries, redrive) |
 * | `webhook.deliver` | `{delivery_id}`  | one outbound attempt (enqueued by fan-out and by each retry) |
 * | `webhook.sweep`   | `{}`             | re-enqueues inbox rows and deliveries overdue by 5 min (every minute) |
 * | `webhook.purge`   | `{days?}`        | retention: processed inbox rows and finished outbox events after 30 days (daily) |
 *
 * Retries are not the worker's: the inbox row and the delivery carry their own attempts,
 * schedule and dead state, and each retry is a new job enqueued for its time in the same
 * transaction that records the failure — so the job itself always succeeds. A delivery's
 * effects commit together with its job's completion (`ctx.complete`) only while the job's
 * lease is held. The `webhook.process` jobs a worker starts together are applied as one batch
 * (`processInboxBatch`: one transaction, Stripe's events in one statement, others under a
 * savepoint each), their effects committed with
 * their inbox rows leaving `processing` — a job run again after that finds its row done.
 *
 * A malformed payload is a `PermanentJobError`, as in every handler of the service.
 *
 * @module
 */

import type postgres from "postgres";
import type { WebhookConfig } from "../config.ts";
import { countField, type Handlers, type Schedule, uuidField } from "../jobs/job.ts";
import {
  BATCH_LIMIT,
  type InboxJobResult,
  processInboxBatch,
  type ProcessOptions,
} from "./inbound/process.ts";
import type { InboxEvent } from "./inbound/handlers/types.ts";
import { deliverById } from "./outbound/deliver.ts";

export const WEBHOOK_PROCESS = "webhook.process";
export const WEBHOOK_DELIVER = "webhook.deliver";
export const WEBHOOK_SWEEP = "webhook.sweep";
export const WEBHOOK_PURGE = "webhook.purge";

export interface WebhookHandlerOptions {
  /** Outbound delivery settings (the process's configuration). */
  config: WebhookConfig;
  /** Inbox lease, seconds (default 60). */
  inboxLeaseSeconds?: number;
  /** Test hook, see `ProcessOptions.afterApply`. */
  afterApply?: (event: InboxEvent) => Promise<void>;
  /** Extra PEM roots for TLS receivers (tests, on-prem CAs). */
  caCerts?: readonly string[];
}

/** Re-enqueues work whose job went missing (a dead job, a purge): overdue by 5 minutes. */
export async function sweep(sql: postgres.Sql): Promise<{ inbox: number; deliveries: number }> {
  const [inbox] = await sql<{ n: number }[]>`
    select count(private.enqueue_job('webhook.process', jsonb_build_object('inbox_id', i.id),
      now(), i.clinic_id))::int as n
    from (
      select id, clinic_id from public.webhook_inbox
      where (status = 'pending' and run_at < now() - interval '5 minutes')
         or (status = 'processing' and locked_until < now() - interval '5 minutes')
      limit 500
    ) i`;
  const [deliveries] = await sql<{ n: number }[]>`
    select count(private.enqueue_job('webhook.deliver', jsonb_build_object('delivery_id', d.id),
      now(), d.clinic_id))::int as n
    from (
      select id, clinic_id from public.webhook_deliveries
      where status in ('pending', 'failed') and next_attempt_at < now() - interval '5 minutes'
        and (locked_until is null or locked_until < now())
      limit 500
    ) d`;
  return { inbox: inbox.n, deliveries: deliveries.n };
}

/**
 * Retention: processed inbound events (their bodies may carry personal data) and finished
 * outbound events after `days` (default 30), the security log after 90 days. Dead letters stay
 * until redriven or handled.
 */
export async function purge(
  sql: postgres.Sql,
  days = 30,
): Promise<{ inbox: number; outbox: number; securityLog: number }> {
  const inbox = await sql`
    delete from public.webhook_inbox
    where status = 'processed' and processed_at < now() - ${days} * interval '1 day'`;
  const outbox = await sql`
    delete from public.webhook_outbox o
    where o.created_at < now() - ${days} * interval '1 day'
      and not exists (
        select 1 from public.webhook_deliveries d
        where d.event_id = o.id and d.status in ('pending', 'failed')
      )`;
  const log = await sql`
    delete from public.webhook_security_log where created_at < now() - interval '90 days'`;
  return { inbox: inbox.count, outbox: outbox.count, securityLog: log.count };
}

/**
 * Gathers the inbox ids of the `webhook.process` jobs that start in the same turn of the event
 * loop (per worker and pool) and applies them in batches of up to `BATCH_LIMIT`.
 */
function inboxBatcher(options: WebhookHandlerOptions) {
  interface Waiting {
    id: string;
    resolve: (result: InboxJobResult) => void;
    reject: (error: unknown) => void;
  }
  const queues = new Map<postgres.Sql, Map<string, Waiting[]>>();

  async function run(sql: postgres.Sql, workerId: string, batch: Waiting[]) {
    const process: ProcessOptions = {
      workerId,
      leaseSeconds: options.inboxLeaseSeconds,
      afterApply: options.afterApply,
    };
    try {
      const results = await processInboxBatch(sql, [...new Set(batch.map((w) => w.id))], process);
      for (const w of batch) w.resolve(results.get(w.id)!);
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }

  return (sql: postgres.Sql, workerId: string, id: string): Promise<InboxJobResult> =>
    new Promise((resolve, reject) => {
      const byWorker = queues.get(sql) ?? new Map<string, Waiting[]>();
      queues.set(sql, byWorker);
      const waiting = byWorker.get(workerId);
      if (waiting) return void waiting.push({ id, resolve, reject });
      byWorker.set(workerId, [{ id, resolve, reject }]);
      setTimeout(() => {
        const all = byWorker.get(workerId)!;
        byWorker.delete(workerId);
        if (!byWorker.size) queues.delete(sql);
        for (let i = 0; i < all.length; i += BATCH_LIMIT) {
          run(sql, workerId, all.slice(i, i + BATCH_LIMIT));
        }
      }, 0);
    });
}

/** The webhook job handlers by kind. */
export function webhookHandlers(options: WebhookHandlerOptions): Handlers {
  const processInbox = inboxBatcher(options);
  return {
    [WEBHOOK_PROCESS]: (job, ctx) =>
      processInbox(ctx.sql, ctx.workerId, uuidField(job.payload, "inbox_id")),
    [WEBHOOK_DELIVER]: (job, ctx) =>
      deliverById(ctx.sql, uuidField(job.payload, "delivery_id"), {
        workerId: ctx.workerId,
        config: options.config,
        signal: ctx.signal,
        transaction: (fn) => ctx.complete(fn),
        caCerts: options.caCerts,
      }),
    [WEBHOOK_SWEEP]: (_job, ctx) => sweep(ctx.sql),
    [WEBHOOK_PURGE]: (job, ctx) => purge(ctx.sql, countField(job.payload, "days", 30)),
  };
}

/** Recurring webhook jobs. */
export const webhookSchedules: Schedule[] = [
  { kind: WEBHOOK_SWEEP, everyMs: 60_000 },
  { kind: WEBHOOK_PURGE, everyMs: 24 * 3_600_000 },
];
