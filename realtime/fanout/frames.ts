/** postgres_changes event payloads, serialized once per change and visible-column set. */
import type { Change, Column, Row } from "../postgres/types.ts";

/** Which parts of a change a subscriber may see. */
export interface Visibility {
  /** Columns the principal may SELECT (undefined: all). */
  columns: ReadonlySet<string> | undefined;
  /** Column subset requested by the binding (undefined: all). */
  select: string[] | undefined;
  includeRecord: boolean;
  includeOld: boolean;
}

const columnKeys = new WeakMap<ReadonlySet<string>, string>();

/** Cache key for a visibility on one change. */
export function visibilityKey(v: Visibility): string {
  let cols = "*";
  if (v.columns) {
    cols = columnKeys.get(v.columns) ?? [...v.columns].join(",");
    columnKeys.set(v.columns, cols);
  }
  return `${cols}|${v.select?.join(",") ?? "*"}|${v.includeRecord ? 1 : 0}${v.includeOld ? 1 : 0}`;
}

/** The `data` object of a postgres_changes event, as JSON text. */
export function changeDataJson(change: Change, commitTimestamp: string, v: Visibility): string {
  const keep = (name: string) =>
    (v.columns === undefined || v.columns.has(name)) &&
    (v.select === undefined || v.select.includes(name));
  const columns: Column[] = change.columns.filter((c) => keep(c.name));
  const project = (row: Row): Row => {
    const out: Row = {};
    for (const c of columns) if (c.name in row) out[c.name] = row[c.name];
    return out;
  };
  const data: Record<string, unknown> = {
    schema: change.schema,
    table: change.table,
    commit_timestamp: commitTimestamp,
    type: change.type,
    columns,
  };
  if (v.includeRecord && change.record) data.record = project(change.record);
  if (v.includeOld && change.old_record) data.old_record = project(change.old_record);
  data.errors = null;
  return JSON.stringify(data);
}

/** The payload of a postgres_changes event for one channel. */
export function changePayloadJson(ids: number[], dataJson: string): string {
  return `{"ids":[${ids.join(",")}],"data":${dataJson}}`;
}
