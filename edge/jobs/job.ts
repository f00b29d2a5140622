/**
 * What a job handler sees and may throw — shared by the worker (worker.ts), the service's
 * handlers (handlers.ts, edge/webhooks/jobs.ts, edge/auth/account_mail.ts) and the transports they
 * send through, none of which needs the others.
 */
import type postgres from "postgres";

export interface Job {
  id: string;
  queue: string;
  kind: string;
  payload: Record<string, unknown>;
  clinicId: string | null;
  /** Attempts so far, this one included. */
  attempts: number;
  maxAttempts: number;
  /** Higher runs first (claimed first, and first to a free slot among those claimed ahead). */
  priority: number;
  runAt: Date;
  createdAt: Date;
}

export interface JobContext {
  /** The worker's pool (the service's own connection: no RLS applies). */
  sql: postgres.Sql;
  workerId: string;
  /** Aborted when the lease is lost, the job times out or the worker is stopped. */
  signal: AbortSignal;
  /** This is the last attempt the job will get. */
  finalAttempt: boolean;
  /**
   * Runs `fn` in one transaction (as `service_role` for the audit log) that also marks the job
   * succeeded — committed only if this worker still holds the lease, else rolled back with a
   * `LeaseLostError`.
   */
  complete<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T>;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<unknown> | unknown;
export type Handlers = Record<string, JobHandler>;

/** A recurring job: enqueued once per period across all workers. */
export interface Schedule {
  kind: string;
  /** The period; one job per period, due at the period's start (UTC epoch aligned). */
  everyMs: number;
  payload?: Record<string, unknown>;
  queue?: string;
}

/**
 * A failure that no retry can fix — a malformed payload, a provider refusing a message for
 * good: the job is dead at once, with no further attempts.
 */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentJobError";
  }
}

/**
 * Run the job again no sooner than `delayMs` from now (a provider's `Retry-After`, a rate
 * limit's next free slot). `attempted: false` says nothing was tried (the job only waits its
 * turn): the attempt is given back and the job never dies of it.
 */
export class RetryLaterError extends Error {
  constructor(message: string, readonly delayMs: number, readonly attempted = true) {
    super(message);
    this.name = "RetryLaterError";
  }
}

/** Another worker holds the job now (our lease expired). */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeaseLostError";
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A required uuid of the payload; anything else is a `PermanentJobError`. */
export function uuidField(payload: Record<string, unknown>, name: string): string {
  const value = payload[name];
  if (typeof value !== "string" || !uuidPattern.test(value)) {
    throw new PermanentJobError(`payload.${name} must be a uuid`);
  }
  return value;
}

/**
 * An optional positive whole number of the payload: `fallback` when absent, a
 * `PermanentJobError` when present but anything else.
 */
export function countField(
  payload: Record<string, unknown>,
  name: string,
  fallback: number,
): number {
  const value = payload[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new PermanentJobError(`payload.${name} must be a positive whole number`);
  }
  return value;
}
