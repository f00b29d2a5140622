/**
 * `deno task bench jobs`: the job worker's throughput (jobs/s) and enqueue-to-start latency.
 *
 * - Throughput: a queue pre-filled with N no-op jobs, drained by one worker (and by two workers
 *   sharing the database, as with scale-out); also with transactional handlers (`ctx.complete`,
 *   one transaction per job) and while producers keep enqueueing.
 * - Latency: single jobs enqueued one by one (each its own transaction, as a request would),
 *   from just before the enqueue is sent to the handler starting — woken by NOTIFY, and, for
 *   comparison, by polling alone.
 * Targets (issue 5): ≥ 2,000 jobs/s and p50 ≤ 20 ms on this machine. Measured, not asserted.
 */
import type postgres from "postgres";
import type { Bench, BenchContext } from "../support.ts";
import { latencySummary, ms, table } from "../support.ts";
import { enqueue, type Handlers, startWorker, type WorkerOptions } from "../../edge/jobs/mod.ts";

const now = () => performance.timeOrigin + performance.now();
const quiet = { log: () => {} };

async function fill(sql: postgres.Sql, n: number, kind: string) {
  await sql`
    insert into public.jobs (kind, payload)
    select ${kind}, jsonb_build_object('i', g) from generate_series(1, ${n}) g`;
}

async function waitDone(sql: postgres.Sql, total: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [r] = await sql`
      select count(*)::int as n from public.jobs where status = 'succeeded'`;
    if (r.n >= total) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("jobs did not finish in time");
}

interface Drain {
  label: string;
  jobs: number;
  seconds: number;
}

async function drain(
  ctx: BenchContext,
  label: string,
  total: number,
  options: { workers: number; transactional?: boolean; concurrency: number; producers?: number },
): Promise<Drain> {
  const db = await ctx.freshDatabase({ max: 40 });
  try {
    const handlers: Handlers = {
      "bench.noop": options.transactional
        ? (_job, c) => c.complete((tx) => tx`select 1`)
        : () => {},
    };
    const workerOptions: WorkerOptions = {
      sql: db.sql,
      handlers,
      schedules: [],
      concurrency: options.concurrency,
      pollMs: 200,
      ...quiet,
    };
    if (!options.producers) await fill(db.sql, total, "bench.noop");
    const t0 = performance.now();
    const workers = Array.from({ length: options.workers }, () => startWorker(workerOptions));
    await Promise.all(workers.map((w) => w.ready));
    if (options.producers) {
      // Producers: transactions of 50 enqueues each (NOTIFY per transaction), all at once.
      const perProducer = Math.ceil(total / options.producers / 50);
      await Promise.all(
        Array.from({ length: options.producers }, () =>
          (async () => {
            for (let b = 0; b < perProducer; b++) {
              await db.sql.begin(async (tx) => {
                await tx`
                  insert into public.jobs (kind, payload)
                  select 'bench.noop', '{}' from generate_series(1, 50)`;
                await tx`select pg_notify('jobs', 'default')`;
              });
            }
          })()),
      );
      total = options.producers * perProducer * 50;
    }
    await waitDone(db.sql, total);
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(workers.map((w) => w.stop()));
    return { label, jobs: total, seconds };
  } finally {
    await db.drop();
  }
}

async function latency(
  ctx: BenchContext,
  count: number,
  ratePerSecond: number,
  listen: boolean,
): Promise<number[]> {
  const db = await ctx.freshDatabase({ max: 20 });
  try {
    const samples: number[] = [];
    const handlers: Handlers = {
      "bench.latency": (job) => {
        samples.push(now() - (job.payload.t0 as number));
      },
    };
    const worker = startWorker({
      sql: db.sql,
      handlers,
      schedules: [],
      concurrency: 16,
      listen,
      pollMs: listen ? 1_000 : 200,
      // Polling only: no quicker follow-up claim either, so the row shows the bare backstop.
      ...(listen ? {} : { followUpMs: 200 }),
      ...quiet,
    });
    await worker.ready;
    const gap = 1000 / ratePerSecond;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + i * gap;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await enqueue(db.sql, "bench.latency", { t0: now() });
    }
    await waitDone(db.sql, count);
    await worker.stop();
    return samples;
  } finally {
    await db.drop();
  }
}

const bench: Bench = async (ctx) => {
  const N = 20_000;
  const drains: Drain[] = [];
  // Warm-up (JIT, plans), not reported.
  await drain(ctx, "warm-up", 2_000, { workers: 1, concurrency: 64 });
  drains.push(
    await drain(ctx, "1 worker, no-op handler, queue pre-filled", N, {
      workers: 1,
      concurrency: 64,
    }),
  );
  drains.push(
    await drain(ctx, "2 workers (scale-out), no-op handler, pre-filled", N, {
      workers: 2,
      concurrency: 64,
    }),
  );
  drains.push(
    await drain(ctx, "1 worker, 4 producers enqueueing meanwhile", N, {
      workers: 1,
      concurrency: 64,
      producers: 4,
    }),
  );
  drains.push(
    await drain(ctx, "1 worker, transactional handler (`ctx.complete`)", 5_000, {
      workers: 1,
      concurrency: 16,
      transactional: true,
    }),
  );

  const notify = latencySummary(await latency(ctx, 1_000, 200, true));
  const polled = latencySummary(await latency(ctx, 200, 50, false));
  const single = drains[0].jobs / drains[0].seconds;
  const scaled = drains[1].jobs / drains[1].seconds;

  const markdown = [
    "Worker throughput (jobs/s: jobs ÷ time from worker start to the last completion):",
    "",
    table(
      ["Scenario", "Jobs", "Seconds", "Jobs/s"],
      drains.map((d) => [d.label, d.jobs, d.seconds.toFixed(2), Math.round(d.jobs / d.seconds)]),
    ),
    "",
    "Enqueue-to-start latency (from just before the enqueue transaction is sent to the " +
    "handler starting; single jobs, each its own transaction):",
    "",
    table(["Wake-up", "Jobs", "Rate", "p50", "p95", "p99", "max"], [
      [
        "LISTEN/NOTIFY",
        1_000,
        "200/s",
        ms(notify.p50),
        ms(notify.p95),
        ms(notify.p99),
        ms(notify.max),
      ],
      [
        "polling only (200 ms)",
        200,
        "50/s",
        ms(polled.p50),
        ms(polled.p95),
        ms(polled.p99),
        ms(polled.max),
      ],
    ]),
    "",
    `Targets: ≥ 2,000 jobs/s — **${Math.round(single)} jobs/s** with one worker, ` +
    `${Math.round(scaled)} with two (${single >= 2000 ? "met" : "not met"}); ` +
    `p50 ≤ 20 ms — **${ms(notify.p50)}** ` +
    `(${notify.p50 <= 20 ? "met" : "not met"}). Claims take up to 64 jobs per ` +
    "`FOR UPDATE SKIP LOCKED` query and completions are recorded in batches; the cluster " +
    "runs with durable commits (fsync on).",
  ].join("\n");
  return { title: "Job worker (bench/jobs)", markdown };
};

export default bench;
