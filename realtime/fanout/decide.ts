/**
 * Row decisions for one principal's matches in a transaction: made in process once per policy
 * principal (memoized across the principals of the transaction), or deferred to one batched
 * SQL evaluation per claims principal and transaction, bounded by a timeout.
 */
import type { Claims } from "../auth/claims.ts";
import type { Row, Transaction } from "../changes/types.ts";
import type { Authorizer, RowCheck, RowDecision } from "./authorizer.ts";
import type { Group, Item, Principal } from "./registry.ts";

/** Decisions per policy key, by `change index × 2 + side` (0: new row, 1: old row). */
export type DecisionMemo = Map<string, RowDecision[]>;

/** Visibility of each item's rows, by item position. */
export interface Decisions {
  record: boolean[];
  old: boolean[];
}

export interface DecideCounters {
  inProcessDecisions: number;
  sqlBatches: number;
  sqlRows: number;
}

/** Decides every item's new and old rows; a promise only when some decision needs SQL. */
export type Decide = (
  p: Principal,
  txn: Transaction,
  items: Item[],
  memo: DecisionMemo,
) => Decisions | Promise<Decisions>;

export function createDecide(
  authorizer: Authorizer,
  evaluateTimeoutMs: number,
  counters: DecideCounters,
): Decide {
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
        counters.inProcessDecisions++;
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
    counters.sqlBatches++;
    counters.sqlRows += checks.length;
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

  return decide;
}
