/**
 * The JetStream stream between the feeder and the realtime nodes: one message per committed
 * transaction, in commit order, identified by its commit LSN (`Nats-Msg-Id`, so a re-publish
 * after a feeder failover is dropped by the stream's duplicate window). Its retention (age and
 * size) is the catch-up window of every node.
 */
import { type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { Change, Row, Transaction } from "../changes/types.ts";

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

/**
 * One message of a transaction. A transaction larger than the server's `max_payload` is split
 * into parts (changes kept whole, in order); a node hands it on once its last part arrived.
 */
export interface Part {
  lsn: bigint;
  commitTimestamp: string;
  changes: Transaction["changes"];
  part: number;
  parts: number;
}

/*
 * The body: `{"lsn","ts","part","parts","relations":[[schema,table,[[name,type],…]],…],
 * "changes":[[relation index,type,record|null,old_record|null],…]}`. A relation's columns travel
 * once per message, not once per change, and are written once per relation by the feeder (the
 * replication feed keeps one columns array per relation); a node gets back one columns array
 * per relation shape, so the fan-out's per-relation caches hold across transactions as they do
 * in the single process.
 */
type WireRelation = [schema: string, table: string, columns: [name: string, type: string][]];
type WireChange = [relation: number, type: Change["type"], record: Row | null, old: Row | null];

const encoder = new TextEncoder();
const relationJson = new WeakMap<Change["columns"], Map<string, string>>();

function relationOf(change: Change): string {
  let byTable = relationJson.get(change.columns);
  if (!byTable) relationJson.set(change.columns, byTable = new Map());
  const key = `${change.schema}.${change.table}`;
  let json = byTable.get(key);
  if (json === undefined) {
    const wire: WireRelation = [
      change.schema,
      change.table,
      change.columns.map((c) => [c.name, c.type]),
    ];
    byTable.set(key, json = JSON.stringify(wire));
  }
  return json;
}

/** A transaction as message bodies of at most `maxBytes` each (one, unless it is large). */
export function encodeTransaction(txn: Transaction, maxBytes: number): string[] {
  const relations: string[] = [];
  const index = new Map<string, number>();
  const texts = txn.changes.map((change) => {
    const relation = relationOf(change);
    let i = index.get(relation);
    if (i === undefined) index.set(relation, i = relations.push(relation) - 1);
    return `[${i},"${change.type}",${JSON.stringify(change.record ?? null)},${
      JSON.stringify(change.old_record ?? null)
    }]`;
  });
  const head = (part: number, parts: number) =>
    `{"lsn":"${txn.lsn}","ts":${
      JSON.stringify(txn.commitTimestamp)
    },"part":${part},"parts":${parts},"relations":[${relations.join(",")}],"changes":[`;
  const budget = maxBytes - encoder.encode(head(99_999, 99_999)).length - 2;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: the usual transaction needs no byte count.
  if (texts.reduce((sum, t) => sum + t.length + 1, 0) * 3 <= budget) {
    return [`${head(0, 1)}${texts.join(",")}]}`];
  }
  const groups: string[][] = [[]];
  let size = 0;
  for (const text of texts) {
    const bytes = encoder.encode(text).length + 1;
    if (size + bytes > budget && groups[groups.length - 1].length > 0) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1].push(text);
    size += bytes;
  }
  return groups.map((g, i) => `${head(i, groups.length)}${g.join(",")}]}`);
}

/** One columns array per relation shape seen (schema.table → its latest shape). */
const shapes = new Map<string, { key: string; columns: Change["columns"] }>();

function columnsOf(schema: string, table: string, wire: [string, string][]): Change["columns"] {
  const name = `${schema}.${table}`;
  const key = wire.join();
  const known = shapes.get(name);
  if (known?.key === key) return known.columns;
  const columns = wire.map(([name, type]) => ({ name, type }));
  shapes.set(name, { key, columns });
  return columns;
}

export function decodePart(data: string): Part {
  const body = JSON.parse(data) as {
    lsn: string;
    ts: string;
    part: number;
    parts: number;
    relations: WireRelation[];
    changes: WireChange[];
  };
  const relations = body.relations.map(([schema, table, columns]) => ({
    schema,
    table,
    columns: columnsOf(schema, table, columns),
  }));
  const changes = body.changes.map(([i, type, record, old]): Change => {
    const { schema, table, columns } = relations[i];
    const change: Change = { schema, table, type, columns };
    if (record) change.record = record;
    if (old) change.old_record = old;
    return change;
  });
  return {
    lsn: BigInt(body.lsn),
    commitTimestamp: body.ts,
    changes,
    part: body.part,
    parts: body.parts,
  };
}

/** The message id of a transaction's part: its commit LSN (`<lsn>.<part>` past the first). */
export const msgIdOf = (lsn: bigint, part = 0) => part === 0 ? `${lsn}` : `${lsn}.${part}`;
