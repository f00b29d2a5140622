/**
 * postgres_changes frames: event payloads serialized once per change and visible-column set,
 * and the per-transaction frame cache that shares them (and the frames around them) between
 * every principal and socket receiving a change.
 */
import type { Change, Column, Row, Transaction } from "../changes/types.ts";
import { encodeTextRaw } from "../protocol/serializer.ts";
import type { Group } from "./registry.ts";
import type { Subscriber } from "./subscriber.ts";

/** Which parts of a change a subscriber may see. */
export interface Visibility {
  /** Columns the principal may SELECT (undefined: all). */
  columns: ReadonlySet<string> | undefined;
  /** Column subset requested by the binding (undefined: all). */
  select: string[] | undefined;
  includeRecord: boolean;
  includeOld: boolean;
}

const columnSetIds = new WeakMap<ReadonlySet<string>, number>();
let nextColumnSetId = 0;

/**
 * Cache key for a visibility on one change. Column sets are keyed by identity (the
 * authorizer hands out one set per role and table), so the key stays short.
 */
export function visibilityKey(v: Visibility): string {
  let cols = "*";
  if (v.columns) {
    let id = columnSetIds.get(v.columns);
    if (id === undefined) columnSetIds.set(v.columns, id = nextColumnSetId++);
    cols = `c${id}`;
  }
  return `${cols}|${v.select?.join(",") ?? "*"}|${v.includeRecord ? 1 : 0}${v.includeOld ? 1 : 0}`;
}

/** JSON of a relation's visible columns, per columns array (one per relation) and key. */
const columnsJson = new WeakMap<Column[], Map<string, { json: string; names: string[] | null }>>();

function visibleColumns(
  columns: Column[],
  key: string,
  v: Visibility,
): { json: string; names: string[] | null } {
  let byKey = columnsJson.get(columns);
  if (!byKey) columnsJson.set(columns, byKey = new Map());
  let entry = byKey.get(key);
  if (!entry) {
    const kept = columns.filter((c) =>
      (v.columns === undefined || v.columns.has(c.name)) &&
      (v.select === undefined || v.select.includes(c.name))
    );
    // names: null when every column is visible (rows are sent as decoded).
    entry = {
      json: JSON.stringify(kept),
      names: kept.length === columns.length ? null : kept.map((c) => c.name),
    };
    byKey.set(key, entry);
  }
  return entry;
}

function rowJson(row: Row, names: string[] | null, columns: Column[]): string {
  // Decoded rows hold exactly the relation's columns: sent as they are when all are visible
  // (anything else, e.g. an in-memory feed's extra field, goes through the projection).
  if (names === null && Object.keys(row).length === columns.length) return JSON.stringify(row);
  const out: Row = {};
  for (const name of names ?? columns.map((c) => c.name)) if (name in row) out[name] = row[name];
  return JSON.stringify(out);
}

/**
 * The `data` object of a postgres_changes event, as JSON text. `key` is `visibilityKey(v)`
 * (callers cache it); the visible columns' JSON is computed once per relation and key.
 */
export function changeDataJson(
  change: Change,
  commitTimestamp: string,
  v: Visibility,
  key = visibilityKey(v),
): string {
  const cols = visibleColumns(change.columns, key, v);
  let json = `{"schema":${JSON.stringify(change.schema)},"table":${
    JSON.stringify(change.table)
  },"commit_timestamp":${
    JSON.stringify(commitTimestamp)
  },"type":"${change.type}","columns":${cols.json}`;
  if (v.includeRecord && change.record) {
    json += `,"record":${rowJson(change.record, cols.names, change.columns)}`;
  }
  if (v.includeOld && change.old_record) {
    json += `,"old_record":${rowJson(change.old_record, cols.names, change.columns)}`;
  }
  return `${json},"errors":null}`;
}

/** The payload of a postgres_changes event for one channel. */
export function changePayloadJson(ids: number[], dataJson: string): string {
  return `{"ids":[${ids.join(",")}],"data":${dataJson}}`;
}

/** The postgres_changes frame of a payload for one channel. */
export function changeFrame(s: Subscriber, ids: number[], dataJson: string): string {
  return encodeTextRaw(s.vsn, s.topicJson, "postgres_changes", changePayloadJson(ids, dataJson));
}

/**
 * One transaction's payloads (per change index and visibility) and frames (per payload and
 * frame shape): a change is serialized once per visibility and framed once per topic and
 * binding ids, however many sockets receive it.
 */
export interface FrameCache {
  data: Array<Map<string, string> | undefined>;
  /** Payload → frame shape → frame. */
  frames: Map<string, Map<string, string>>;
}

export const newFrameCache = (): FrameCache => ({ data: [], frames: new Map() });

function visibility(group: Group, includeOld: boolean): Visibility {
  return { columns: group.access.columns, select: group.select, includeRecord: true, includeOld };
}

/** The payload of a transaction's change as a group's members may see it, cached. */
export function dataFor(
  cache: FrameCache,
  txn: Transaction,
  index: number,
  group: Group,
  includeOld: boolean,
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

/** The frames of a payload by frame shape (filled by the caller). */
export function framesOf(cache: FrameCache, dataJson: string): Map<string, string> {
  let frames = cache.frames.get(dataJson);
  if (!frames) cache.frames.set(dataJson, frames = new Map());
  return frames;
}
