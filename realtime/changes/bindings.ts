/**
 * `postgres_changes` bindings of a join: validation, numeric ids and the canonical form
 * used for grouping and catch-up keys.
 */
import { type Condition, FilterError, parseFilter } from "./filter.ts";
import type { ChangeType } from "./types.ts";

export interface Binding {
  /** Numeric id echoed in the join reply and in every event's `ids`. */
  id: number;
  /** The entry as the client sent it (echoed back with `id`). */
  raw: Record<string, unknown>;
  event: "*" | ChangeType;
  schema: string;
  /** `*` means every published table of the schema. */
  table: string;
  filterText: string | undefined;
  conditions: Condition[];
  /** Optional column subset (`select` in newer clients). */
  select: string[] | undefined;
  /** Canonical form: equal for bindings that behave identically. */
  canonical: string;
}

export const MAX_BINDINGS = 100;

const EVENTS = new Set(["*", "INSERT", "UPDATE", "DELETE"]);

/** Parses the `config.postgres_changes` array; throws FilterError on invalid entries. */
export function parseBindings(value: unknown): Binding[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FilterError("postgres_changes must be an array");
  if (value.length > MAX_BINDINGS) throw new FilterError("too many postgres_changes bindings");
  const used = new Set<number>();
  return value.map((entry) => {
    const binding = parseBinding(entry);
    let id = hash32(binding.canonical);
    while (used.has(id)) id = (id + 1) % 0x7fffffff;
    used.add(id);
    return { ...binding, id };
  });
}

function parseBinding(entry: unknown): Omit<Binding, "id"> {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new FilterError("each postgres_changes entry must be an object");
  }
  const raw = entry as Record<string, unknown>;
  const event = typeof raw.event === "string" ? raw.event.toUpperCase() : "";
  if (!EVENTS.has(event)) throw new FilterError(`invalid event "${String(raw.event)}"`);
  const schema = raw.schema;
  if (typeof schema !== "string" || !isIdentifier(schema)) {
    throw new FilterError("postgres_changes entries need a schema");
  }
  const table = raw.table === undefined || raw.table === null ? "*" : raw.table;
  if (typeof table !== "string" || (table !== "*" && !isIdentifier(table))) {
    throw new FilterError(`invalid table "${String(raw.table)}"`);
  }
  const filterText = raw.filter === undefined || raw.filter === null
    ? undefined
    : String(raw.filter);
  const conditions = parseFilter(filterText);
  if (conditions.length > 0 && table === "*") {
    throw new FilterError("a filter needs a table");
  }
  let select: string[] | undefined;
  if (raw.select !== undefined && raw.select !== null) {
    if (!Array.isArray(raw.select) || !raw.select.every((c) => typeof c === "string")) {
      throw new FilterError("select must be an array of column names");
    }
    if (!raw.select.every(isIdentifier)) throw new FilterError("invalid column in select");
    select = [...new Set(raw.select as string[])].sort();
  }
  const canonical = JSON.stringify([event, schema, table, filterText ?? null, select ?? null]);
  return {
    raw,
    event: event as Binding["event"],
    schema,
    table,
    filterText,
    conditions,
    select,
    canonical,
  };
}

function isIdentifier(name: unknown): boolean {
  return typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(name);
}

/** The reply entry for a binding: the client's params, unchanged, plus `id`. */
export function replyEntry(binding: Binding): Record<string, unknown> {
  return { ...binding.raw, id: binding.id };
}

/** FNV-1a, 31 bits: stable ids across reconnects. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & 0x7fffffff;
}
