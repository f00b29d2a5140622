/**
 * The retention log: the last few minutes of transactions, kept so that a client that
 * reconnects can be sent what it missed. Bounded by age (commit time) and by count.
 */
import type { Transaction } from "../changes/types.ts";

export interface RetentionOptions {
  /** How long transactions are kept (default 5 minutes). */
  windowMs?: number;
  /** Hard cap on kept transactions (default 200,000). */
  maxTransactions?: number;
}

export interface RetentionLog {
  /** Appends a transaction (LSNs must increase). */
  append(txn: Transaction): void;
  /**
   * Transactions after `cursor` up to and including `until`, or undefined when the log no
   * longer holds everything after `cursor` (the gap cannot be filled).
   */
  after(cursor: bigint, until: bigint): Transaction[] | undefined;
  /** Drops transactions older than the window; returns the new floor. */
  evict(now?: number): bigint;
  /** Everything at or below the floor has been evicted (or was never seen). */
  readonly floor: bigint;
  readonly size: number;
  /** Restarts the log at a stream position (feed start or restart). */
  reset(floor: bigint): void;
}

export function createRetentionLog(options: RetentionOptions = {}): RetentionLog {
  const windowMs = options.windowMs ?? 5 * 60_000;
  const max = options.maxTransactions ?? 200_000;
  let entries: Transaction[] = [];
  let head = 0; // index of the oldest kept entry
  let floor = 0n;

  function dropOldest(): void {
    floor = entries[head].lsn;
    head++;
    if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head);
      head = 0;
    }
  }

  function firstAfter(cursor: bigint): number {
    let lo = head;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid].lsn <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  return {
    append(txn) {
      entries.push(txn);
      while (entries.length - head > max) dropOldest();
    },
    after(cursor, until) {
      if (cursor < floor) return undefined;
      const out: Transaction[] = [];
      for (let i = firstAfter(cursor); i < entries.length && entries[i].lsn <= until; i++) {
        out.push(entries[i]);
      }
      return out;
    },
    evict(now = Date.now()) {
      const limit = now - windowMs;
      while (head < entries.length && Date.parse(entries[head].commitTimestamp) < limit) {
        dropOldest();
      }
      return floor;
    },
    get floor() {
      return floor;
    },
    get size() {
      return entries.length - head;
    },
    reset(start) {
      entries = [];
      head = 0;
      floor = start;
    },
  };
}
