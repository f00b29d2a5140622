/**
 * The change-feed interface between a source of committed transactions (logical
 * replication, or an in-memory feed in unit tests) and the fan-out.
 */
import type { Transaction } from "../changes/types.ts";

/** Where a feed delivers. */
export interface FeedSink {
  /** The stream (re)starts after `startLsn`; nothing at or before it will be delivered. */
  begin(startLsn: bigint): void;
  /** Hands one whole committed transaction to the fan-out (commit order). */
  publish(txn: Transaction): void;
  /**
   * The highest commit LSN the feed may confirm to the database: everything at or before it
   * is no longer needed for catch-up. The feed never confirms a transaction it has not
   * handed to `publish`.
   */
  confirmableLsn(): bigint;
  /** The feed stopped moving (a realtime node's stream went quiet); see `ChangeFeed.isStale`. */
  stale?(): void;
}

export interface ChangeFeed {
  /** Starts streaming into the sink (returns once the stream is set up). */
  start(sink: FeedSink): Promise<void>;
  /** Stops streaming; a durable feed keeps its position (the slot) for the next start. */
  stop(): Promise<void>;
  /** Resolves once the feed has caught up with the database as of its start. */
  ready(): Promise<void>;
  isReady(): boolean;
  /** True while the feed has stopped moving (no heartbeat); `isReady()` is false meanwhile. */
  isStale?(): boolean;
  metrics(): Record<string, unknown>;
}
