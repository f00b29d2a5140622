/**
 * The peer: graphile-worker (npm) in this process, on a fresh database of the same cluster,
 * with the settings of its own perfTest (perfTest/graphile.config.js in its repository: 24
 * concurrent jobs, a pool of 25, a local queue of 500 refetched after 10 ms, completions and
 * failures batched with no delay). Its schema is installed before the clock starts.
 */
import { Logger, run, runMigrations, type TaskList } from "graphile-worker";
import type postgres from "postgres";
import type { BenchContext } from "../support.ts";
import { type Drained, type DrainMeter, pause } from "./measure.ts";

export const graphileSettings = {
  concurrentJobs: 24,
  maxPoolSize: 25,
  localQueue: { size: 500, refetchDelay: { durationMs: 10 } },
  completeJobBatchDelay: 0,
  failJobBatchDelay: 0,
};

export interface GraphileRun {
  /** A postgres.js pool on its database. */
  sql: postgres.Sql;
  /** `graphile_worker.add_job`: one statement, its own transaction. */
  addJob(task: string, payload: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

/** pg's connection string for a bench database, over the cluster's Unix socket if it has one. */
function pgConnectionString(url: string, socket?: string): string {
  if (!socket) return url;
  const u = new URL(url);
  const dir = socket.slice(0, socket.lastIndexOf("/"));
  return `postgres://${u.username}:${u.password}@/${u.pathname.slice(1)}` +
    `?host=${encodeURIComponent(dir)}&port=${u.port}`;
}

/**
 * graphile-worker running `tasks` on a fresh database with its schema; `before` runs first
 * (to fill the queue), `started` once the worker is up.
 */
export async function startGraphile(
  ctx: BenchContext,
  tasks: TaskList,
  hooks: { before?(sql: postgres.Sql): Promise<unknown>; started?(): Promise<unknown> } = {},
): Promise<GraphileRun> {
  const db = await ctx.freshDatabase({ max: 4 });
  const options = {
    connectionString: pgConnectionString(db.url, db.socket),
    logger: new Logger(() => () => {}),
    noHandleSignals: true,
    preset: { worker: graphileSettings },
  };
  try {
    await runMigrations(options);
    await hooks.before?.(db.sql);
    await hooks.started?.();
    const runner = await run({ ...options, taskList: tasks });
    return {
      sql: db.sql,
      addJob: (task, payload) =>
        db.sql`select graphile_worker.add_job(${task}::text, ${
          db.sql.json(payload as never)
        }::json)`,
      async stop() {
        await runner.stop();
        // Its pool ends without being awaited: dropping the database under it would fail its
        // connections with an error nobody handles.
        while (true) {
          const [r] = await db.sql`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and application_name <> 'postgres.js'`;
          if (r.n === 0) break;
          await pause(10);
        }
        await db.drop();
      },
    };
  } catch (error) {
    await db.drop();
    throw error;
  }
}

async function untilEmpty(sql: postgres.Sql, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [r] = await sql`select exists(select 1 from graphile_worker._private_jobs) as left`;
    if (!r.left) return;
    await pause(2);
  }
  throw new Error("graphile-worker did not finish in time");
}

/** Drains `total` pre-filled no-op jobs: from the worker up to the last job deleted. */
export async function drainGraphile(
  ctx: BenchContext,
  total: number,
  meter: DrainMeter,
): Promise<Drained> {
  let ran = 0;
  const worker = await startGraphile(ctx, { noop: () => void ran++ }, {
    before: (sql) =>
      sql`
        select graphile_worker.add_jobs((
          select array_agg(json_populate_record(null::graphile_worker.job_spec,
            json_build_object('identifier', 'noop', 'payload', json_build_object('i', g))))
          from generate_series(1, ${total}) g))`,
    started: () => meter.start(),
  });
  try {
    const t0 = performance.now();
    while (ran < total) await pause(2);
    await untilEmpty(worker.sql);
    const seconds = (performance.now() - t0) / 1000;
    return { jobs: total, seconds, cpu: await meter.stop() };
  } finally {
    await worker.stop();
  }
}
