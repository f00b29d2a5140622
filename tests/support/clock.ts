/**
 * The tests' one clock is the database's: the server computes "today", notice and windows
 * from PostgreSQL's now(), so expectations are computed from it too — never from the wall
 * clock read at another moment.
 */
import type { Sql } from "./db.ts";

/**
 * A fixed-offset zone in which the database clock reads between 12:00 and 12:59, so "today"
 * has at least 11 hours on either side whenever a test runs.
 */
export async function middayZone(sql: Sql): Promise<string> {
  const [row] = await sql`select extract(hour from now() at time zone 'UTC')::int as hour`;
  const offset = 12 - row.hour; // -11 … +12
  return offset === 0 ? "Etc/GMT" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
}
