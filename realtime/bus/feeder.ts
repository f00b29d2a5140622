/**
 * The feeder: the one process that reads the pgoutput slot and publishes every committed
 * transaction, in commit order, to the JetStream stream.
 *
 * - Leader election through PostgreSQL: a session-level advisory lock held on a session beside
 *   the replication connection. A standby retries it every `pollMs`; when the leader dies its
 *   session ends, the lock is free and the standby takes over, resuming the slot from its
 *   confirmed LSN. A leader whose lock session fails steps down.
 * - Publishing is in commit order, pipelined (a bounded number of messages ahead of their
 *   acks, each expecting its predecessor as the stream's last message), with the commit LSN as
 *   `Nats-Msg-Id`: the stream's order is commit order and a failed publish is retried with the
 *   same id. A new leader first reads the last LSN in the stream and skips what is already
 *   there; a re-publish inside the duplicate window is dropped by the stream as well.
 * - The slot is confirmed only up to the LSN JetStream acknowledged: with NATS away nothing is
 *   confirmed and PostgreSQL keeps the WAL (bounded by `max_slot_wal_keep_size`).
 * - Heartbeats: the replication feed's transactional tick (every `tickIntervalMs`) is an empty
 *   transaction published like any other, so nodes see the stream move when the tables are
 *   idle — and see it stall when any part of the path does.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import postgres from "postgres";
import type { Transaction } from "../changes/types.ts";
import { formatLsn } from "../changes/types.ts";
import { loadCatalog } from "../db/catalog.ts";
import { CLIENT_PUBLICATION, DIRECTORY_PUBLICATION } from "../db/setup.ts";
import type { FeedSink } from "../feed/feed.ts";
import { createReplicationFeed, type ReplicationFeed, slotName } from "../feed/replication.ts";
import { describeError } from "../guard.ts";
import { type Acked, createPublisher, type Publisher } from "./publisher.ts";
import {
  decodePart,
  encodeTransaction,
  ensureStream,
  msgIdOf,
  type StreamOptions,
  subjectOf,
} from "./stream.ts";

export interface FeederOptions {
  /** A role with REPLICATION. */
  databaseUrl: string;
  /** Replication slot name (default `realtime_<database>`). */
  slot?: string;
  /** The publication of the streamed tables (default `supabase_realtime`; realtime/db/setup.ts). */
  publication?: string;
  nats: NatsConnection;
  stream: StreamOptions;
  /** Heartbeat (replication tick) period; default 5 s. */
  tickIntervalMs?: number;
  /** How often a standby tries to become the leader (default 250 ms). */
  pollMs?: number;
  /**
   * Transactions waiting for JetStream at most (default 20,000): past it the leader stops
   * reading the slot until they are published, then reads on from its confirmed LSN.
   */
  maxQueued?: number;
}

/** Messages published ahead of their acks at most. */
const MAX_IN_FLIGHT = 64;
/**
 * While messages flow, one in this period asks for JetStream's ack (and the last one once the
 * queue has been quiet this long): an ack proves its whole chain, so acking each message would
 * only cost a wake-up per message on both ends.
 */
const ACK_EVERY_MS = 50;

interface InFlight {
  /** JetStream's answer, for a message that asked for it. */
  ack?: Promise<Acked>;
  /** The last part of its transaction: in the stream, the transaction is. */
  last: boolean;
  body: string;
  msgID: string;
  expect: string | undefined;
}

export interface Feeder {
  /** Starts competing for the lead; returns at once. */
  start(): void;
  stop(): Promise<void>;
  isLeader(): boolean;
  metrics(): Record<string, unknown>;
}

