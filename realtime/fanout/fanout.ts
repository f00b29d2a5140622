/**
 * The postgres_changes fan-out: decoded transactions in, authorized frames out.
 *
 * - Transactions are processed whole, in commit order.
 * - Subscriptions are grouped (claims principal × table × event × filter × select); a change
 *   visits only candidate groups, is filtered once per group and authorized once per policy
 *   principal (in process), or once per claims principal and transaction (batched SQL).
 * - Every claims principal has a serial queue so its channels see commit order even when an
 *   authorization is asynchronous; principals never wait for one another, and a failing or
 *   slow authorization only ends the channels of that principal (which rejoin and catch up).
 *
 * The parts: registry.ts (groups and their indexes), decide.ts (row decisions),
 * principal_queue.ts (the serial queues), frames.ts (payloads and the per-transaction frame
 * cache), deliver.ts (frames to channels) and replay.ts (catch-up from the retention log).
 */
import { describeError } from "../guard.ts";
import type { Transaction } from "../changes/types.ts";
import type { RetentionLog } from "../catchup/retention.ts";
import type { Authorizer } from "./authorizer.ts";
import { createDecide, type DecisionMemo } from "./decide.ts";
import { deliver } from "./deliver.ts";
import { type FrameCache, newFrameCache } from "./frames.ts";
import { createPrincipalQueues, type Job } from "./principal_queue.ts";
import { createRegistry, groupMatches, type Item, type Principal } from "./registry.ts";
import { replay, type Replayed } from "./replay.ts";
import type { Subscriber, Subscription } from "./subscriber.ts";

export interface FanoutOptions {
  authorizer: Authorizer;
  retention: RetentionLog;
  /** Upper bound for one batched SQL authorization (default 5 s). */
  evaluateTimeoutMs?: number;
}

/** Outcome of registering a subscription with a catch-up cursor. */
export type CatchUp =
  | { kind: "live" }
  | { kind: "replay"; transactions: number }
  | { kind: "gap" };

export interface FanoutMetrics {
  transactions: number;
  changes: number;
  deliveries: number;
  groups: number;
  principals: number;
  subscribers: number;
  queuedJobs: number;
  inProcessDecisions: number;
  sqlBatches: number;
  sqlRows: number;
  authorizationFailures: number;
  replays: number;
  replayedTransactions: number;
  gaps: number;
  position: string;
  /** Commit → fan-out lag of recent transactions (ms): replication and decoding delay. */
  recentLagMs: { p50: number; p99: number; max: number };
  /** Time to dispatch a transaction to every socket, recent (ms). */
  recentDispatchMs: { p50: number; p99: number; max: number };
}

const RECENT = 1024;

