/**
 * `deno task bench jobs`: the job worker's throughput (jobs/s) and enqueue-to-start latency,
 * side by side with graphile-worker (./graphile.ts) on the same cluster in the same run.
 *
 * - Drain: a queue pre-filled with 20,000 no-op jobs, emptied by one worker — ours with the
 *   peer's perfTest settings (24 jobs at once, claims of up to 500), rounds alternating which
 *   of the two goes first; CPU per job of this process (the worker) and of PostgreSQL.
 * - Latency: single jobs enqueued one by one (each its own transaction, as a request would),
 *   from just before the enqueue is sent to the handler starting, woken by NOTIFY — both
 *   workers; ours also by polling alone.
 * - Ours alone: two workers sharing the database, producers enqueueing meanwhile,
 *   transactional handlers (`ctx.complete`), and claims no larger than the concurrency.
 * The machine is shared, so absolute figures wander; the ratios of the same run are the result.
 * Targets (issue 15): drain ≥ 1.0× graphile-worker's, latency no worse. Measured, not asserted.
 */
import type postgres from "postgres";
import {
  type Bench,
  type BenchContext,
  cpuMeter,
  latencySummary,
  ms,
  postmasterOf,
  table,
} from "../support.ts";
import { enqueue, type Handlers, startWorker, type WorkerOptions } from "../../edge/jobs/mod.ts";
import { drainGraphile, graphileSettings, startGraphile } from "./graphile.ts";
import { type Drained, type DrainMeter, now, pause } from "./measure.ts";

const quiet = { log: () => {} };
const N = 20_000;
const ROUNDS = 3;
/** Ours with the peer's perfTest settings. */
const peerLike = {
  concurrency: graphileSettings.concurrentJobs,
  batchSize: graphileSettings.localQueue.size,
};

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
    await pause(10);
  }
  throw new Error("jobs did not finish in time");
}

/** Ours on a pre-filled queue: from the worker ready to its last completion recorded. */
async function drainOurs(
  ctx: BenchContext,
  total: number,
  meter: DrainMeter,
  settings: { concurrency: number; batchSize: number },
): Promise<Drained> {
  const db = await ctx.freshDatabase({ max: graphileSettings.maxPoolSize });
  try {
    await fill(db.sql, total, "bench.noop");
    await meter.start();
    const worker = startWorker({
      sql: db.sql,
      handlers: { "bench.noop": () => {} },
      schedules: [],
      pollMs: 200,
      ...settings,
      ...quiet,
    });
    await worker.ready;
    const t0 = performance.now();
    while (worker.stats.succeeded < total) await pause(2);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = await meter.stop();
    await worker.stop();
    return { jobs: total, seconds, cpu };
  } finally {
    await db.drop();
  }
}

interface Scenario {
  label: string;
  jobs: number;
  seconds: number;
}

/** Ours in the other shapes: several workers, producers meanwhile, transactional handlers. */
async function scenario(
  ctx: BenchContext,
  label: string,
  total: number,
  options: {
    workers: number;
    transactional?: boolean;
    concurrency: number;
    batchSize: number;
    producers?: number;
  },
): Promise<Scenario> {
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
      batchSize: options.batchSize,
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
        Array.from({ length: options.producers }, async () => {
          for (let b = 0; b < perProducer; b++) {
            await db.sql.begin(async (tx) => {
              await tx`
                insert into public.jobs (kind, payload)
                select 'bench.noop', '{}' from generate_series(1, 50)`;
              await tx`select pg_notify('jobs', 'default')`;
            });
          }
        }),
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

/** Ours woken by polling alone (no LISTEN, no quicker follow-up claim): the bare backstop. */
async function polledLatency(
  ctx: BenchContext,
  count: number,
  ratePerSecond: number,
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
      ...peerLike,
      listen: false,
      pollMs: 200,
      followUpMs: 200,
      ...quiet,
    });
    await worker.ready;
    const gap = 1000 / ratePerSecond;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = start + i * gap - performance.now();
      if (wait > 0) await pause(wait);
      await enqueue(db.sql, "bench.latency", { t0: now() });
    }
    await waitDone(db.sql, count);
    await worker.stop();
    return samples;
  } finally {
    await db.drop();
  }
}

