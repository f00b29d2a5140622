/**
 * The job worker: `public.jobs` as a queue.
 *
 * - Claims ready jobs (`status = 'queued' and run_at <= now()`) in batches with
 *   `FOR UPDATE SKIP LOCKED`, marking them `running` under a lease (`locked_until`), and counts
 *   the attempt at claim time. A `batchSize` above `concurrency` claims ahead: the extra jobs
 *   wait in the worker, under its lease, for a free slot, and the next claim comes when fewer
 *   than `concurrency` are waiting — under a backlog, one query per few hundred jobs.
 * - Heartbeats extend the lease of the jobs it holds; a job whose lease it lost is aborted (or,
 *   still waiting, dropped).
 * - Outcomes are recorded in batches: whatever finished while the previous batch was being
 *   written goes in one statement (success, retry or death, per job). Each is recorded only
 *   for the attempt that ran and only while this worker still holds its lease, so a job is
 *   never completed twice nor by a worker that lost it. A handler may instead call
 *   `ctx.complete(fn)`: its writes and the completion commit together, under the same
 *   conditions, so its database effects happen exactly once even if the job runs twice.
 * - Failure re-queues with jittered exponential backoff; after `max_attempts` (or a
 *   `PermanentJobError`) the job is `dead` with its last error. A `RetryLaterError` re-queues
 *   it no sooner than its delay (and gives the attempt back when nothing was attempted).
 * - A crashed worker's jobs are taken again once their lease has expired: the reaper re-queues
 *   them (the crashed attempt stays counted) or buries them when that was the last attempt.
 * - Wakes on `NOTIFY jobs` (sent by `private.enqueue_job`), with polling as the backstop, so a
 *   job scheduled for later (`run_at`) starts within one poll interval of its time. Concurrent
 *   enqueuers send one NOTIFY between them, and the one that sent it may commit before the
 *   others: after a claim that found jobs the worker claims again `followUpMs` later.
 * - Recurring jobs (`schedules`) are enqueued once per period across all workers (dedupe key).
 */
import type postgres from "postgres";
import {
  type Handlers,
  type Job,
  type JobContext,
  LeaseLostError,
  PermanentJobError,
  RetryLaterError,
  type Schedule,
} from "./job.ts";

export interface Backoff {
  /** Delay after the first failed attempt (doubled each attempt). */
  baseMs: number;
  maxMs: number;
}

export interface WorkerOptions {
  sql: postgres.Sql;
  /** Handlers by job kind (the service's: `serviceHandlers` in handlers.ts). */
  handlers: Handlers;
  /** Recurring jobs (the service's: `serviceSchedules`); `[]` for none. */
  schedules: Schedule[];
  queues?: string[];
  /** Jobs run at once (default 10). */
  concurrency?: number;
  /**
   * Most jobs claimed per query (default: concurrency). Above `concurrency`, the worker holds
   * up to this many jobs: those without a slot wait in it, leased, and are handed back
   * unattempted when it stops.
   */
  batchSize?: number;
  leaseMs?: number;
  heartbeatMs?: number;
  /** Backstop poll when no NOTIFY arrives (default 1000 ms); also the reaper's period. */
  pollMs?: number;
  /**
   * After a claim that found jobs (but not a full batch), the next claim comes this soon
   * (default 25 ms), for jobs whose transactions committed just after the one that notified.
   */
  followUpMs?: number;
  backoff?: Backoff;
  /** A handler running longer than this fails (default 5 min). */
  jobTimeoutMs?: number;
  /** LISTEN for `jobs` notifications (default true). */
  listen?: boolean;
  workerId?: string;
  /** Called when a handler starts (benchmarks measure enqueue-to-start latency with it). */
  onStart?: (job: Job) => void;
  /** Diagnostics; default `console.error`. Never receives payloads. */
  log?: (line: string) => void;
}

export interface WorkerStats {
  claimed: number;
  succeeded: number;
  retried: number;
  dead: number;
  reaped: number;
}

