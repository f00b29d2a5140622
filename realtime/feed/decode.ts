/**
 * From pgoutput text values to the JSON values realtime clients receive, by column type:
 * booleans and numbers become JSON booleans and numbers, json/jsonb are parsed, 1-D arrays
 * become JSON arrays, timestamps are written ISO style, everything else stays text.
 */
import type { Column, JsonValue, Row } from "../changes/types.ts";

const INTEGER = new Set(["int2", "int4", "oid"]);
const FLOAT = new Set(["float4", "float8"]);

/** Converts one text value of a column type to JSON. */
export function toJson(type: string, text: string | null | undefined): JsonValue | undefined {
  if (text === undefined) return undefined;
  if (text === null) return null;
  if (type.startsWith("_")) return parseArray(text, type.slice(1)) ?? text;
  switch (type) {
    case "bool":
      return text === "t" ? true : text === "f" ? false : text;
    case "json":
    case "jsonb":
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    case "int8": {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case "numeric": {
      const n = Number(text);
      return Number.isFinite(n) && String(n) === normalizeDecimal(text) ? n : text;
    }
    case "timestamptz":
      return isoTimestamp(text, true);
    case "timestamp":
      return isoTimestamp(text, false);
  }
  if (INTEGER.has(type)) return Number(text);
  if (FLOAT.has(type)) {
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

/** `1.50` and `1.5` denote the same number; other forms keep their text. */
function normalizeDecimal(text: string): string {
  if (!/^-?\d+(\.\d+)?$/.test(text)) return text;
  let t = text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  t = t.replace(/^(-?)0+(?=\d)/, "$1");
  return t === "-0" ? "0" : t;
}

/** `2026-08-20 09:15:02.123+00` → `2026-08-20T09:15:02.123+00:00` (as PostgREST writes it). */
function isoTimestamp(text: string, withZone: boolean): string {
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d/.test(text)) return text; // infinity, BC dates
  const iso = text.replace(" ", "T");
  return withZone ? iso.replace(/([+-]\d\d)$/, "$1:00") : iso;
}

/** Parses a one-dimensional PostgreSQL array literal; undefined if it is not one. */
export function parseArray(text: string, elementType: string): JsonValue[] | undefined {
  if (!text.startsWith("{") || !text.endsWith("}")) return undefined;
  const body = text.slice(1, -1);
  if (body === "") return [];
  const out: JsonValue[] = [];
  let i = 0;
  while (i <= body.length) {
    let value: string | null;
    if (body[i] === "{") return undefined; // multi-dimensional: leave as text
    if (body[i] === '"') {
      let s = "";
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === "\\") i++;
        s += body[i++];
      }
      i++; // closing quote
      value = s;
    } else {
      const end = body.indexOf(",", i);
      const raw = body.slice(i, end < 0 ? body.length : end);
      i += raw.length;
      value = raw === "NULL" ? null : raw;
    }
    out.push(value === null ? null : toJson(elementType, value) ?? null);
    if (body[i] === ",") i++;
    else break;
  }
  return out;
}

/** Converts a decoded tuple (column → text) to a JSON row. */
export function toRow(columns: Column[], tuple: Record<string, unknown> | null): Row | undefined {
  if (!tuple) return undefined;
  const row: Row = {};
  for (const { name, type } of columns) {
    const value = toJson(type, tuple[name] as string | null | undefined);
    if (value !== undefined) row[name] = value;
  }
  return row;
}
