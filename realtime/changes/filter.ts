/**
 * postgres_changes filters: `column=op.value`, PostgREST style.
 *
 * Classic operators `eq, neq, lt, lte, gt, gte, in` plus the newer `like, ilike, is,
 * isdistinct`, a `not.` prefix on any operator, and comma-joined AND. Regular-expression
 * operators (`match`, `imatch`) are refused: a hostile pattern could stall the fan-out.
 * Values may be double-quoted (`name=eq."a,b"`, backslash escapes). Values are compared
 * with the column's type: numbers as numbers, timestamps as instants, booleans as booleans.
 */
import type { Column, JsonValue, Row } from "./types.ts";

export type Operator =
  | "eq"
  | "neq"
  | "lt"
  | "lte"
  | "gt"
  | "gte"
  | "in"
  | "like"
  | "ilike"
  | "is"
  | "isdistinct";

const OPERATORS = new Set<Operator>([
  "eq",
  "neq",
  "lt",
  "lte",
  "gt",
  "gte",
  "in",
  "like",
  "ilike",
  "is",
  "isdistinct",
]);

export const MAX_IN_VALUES = 100;

export interface Condition {
  column: string;
  op: Operator;
  negate: boolean;
  /** One value, or the list for `in`. */
  values: string[];
  /** Compiled pattern for `like`/`ilike`. */
  pattern?: RegExp;
}

export class FilterError extends Error {}

/** Parses a filter string; `undefined`/empty means "no filter". */
export function parseFilter(filter: string | undefined | null): Condition[] {
  if (filter === undefined || filter === null || filter === "") return [];
  return splitTopLevel(filter, ",").map(parseCondition);
}

function parseCondition(text: string): Condition {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new FilterError(`invalid filter condition "${text}"`);
  const column = text.slice(0, eq).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(column)) {
    throw new FilterError(`invalid filter column "${column}"`);
  }
  let rest = text.slice(eq + 1);
  let negate = false;
  if (rest.startsWith("not.")) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf(".");
  const op = (dot < 0 ? rest : rest.slice(0, dot)) as Operator;
  if (!OPERATORS.has(op)) throw new FilterError(`unsupported filter operator "${op}"`);
  if (dot < 0) throw new FilterError(`filter "${text}" has no value`);
  const raw = rest.slice(dot + 1);
  if (op === "in") {
    if (!raw.startsWith("(") || !raw.endsWith(")")) {
      throw new FilterError(`"in" filter needs a parenthesized list`);
    }
    const inner = raw.slice(1, -1);
    const values = inner === "" ? [] : splitTopLevel(inner, ",").map(unquote);
    if (values.length === 0) throw new FilterError(`"in" filter needs at least one value`);
    if (values.length > MAX_IN_VALUES) {
      throw new FilterError(`"in" filter accepts at most ${MAX_IN_VALUES} values`);
    }
    return { column, op, negate, values };
  }
  const value = unquote(raw);
  if (op === "is" && !["null", "true", "false", "unknown"].includes(value.toLowerCase())) {
    throw new FilterError(`"is" filter accepts null, true, false or unknown`);
  }
  if (op === "like" || op === "ilike") {
    if (value.length > 256 || (value.match(/[%*]/g)?.length ?? 0) > 8) {
      throw new FilterError("like pattern too long or too many wildcards");
    }
    return { column, op, negate, values: [value], pattern: likeRegExp(value, op === "ilike") };
  }
  return { column, op, negate, values: [value] };
}

/** Splits on `sep` outside double quotes and parentheses. */
function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted || depth !== 0) throw new FilterError("unbalanced quotes or parentheses in filter");
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return value;
}

/** The columns a filter reads (for privilege checks). */
export function filterColumns(conditions: Condition[]): string[] {
  return [...new Set(conditions.map((c) => c.column))];
}

