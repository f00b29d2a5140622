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
 */
import type { Claims } from "../auth/claims.ts";
import { describeError } from "../guard.ts";
import { matches } from "../postgres/filter.ts";
import { encodeTextRaw } from "../protocol/serializer.ts";
import type { Change, Row, Transaction } from "../postgres/types.ts";
import type { RetentionLog } from "../catchup/retention.ts";
import type { Authorizer, RowCheck, RowDecision } from "./authorizer.ts";
import { changeDataJson, changePayloadJson, type Visibility, visibilityKey } from "./frames.ts";
import { createRegistry, frameShape, type Group, type Principal } from "./registry.ts";
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

interface Entry {
  subscription: Subscription;
  principal: Principal;
  groups: Group[];
  /** While replaying: the last replayed commit LSN. */
  replayedTo: bigint | null;
}

interface Item {
  index: number;
  group: Group;
}

/** Decisions per policy key, by `change index × 2 + side` (0: new row, 1: old row). */
type DecisionMemo = Map<string, RowDecision[]>;

/**
 * Per-transaction caches shared by every principal: decisions, serialized payloads (per
 * change index and visibility) and frames (per payload and frame shape), so that a change
 * is authorized once per policy principal, serialized once per visibility and framed once
 * per topic and binding ids, however many sockets receive it.
 */
interface TxnCache {
  memo: DecisionMemo;
  data: Array<Map<string, string> | undefined>;
  frames: Map<string, Map<string, string>>;
}

const newCache = (): TxnCache => ({ memo: new Map(), data: [], frames: new Map() });

