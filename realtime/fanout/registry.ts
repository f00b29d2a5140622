/**
 * The subscription registry: groups of equivalent subscriptions, indexed by table and by
 * equality filters so that a change only visits the groups it can match.
 *
 * A group is one (claims principal, table, event, filter, select): every member shares the
 * filter result and the authorization decision.
 */
import type { Claims } from "../auth/claims.ts";
import { type Condition, matches } from "../changes/filter.ts";
import type { Change } from "../changes/types.ts";
import type { TableAccess } from "./authorizer.ts";
import type { Subscriber, Subscription } from "./subscriber.ts";

/** Per claims principal: the serial delivery queue and its progress. */
export interface Principal {
  key: string;
  claims: Claims;
  /** Jobs queued or running; deliveries for this principal happen in commit order. */
  pending: number;
  tail: Promise<void> | null;
  /** Commit LSN of the last job that finished (valid while `pending > 0`). */
  processedLsn: bigint;
  /** Groups referencing this principal. */
  refs: number;
}

export interface Group {
  key: string;
  principal: Principal;
  schema: string;
  table: string;
  event: "*" | Change["type"];
  conditions: Condition[];
  select: string[] | undefined;
  access: TableAccess;
  /**
   * Event and filter text: groups with equal match keys (the same filter, other principals)
   * share one filter evaluation per change.
   */
  matchKey: string;
  /** Member subscribers. */
  members: Map<Subscriber, Member>;
  /** Index slot: column and normalized value, when indexed by an equality filter. */
  index?: readonly [column: string, value: string];
  /** Visibility cache keys without / with the old record (set on first use). */
  visKeys?: [string, string];
  /** The principal's policy key for this table, valid while the authorizer's stamp holds. */
  policy?: { stamp: number; key: string };
}

export interface Member {
  /** Binding ids through which the subscriber is a member. */
  ids: number[];
  /** Fan-out position when it joined: older transactions are not delivered live. */
  since: bigint;
  /**
   * What the frame depends on besides the payload: vsn, topic and binding ids. Members with
   * equal shapes (every TV of a clinic, every staff member on one topic) share one frame.
   */
  shape: string;
}

/** A change of a transaction (by its index) that matched a group. */
export interface Item {
  index: number;
  group: Group;
}

/** Whether a change passes a group's event and filter (deleted rows are filtered by the old). */
export function groupMatches(group: Group, change: Change): boolean {
  return (group.event === "*" || group.event === change.type) &&
    matches(
      group.conditions,
      change.type === "DELETE" ? change.old_record : change.record,
      change.columns,
    );
}

/** The frame shape of a member (see `Member.shape`). */
function frameShape(subscriber: Subscriber, ids: number[]): string {
  return `${subscriber.vsn}${subscriber.topicJson}${ids.join(",")}`;
}

interface TableGroups {
  /** Equality-indexed groups: column → normalized value → groups. */
  byValue: Map<string, Map<string, Set<Group>>>;
  rest: Set<Group>;
}

export interface Registry {
  /**
   * Makes a subscription's bindings members of their groups (created as needed), as of fan-out
   * position `since`; returns its principal and groups.
   */
  join(subscription: Subscription, since: bigint): { principal: Principal; groups: Group[] };
  /** Drops the principal once no group refers to it and its queue is empty. */
  releasePrincipal(principal: Principal): void;
  /** Removes a member; the group leaves every index with its last member (idempotent). */
  removeMember(group: Group, subscriber: Subscriber): void;
  /** Groups that may match a change (a superset; filters are evaluated by the caller). */
  candidates(change: Change): Iterable<Group>;
  readonly groups: number;
  readonly principals: number;
}

/** Types whose equality can be indexed by a normalized text key. */
const INDEXABLE = new Set(["uuid", "text", "varchar", "int2", "int4", "int8", "bpchar", "name"]);
const INTEGER = new Set(["int2", "int4", "int8"]);