/** True when `row` satisfies every condition. */
export function matches(conditions: Condition[], row: Row | undefined, columns: Column[]): boolean {
  if (conditions.length === 0) return true;
  if (!row) return false;
  for (const condition of conditions) {
    const type = columns.find((c) => c.name === condition.column)?.type ?? "text";
    const result = evaluate(condition, row[condition.column] ?? null, type);
    if (result !== true) return false;
  }
  return true;
}

/** SQL three-valued evaluation: `null` means unknown (not delivered). */
function evaluate(condition: Condition, value: JsonValue, type: string): boolean | null {
  const result = evaluatePositive(condition, value, type);
  if (!condition.negate || result === null) return result;
  return !result;
}

function evaluatePositive(c: Condition, value: JsonValue, type: string): boolean | null {
  const literal = c.values[0];
  switch (c.op) {
    case "is":
      return isCheck(value, literal.toLowerCase());
    case "isdistinct":
      if (value === null) return literal.toLowerCase() !== "null";
      return literal.toLowerCase() === "null" ? true : compare(value, literal, type) !== 0;
    case "in": {
      if (value === null) return null;
      return c.values.some((v) => compare(value, v, type) === 0);
    }
    case "like":
    case "ilike":
      if (value === null) return null;
      return c.pattern!.test(textOf(value));
  }
  if (value === null) return null;
  const order = compare(value, literal, type);
  if (order === null) return null;
  switch (c.op) {
    case "eq":
      return order === 0;
    case "neq":
      return order !== 0;
    case "lt":
      return order < 0;
    case "lte":
      return order <= 0;
    case "gt":
      return order > 0;
    case "gte":
      return order >= 0;
  }
  return null;
}

function isCheck(value: JsonValue, literal: string): boolean {
  switch (literal) {
    case "null":
    case "unknown":
      return value === null;
    case "true":
      return value === true || value === "t";
    case "false":
      return value === false || value === "f";
  }
  return false;
}

const NUMERIC = new Set(["int2", "int4", "int8", "float4", "float8", "numeric", "oid", "money"]);
const TEMPORAL = new Set(["timestamp", "timestamptz", "date"]);

/** Orders a row value against a filter literal using the column type; null if incomparable. */
export function compare(value: JsonValue, literal: string, type: string): number | null {
  if (NUMERIC.has(type)) {
    if (type === "int8" && /^-?\d+$/.test(literal) && /^-?\d+$/.test(textOf(value))) {
      const a = BigInt(textOf(value));
      const b = BigInt(literal);
      return a < b ? -1 : a > b ? 1 : 0;
    }
    const a = Number(value);
    const b = Number(literal);
    if (Number.isNaN(a) || Number.isNaN(b) || literal.trim() === "") return null;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (type === "bool") {
    const a = toBool(value);
    const b = toBool(literal);
    if (a === null || b === null) return null;
    return a === b ? 0 : a ? 1 : -1;
  }
  if (TEMPORAL.has(type)) {
    const a = parseInstant(textOf(value));
    const b = parseInstant(literal);
    if (a === null || b === null) return null;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  let a = textOf(value);
  let b = literal;
  if (type === "uuid") {
    a = a.toLowerCase();
    b = b.toLowerCase();
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function textOf(value: JsonValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

function toBool(value: JsonValue): boolean | null {
  if (value === true || value === false) return value;
  const text = String(value).toLowerCase();
  if (["t", "true", "yes", "on", "1"].includes(text)) return true;
  if (["f", "false", "no", "off", "0"].includes(text)) return false;
  return null;
}

/** Parses PostgreSQL and ISO timestamps (`2026-08-20 09:15:02.123+08`) to epoch ms. */
export function parseInstant(text: string): number | null {
  let iso = text.trim().replace(" ", "T");
  iso = iso.replace(/([+-]\d{2})$/, "$1:00").replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += "T00:00:00Z";
  else if (/T[\d:.]+$/.test(iso)) iso += "Z";
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

function likeRegExp(pattern: string, insensitive: boolean): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\" && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]);
    else if (ch === "%" || ch === "*") source += "[\\s\\S]*";
    else if (ch === "_") source += "[\\s\\S]";
    else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`, insensitive ? "i" : "");
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
