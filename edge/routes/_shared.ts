/**
 * Shared by the issue-3 sub-apps: the error schema for the OpenAPI document, calling one
 * `api.*` SQL function per request under the caller's claims, and turning the functions'
 * business errors (SQLSTATE `PT<status>`, MESSAGE = code, DETAIL = message, HINT = details)
 * into the contract's error JSON.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type postgres from "postgres";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../context.ts";
import { apiError } from "../errors.ts";

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().openapi({ example: "slot_unavailable" }),
    message: z.string(),
    details: z.unknown().optional(),
  }),
}).openapi("Error");

const descriptions: Record<number, string> = {
  400: "Invalid request (`invalid_request` with field paths in `details`, or a specific code)",
  401: "Not signed in, or a bad token (`auth_required`, `token_expired`, …)",
  403: "Not allowed (`forbidden`, `not_a_patient`, `not_a_member`, …)",
  404: "Not found (`clinic_not_found`, `doctor_not_found`, …)",
  409: "Conflict (`slot_unavailable`, `idempotency_key_in_use`, `invalid_state`, …)",
  422: "Unprocessable (`outside_schedule`, `too_soon`, `idempotency_key_mismatch`, …)",
  429: "Too many requests (`rate_limited`, `account_locked`); see Retry-After",
};

/** OpenAPI response entries for the listed error statuses. */
export function errors<S extends number>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((status) => [status, {
    description: descriptions[status] ?? "Error",
    content: { "application/json": { schema: ErrorBody } },
  }])) as Record<
    S,
    { description: string; content: { "application/json": { schema: typeof ErrorBody } } }
  >;
}

export const bearerSecurity = [{ bearer: [] }];

interface PgError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

/** A business error raised by an `api.*` function, as an API error. */
export function fromApiFunction(error: unknown) {
  const e = error as PgError;
  if (typeof e?.code !== "string" || !/^PT\d{3}$/.test(e.code)) return undefined;
  let details: unknown;
  if (e.hint) {
    try {
      details = JSON.parse(e.hint);
    } catch {
      details = undefined;
    }
  }
  const status = Number(e.code.slice(2)) as ContentfulStatusCode;
  return apiError(status, e.message ?? "error", e.detail ?? "Request failed", details);
}

async function translate<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw fromApiFunction(error) ?? error;
  }
}

/** One transaction as the caller (RLS applies); business errors become API errors. */
export function run<T>(
  c: Context<AppEnv>,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return translate(c.var.db.run(fn));
}

/** One transaction as `service_role` — only for authentication bookkeeping. */
export function service<T>(
  c: Context<AppEnv>,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return translate(c.var.db.service(fn));
}

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

/** The client's address: the connection's remote address (never a forwarded header). */
export function clientIp(c: Context<AppEnv>): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}
