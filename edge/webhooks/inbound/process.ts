/**
 * Processing of the inbox: claim a row under a lease (`private.webhook_inbox_claim`, SKIP
 * LOCKED), apply it with the handler of its source and type in ONE transaction that also
 * marks it processed (so its effects happen exactly once, even when a crashed worker's row is
 * taken again after its lease), and on failure retry with backoff or dead-letter it with the
 * reason (`private.webhook_inbox_fail`).
 *
 * Runs as the `webhook.process` job (see ../jobs.ts): the jobs a worker runs at once are
 * applied together (`processInboxBatch`: one claim, one transaction; consecutive events of a
 * handler that applies many at once — Stripe's — in one statement, every other event, and
 * those of a run that failed, under a savepoint each); `drainInbox` claims due rows itself and
 * applies them one by one (tests, tools).
 *
 * @module
 */

import type postgres from "postgres";
import { withClaims } from "../../db/claims.ts";
import { isDataException } from "../../errors.ts";
import { InboxLeaseLostError, NotYetError, PermanentEventError, safeErrorText } from "./errors.ts";
import { clerkHandler } from "./handlers/clerk.ts";
import { emailStatusHandler, MATCH_WINDOW_MS, twilioHandler } from "./handlers/delivery_status.ts";
import { stripeHandler } from "./handlers/stripe.ts";
import type { BatchEventHandler, EventHandler, InboxEvent } from "./handlers/types.ts";
import { jsonObject } from "./parse.ts";

/** Runs `fn` in one transaction; the job worker passes `ctx.complete`. */
export type Transaction = <T>(fn: (tx: postgres.TransactionSql) => Promise<T>) => Promise<T>;

/** The handler for an event, by source and type; `null` = acknowledged as `ignored`. */
export function handlerFor(source: string, eventType: string | null): EventHandler | null {
  if (source === "stripe") return stripeHandler;
  if (source === "twilio") return twilioHandler;
  if (source === "clerk") return clerkHandler;
  if (eventType?.startsWith("email.")) return emailStatusHandler;
  return null;
}

export interface ProcessOptions {
  workerId: string;
  /** Inbox lease, seconds (default 60). */
  leaseSeconds?: number;
  /** The transaction the effects commit in (default: a `service_role` transaction on `sql`). */
  transaction?: Transaction;
  /** Test hook: runs inside the transaction after the handler, before the commit. */
  afterApply?: (event: InboxEvent) => Promise<void>;
  /** Handler lookup (tests); default {@linkcode handlerFor}. */
  handlers?: (source: string, eventType: string | null) => EventHandler | null;
  /** How long unmatched references are retried (default 10 min). */
  matchWindowMs?: number;
}

export type ProcessResult =
  | { status: "processed"; outcome: string }
  | { status: "retry" | "dead"; error: string }
  | { status: "lost" };

interface InboxRow {
  id: string;
  source: string;
  event_id: string;
  event_type: string | null;
  clinic_id: string | null;
  headers: Record<string, string> | null;
  body: string;
  received_at: Date;
  attempts: number;
  locked_by: string | null;
  locked_until: Date | null;
  status: string;
}

function toEvent(row: InboxRow): InboxEvent {
  return {
    id: row.id,
    source: row.source,
    eventId: row.event_id,
    eventType: row.event_type,
    clinicId: row.clinic_id,
    headers: row.headers ?? {},
    body: row.body,
    json: row.source === "twilio" ? {} : jsonObject(row.body) ?? {},
    receivedAt: row.received_at,
    attempts: row.attempts,
  };
}

function serviceTransaction(sql: postgres.Sql): Transaction {
  return (fn) => withClaims(sql, { role: "service_role" }, fn);
}

/** Claims due rows (or the row `id`). */
export function claimInbox(
  sql: postgres.Sql,
  workerId: string,
  options: { leaseSeconds?: number; limit?: number; id?: string } = {},
): Promise<InboxRow[]> {
  return sql<InboxRow[]>`
    select * from private.webhook_inbox_claim(${workerId}, ${options.leaseSeconds ?? 60},
      ${options.limit ?? 1}, ${options.id ?? null})`;
}

/** The effects of one event, in `tx`: its handler (none: `ignored`) and the test hook. */
async function apply(
  tx: postgres.TransactionSql,
  event: InboxEvent,
  options: ProcessOptions,
): Promise<string> {
  const handler = (options.handlers ?? handlerFor)(event.source, event.eventType);
  const outcome = handler ? await handler(tx, event) : "ignored";
  await options.afterApply?.(event);
  return outcome.slice(0, 200);
}