export interface Worker {
  readonly id: string;
  /** Resolves once LISTEN is in place and the first poll ran. */
  readonly ready: Promise<void>;
  readonly stats: WorkerStats;
  /** Polls now (as a NOTIFY would). */
  wake(): void;
  /**
   * Stops claiming, waits up to `graceMs` (default 10 s) for running jobs, re-queues what is
   * still running, and releases its timers and LISTEN. The pool stays open (it is the caller's).
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const DEFAULT_BACKOFF: Backoff = { baseMs: 1_000, maxMs: 3_600_000 };

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: `base × 2^(attempt-1)`
 * capped at `max`, with "equal jitter" (half fixed, half random) so retries spread out.
 */
export function backoffDelay(
  attempt: number,
  backoff: Backoff = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Wait for `ms` or until poked, whichever is first; a poke before the wait is remembered. */
class Waker {
  #poked = false;
  #wakeup?: () => void;

  poke() {
    this.#poked = true;
    this.#wakeup?.();
  }

  wait(ms: number): Promise<void> {
    if (this.#poked) {
      this.#poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeup = undefined;
        this.#poked = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#wakeup = done;
    });
  }
}

interface Running {
  job: Job;
  controller: AbortController;
  completed: boolean;
  done: Promise<void>;
}

/** What became of an attempt, to be recorded with the others that finished about then. */
interface Outcome {
  job: Job;
  status: "succeeded" | "queued" | "dead";
  /** The retry's delay (status `queued`). */
  delayMs: number | null;
  error: string | null;
  /** Nothing was attempted (`RetryLaterError` with `attempted: false`): the attempt is given back. */
  giveBack: boolean;
}

interface JobRow {
  id: string;
  queue: string;
  kind: string;
  payload: Record<string, unknown> | null;
  clinic_id: string | null;
  attempts: number;
  max_attempts: number;
  priority: number;
  run_at: Date;
  created_at: Date;
}

/**
 * One statement for a batch of outcomes ($1 the worker; then per job: id, attempt, status,
 * retry delay, error, 1 when the attempt is given back); the rows are found by primary key, then matched to their outcome. Sent
 * unprepared: a cached generic plan does not know the arrays' length and may rescan them for
 * every row (quadratic in the batch), where a plan made for the actual arrays hashes them.
 */
const RECORD_OUTCOMES = `
  update public.jobs j
  set status = o.status::public.job_status, attempts = j.attempts - o.give_back,
      run_at = coalesce(now() + o.delay_ms * interval '1 millisecond', j.run_at),
      last_error = coalesce(o.error, j.last_error),
      locked_by = null, locked_until = null,
      finished_at = case when o.status <> 'queued' then now() end, updated_at = now()
  from unnest($2::bigint[], $3::int[], $4::text[], $5::int[], $6::text[], $7::int[])
    as o(id, attempts, status, delay_ms, error, give_back)
  where j.id = any($2::bigint[]) and j.id = o.id and j.attempts = o.attempts
    and j.locked_by = $1 and j.status = 'running'
  returning j.status::text as status`;

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2000);
  return String(error).slice(0, 2000);
}

