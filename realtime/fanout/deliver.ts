/**
 * Delivery of one principal's decided items of a transaction: one frame per channel and
 * change, carrying every binding id of the channel that matched it, taken from the
 * transaction's frame cache.
 */
import type { Change, Transaction } from "../changes/types.ts";
import type { Decisions } from "./decide.ts";
import { changeFrame, dataFor, type FrameCache, framesOf } from "./frames.ts";
import type { Item } from "./registry.ts";
import type { Subscriber } from "./subscriber.ts";

export interface DeliverCounters {
  deliveries: number;
}

/**
 * Sends the visible items (sorted by change index) to the groups' members; with `only`, to
 * that subscriber alone (a replay), else to the open members that joined before the commit.
 */
export function deliver(
  txn: Transaction,
  items: Item[],
  d: Decisions,
  only: Subscriber | null,
  cache: FrameCache,
  counters: DeliverCounters,
): void {
  let start = 0;
  while (start < items.length) {
    let end = start + 1;
    while (end < items.length && items[end].index === items[start].index) end++;
    deliverChange(txn, items, start, end, d, only, cache, counters);
    start = end;
  }
}

function visible(change: Change, d: Decisions, i: number): boolean {
  return change.type === "DELETE" ? d.old[i] === true : d.record[i] === true;
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
  cache: FrameCache,
  counters: DeliverCounters,
): void {
  const change = txn.changes[items[start].index];
  if (end - start === 1) {
    // Common case: one group of this principal matched the change.
    if (!visible(change, d, start)) return;
    const group = items[start].group;
    const data = dataFor(cache, txn, items[start].index, group, d.old[start] === true);
    // Members often share topic and binding ids (every TV of a clinic, staff on one
    // topic), across groups and principals too: one frame per shape and payload.
    const frames = framesOf(cache, data);
    for (const [s, member] of group.members) {
      if (!accepts(s, member.since, txn, only)) continue;
      let f = frames.get(member.shape);
      if (f === undefined) {
        f = changeFrame(s, member.ids, data);
        frames.set(member.shape, f);
      }
      counters.deliveries++;
      s.sendFrame(f);
    }
    return;
  }
  // Several groups: one message per channel carrying every matching binding id.
  const merged = new Map<Subscriber, Map<string, number[]>>();
  for (let i = start; i < end; i++) {
    if (!visible(change, d, i)) continue;
    const group = items[i].group;
    const data = dataFor(cache, txn, items[i].index, group, d.old[i] === true);
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
    for (const [data, ids] of byData) {
      counters.deliveries++;
      s.sendFrame(changeFrame(s, ids, data));
    }
  }
}