/**
 * Enqueue-to-start latency of both workers at once (each on its own database), woken by
 * NOTIFY: `count` single jobs each at `ratePerSecond`, the two enqueues of a tick back to back
 * in alternating order, so the machine's load falls on both alike.
 */
async function pairedLatency(
  ctx: BenchContext,
  count: number,
  ratePerSecond: number,
): Promise<{ ours: number[]; theirs: number[] }> {
  const ours: number[] = [];
  const theirs: number[] = [];
  const db = await ctx.freshDatabase({ max: 20 });
  const worker = startWorker({
    sql: db.sql,
    handlers: { "bench.latency": (job) => void ours.push(now() - (job.payload.t0 as number)) },
    schedules: [],
    ...peerLike,
    pollMs: 1_000,
    ...quiet,
  });
  const peer = await startGraphile(ctx, {
    latency: (payload) => void theirs.push(now() - (payload as { t0: number }).t0),
  });
  try {
    await worker.ready;
    const enqueueOurs = () => enqueue(db.sql, "bench.latency", { t0: now() });
    const enqueueTheirs = () => peer.addJob("latency", { t0: now() });
    const gap = 1000 / ratePerSecond;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = start + i * gap - performance.now();
      if (wait > 0) await pause(wait);
      const [first, second] = i % 2 ? [enqueueOurs, enqueueTheirs] : [enqueueTheirs, enqueueOurs];
      await first();
      await second();
    }
    while (ours.length < count || theirs.length < count) await pause(5);
    return { ours, theirs };
  } finally {
    await worker.stop();
    await peer.stop();
    await db.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perSecond = (d: { jobs: number; seconds: number }) => d.jobs / d.seconds;
const usPerJob = (d: Drained) =>
  `${(d.cpu.selfMs * 1000 / d.jobs).toFixed(0)} · ${(d.cpu.postgresMs * 1000 / d.jobs).toFixed(0)}`;

const bench: Bench = async (ctx) => {
  const probe = await ctx.freshDatabase({ max: 1 });
  const meter = cpuMeter(await postmasterOf(probe.sql));
  await probe.drop();

  // Warm-up (JIT, plans, npm modules), not reported.
  await drainOurs(ctx, 2_000, meter, peerLike);
  await drainGraphile(ctx, 2_000, meter);

  const rounds: { ours: Drained; theirs: Drained }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      const theirs = await drainGraphile(ctx, N, meter);
      rounds.push({ theirs, ours: await drainOurs(ctx, N, meter, peerLike) });
    } else {
      const ours = await drainOurs(ctx, N, meter, peerLike);
      rounds.push({ ours, theirs: await drainGraphile(ctx, N, meter) });
    }
  }
  const ratios = rounds.map((r) => perSecond(r.ours) / perSecond(r.theirs));
  const oursRate = median(rounds.map((r) => perSecond(r.ours)));
  const theirsRate = median(rounds.map((r) => perSecond(r.theirs)));

  // Latency: both at once, 2 × 500 single jobs each at 200/s.
  const oursLatency: number[] = [];
  const theirsLatency: number[] = [];
  for (let r = 0; r < 2; r++) {
    const { ours, theirs } = await pairedLatency(ctx, 500, 200);
    oursLatency.push(...ours);
    theirsLatency.push(...theirs);
  }
  const ol = latencySummary(oursLatency);
  const tl = latencySummary(theirsLatency);
  const polled = latencySummary(await polledLatency(ctx, 200, 50));

  const scenarios = [
    await scenario(ctx, "2 workers (scale-out), no-op handler, pre-filled", N, {
      workers: 2,
      ...peerLike,
    }),
    await scenario(ctx, "1 worker, 4 producers enqueueing meanwhile", N, {
      workers: 1,
      producers: 4,
      ...peerLike,
    }),
    await scenario(ctx, "1 worker, transactional handler (`ctx.complete`)", 5_000, {
      workers: 1,
      transactional: true,
      concurrency: 16,
      batchSize: 16,
    }),
    await scenario(ctx, "1 worker, claims no larger than the concurrency (24)", N, {
      workers: 1,
      concurrency: 24,
      batchSize: 24,
    }),
  ];

  const ratio = oursRate / theirsRate;
  const markdown = [
    "**Side by side with graphile-worker** 0.18.0 (npm), in this process, each run on a fresh " +
    "database of the same cluster: a queue pre-filled with 20,000 no-op jobs, drained by one " +
    "worker, from the worker ready to the last completion recorded (ours: the row marked " +
    "`succeeded`; graphile-worker: the row deleted). graphile-worker with its perfTest " +
    "settings (`concurrentJobs` 24, `maxPoolSize` 25, `localQueue` 500 with a 10 ms refetch " +
    "delay, `completeJobBatchDelay` and `failJobBatchDelay` 0); ours with the same: 24 jobs at " +
    "once, claims of up to 500, a pool of 25. Rounds alternate which goes first. CPU per job " +
    "is µs of this process (the worker) · µs of PostgreSQL (all its processes).",
    "",
    table(
      [
        "Round",
        "graphile-worker jobs/s",
        "ours jobs/s",
        "ours ÷ graphile",
        "CPU/job graphile",
        "CPU/job ours",
      ],
      rounds.map((r, i) => [
        i + 1,
        Math.round(perSecond(r.theirs)),
        Math.round(perSecond(r.ours)),
        `${ratios[i].toFixed(2)}×`,
        usPerJob(r.theirs),
        usPerJob(r.ours),
      ]),
    ),
    "",
    `Medians: ours ${Math.round(oursRate)} jobs/s, graphile-worker ${Math.round(theirsRate)} ` +
    `jobs/s: **${ratio.toFixed(2)}×** (target ≥ 1.0×: ${ratio >= 1 ? "met" : "not met"}; ` +
    `per round ${ratios.map((x) => `${x.toFixed(2)}×`).join(", ")}).`,
    "",
    "Enqueue-to-start latency, woken by NOTIFY: both workers running at once, each on its own " +
    "database, 2 × 500 single jobs each at 200/s, the two enqueues of a tick back to back in " +
    "alternating order; each enqueue its own statement and transaction (ours `enqueue`, " +
    "theirs `graphile_worker.add_job`), timed from just before it is sent to the handler " +
    "starting:",
    "",
    table(["Worker", "Jobs", "p50", "p95", "p99", "max"], [
      ["graphile-worker", theirsLatency.length, ms(tl.p50), ms(tl.p95), ms(tl.p99), ms(tl.max)],
      ["ours", oursLatency.length, ms(ol.p50), ms(ol.p95), ms(ol.p99), ms(ol.max)],
      [
        "ours, polling only (200 ms), 50/s",
        200,
        ms(polled.p50),
        ms(polled.p95),
        ms(polled.p99),
        ms(polled.max),
      ],
    ]),
    "",
    `Ours ÷ graphile-worker (lower is better): p50 **${(ol.p50 / tl.p50).toFixed(2)}×**, ` +
    `p95 **${(ol.p95 / tl.p95).toFixed(2)}×** (latency lead ` +
    `${ol.p50 <= tl.p50 && ol.p95 <= tl.p95 ? "kept" : "not kept"}).`,
    "",
    "Ours in other shapes (jobs ÷ time from worker start to the last completion):",
    "",
    table(
      ["Scenario", "Jobs", "Seconds", "Jobs/s"],
      scenarios.map((d) => [d.label, d.jobs, d.seconds.toFixed(2), Math.round(perSecond(d))]),
    ),
    "",
    "Claims take up to 500 jobs in one `FOR UPDATE SKIP LOCKED` statement when `batchSize` " +
    "exceeds the concurrency (the jobs without a slot wait in the worker, under its lease); the " +
    "outcomes of the jobs that finished meanwhile (succeeded, retry, dead) are recorded in one " +
    "statement; the cluster runs with durable commits (fsync on).",
  ].join("\n");
  return { title: "Job worker (bench/jobs)", markdown };
};

export default bench;
