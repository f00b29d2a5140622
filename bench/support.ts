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