export function createFanout(options: FanoutOptions): Fanout {
  const { authorizer, retention } = options;
  const evaluateTimeoutMs = options.evaluateTimeoutMs ?? 5000;
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

  // ---- principal queues -------------------------------------------------------------

  /** Runs `job` in the principal's queue; the caller sets `processedLsn` when idle. */
  function schedule(p: Principal, lsn: bigint, job: () => void | Promise<void>): void {
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
      registry.releasePrincipal(p);
    }
  }

  /** Runs a job; returns a promise only when it went asynchronous. Never rejects. */
  function runJob(job: () => void | Promise<void>): Promise<void> | undefined {
    try {
      const result = job();
      if (result instanceof Promise) return result.catch(reportJobError);
    } catch (error) {
      reportJobError(error);
    }
    return undefined;
  }

  function reportJobError(error: unknown): void {
    m.authorizationFailures++;
    console.error(`realtime: fan-out job failed: ${describeError(error)}`);
  }

  // ---- matching ---------------------------------------------------------------------

  function eventMatches(group: Group, change: Change): boolean {
    return group.event === "*" || group.event === change.type;
  }

  function filterRow(change: Change): Row | undefined {
    return change.type === "DELETE" ? change.old_record : change.record;
  }

  function groupMatches(group: Group, change: Change): boolean {
    return eventMatches(group, change) &&
      matches(group.conditions, filterRow(change), change.columns);
  }

  // ---- authorization ----------------------------------------------------------------

  /** Without an authorizer stamp, policy keys are valid for one transaction (negative). */
  let unstamped = 0;

  function currentStamp(): number {
    const stamp = authorizer.stamp?.();
    return stamp === undefined || !(stamp >= 0) ? --unstamped : stamp;
  }

  /** The group principal's policy key for its table, cached while the stamp holds. */
  function policyKeyOf(group: Group, stamp: number): string {
    const cached = group.policy;
    if (cached && cached.stamp === stamp) return cached.key;
    const key = authorizer.policyKey(group.principal.claims, group.schema, group.table);
    group.policy = { stamp, key };
    return key;
  }

  interface Decisions {
    record: boolean[]; // item position → visible
    old: boolean[];
  }

  /**
   * Decides visibility of the new and old rows for every item. Returns a promise only when
   * some decision needs SQL.
   */
  function decide(
    p: Principal,
    txn: Transaction,
    items: Item[],
    memo: DecisionMemo,
  ): Decisions | Promise<Decisions> {
    const decisions: Decisions = { record: [], old: [] };
    const stamp = currentStamp();
    let checks: RowCheck[] | undefined;
    let targets: Array<[boolean[], number, number]> | undefined;
    let local: Map<number, number> | undefined; // deferred memo within this principal

    const one = (i: number, item: Item, row: Row | undefined, side: 0 | 1) => {
      if (!row) return;
      const out = side === 0 ? decisions.record : decisions.old;
      const { access, schema, table } = item.group;
      const policy = policyKeyOf(item.group, stamp);
      let byChange = memo.get(policy);
      if (!byChange) memo.set(policy, byChange = []);
      const slot = item.index * 2 + side;
      let result = byChange[slot];
      if (result === undefined) {
        result = authorizer.decide(p.claims, access, schema, table, row);
        byChange[slot] = result;
        m.inProcessDecisions++;
      }
      if (result !== "defer") {
        out[i] = result;
        return;
      }
      checks ??= [];
      targets ??= [];
      local ??= new Map();
      let at = local.get(slot);
      if (at === undefined) {
        at = checks.length;
        local.set(slot, at);
        checks.push({ schema, table, row });
      }
      targets.push([out, i, at]);
    };

    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const change = txn.changes[item.index];
      if (change.type !== "DELETE") one(i, item, change.record, 0);
      if (change.type !== "INSERT") one(i, item, change.old_record, 1);
    }
    if (!checks) return decisions;
    m.sqlBatches++;
    m.sqlRows += checks.length;
    const pending = targets!;
    return evaluateWithTimeout(p.claims, checks).then((results) => {
      for (const [out, i, at] of pending) out[i] = results[at] === true;
      return decisions;
    });
  }

  async function evaluateWithTimeout(claims: Claims, checks: RowCheck[]): Promise<boolean[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("authorization timed out")),
        evaluateTimeoutMs,
      );
    });
    try {
      const results = await Promise.race([authorizer.evaluate(claims, checks), timeout]);
      if (!Array.isArray(results) || results.length !== checks.length) {
        throw new Error("authorizer returned a wrong number of decisions");
      }
      return results;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- delivery ---------------------------------------------------------------------

  function visible(change: Change, d: Decisions, i: number): boolean {
    return change.type === "DELETE" ? d.old[i] === true : d.record[i] === true;
  }

  function deliver(
    txn: Transaction,
    items: Item[],
    d: Decisions,
    only: Subscriber | null,
    cache: TxnCache,
  ): void {
    let start = 0;
    while (start < items.length) {
      let end = start + 1;
      while (end < items.length && items[end].index === items[start].index) end++;
      deliverChange(txn, items, start, end, d, only, cache);
      start = end;
    }
  }

  function visibility(group: Group, includeOld: boolean): Visibility {
    return { columns: group.access.columns, select: group.select, includeRecord: true, includeOld };
  }

  function dataFor(
    txn: Transaction,
    index: number,
    group: Group,
    includeOld: boolean,
    cache: TxnCache,
  ): string {
    const keys = group.visKeys ??= [
      visibilityKey(visibility(group, false)),
      visibilityKey(visibility(group, true)),
    ];
    const key = keys[includeOld ? 1 : 0];
    let byKey = cache.data[index];
    if (!byKey) cache.data[index] = byKey = new Map();
    let json = byKey.get(key);
    if (json === undefined) {
      json = changeDataJson(
        txn.changes[index],
        txn.commitTimestamp,
        visibility(group, includeOld),
        key,
      );
      byKey.set(key, json);
    }
    return json;
  }

  function accepts(s: Subscriber, since: bigint, txn: Transaction, only: Subscriber | null) {
    if (only) return s === only;
    return since < txn.lsn && s.isOpen();
  }

  function deliverChange(
    txn: Transaction,
    items: Item[],
    start: number,
    end: number,
    d: Decisions,
    only: Subscriber | null,
    cache: TxnCache,
  ): void {
    const change = txn.changes[items[start].index];
    if (end - start === 1) {
      // Common case: one group of this principal matched the change.
      if (!visible(change, d, start)) return;
      const group = items[start].group;
      const data = dataFor(txn, items[start].index, group, d.old[start] === true, cache);
      // Members often share topic and binding ids (every TV of a clinic, staff on one
      // topic), across groups and principals too: one frame per shape and payload.
      let frames = cache.frames.get(data);
      if (!frames) cache.frames.set(data, frames = new Map());
      for (const [s, member] of group.members) {
        if (!accepts(s, member.since, txn, only)) continue;
        let f = frames.get(member.shape);
        if (f === undefined) {
          f = frame(s, member.ids, data);
          frames.set(member.shape, f);
        }
        m.deliveries++;
        s.send(f);
      }
      return;
    }
    // Several groups: one message per channel carrying every matching binding id.
    const merged = new Map<Subscriber, Map<string, number[]>>();
    for (let i = start; i < end; i++) {
      if (!visible(change, d, i)) continue;
      const group = items[i].group;
      const data = dataFor(txn, items[i].index, group, d.old[i] === true, cache);
      for (const [s, member] of group.members) {
        if (!accepts(s, member.since, txn, only)) continue;
        let byData = merged.get(s);
        if (!byData) merged.set(s, byData = new Map());
        const ids = byData.get(data);
        if (ids) ids.push(...member.ids);
        else byData.set(data, [...member.ids]);
      }
    }
    for (const [s, byData] of merged) {
      for (const [data, ids] of byData) send(s, ids, data);
    }
  }

  function frame(s: Subscriber, ids: number[], dataJson: string): string {
    return encodeTextRaw(s.vsn, s.topicJson, "postgres_changes", changePayloadJson(ids, dataJson));
  }

  function send(s: Subscriber, ids: number[], dataJson: string): void {
    m.deliveries++;
    s.send(frame(s, ids, dataJson));
  }

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
  ): () => void | Promise<void> {
    const d = decide(p, txn, items, cache.memo);
    if (!(d instanceof Promise)) return () => deliver(txn, items, d, only, cache);
    // Settle now so a rejection is handled even while the job waits in the queue.
    const settled = d.then(
      (decisions) => () => deliver(txn, items, decisions, only, cache),
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
        schedule(p, txn.lsn, process(p, txn, items, cache, null));
      }
    }
    dispatches[slot] = performance.now() - started;
  }

  // ---- subscribe / replay -----------------------------------------------------------

  function replay(entry: Entry, txns: Transaction[]): Promise<void> | void {
    const s = entry.subscription.subscriber;
    let i = 0;
    const step = (): Promise<void> | void => {
      for (let batch = 0; i < txns.length && batch < 256; batch++, i++) {
        if (!s.isOpen()) return;
        const txn = txns[i];
        const items: Item[] = [];
        txn.changes.forEach((change, index) => {
          for (const group of entry.groups) {
            if (
              group.schema === change.schema && group.table === change.table &&
              groupMatches(group, change)
            ) items.push({ index, group });
          }
        });
        m.replayedTransactions++;
        if (items.length > 0) {
          const result = process(entry.principal, txn, items, newCache(), s)();
          if (result instanceof Promise) {
            i++;
            return result.then(() => {
              entry.replayedTo = txn.lsn;
              return step();
            });
          }
        }
        entry.replayedTo = txn.lsn;
      }
      if (i < txns.length) return new Promise<void>((r) => setTimeout(r, 0)).then(step);
      entry.replayedTo = null;
    };
    return step();
  }

  function subscribe(subscription: Subscription, cursor?: bigint): CatchUp {
    const { subscriber, claims, principalKey } = subscription;
    if (entries.has(subscriber)) unsubscribe(subscriber);
    const p = registry.principal(claims, principalKey);
    const groups: Group[] = [];
    p.refs++; // hold the principal while groups are created
    for (const tb of subscription.tables) {
      const b = tb.binding;
      const key = [principalKey, tb.schema, tb.table, b.event, b.filterText ?? "", b.select ?? ""]
        .join("\0");
      const group = registry.group({
        principal: p,
        schema: tb.schema,
        table: tb.table,
        event: b.event,
        conditions: b.conditions,
        select: b.select,
        access: tb.access,
        matchKey: `${b.event}\0${b.filterText ?? ""}`,
      }, key);
      const member = group.members.get(subscriber);
      if (member) {
        member.ids.push(b.id);
        member.shape = frameShape(subscriber, member.ids);
      } else {
        group.members.set(subscriber, {
          ids: [b.id],
          since: position,
          shape: frameShape(subscriber, [b.id]),
        });
      }
      if (!groups.includes(group)) groups.push(group);
    }
    p.refs--;
    const entry: Entry = { subscription, principal: p, groups, replayedTo: null };
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
    schedule(p, position, () => replay(entry, txns));
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