function recentSummary(samples: number[]): { p50: number; p99: number; max: number } {
  if (samples.length === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

export interface Fanout {
  /** Commit LSN of the last published transaction. */
  readonly position: bigint;
  /** Sets the stream start (nothing at or before it can be replayed). */
  begin(startLsn: bigint): void;
  /** Hands a committed transaction to the fan-out. */
  publish(txn: Transaction): void;
  /** Registers a channel; with a cursor, first replays what it missed. */
  subscribe(subscription: Subscription, cursor?: bigint): CatchUp;
  /** Removes a channel; returns its catch-up cursor. */
  unsubscribe(subscriber: Subscriber): bigint | undefined;
  /** Commit LSN up to which this subscriber has been served. */
  cursorOf(subscriber: Subscriber): bigint | undefined;
  /** Resolves when every principal queue is empty. */
  idle(): Promise<void>;
  metrics(): FanoutMetrics;
}

interface Entry extends Replayed {
  principal: Principal;
}

/**
 * Per-transaction caches shared by every principal: decisions (per policy key) and the frame
 * cache, so that a change is authorized once per policy principal, serialized once per
 * visibility and framed once per topic and binding ids, however many sockets receive it.
 */
interface TxnCache {
  memo: DecisionMemo;
  frames: FrameCache;
}

const newCache = (): TxnCache => ({ memo: new Map(), frames: newFrameCache() });

export function createFanout(options: FanoutOptions): Fanout {
  const { authorizer, retention } = options;
  const registry = createRegistry(authorizer.columnType);
  const entries = new Map<Subscriber, Entry>();
  let position = 0n;
  const lags: number[] = [];
  const dispatches: number[] = [];
  let sample = 0;
  const m = {
    transactions: 0,
    changes: 0,
    deliveries: 0,
    inProcessDecisions: 0,
    sqlBatches: 0,
    sqlRows: 0,
    authorizationFailures: 0,
    replays: 0,
    replayedTransactions: 0,
    gaps: 0,
  };
  const queues = createPrincipalQueues(registry.releasePrincipal, (error) => {
    m.authorizationFailures++;
    console.error(`realtime: fan-out job failed: ${describeError(error)}`);
  });
  const decide = createDecide(authorizer, options.evaluateTimeoutMs ?? 5000, m);

  function failAll(items: Item[], only: Subscriber | null, error: unknown): void {
    m.authorizationFailures++;
    // Database errors can quote row values: log the kind only, tell the client nothing more.
    console.error(`realtime: authorization failed: ${describeError(error)}`);
    const seen = new Set<Subscriber>();
    for (const { group } of items) {
      for (const s of group.members.keys()) {
        if ((only && s !== only) || seen.has(s)) continue;
        seen.add(s);
        s.fail("Authorization unavailable; rejoin to catch up");
      }
    }
  }

  /**
   * Decides one transaction's items for a principal now (in-process rules see the state as of
   * this commit; SQL checks start at once) and delivers in the principal's queue.
   */
  function process(
    p: Principal,
    txn: Transaction,
    items: Item[],
    cache: TxnCache,
    only: Subscriber | null,
  ): Job {
    const d = decide(p, txn, items, cache.memo);
    if (!(d instanceof Promise)) return () => deliver(txn, items, d, only, cache.frames, m);
    // Settle now so a rejection is handled even while the job waits in the queue.
    const settled = d.then(
      (decisions) => () => deliver(txn, items, decisions, only, cache.frames, m),
      (error) => () => failAll(items, only, error),
    );
    return () => settled.then((finish) => finish());
  }

  // ---- publish ----------------------------------------------------------------------

  function publish(txn: Transaction): void {
    if (txn.lsn <= position) return; // already seen (replayed stream after a reconnect)
    const before = position;
    position = txn.lsn;
    if (txn.changes.length === 0) return; // a liveness tick: moves the position only
    const started = performance.now();
    const slot = sample++ % RECENT;
    lags[slot] = Date.now() - Date.parse(txn.commitTimestamp);
    retention.append(txn);
    m.transactions++;
    m.changes += txn.changes.length;
    const work = new Map<Principal, Item[]>();
    const matched = new Map<string, boolean>(); // match key → result, per change
    for (let index = 0; index < txn.changes.length; index++) {
      const change = txn.changes[index];
      matched.clear();
      for (const group of registry.candidates(change)) {
        let ok = matched.get(group.matchKey);
        if (ok === undefined) matched.set(group.matchKey, ok = groupMatches(group, change));
        if (!ok) continue;
        let items = work.get(group.principal);
        if (!items) work.set(group.principal, items = []);
        items.push({ index, group });
      }
    }
    if (work.size > 0) {
      const cache = newCache();
      for (const [p, items] of work) {
        if (p.pending === 0) p.processedLsn = before;
        queues.schedule(p, txn.lsn, process(p, txn, items, cache, null));
      }
    }
    dispatches[slot] = performance.now() - started;
  }

  // ---- subscribe ---------------------------------------------------------------------

  function subscribe(subscription: Subscription, cursor?: bigint): CatchUp {
    const { subscriber } = subscription;
    if (entries.has(subscriber)) unsubscribe(subscriber);
    const { principal: p, groups } = registry.join(subscription, position);
    const entry: Entry = { subscriber, principal: p, groups, replayedTo: null };
    entries.set(subscriber, entry);
    if (cursor === undefined || cursor >= position) return { kind: "live" };
    const txns = retention.after(cursor, position);
    if (!txns) {
      m.gaps++;
      return { kind: "gap" };
    }
    if (txns.length === 0) return { kind: "live" };
    m.replays++;
    entry.replayedTo = cursor;
    if (p.pending === 0) p.processedLsn = position;
    queues.schedule(
      p,
      position,
      () =>
        replay(entry, txns, (txn, items) => process(p, txn, items, newCache(), subscriber)(), m),
    );
    return { kind: "replay", transactions: txns.length };
  }

  function cursorOf(subscriber: Subscriber): bigint | undefined {
    const entry = entries.get(subscriber);
    if (!entry) return undefined;
    const served = entry.principal.pending > 0 ? entry.principal.processedLsn : position;
    return entry.replayedTo !== null && entry.replayedTo < served ? entry.replayedTo : served;
  }

  function unsubscribe(subscriber: Subscriber): bigint | undefined {
    const cursor = cursorOf(subscriber);
    const entry = entries.get(subscriber);
    if (!entry) return undefined;
    entries.delete(subscriber);
    for (const group of entry.groups) registry.removeMember(group, subscriber);
    registry.releasePrincipal(entry.principal);
    return cursor;
  }

  async function idle(): Promise<void> {
    for (;;) {
      const tails = [...entries.values()].map((e) => e.principal.tail).filter((t) => t !== null);
      if (tails.length === 0) return;
      await Promise.all(tails);
    }
  }

  return {
    get position() {
      return position;
    },
    begin(startLsn) {
      position = startLsn;
      retention.reset(startLsn);
    },
    publish,
    subscribe,
    unsubscribe,
    cursorOf,
    idle,
    metrics() {
      let queued = 0;
      const seen = new Set<Principal>();
      for (const e of entries.values()) {
        if (!seen.has(e.principal)) {
          seen.add(e.principal);
          queued += e.principal.pending;
        }
      }
      return {
        ...m,
        groups: registry.groups,
        principals: registry.principals,
        subscribers: entries.size,
        queuedJobs: queued,
        position: position.toString(),
        recentLagMs: recentSummary(lags),
        recentDispatchMs: recentSummary(dispatches),
      };
    },
  };
}
