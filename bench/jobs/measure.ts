/** What the job benchmarks share: a drain's result, the CPU meter, the clock. */
import type { cpuMeter } from "../support.ts";

export type DrainMeter = ReturnType<typeof cpuMeter>;

export interface Drained {
  jobs: number;
  seconds: number;
  /** CPU ms of this process (the worker) and of the cluster during the drain. */
  cpu: { selfMs: number; postgresMs: number };
}

/** Epoch milliseconds with sub-millisecond precision (payloads carry it between processes). */
export const now = () => performance.timeOrigin + performance.now();

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