/** Consecutive rows of one handler; `handler` is set when it applies events together. */
interface Run {
  rows: InboxRow[];
  handler: BatchEventHandler | null;
}

/** The rows in order, cut into runs: each row alone, unless its handler applies many at once. */
function runs(rows: InboxRow[], options: ProcessOptions): Run[] {
  const out: Run[] = [];
  for (const row of rows) {
    const found = (options.handlers ?? handlerFor)(row.source, row.event_type);
    const handler = found && "many" in found ? found as BatchEventHandler : null;
    const last = out.at(-1);
    if (handler && last?.handler === handler) last.rows.push(row);
    else out.push({ rows: [row], handler });
  }
  return out;
}

/**
 * A run's events applied together by their handler, under one savepoint, with the test hook
 * after each; their outcomes, or `null` when any failed (nothing of the run is kept then, and
 * the caller applies them one by one so that the failing one fails alone).
 */
async function applyTogether(
  tx: postgres.TransactionSql,
  { rows, handler }: Run,
  options: ProcessOptions,
): Promise<string[] | null> {
  if (!handler || rows.length < 2) return null;
  const events = rows.map(toEvent);
  try {
    return await tx.savepoint(async (sp) => {
      const outcomes = await handler.many(sp, events);
      for (const event of events) await options.afterApply?.(event);
      return outcomes.map((o) => o.slice(0, 200));
    });
  } catch {
    return null;
  }
}

/**
 * Records a failed attempt of a row this worker holds: acknowledged as `unmatched` once what
 * it refers to was awaited long enough, otherwise retried with backoff or dead-lettered
 * (`private.webhook_inbox_fail`).
 */
async function recordFailure(
  sql: postgres.Sql | postgres.TransactionSql,
  row: InboxRow,
  error: unknown,
  options: ProcessOptions,
): Promise<ProcessResult> {
  const matchWindow = options.matchWindowMs ?? MATCH_WINDOW_MS;
  if (error instanceof NotYetError && Date.now() - row.received_at.getTime() > matchWindow) {
    const done = await sql`
      update public.webhook_inbox
      set status = 'processed', processed_at = now(), outcome = 'unmatched',
          last_error = ${safeErrorText(error)}, locked_by = null, locked_until = null
      where id = ${row.id} and status = 'processing' and locked_by = ${options.workerId}
      returning id`;
    return done.length ? { status: "processed", outcome: "unmatched" } : { status: "lost" };
  }
  const text = safeErrorText(error);
  const [failed] = await sql<{ status: string | null }[]>`
    select (private.webhook_inbox_fail(${row.id}, ${options.workerId}, ${text},
      ${error instanceof PermanentEventError || isDataException(error)})).status`;
  if (!failed?.status) return { status: "lost" };
  return { status: failed.status === "dead" ? "dead" : "retry", error: text };
}

const MARK_PROCESSED = `
  update public.webhook_inbox i
  set status = 'processed', processed_at = now(), outcome = o.outcome, last_error = null,
      locked_by = null, locked_until = null
  from unnest($1::uuid[], $2::text[]) as o(id, outcome)
  where i.id = any($1::uuid[]) and i.id = o.id`;

/** Applies one claimed row; never throws for handler failures (they are recorded). */
export async function processClaimed(
  sql: postgres.Sql,
  row: InboxRow,
  options: ProcessOptions,
): Promise<ProcessResult> {
  const transaction = options.transaction ?? serviceTransaction(sql);
  try {
    const outcome = await transaction(async (tx) => {
      const [current] = await tx<{ status: string; locked_by: string | null }[]>`
        select status, locked_by from public.webhook_inbox where id = ${row.id} for update`;
      if (current?.status !== "processing" || current.locked_by !== options.workerId) {
        throw new InboxLeaseLostError();
      }
      const outcome = await apply(tx, toEvent(row), options);
      await tx.unsafe(MARK_PROCESSED, [[row.id], [outcome]]);
      return outcome;
    });
    return { status: "processed", outcome };
  } catch (error) {
    if (error instanceof InboxLeaseLostError) return { status: "lost" };
    return await recordFailure(sql, row, error, options);
  }
}

export type InboxJobResult = ProcessResult | { status: "not_due" | "done" | "leased" };

/**
 * Applies the inbox rows `ids` together (the `webhook.process` jobs a worker runs at once):
 * one statement claims the due ones under the lease (committed, as a single claim is, so a
 * crash leaves them to the lease's end), then ONE transaction applies them and marks the
 * applied ones processed, after checking the lease is still ours. A run of consecutive events
 * whose handler applies many at once goes in one statement under one savepoint; when that
 * fails, or for any other event, each event has its own savepoint — an event that fails rolls
 * back alone and its failure is recorded there. Exactly once, as one by one: an event's
 * effects commit only with its row leaving `processing`. Events apply in the order received.
 * At most {@linkcode BATCH_LIMIT} ids per call.
 */
