/**
 * Per claims principal, a serial queue of delivery jobs: its channels see commit order even
 * when an authorization is asynchronous, while principals never wait for one another. A job
 * runs at once when its principal's queue is empty, and stays synchronous when it can.
 */
import type { Principal } from "./registry.ts";

export type Job = () => void | Promise<void>;

export interface PrincipalQueues {
  /** Runs `job` in the principal's queue; the caller sets `processedLsn` when idle. */
  schedule(p: Principal, lsn: bigint, job: Job): void;
}

/**
 * `release` is called when a principal's queue empties (it may then be dropped); `failed`
 * when a job throws or rejects (the queue carries on).
 */
export function createPrincipalQueues(
  release: (p: Principal) => void,
  failed: (error: unknown) => void,
): PrincipalQueues {
  function schedule(p: Principal, lsn: bigint, job: Job): void {
    if (p.pending === 0) {
      const result = runJob(job);
      if (!result) {
        p.processedLsn = lsn;
        return;
      }
      p.pending = 1;
      p.tail = result.then(() => done(p, lsn));
      return;
    }
    p.pending++;
    p.tail = p.tail!.then(() => runJob(job)).then(() => done(p, lsn));
  }

  function done(p: Principal, lsn: bigint): void {
    p.processedLsn = lsn;
    p.pending--;
    if (p.pending === 0) {
      p.tail = null;
      release(p);
    }
  }

  /** Runs a job; returns a promise only when it went asynchronous. Never rejects. */
  function runJob(job: Job): Promise<void> | undefined {
    try {
      const result = job();
      if (result instanceof Promise) return result.catch(failed);
    } catch (error) {
      failed(error);
    }
    return undefined;
  }

  return { schedule };
}
