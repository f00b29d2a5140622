/**
 * The change feed from PostgreSQL logical replication: a persistent pgoutput slot read with
 * pg-logical-replication.
 *
 * - The slot is created on first start and kept on stop; a restart resumes from it, so no
 *   transaction committed while the server was down is lost.
 * - Transactions are assembled from begin … commit and handed over whole, in commit order,
 *   identified by their commit end LSN, with the commit timestamp.
 * - The slot is confirmed only up to what the sink says it no longer needs (`confirmableLsn`:
 *   at most what was handed over, in practice the start of the catch-up window), on every
 *   commit, on keepalives that ask for it and every few seconds — never ahead of that.
 * - Every `tickIntervalMs` a transactional logical message is written; it flows through the
 *   slot like any commit, which proves the stream is live (readiness, lag) and lets the slot
 *   advance when the published tables are idle.
 * - Retained WAL is bounded by the cluster's `max_slot_wal_keep_size` (the embedded cluster
 *   sets 2GB): a slot that falls further behind is invalidated by PostgreSQL instead of
 *   filling the disk; `metrics()` reports the slot's retained bytes and `wal_status`.
 */
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import type { Sql } from "postgres";
import {
  type Change,
  type Column,
  formatLsn,
  parseLsn,
  type Transaction,
} from "../changes/types.ts";
import { toRow } from "./decode.ts";
import type { ChangeFeed, FeedSink } from "./feed.ts";
import { guarded } from "../guard.ts";

export interface ReplicationFeedOptions {
  /** Connection URL of a role with REPLICATION (the embedded cluster's superuser). */
  url: string;
  /** A regular connection pool on the same database (slot management, ticks, metrics). */
  sql: Sql;
  /** Slot name (default `realtime_<database>`). */
  slot?: string;
  /** Publications to stream (client tables plus the authorization directory). */
  publications: string[];
  /** Type name of a type oid (`int8`, `_text`, `appointment_status`…). */
  typeName(oid: number): string;
  /** Liveness tick period (default 5 s). */
  tickIntervalMs?: number;
  /** Reconnect backoff cap (default 5 s). */
  maxBackoffMs?: number;
}

export interface ReplicationFeed extends ChangeFeed {
  readonly slot: string;
  /** Creates the slot if missing (before loading state that the stream will then update). */
  prepare(): Promise<void>;
}

const TICK_PREFIX = "realtime_tick";

interface Relation {
  schema: string;
  table: string;
  columns: Column[];
}

interface Pending {
  changes: Change[];
}