export async function processInboxBatch(
  sql: postgres.Sql,
  ids: string[],
  options: ProcessOptions,
): Promise<Map<string, InboxJobResult>> {
  const results = new Map<string, InboxJobResult>();
  const rows = await sql<InboxRow[]>`
    select * from private.webhook_inbox_claim_ids(${options.workerId},
      ${options.leaseSeconds ?? 60}, ${ids}::uuid[])
    order by received_at, id`;
  if (rows.length) {
    const outcomes = await (options.transaction ?? serviceTransaction(sql))(async (tx) => {
      const held = new Set(
        (await tx<{ id: string }[]>`
          select id from public.webhook_inbox
          where id = any(${rows.map((r) => r.id)}::uuid[]) and status = 'processing'
            and locked_by = ${options.workerId}
          for update`).map((r) => r.id),
      );
      const applied: { id: string; outcome: string }[] = [];
      const failed = new Map<string, ProcessResult>();
      for (const run of runs(rows.filter((row) => held.has(row.id)), options)) {
        const together = await applyTogether(tx, run, options);
        if (together) {
          run.rows.forEach((row, i) => applied.push({ id: row.id, outcome: together[i] }));
          continue;
        }
        for (const row of run.rows) {
          try {
            // postgres.js: a failed statement fails its whole scope, so each event has its own.
            const outcome = await tx.savepoint((sp) => apply(sp, toEvent(row), options));
            applied.push({ id: row.id, outcome });
          } catch (error) {
            failed.set(row.id, await recordFailure(tx, row, error, options));
          }
        }
      }
      if (applied.length) {
        await tx.unsafe(MARK_PROCESSED, [applied.map((a) => a.id), applied.map((a) => a.outcome)]);
      }
      return { applied, failed };
    });
    for (const { id, outcome } of outcomes.applied) {
      results.set(id, { status: "processed", outcome });
    }
    for (const [id, result] of outcomes.failed) results.set(id, result);
    for (const row of rows) if (!results.has(row.id)) results.set(row.id, { status: "lost" });
  }
  for (const id of ids) {
    if (!results.has(id)) results.set(id, await notClaimed(sql, id));
  }
  return results;
}

/**
 * Events per batch. A run of Stripe events is one statement, so a larger batch costs fewer
 * transactions and round trips per event (about a quarter less CPU per event at 50 than at
 * 12); the bound is the fallback, where each event takes a subtransaction and PostgreSQL
 * caches 64 per transaction. The jobs started together are split into batches of this size
 * that run at once.
 */
export const BATCH_LIMIT = 50;

/**
 * Why the row `id` was not claimed: finished, not due yet, or held by another worker — then
 * a follow-up job is scheduled for when that lease ends (in case it crashed).
 */
async function notClaimed(
  sql: postgres.Sql,
  id: string,
): Promise<{ status: "not_due" | "done" | "leased" }> {
  const [state] = await sql<{ status: string; locked_until: Date | null }[]>`
    select status, locked_until from public.webhook_inbox where id = ${id}`;
  if (!state || state.status === "processed" || state.status === "dead") return { status: "done" };
  if (state.status === "processing" && state.locked_until) {
    await sql`
      select private.enqueue_job('webhook.process', ${sql.json({ inbox_id: id })},
        ${state.locked_until}::timestamptz + interval '1 second')`;
    return { status: "leased" };
  }
  return { status: "not_due" };
}

/** The `webhook.process` job of one row: {@linkcode processInboxBatch} of `[id]`. */
export async function processInboxById(
  sql: postgres.Sql,
  id: string,
  options: ProcessOptions,
): Promise<InboxJobResult> {
  return (await processInboxBatch(sql, [id], options)).get(id)!;
}

/** Claims and applies up to `limit` due rows, `concurrency` at a time. */
export async function drainInbox(
  sql: postgres.Sql,
  options: ProcessOptions & { limit?: number; concurrency?: number },
): Promise<ProcessResult[]> {
  const rows = await claimInbox(sql, options.workerId, {
    leaseSeconds: options.leaseSeconds,
    limit: options.limit ?? 100,
  });
  const results: ProcessResult[] = [];
  let next = 0;
  const lanes = Math.max(1, Math.min(options.concurrency ?? 4, rows.length));
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < rows.length) {
      const row = rows[next++];
      results.push(await processClaimed(sql, row, options));
    }
  }));
  return results;
}