export function startWorker(options: WorkerOptions): Worker {
  const { sql, handlers, schedules } = options;
  const queues = options.queues?.length ? options.queues : ["default"];
  const concurrency = Math.max(1, options.concurrency ?? 10);
  const batchSize = Math.max(1, options.batchSize ?? concurrency);
  // The most jobs held at once, running or waiting for a slot.
  const capacity = Math.max(concurrency, batchSize);
  const leaseMs = options.leaseMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3));
  const pollMs = options.pollMs ?? 1_000;
  const followUpMs = Math.min(pollMs, options.followUpMs ?? 25);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const jobTimeoutMs = options.jobTimeoutMs ?? 300_000;
  const log = options.log ?? ((line: string) => console.error(line));
  const id = options.workerId ??
    `${Deno.hostname()}:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;

  const stats: WorkerStats = { claimed: 0, succeeded: 0, retried: 0, dead: 0, reaped: 0 };
  const running = new Map<string, Running>();
  /** Claimed jobs waiting for a slot (only when `batchSize` exceeds `concurrency`). */
  const waiting = new Map<string, Job>();
  const waker = new Waker();
  let stopping = false;
  let lastClaimFull = false;
  let unlisten: (() => Promise<unknown>) | undefined;
  let stopped: Promise<void> | undefined;

  /** Room for a claim: below capacity, and too few jobs waiting to fill every slot. */
  const canClaim = () =>
    running.size + waiting.size < capacity &&
    waiting.size < Math.max(concurrency, Math.floor(capacity / 2));

  // ---- outcomes, batched: what finished while the last batch was written goes in the next.
  const outcomes: Outcome[] = [];
  let flushing: Promise<void> | undefined;
  function record(outcome: Outcome) {
    outcomes.push(outcome);
    flushing ??= flush();
  }
  async function flush() {
    // Whatever else finishes in this turn of the event loop goes in the same statement.
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      while (outcomes.length) {
        const batch = outcomes.splice(0);
        try {
          const rows = await sql.unsafe(RECORD_OUTCOMES, [
            id,
            batch.map((o) => o.job.id),
            batch.map((o) => o.job.attempts),
            batch.map((o) => o.status),
            batch.map((o) => o.delayMs),
            batch.map((o) => o.error),
            batch.map((o) => o.giveBack ? 1 : 0),
          ], { prepare: false });
          for (const row of rows) {
            if (row.status === "succeeded") stats.succeeded++;
            else if (row.status === "dead") stats.dead++;
            else stats.retried++;
          }
        } catch (error) {
          log(`[jobs] ${id}: could not record ${batch.length} outcomes: ${errorText(error)}`);
        }
      }
    } finally {
      flushing = undefined;
    }
  }

  function fail(job: Job, error: unknown) {
    const later = error instanceof RetryLaterError ? error : undefined;
    const waiting = later?.attempted === false;
    const dead = error instanceof PermanentJobError ||
      (!waiting && job.attempts >= job.maxAttempts);
    const delay = dead
      ? 0
      : waiting
      ? later!.delayMs
      : Math.max(backoffDelay(job.attempts, backoff), later?.delayMs ?? 0);
    const message = errorText(error);
    record({
      job,
      status: dead ? "dead" : "queued",
      delayMs: dead ? null : delay,
      error: message,
      giveBack: waiting,
    });
    if (!(error instanceof LeaseLostError) && !waiting) {
      log(
        `[jobs] job ${job.id} (${job.kind}) attempt ${job.attempts}/${job.maxAttempts} ` +
          `failed${dead ? ", now dead" : `, retry in ${delay} ms`}: ${message}`,
      );
    }
  }

  function complete<T>(
    job: Job,
    entry: Running,
    fn: (tx: postgres.TransactionSql) => Promise<T>,
  ): Promise<T> {
    return (sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      const result = await fn(tx);
      const done = await tx`
        update public.jobs
        set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null
        where id = ${job.id} and attempts = ${job.attempts} and locked_by = ${id}
          and status = 'running'
        returning id`;
      if (!done.length) {
        throw new LeaseLostError(`job ${job.id}: lease lost before completion`);
      }
      return result;
    }) as Promise<T>).then((result) => {
      entry.completed = true;
      stats.succeeded++;
      return result;
    });
  }

  /** Starts waiting jobs while slots are free, the highest priority first (then as claimed). */
  function pump() {
    while (!stopping && running.size < concurrency && waiting.size > 0) {
      let next: Job | undefined;
      for (const job of waiting.values()) {
        if (next === undefined || job.priority > next.priority) next = job;
      }
      waiting.delete(next!.id);
      run(next!);
    }
  }

  function run(job: Job) {
    const controller = new AbortController();
    const entry = { job, controller, completed: false } as Running;
    const handler = Object.hasOwn(handlers, job.kind) ? handlers[job.kind] : undefined;
    const ctx: JobContext = {
      sql,
      workerId: id,
      signal: controller.signal,
      finalAttempt: job.attempts >= job.maxAttempts,
      complete: (fn) => complete(job, entry, fn),
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const work = (async () => {
      if (!handler) throw new Error(`no handler for job kind '${job.kind}'`);
      options.onStart?.(job);
      await handler(job, ctx);
    })();
    const limits = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`timed out after ${jobTimeoutMs} ms`);
        controller.abort(error);
        reject(error);
      }, jobTimeoutMs);
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
        once: true,
      });
    });
    limits.catch(() => {});
    work.catch(() => {});
    entry.done = Promise.race([work, limits])
      .then(() => {
        if (!entry.completed) {
          record({ job, status: "succeeded", delayMs: null, error: null, giveBack: false });
        }
      }, (error) => {
        if (!entry.completed) fail(job, error);
      })
      .finally(() => {
        clearTimeout(timer);
        // The same job may run here again meanwhile (its lease lapsed and it was claimed anew).
        if (running.get(job.id) === entry) running.delete(job.id);
        pump();
        if (lastClaimFull && canClaim()) waker.poke();
      });
    running.set(job.id, entry);
  }

  async function claim(limit: number): Promise<Job[]> {
    const queueFilter = queues.length === 1
      ? sql`queue = ${queues[0]}`
      : sql`queue = any(${queues}::text[])`;
    // The ids come as an array (an InitPlan), so the update finds its rows by primary key
    // whatever the planner estimates for a join.
    const rows = await sql<JobRow[]>`
      update public.jobs
      set status = 'running', attempts = attempts + 1, locked_by = ${id},
          locked_until = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
      where id = any(array(
        select id from public.jobs
        where status = 'queued' and ${queueFilter} and run_at <= now()
        order by priority desc, run_at, id
        limit ${limit}
        for update skip locked))
      returning id, queue, kind, payload, clinic_id, attempts, max_attempts, priority, run_at,
        created_at`;
    stats.claimed += rows.length;
    return rows.map((r) => ({
      id: String(r.id),
      queue: r.queue,
      kind: r.kind,
      payload: r.payload ?? {},
      clinicId: r.clinic_id,
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
      priority: r.priority,
      runAt: r.run_at,
      createdAt: r.created_at,
    }));
  }

  /** Jobs whose lease expired (their worker died): re-queued with backoff, or dead. */
  async function reap() {
    const rows = await sql`
      with stale as (
        select id from public.jobs
        where status = 'running' and locked_until < now()
        order by locked_until
        limit 100
        for update skip locked
      )
      update public.jobs j
      set status = case when j.attempts >= j.max_attempts then 'dead'::public.job_status
                        else 'queued'::public.job_status end,
          run_at = now() + make_interval(secs => least(
            ${backoff.baseMs}::float8 * power(2, greatest(j.attempts - 1, 0)),
            ${backoff.maxMs}::float8) / 1000.0),
          last_error = format('lease expired: worker %s stopped during attempt %s',
            j.locked_by, j.attempts),
          locked_by = null, locked_until = null,
          finished_at = case when j.attempts >= j.max_attempts then now() end
      from stale
      where j.id = stale.id
      returning j.id, j.status`;
    stats.reaped += rows.length;
    for (const row of rows) if (row.status === "dead") stats.dead++;
  }

  async function ensureSchedules() {
    const now = Date.now();
    for (const s of schedules) {
      const at = new Date(Math.floor(now / s.everyMs) * s.everyMs);
      await sql`
        select private.enqueue_job(${s.kind}, ${sql.json((s.payload ?? {}) as never)}, ${at},
          null, ${`${s.kind}@${at.toISOString()}`}, ${s.queue ?? "default"})`;
    }
  }

  let beating = false;
  const heartbeat = setInterval(async () => {
    if (beating || running.size + waiting.size === 0) return;
    beating = true;
    const ids = [...running.keys(), ...waiting.keys()];
    try {
      const rows = await sql`
        update public.jobs
        set locked_until = now() + ${leaseMs} * interval '1 millisecond'
        where id = any(${ids}::bigint[]) and locked_by = ${id} and status = 'running'
        returning id`;
      const kept = new Set(rows.map((r) => String(r.id)));
      for (const jobId of ids) {
        if (kept.has(jobId)) continue;
        waiting.delete(jobId);
        const entry = running.get(jobId);
        if (entry && !entry.completed) {
          entry.controller.abort(new LeaseLostError(`job ${jobId}: lease lost`));
        }
      }
    } catch (error) {
      log(`[jobs] ${id}: heartbeat failed: ${errorText(error)}`);
    } finally {
      beating = false;
    }
  }, heartbeatMs);

  async function loop() {
    let nextReap = 0;
    let nextSchedule = 0;
    while (!stopping) {
      let found = false;
      try {
        const now = Date.now();
        if (now >= nextReap) {
          nextReap = now + pollMs;
          await reap();
        }
        if (schedules.length && now >= nextSchedule) {
          nextSchedule = now + 60_000;
          await ensureSchedules();
        }
        if (canClaim()) {
          const want = Math.min(capacity - running.size - waiting.size, batchSize);
          const jobs = await claim(want);
          for (const job of jobs) waiting.set(job.id, job);
          pump();
          found = jobs.length > 0;
          lastClaimFull = jobs.length === want;
          if (lastClaimFull) continue;
        } else {
          lastClaimFull = true;
        }
      } catch (error) {
        if (stopping) break;
        log(`[jobs] ${id}: poll failed: ${errorText(error)}`);
      }
      await waker.wait(found ? followUpMs : pollMs);
    }
  }

  let loopDone: Promise<void> = Promise.resolve();
  const ready = (async () => {
    if (options.listen ?? true) {
      try {
        const listener = await sql.listen("jobs", (queue) => {
          if (!queue || queues.includes(queue)) waker.poke();
        }, () => waker.poke());
        unlisten = listener.unlisten;
      } catch (error) {
        log(`[jobs] ${id}: LISTEN failed, polling only: ${errorText(error)}`);
      }
    }
    if (!stopping) loopDone = loop();
  })();

  /** Hands the jobs still waiting for a slot back to the queue, their attempt not counted. */
  async function release() {
    const ids = [...waiting.keys()];
    waiting.clear();
    if (!ids.length) return;
    await sql`
      update public.jobs
      set status = 'queued', attempts = attempts - 1, locked_by = null, locked_until = null
      where id = any(${ids}::bigint[]) and locked_by = ${id} and status = 'running'`
      .catch((error) => log(`[jobs] ${id}: could not release jobs: ${errorText(error)}`));
  }

  async function stop(stopOptions: { graceMs?: number } = {}): Promise<void> {
    stopping = true;
    waker.poke();
    await ready;
    await loopDone;
    await release();
    const graceMs = stopOptions.graceMs ?? 10_000;
    if (running.size) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...running.values()].map((r) => r.done)),
        new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    }
    if (running.size) {
      const ids = [...running.keys()];
      for (const entry of running.values()) {
        entry.controller.abort(new Error("worker stopping"));
      }
      await Promise.allSettled([...running.values()].map((r) => r.done));
      while (flushing) await flushing;
      // Whatever did not finish goes back to the queue now rather than after the lease.
      await sql`
        update public.jobs
        set status = 'queued', locked_by = null, locked_until = null, run_at = now(),
            last_error = 'worker stopped during the attempt'
        where id = any(${ids}::bigint[]) and locked_by = ${id} and status = 'running'`
        .catch((error) => log(`[jobs] ${id}: could not release jobs: ${errorText(error)}`));
    }
    clearInterval(heartbeat);
    while (flushing) await flushing;
    if (unlisten) await unlisten().catch(() => {});
  }

  return {
    id,
    ready,
    stats,
    wake: () => waker.poke(),
    stop: (stopOptions) => stopped ??= stop(stopOptions),
  };
}
