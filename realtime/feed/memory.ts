/** An in-memory change feed: transactions pushed by the caller (unit tests, benchmarks). */
import type { Change, Transaction } from "../changes/types.ts";
import type { ChangeFeed, FeedSink } from "./feed.ts";

export interface MemoryFeed extends ChangeFeed {
  /** Commits a transaction with the next LSN; returns it. */
  push(changes: Change[], commitTimestamp?: string): Transaction;
  /** The last LSN the sink allowed the feed to confirm. */
  confirmed(): bigint;
}

export function createMemoryFeed(startLsn = 0x1000000n): MemoryFeed {
  let sink: FeedSink | undefined;
  let lsn = startLsn;
  let confirmed = startLsn;
  return {
    start(s) {
      sink = s;
      s.begin(lsn);
      return Promise.resolve();
    },
    stop() {
      sink = undefined;
      return Promise.resolve();
    },
    ready: () => Promise.resolve(),
    isReady: () => true,
    push(changes, commitTimestamp = new Date().toISOString()) {
      lsn += 0x100n;
      const txn: Transaction = { lsn, commitTimestamp, changes };
      if (sink) {
        sink.publish(txn);
        confirmed = sink.confirmableLsn();
      }
      return txn;
    },
    confirmed: () => confirmed,
    metrics: () => ({ kind: "memory", lsn: lsn.toString() }),
  };
}
