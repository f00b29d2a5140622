/**
 * The JetStream stream between the feeder and the realtime nodes: one message per committed
 * transaction, in commit order, identified by its commit LSN (`Nats-Msg-Id`, so a re-publish
 * after a feeder failover is dropped by the stream's duplicate window). Its retention (age and
 * size) is the catch-up window of every node.
 */
import { type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { Transaction } from "../changes/types.ts";

export interface StreamOptions {
  /** Stream name (`REALTIME_STREAM`, default `realtime`); its subject is `<name>.txn`. */
  name: string;
  /** How long transactions are kept: the catch-up window (ms). */
  maxAgeMs: number;
  /** Size bound of the stream (bytes). */
  maxBytes: number;
  /** Replicas (1, or 3 on a NATS cluster). */
  replicas: number;
}

/** Re-publishes of one LSN within this window are dropped by the stream. */
const DUPLICATE_WINDOW_MS = 2 * 60_000;

export const subjectOf = (stream: string) => `${stream}.txn`;

/** Creates the stream, or brings an existing one to these limits. */
export async function ensureStream(jsm: JetStreamManager, options: StreamOptions): Promise<void> {
  const config = {
    name: options.name,
    subjects: [subjectOf(options.name)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: options.maxAgeMs * 1_000_000,
    max_bytes: options.maxBytes,
    num_replicas: options.replicas,
    duplicate_window: Math.min(DUPLICATE_WINDOW_MS, options.maxAgeMs) * 1_000_000,
  };
  const existing = await jsm.streams.info(options.name).catch(() => undefined);
  if (existing) await jsm.streams.update(options.name, config);
  else await jsm.streams.add(config);
}

/** A transaction as a message body. */
export function encodeTransaction(txn: Transaction): string {
  return JSON.stringify({ lsn: txn.lsn.toString(), ts: txn.commitTimestamp, changes: txn.changes });
}

export function decodeTransaction(data: string): Transaction {
  const body = JSON.parse(data) as { lsn: string; ts: string; changes: Transaction["changes"] };
  return { lsn: BigInt(body.lsn), commitTimestamp: body.ts, changes: body.changes };
}

/** The message id of a transaction: its commit LSN. */
export const msgIdOf = (lsn: bigint) => lsn.toString();