export function createRegistry(
  columnType: (schema: string, table: string, column: string) => string | undefined,
): Registry {
  const principals = new Map<string, Principal>();
  const groups = new Map<string, Group>();
  const tables = new Map<string, TableGroups>();

  function tableGroups(name: string): TableGroups {
    let t = tables.get(name);
    if (!t) {
      t = { byValue: new Map(), rest: new Set() };
      tables.set(name, t);
    }
    return t;
  }

  function indexSlot(group: Group): readonly [string, string] | undefined {
    for (const c of group.conditions) {
      if (c.op !== "eq" || c.negate) continue;
      const type = columnType(group.schema, group.table, c.column);
      if (!type || !INDEXABLE.has(type)) continue;
      // The filter compares integers as numbers (5.0 and 0x5 equal 5); only a plain decimal
      // literal has one text key, so any other spelling is matched without the index.
      if (INTEGER.has(type) && !/^\s*[-+]?\d+\s*$/.test(c.values[0])) continue;
      return [c.column, normalize(c.values[0])];
    }
    return undefined;
  }

  function releasePrincipal(p: Principal): void {
    if (p.refs === 0 && p.pending === 0) principals.delete(p.key);
  }

  function principal(claims: Claims, key: string): Principal {
    let p = principals.get(key);
    if (!p) {
      p = {
        key,
        claims,
        pending: 0,
        tail: null,
        processedLsn: 0n,
        refs: 0,
      };
      principals.set(key, p);
    } else {
      p.claims = claims; // newest token of the same principal (only volatile claims differ)
    }
    return p;
  }

  function group(spec: Omit<Group, "members" | "key" | "index">, key: string): Group {
    let g = groups.get(key);
    if (g) return g;
    g = { ...spec, key, members: new Map() };
    g.index = indexSlot(g);
    groups.set(key, g);
    spec.principal.refs++;
    const t = tableGroups(`${spec.schema}.${spec.table}`);
    if (g.index) {
      const [column, value] = g.index;
      let byColumn = t.byValue.get(column);
      if (!byColumn) t.byValue.set(column, byColumn = new Map());
      let set = byColumn.get(value);
      if (!set) byColumn.set(value, set = new Set());
      set.add(g);
    } else {
      t.rest.add(g);
    }
    return g;
  }

  return {
    join(subscription, since) {
      const { subscriber, claims, principalKey } = subscription;
      const p = principal(claims, principalKey);
      const joined: Group[] = [];
      p.refs++; // hold the principal while groups are created
      for (const tb of subscription.tables) {
        const b = tb.binding;
        const key = [principalKey, tb.schema, tb.table, b.event, b.filterText ?? "", b.select ?? ""]
          .join("\0");
        const g = group({
          principal: p,
          schema: tb.schema,
          table: tb.table,
          event: b.event,
          conditions: b.conditions,
          select: b.select,
          access: tb.access,
          matchKey: `${b.event}\0${b.filterText ?? ""}`,
        }, key);
        const member = g.members.get(subscriber);
        if (member) {
          member.ids.push(b.id);
          member.shape = frameShape(subscriber, member.ids);
        } else {
          g.members.set(subscriber, {
            ids: [b.id],
            since,
            shape: frameShape(subscriber, [b.id]),
          });
        }
        if (!joined.includes(g)) joined.push(g);
      }
      p.refs--;
      return { principal: p, groups: joined };
    },
    releasePrincipal,
    removeMember(g, subscriber) {
      if (!g.members.delete(subscriber) || g.members.size > 0 || groups.get(g.key) !== g) return;
      // Nothing below can throw: the group leaves every structure, or none was left to update.
      groups.delete(g.key);
      const name = `${g.schema}.${g.table}`;
      const t = tables.get(name);
      if (t && g.index) {
        const [column, value] = g.index;
        const byColumn = t.byValue.get(column);
        const set = byColumn?.get(value);
        if (set?.delete(g) && set.size === 0) byColumn!.delete(value);
        if (byColumn?.size === 0) t.byValue.delete(column);
      } else t?.rest.delete(g);
      if (t && t.rest.size === 0 && t.byValue.size === 0) tables.delete(name);
      g.principal.refs--;
      releasePrincipal(g.principal);
    },
    *candidates(change) {
      const t = tables.get(`${change.schema}.${change.table}`);
      if (!t) return;
      yield* t.rest;
      const row = change.type === "DELETE" ? change.old_record : change.record;
      if (!row) return;
      for (const [column, byValue] of t.byValue) {
        const value = row[column];
        if (value === null || value === undefined) continue;
        const set = byValue.get(normalize(String(value)));
        if (set) yield* set;
      }
    },
    get groups() {
      return groups.size;
    },
    get principals() {
      return principals.size;
    },
  };
}

/**
 * Maps values that are equal under text, uuid and integer types to one key. Linear in the
 * value's length (a filter value may be a megabyte of digits).
 */
function normalize(value: string): string {
  const text = value.trim().toLowerCase();
  if (!/^[-+]?\d+$/.test(text)) return text;
  const digits = text.replace(/^[-+]?0*/, "") || "0";
  return text[0] === "-" && digits !== "0" ? `-${digits}` : digits;
}
