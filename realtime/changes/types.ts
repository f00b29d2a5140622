/**
 * The change-feed vocabulary: decoded transactions as the fan-out consumes them.
 *
 * A feed (logical replication in production, an in-memory feed in unit tests) hands the
 * fan-out whole transactions in commit order. Values in `record`/`old_record` are already
 * JSON values (numbers, booleans, objects for json/jsonb, strings for everything else).
 */

/** A JSON value as it appears in a decoded row. */
export type JsonValue = string | number | boolean | null | JsonValue[] | {
  [key: string]: JsonValue;
};

/** A decoded row: column name → JSON value. */
export type Row = Record<string, JsonValue>;

/** A column of a relation as the client sees it (`columns` in a postgres_changes event). */
export interface Column {
  name: string;
  /** PostgreSQL type name as realtime-js expects it: `int8`, `text`, `_int4`, `timestamptz`… */
  type: string;
}

export type ChangeType = "INSERT" | "UPDATE" | "DELETE";

/** One row change inside a transaction. */
export interface Change {
  schema: string;
  table: string;
  type: ChangeType;
  columns: Column[];
  /** New row: INSERT and UPDATE. */
  record?: Row;
  /** Old row: UPDATE and DELETE (complete with REPLICA IDENTITY FULL). */
  old_record?: Row;
}

/** A committed transaction, delivered whole. */
export interface Transaction {
  /** Commit LSN as a 64-bit integer; strictly increasing across transactions. */
  lsn: bigint;
  /** Commit timestamp, UTC ISO 8601 with milliseconds. */
  commitTimestamp: string;
  changes: Change[];
}

/** Formats a 64-bit LSN the way PostgreSQL prints it (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${
    (lsn & 0xffffffffn).toString(16).toUpperCase()
  }`;
}

/** Parses PostgreSQL's `X/Y` LSN notation. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split("/");
  if (hi === undefined || lo === undefined) throw new Error(`invalid LSN: ${text}`);
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}