export function createFeeder(options: FeederOptions): Feeder {
  const sql = postgres(options.databaseUrl, { max: 4, onnotice: () => {}, idle_timeout: 30 });
  const subject = subjectOf(options.stream.name);
  const pollMs = options.pollMs ?? 250;
  const maxQueued = options.maxQueued ?? 20_000;
  let stopping = false;
  let lock: postgres.ReservedSql | undefined;
  let feed: ReplicationFeed | undefined;
  let electing: Promise<void> | undefined;
  let watch: ReturnType<typeof setInterval> | undefined;
  let wakeUp: (() => void) | undefined;
  /** Everything at or below it is in the stream (or was confirmed before): confirmable. */
  let inStream = 0n;
  let queue: Transaction[] = [];
  let head = 0;
  let pumping: Promise<void> | undefined;
  let term = 0;
  let pausing: Promise<void> | undefined;
  let publisher: Publisher | undefined;
  let nudge: (() => void) | undefined; // wakes a pump waiting for the next transaction
  const counters = {
    terms: 0,
    published: 0,
    duplicates: 0,
    skipped: 0,
    publishErrors: 0,
    pauses: 0,
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function lastLsnInStream(): Promise<bigint> {
    const jsm = await jetstreamManager(options.nats);
    await ensureStream(jsm, options.stream);
    const last = await jsm.streams.getMessage(options.stream.name, { last_by_subj: subject })
      .catch(() => null);
    if (!last) return 0n;
    // A transaction cut short by the previous leader's death is published again, whole.
    const part = decodePart(last.string());
    return part.part === part.parts - 1 ? part.lsn : part.lsn - 1n;
  }

  function enqueue(txn: Transaction): void {
    if (txn.lsn <= inStream) {
      counters.skipped++;
      return;
    }
    if (queue.length - head >= maxQueued) {
      pausing ??= pause().finally(() => pausing = undefined);
      return; // the slot still holds it: read again after the pause
    }
    queue.push(txn);
    nudge?.();
    pumping ??= pump(term).finally(() => pumping = undefined);
  }

  /**
   * JetStream is away or slow and the queue is full: memory stays bounded by reading the slot
   * no further until the queue is published, then again from the confirmed LSN.
   */
  async function pause(): Promise<void> {
    counters.pauses++;
    const current = term;
    const f = feed;
    await f?.stop();
    await pumping;
    if (current !== term || stopping || !f) return; // stepped down meanwhile
    await f.start(sink);
  }

  /** Resolves when a transaction is queued, or after `ms`. */
  function nextEnqueue(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        nudge = undefined;
        resolve();
      }, ms);
      nudge = () => {
        nudge = undefined;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Publishes the queue in order, up to MAX_IN_FLIGHT messages ahead of their confirmation.
   * Each message but the first after a start or a failure expects its predecessor's id as the
   * stream's last (`Nats-Expected-Last-Msg-Id`): were one lost, every later one is refused, so
   * the stream holds a prefix of the queue, in order, and an ack of one message proves every
   * message before it. So only some messages ask for an ack (ACK_EVERY_MS); when the queue's
   * tail went unasked and nothing follows it for that long, the tail is published again asking
   * (the stream answers a duplicate for the copy it holds, or stores it now, in order, or
   * refuses it when its chain broke). The slot is confirmed in ack order. A failure waits for
   * the rest, then publishes again from the oldest unconfirmed transaction (the stream drops
   * re-publishes by msg id before it checks the expectation).
   */
  async function pump(current: number): Promise<void> {
    // Messages leave room for the headers under the server's max_payload.
    const limit = (options.nats.info?.max_payload ?? 1024 * 1024) - 4096;
    let backoff = 50;
    let inFlight: InFlight[] = [];
    let next = head; // the next transaction to publish
    let previous: string | undefined; // the id the next message expects; none: a new chain
    let askedAt = 0;
    const send = (f: InFlight, ask: boolean) => {
      if (!ask) return publisher!.send(subject, f.body, f.msgID, f.expect);
      f.ack = publisher!.ask(subject, f.body, f.msgID, f.expect);
      f.ack.catch(() => {}); // awaited in order below, where its failure counts
      askedAt = Date.now();
    };
    while (head < queue.length && current === term && !stopping) {
      while (next < queue.length && inFlight.length < MAX_IN_FLIGHT) {
        const txn = queue[next++];
        const bodies = encodeTransaction(txn, limit);
        for (let part = 0; part < bodies.length; part++) {
          const msgID = msgIdOf(txn.lsn, part);
          const f = {
            last: part === bodies.length - 1,
            body: bodies[part],
            msgID,
            expect: previous,
          };
          send(f, Date.now() - askedAt >= ACK_EVERY_MS || inFlight.length >= MAX_IN_FLIGHT - 1);
          inFlight.push(f);
          previous = msgID;
        }
      }
      let asked = inFlight.findIndex((f) => f.ack);
      if (asked < 0) {
        await nextEnqueue(ACK_EVERY_MS - (Date.now() - askedAt));
        if (next < queue.length || current !== term || stopping) continue;
        send(inFlight[asked = inFlight.length - 1], true);
      }
      try {
        const ack = await inFlight[asked].ack!;
        const confirmed = inFlight.splice(0, asked + 1);
        if (ack.duplicate) counters.duplicates++;
        counters.published += confirmed.length - (ack.duplicate ? 1 : 0);
        for (const f of confirmed) {
          if (!f.last) continue;
          inStream = queue[head].lsn;
          queue[head++] = undefined as unknown as Transaction;
        }
        if (head > 1024 && head * 2 > queue.length) {
          queue = queue.slice(head);
          next -= head;
          head = 0;
        }
        backoff = 50;
      } catch {
        counters.publishErrors++; // NATS away: nothing is confirmed meanwhile
        await Promise.allSettled(inFlight.map((f) => f.ack));
        inFlight = [];
        next = head;
        previous = undefined;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1_000);
      }
    }
    await Promise.allSettled(inFlight.map((f) => f.ack));
  }

  const sink: FeedSink = {
    begin(lsn) {
      if (lsn > inStream) inStream = lsn; // confirmed before: nothing to hold back
    },
    publish: enqueue,
    confirmableLsn: () => inStream,
  };

  async function lead(): Promise<void> {
    term++;
    counters.terms++;
    queue = [];
    head = 0;
    const publication = options.publication ?? CLIENT_PUBLICATION;
    if (publication !== CLIENT_PUBLICATION) {
      await sql`select private.use_realtime_publication(${publication})`;
    }
    const catalog = await loadCatalog(sql, publication);
    const pubs = await sql<{ pubname: string }[]>`
      select pubname from pg_publication
      where pubname in (${publication}, ${DIRECTORY_PUBLICATION})`;
    inStream = await lastLsnInStream();
    publisher ??= createPublisher(options.nats, 2_000);
    feed = createReplicationFeed({
      url: options.databaseUrl,
      sql,
      slot: options.slot,
      publications: pubs.map((p) => p.pubname).sort(),
      typeName: catalog.typeName,
      tickIntervalMs: options.tickIntervalMs,
      maxBackoffMs: 1_000, // the old leader's walsender may hold the slot for a moment
    });
    await feed.start(sink);
    console.log(
      `realtime: feeder leads (stream ${options.stream.name}, from ${formatLsn(inStream)})`,
    );
  }

  async function stepDown(): Promise<void> {
    clearInterval(watch);
    term++;
    const f = feed;
    feed = undefined;
    await pausing; // a pause sees the new term and no longer restarts the feed
    await f?.stop().catch(() => {});
    await pumping;
    queue = [];
    head = 0;
    const session = lock;
    lock = undefined;
    if (session) {
      // Back in the pool the session would keep holding the lock.
      await session`select pg_advisory_unlock_all()`.catch(() => {});
      session.release();
    }
  }

  /** A leader whose lock session fails may no longer be the only one: it steps down. */
  function watchLock(): void {
    const session = lock;
    if (!session || stopping || !feed) return;
    session`select 1`.catch(async () => {
      if (stopping || lock !== session) return;
      console.error("realtime: feeder lost its lock session; stepping down");
      await stepDown();
      if (!stopping) electing = elect();
    });
  }

  async function elect(): Promise<void> {
    while (!stopping) {
      try {
        lock ??= await sql.reserve();
        // One leader per slot (advisory locks are per database).
        const key = `realtime_feeder:${slotName(options.databaseUrl, options.slot)}`;
        const [row] = await lock<{ ok: boolean }[]>`
          select pg_try_advisory_lock(hashtext(${key})) as ok`;
        if (row.ok) {
          await lead();
          watch = setInterval(watchLock, 1_000);
          return;
        }
      } catch (error) {
        console.error(`realtime: feeder election: ${describeError(error)}`);
        await stepDown();
      }
      await sleep(pollMs);
    }
  }

  return {
    start() {
      stopping = false;
      electing = elect();
    },
    async stop() {
      stopping = true;
      wakeUp?.();
      await electing;
      await stepDown();
      publisher?.close();
      publisher = undefined;
      await sql.end({ timeout: 5 });
    },
    isLeader: () => feed !== undefined,
    metrics() {
      return {
        kind: "feeder",
        role: feed ? "leader" : "standby",
        stream: options.stream.name,
        in_stream_lsn: formatLsn(inStream),
        queued: queue.length - head,
        ...counters,
        replication: feed?.metrics() ?? null,
      };
    },
  };
}
