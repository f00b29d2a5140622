/** Enqueues a job from TypeScript (SQL code calls `private.enqueue_job` in its transaction). */
import type postgres from "postgres";

export interface EnqueueOptions {
  runAt?: Date;
  clinicId?: string | null;
  /** At most one job per key, ever (until purged): a second enqueue is a no-op. */
  dedupeKey?: string | null;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
}

/**
 * Inserts the job and notifies `jobs` (both commit with the caller's transaction when `sql` is
 * one). Returns the job id, or null when the dedupe key already exists.
 */
export async function enqueue(
  sql: postgres.Sql | postgres.TransactionSql,
  kind: string,
  payload: Record<string, unknown> = {},
  options: EnqueueOptions = {},
): Promise<string | null> {
  const queue = options.queue ?? "default";
  const [row] = await sql`
    with j as (
      insert into public.jobs
        (queue, kind, payload, run_at, clinic_id, dedupe_key, priority, max_attempts)
      values (${queue}, ${kind}, ${sql.json(payload as never)}, ${options.runAt ?? new Date()},
        ${options.clinicId ?? null}, ${options.dedupeKey ?? null}, ${options.priority ?? 0},
        ${options.maxAttempts ?? 5})
      on conflict (dedupe_key) where dedupe_key is not null do nothing
      returning id
    )
    select j.id, pg_notify('jobs', ${queue}) from j`;
  return row ? String(row.id) : null;
}
