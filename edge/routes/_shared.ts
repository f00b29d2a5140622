/**
 * Request schemas and helpers shared by the issue-3 sub-apps: calling one `api.*` SQL function
 * per request (`one`), dates, instants, ids, clinic codes and the client's address.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { clientAddress } from "../net/client_address.ts";

/** The single value of a one-row, one-column `select api.fn(...) as r`. */
export function one<T>(rows: postgres.RowList<postgres.Row[]>): T {
  return rows[0]?.r as T;
}

/** Accepts `YYYY-MM-DD` that names a real calendar date. */
export const IsoDate = z.string().refine((s) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}, "Use a calendar date as YYYY-MM-DD").openapi({ example: "2026-12-01" });

const instantPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 instant with an explicit offset (or Z). */
export const Instant = z.string().refine(
  (s) => instantPattern.test(s) && !Number.isNaN(Date.parse(s)),
  "Use ISO 8601 with an offset, e.g. 2026-12-01T09:00:00+08:00",
).openapi({ example: "2026-12-01T09:00:00+08:00" });

export const Uuid = z.string().regex(
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  "Must be a UUID",
);

export const ClinicCode = z.string().min(2).max(20).regex(
  /^[A-Za-z0-9][A-Za-z0-9-]+$/,
  "Not a clinic code",
)
  .openapi({ example: "GFC-TP" });

/**
 * The client's address: the connection's remote address, or behind a trusted proxy the one it
 * forwarded (see net/client_address.ts); `X-Forwarded-For` from anyone else is ignored.
 */
export function clientIp(c: Context<AppEnv>): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return clientAddress(
    env?.remoteAddr?.hostname,
    c.req.header("x-forwarded-for"),
    c.get("config").trustedProxies,
  ) ?? "unknown";
}
