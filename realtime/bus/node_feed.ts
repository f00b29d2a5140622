/**
 * A realtime node's change feed: the feeder's JetStream stream, consumed in order (an ordered
 * consumer: stream sequence = commit order) from the start of its retention, which is the
 * node's catch-up window — as the single process rebuilds its window from the slot.
 *
 * - Ready once it has caught up with the stream's head.
 * - Stale when no message (the feeder's heartbeats included) arrived for `staleAfterMs`: the
 *   sink is told (the server ends its postgres_changes channels, which rejoin and catch up once
 *   the stream moves again) and `isReady()` is false meanwhile.
 * - A hole in the stream sequence (messages expired while this node was away) restarts the
 *   window there: older cursors are told to refetch.
 */
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ChangeFeed, FeedSink } from "../feed/feed.ts";
import { formatLsn } from "../changes/types.ts";
import { describeError, guarded } from "../guard.ts";
import { decodePart, type Part } from "./stream.ts";
import type { Transaction } from "../changes/types.ts";

export interface StreamFeedOptions {
  nats: NatsConnection;
  /** Stream name. */
  stream: string;
  /** No message for this long ⇒ stale (3 × the feeder's heartbeat). */
  staleAfterMs: number;
}

export function createStreamFeed(options: StreamFeedOptions): ChangeFeed {
  let sink: FeedSink | undefined;
  let stopping = false;
  let running: Promise<void> | undefined;
  let close: (() => Promise<unknown>) | undefined;
  let lastSeq = 0;
  let position = -1n; // before the first message: begin() not called yet
  let lastAt = 0;
  let restartedAt = 0;
  let caughtUp = false;
  let headAtStart = Infinity; // the stream's last sequence when this node started
  let stale = false;
  let waiters: Array<() => void> = [];
  let watchdog: ReturnType<typeof setInterval> | undefined;
  let received = 0;
  let holes = 0;
  let parts: Part[] = []; // of a large transaction, until its last part

  const isReady = () => caughtUp && !stale;

  function wake(): void {
    if (!isReady() && !stopping) return;
    for (const resolve of waiters) resolve();
    waiters = [];
  }

  /** The whole transaction once its last part is in, else undefined. */
  function assemble(part: Part): Transaction | undefined {
    if (part.part === 0) parts = [];
    if (part.part !== parts.length) return undefined; // the rest of a part already seen
    parts.push(part);
    if (part.part < part.parts - 1) return undefined;
    const whole = parts;
    parts = [];
    return {
      lsn: part.lsn,
      commitTimestamp: part.commitTimestamp,
      changes: whole.length === 1 ? part.changes : whole.flatMap((p) => p.changes),
    };
  }

  function handle(m: JsMsg): void {
    lastAt = Date.now();
    received++;
    const part = decodePart(m.string());
    if (position < 0n || (lastSeq > 0 && m.seq !== lastSeq + 1)) {
      if (position >= 0n) holes++;
      // A transaction whose first parts are gone cannot be served: the window starts after it.
      position = part.part === 0 ? part.lsn - 1n : part.lsn;
      parts = [];
      sink!.begin(position);
    }
    lastSeq = m.seq;
    const txn = assemble(part);
    if (txn && txn.lsn > position) {
      position = txn.lsn;
      sink!.publish(txn);
    }
    // (`pending` alone may never reach 0 while the feeder keeps publishing.)
    if (m.seq >= headAtStart || m.info.pending === 0) caughtUp = true;
    stale = false;
    wake();
  }

  async function run(): Promise<void> {
    const js = jetstream(options.nats);
    const onMessage = guarded("stream feed", handle);
    while (!stopping) {
      try {
        if (headAtStart === Infinity) {
          const jsm = await jetstreamManager(options.nats);
          const last = (await jsm.streams.info(options.stream)).state.last_seq;
          headAtStart = last > 0 ? last : Infinity; // empty: ready with the first heartbeat
        }
        const consumer = await js.consumers.get(
          options.stream,
          lastSeq > 0
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastSeq + 1 }
            : { deliver_policy: DeliverPolicy.All },
        );
        const messages = await consumer.consume();
        close = () => messages.close();
        if (stopping) await messages.close();
        for await (const m of messages) {
          if (stopping) break;
          onMessage(m);
        }
      } catch (error) {
        if (!stopping) console.error(`realtime: stream consumer: ${describeError(error)}`);
      }
      if (!stopping) await new Promise((r) => setTimeout(r, 500));
    }
  }

  function checkStale(): void {
    if (!caughtUp || Date.now() - Math.max(lastAt, restartedAt) <= options.staleAfterMs) return;
    if (!stale) {
      stale = true;
      sink?.stale?.();
    }
    // Not even the feeder's heartbeat: the consumer may live on a NATS server that is gone (an
    // ordered consumer has one replica, and the client keeps waiting for it), so start a new
    // one after the last message, and again each time this stays quiet.
    restartedAt = Date.now();
    close?.().catch(() => {});
  }

  return {
    start(s) {
      sink = s;
      stopping = false;
      lastAt = Date.now();
      watchdog = setInterval(
        guarded("stream feed watchdog", checkStale),
        Math.max(50, Math.min(1000, options.staleAfterMs / 4)),
      );
      running = run();
      return Promise.resolve();
    },
    async stop() {
      stopping = true;
      clearInterval(watchdog);
      await close?.().catch(() => {});
      await running;
      wake();
    },
    ready() {
      if (isReady()) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    isReady,
    isStale: () => stale,
    metrics() {
      return {
        kind: "stream",
        stream: options.stream,
        ready: isReady(),
        stale,
        received,
        holes,
        stream_sequence: lastSeq,
        position: position >= 0n ? formatLsn(position) : null,
        ms_since_last_message: lastAt ? Date.now() - lastAt : null,
      };
    },
  };
}
