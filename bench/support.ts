/** Shared benchmark plumbing: databases on the bench cluster, latency statistics, tables. */
import postgres from "postgres";

export interface BenchDatabase {
  url: string;
  /** The server's Unix socket, as `deno task start` connects to its embedded cluster. */
  socket?: string;
  /** A pool over the socket (TCP without one). */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export interface BenchContext {
  /** A new database cloned from the migrated template (`seed` adds the demo data). */
  freshDatabase(options?: { seed?: boolean; max?: number }): Promise<BenchDatabase>;
}

export interface BenchResult {
  title: string;
  /** A markdown section (without the `##` title line). */
  markdown: string;
}

export type Bench = (ctx: BenchContext) => Promise<BenchResult>;

/** p-th percentile (0..100) of the samples, by nearest rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function latencySummary(
  samplesMs: number[],
): { p50: number; p95: number; p99: number; max: number } {
  return {
    p50: percentile(samplesMs, 50),
    p95: percentile(samplesMs, 95),
    p99: percentile(samplesMs, 99),
    max: percentile(samplesMs, 100),
  };
}

export function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Runs `worker` on `concurrency` lanes until `total` jobs are done; returns per-job latencies. */
export async function runLanes(
  concurrency: number,
  total: number,
  worker: (index: number) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number; errors: number }> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (true) {
        const index = next++;
        if (index >= total) return;
        const t0 = performance.now();
        try {
          await worker(index);
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, errors };
}

// CPU accounting from /proc (Linux): user+system clock ticks (100 a second) of a process, and of
// a PostgreSQL cluster — its postmaster, live children, and the children that exited.

export const TICKS_PER_SECOND = 100;

export async function procStat(
  pid: number,
): Promise<{ ppid: number; ticks: number; exitedChildren: number } | undefined> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
      exitedChildren: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/** The postmaster of the cluster `sql` is connected to. */
export async function postmasterOf(sql: postgres.Sql): Promise<number> {
  const [{ pid }] = await sql`select pg_backend_pid() as pid`;
  return (await procStat(pid))!.ppid;
}

/** The cluster's CPU ticks; `background`: those of its processes other than client backends. */
export async function postgresTicks(
  postmaster: number,
): Promise<{ all: number; background: number }> {
  const main = await procStat(postmaster);
  let all = (main?.ticks ?? 0) + (main?.exitedChildren ?? 0);
  let background = all;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await procStat(Number(entry.name));
    if (stat?.ppid !== postmaster) continue;
    all += stat.ticks;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    // Client backends show "postgres: <user> <database> <client> <state>".
    if (!/^postgres: postgres b_/.test(cmdline)) background += stat.ticks;
  }
  return { all, background };
}

/** CPU milliseconds spent by this process and by the cluster between `start()` and `stop()`. */
export function cpuMeter(postmaster: number) {
  const read = async () => ({
    self: (await procStat(Deno.pid))?.ticks ?? 0,
    postgres: (await postgresTicks(postmaster)).all,
  });
  let before = { self: 0, postgres: 0 };
  return {
    async start() {
      before = await read();
    },
    async stop(): Promise<{ selfMs: number; postgresMs: number }> {
      const after = await read();
      const ms = 1000 / TICKS_PER_SECOND;
      return {
        selfMs: (after.self - before.self) * ms,
        postgresMs: (after.postgres - before.postgres) * ms,
      };
    },
  };
}
