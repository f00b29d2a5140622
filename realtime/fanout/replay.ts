/**
 * Catch-up replay: the transactions of the retention log a rejoining channel missed, matched
 * against its own groups and handed on one by one, in commit order. It yields to the event
 * loop every 256 transactions and waits for a transaction whose authorization is
 * asynchronous, so a long replay neither blocks the server nor reorders the channel's stream.
 */
import type { Transaction } from "../changes/types.ts";
import { type Group, groupMatches, type Item } from "./registry.ts";
import type { Subscriber } from "./subscriber.ts";

/** A channel being caught up. */
export interface Replayed {
  subscriber: Subscriber;
  groups: Group[];
  /** While replaying: the last replayed commit LSN (null once done). */
  replayedTo: bigint | null;
}

const BATCH = 256;

/**
 * Replays `txns` to the channel through `handle` (which decides and delivers one
 * transaction's items); stops when the channel closes. A promise while it has work left.
 */
export function replay(
  entry: Replayed,
  txns: Transaction[],
  handle: (txn: Transaction, items: Item[]) => void | Promise<void>,
  counters: { replayedTransactions: number },
): Promise<void> | void {
  const s = entry.subscriber;
  let i = 0;
  const step = (): Promise<void> | void => {
    for (let batch = 0; i < txns.length && batch < BATCH; batch++, i++) {
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
      counters.replayedTransactions++;
      if (items.length > 0) {
        const result = handle(txn, items);
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