export function createReplicationFeed(options: ReplicationFeedOptions): ReplicationFeed {
  const url = new URL(options.url);
  const database = databaseOf(url);
  const slot = slotName(options.url, options.slot);
  const tickIntervalMs = options.tickIntervalMs ?? 5_000;
  const relations = new Map<number, Relation>();
  let sink: FeedSink | undefined;
  let service: LogicalReplicationService | undefined;
  let pending: Pending | undefined;
  let stopping = false;
  let running = false;
  let acked = 0n;
  let received = 0n;
  let readyAt: bigint | undefined; // a tick written after start; ready once it arrives
  let ready = false;
  let readyWaiters: Array<() => void> = [];
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let backoff = 250;
  let lastCommitAt = 0;
  let lastCommitTimestamp = "";
  let reconnects = 0;
  let slotStats: Record<string, unknown> = {};

  async function ensureSlot(): Promise<bigint> {
    const [existing] = await options.sql<{ lsn: string | null; status: string | null }[]>`
      select confirmed_flush_lsn::text as lsn, wal_status as status
      from pg_replication_slots where slot_name = ${slot}`;
    if (existing?.status === "lost") {
      // Invalidated by max_slot_wal_keep_size: start over (clients are told to refetch).
      await options.sql`select pg_drop_replication_slot(${slot})`;
    } else if (existing?.lsn) return parseLsn(existing.lsn);
    const [created] = await options.sql<{ lsn: string }[]>`
      select lsn::text as lsn from pg_create_logical_replication_slot(${slot}, 'pgoutput')`;
    return parseLsn(created.lsn);
  }

  function markReady(): void {
    if (ready) return;
    ready = true;
    for (const resolve of readyWaiters) resolve();
    readyWaiters = [];
  }

  async function tick(): Promise<bigint | undefined> {
    try {
      const [row] = await options.sql<{ lsn: string }[]>`
        select pg_logical_emit_message(true, ${TICK_PREFIX}, '')::text as lsn`;
      return parseLsn(row.lsn);
    } catch {
      return undefined; // the database is away; the reconnect loop reports it
    }
  }

  let lastAckAt = 0;

  /** Confirms what the sink allows; at most once a second unless the server asks. */
  function confirm(force = false): void {
    if (!service || !sink) return;
    const now = Date.now();
    if (!force && now - lastAckAt < 1000) return;
    const target = minLsn(sink.confirmableLsn(), received);
    if (target <= acked && !force) return;
    if (target > acked) acked = target;
    lastAckAt = now;
    service.acknowledge(formatLsn(acked)).catch(() => {});
  }

  function onRelation(msg: Pgoutput.MessageRelation): void {
    for (const column of msg.columns) column.parser = (raw: unknown) => raw; // keep text
    relations.set(msg.relationOid, {
      schema: msg.schema,
      table: msg.name,
      columns: msg.columns.map((c) => ({ name: c.name, type: options.typeName(c.typeOid) })),
    });
  }

  function onRow(
    type: Change["type"],
    relation: Pgoutput.MessageRelation,
    record: Record<string, unknown> | null,
    old: Record<string, unknown> | null,
  ): void {
    const r = relations.get(relation.relationOid);
    if (!r || !pending) return;
    const change: Change = { schema: r.schema, table: r.table, type, columns: r.columns };
    const rec = toRow(r.columns, record);
    const prev = toRow(r.columns, old);
    if (rec) change.record = rec;
    if (prev) change.old_record = prev;
    pending.changes.push(change);
  }

  function onCommit(msg: Pgoutput.MessageCommit): void {
    const changes = pending?.changes ?? [];
    pending = undefined;
    const lsn = parseLsn(msg.commitEndLsn ?? msg.commitLsn ?? "0/0");
    received = lsn > received ? lsn : received;
    const commitTimestamp = new Date(Number(BigInt(msg.commitTime as bigint) / 1000n))
      .toISOString();
    lastCommitAt = Date.now();
    lastCommitTimestamp = commitTimestamp;
    const txn: Transaction = { lsn, commitTimestamp, changes };
    sink?.publish(txn);
    if (readyAt !== undefined && lsn >= readyAt) markReady();
    confirm();
  }

  function onData(_lsn: string, msg: Pgoutput.Message): void {
    switch (msg.tag) {
      case "begin":
        pending = { changes: [] };
        return;
      case "relation":
        return onRelation(msg);
      case "insert":
        return onRow("INSERT", msg.relation, msg.new, null);
      case "update":
        return onRow("UPDATE", msg.relation, msg.new, msg.old ?? msg.key);
      case "delete":
        return onRow("DELETE", msg.relation, null, msg.old ?? msg.key);
      case "commit":
        return onCommit(msg);
    }
  }

  async function connect(): Promise<void> {
    if (stopping) return;
    const startLsn = await ensureSlot();
    if (acked === 0n) acked = startLsn;
    if (received < startLsn) received = startLsn;
    const s = new LogicalReplicationService({
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database,
    }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
    service = s;
    // A failing step drops this stream: the next one resumes from the confirmed position.
    const guard = <A extends unknown[]>(callback: (...args: A) => void) =>
      guarded("feed", callback, () => scheduleReconnect(s));
    s.on("data", guard(onData));
    s.on(
      "heartbeat",
      guard((_lsn: string, _ts: number, shouldRespond: boolean) => {
        if (shouldRespond) confirm(true);
      }),
    );
    s.on("start", () => {
      backoff = 250;
      running = true;
    });
    s.on("error", () => {});
    const plugin = new PgoutputPlugin({
      protoVersion: 1,
      publicationNames: options.publications,
      messages: true,
    });
    s.subscribe(plugin, slot, formatLsn(acked))
      .then(() => scheduleReconnect(s), () => scheduleReconnect(s));
    readyAt = await tick();
  }

  /** Drops a finished or failed stream (when given) and schedules a new connection. */
  function scheduleReconnect(s?: LogicalReplicationService): void {
    if (s) {
      if (service !== s) return;
      running = false;
      service = undefined;
      pending = undefined;
      s.removeAllListeners();
      s.stop().catch(() => {});
    }
    if (stopping) return;
    reconnects++;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connect().catch(() => scheduleReconnect());
    }, backoff);
    backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 5_000);
  }

  async function refreshSlotStats(): Promise<void> {
    try {
      const [row] = await options.sql<Record<string, unknown>[]>`
        select active, wal_status,
               pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 as lag_bytes,
               pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 as retained_bytes,
               safe_wal_size::float8 as safe_wal_size,
               confirmed_flush_lsn::text as confirmed_flush_lsn
        from pg_replication_slots where slot_name = ${slot}`;
      slotStats = row ?? { missing: true };
    } catch {
      slotStats = { unavailable: true };
    }
  }

  return {
    slot,
    prepare: () => ensureSlot().then(() => {}),
    async start(s) {
      sink = s;
      stopping = false;
      const startLsn = await ensureSlot();
      acked = startLsn;
      received = startLsn;
      s.begin(startLsn);
      await connect();
      ticker = setInterval(
        guarded("feed tick", async () => {
          if (stopping) return;
          await tick();
          confirm(true);
          await refreshSlotStats();
        }),
        tickIntervalMs,
      );
      await refreshSlotStats();
    },
    async stop() {
      stopping = true;
      clearInterval(ticker);
      clearTimeout(reconnectTimer);
      const s = service;
      service = undefined;
      running = false;
      if (s) {
        // Confirm what the sink allows, then close; the slot stays for the next start.
        const target = sink ? minLsn(sink.confirmableLsn(), received) : acked;
        if (target > acked) {
          acked = target;
          await s.acknowledge(formatLsn(acked)).catch(() => false);
        }
        s.removeAllListeners();
        await s.stop().catch(() => {});
      }
      for (const resolve of readyWaiters) resolve();
      readyWaiters = [];
    },
    ready() {
      if (ready) return Promise.resolve();
      return new Promise((resolve) => readyWaiters.push(resolve));
    },
    isReady: () => ready,
    metrics() {
      return {
        kind: "logical_replication",
        slot,
        running,
        ready,
        reconnects,
        received_lsn: formatLsn(received),
        confirmed_lsn: formatLsn(acked),
        last_commit_timestamp: lastCommitTimestamp || null,
        ms_since_last_commit: lastCommitAt ? Date.now() - lastCommitAt : null,
        slot_stats: jsonSafe(slotStats),
      };
    },
  };
}

function databaseOf(url: URL): string {
  return decodeURIComponent(url.pathname.slice(1)) || "postgres";
}

/** The slot a feed on `url` uses: `slot`, else `realtime_<database>`. */
export function slotName(url: string, slot?: string): string {
  const database = databaseOf(new URL(url));
  return slot ?? `realtime_${database.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}`;
}

function minLsn(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function jsonSafe(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === "bigint" ? Number(v) : v;
  return out;
}
