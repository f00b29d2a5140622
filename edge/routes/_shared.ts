/**
 * Request schemas and helpers shared by the issue-3 sub-apps: calling one `api.*` SQL function
 * per request (`one`), text, dates, instants, ids, clinic codes and the client's address.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { apiError } from "../errors.ts";
import { clientAddress } from "../net/client_address.ts";
import { hasControlCharacters } from "../text.ts";
import { toE164 } from "../notify/phone.ts";

/** The single value of a one-row, one-column `select api.fn(...) as r`. */
export function one<T>(rows: postgres.RowList<postgres.Row[]>): T {
  return rows[0]?.r as T;
}

/** One line of text (a name, room, label, query, URL): no control characters at all. */
export const Line = z.string().refine(
  (s) => !hasControlCharacters(s),
  "Use one line of text without control characters",
);

/**
 * The Idempotency-Key header a write requires: as sent, the IETF draft's sf-string form ("…")
 * unquoted; 400 when missing or longer than 255 characters.
 */
export function idempotencyKey(header: string | undefined): string {
  let key = header?.trim();
  if (key && key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (!key) throw apiError(400, "idempotency_key_required", "Send an Idempotency-Key header");
  if (key.length > 255) {
    throw apiError(400, "invalid_request", "The Idempotency-Key is longer than 255 characters");
  }
  return key;
}

/** Free text that may span lines (a reason, a description): tab and line breaks allowed. */
export const FreeText = z.string().refine(
  (s) => !hasControlCharacters(s, true),
  "Use text without control characters",
);

/** `YYYY-MM-DD` naming a real calendar date, year 0001 or later (as PostgreSQL reads it). */
function isCalendarDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || s.startsWith("0000")) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Accepts `YYYY-MM-DD` that names a real calendar date. */
export const IsoDate = z.string().refine(isCalendarDate, "Use a calendar date as YYYY-MM-DD")
  .openapi({ example: "2026-12-01" });

// Offsets stop at ±15:59, PostgreSQL's limit (beyond it: SQLSTATE 22009).
const instantPattern =
  /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-5]):[0-5]\d)$/;

/** An ISO 8601 instant with an explicit offset (or Z). */
export const Instant = z.string().refine((s) => {
  const match = instantPattern.exec(s);
  return match !== null && isCalendarDate(match[1]);
}, "Use ISO 8601 with an offset up to ±15:59, e.g. 2026-12-01T09:00:00+08:00").openapi({
  example: "2026-12-01T09:00:00+08:00",
});

// Case spelled out rather than with the `i` flag, which the OpenAPI pattern cannot carry.
export const Uuid = z.string().regex(
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  "Must be a UUID",
);

/**
 * How a booking came in, for staff booking for a patient (the database's
 * appointments_source rule): `phone` (their default) or `front_desk`; a patient's own booking
 * is `web`, and anyone but the clinic's staff sending another answers 403.
 */
export const BookingSource = z.enum(["web", "phone", "front_desk"]).openapi({
  description: "Staff: how the booking came in — `phone` (default when staff book for a " +
    "patient) or `front_desk`. Patients: omit (`web`).",
  example: "phone",
});

/** An appointment type's stable code (`consultation`, `health_screening`). */
export const TypeCode = z.string().regex(
  /^[a-z][a-z0-9_]{1,39}$/,
  "Not an appointment type code (lower-case letters, digits and _)",
).openapi({ example: "consultation" });

/** The `type` of a slots, hold or booking request: optional, the clinic's consultation. */
export const RequestedType = TypeCode.optional().openapi({
  description: "The appointment type's code (GET /clinics/{code}/appointment-types); " +
    "default `consultation`",
});

export const ClinicCode = z.string().min(2).max(20).regex(
  /^[A-Za-z0-9][A-Za-z0-9-]+$/,
  "Not a clinic code",
)
  .openapi({ example: "GFC-TP" });

/**
 * A phone number in any common notation (`9123 4567`, `+65 9123-4567`), validated and
 * normalised to E.164 (`+6591234567`) by edge/notify/phone.ts (a number without a country code
 * is read as Singaporean). The handler receives the E.164 form.
 */
export const Phone = z.string().max(64).transform((s, ctx) => {
  const e164 = toE164(s);
  if (e164 === null) {
    ctx.addIssue({ code: "custom", message: "Not a valid phone number" });
    return z.NEVER;
  }
  return e164;
}).openapi({ type: "string", example: "+65 9123 4567" });

/**
 * The languages messages and the PWA are written in (English, 简体中文, Bahasa Melayu, தமிழ்);
 * a copy of the database's private.languages(), checked against it by
 * tests/edge/profile_test.ts.
 */
export const LANGUAGES = ["en", "zh", "ms", "ta"] as const;
export const Language = z.enum(LANGUAGES).openapi({ example: "en" });

/** Consent per channel to be reached off the app; a channel left out stays as it is. */
export const ConsentChanges = z.strictObject({
  email: z.boolean().optional(),
  sms: z.boolean().optional(),
  whatsapp: z.boolean().optional(),
  push: z.boolean().optional(),
}).openapi("ConsentChanges");

/** The current consent per channel. */
export const Consents = z.object({
  email: z.boolean(),
  sms: z.boolean(),
  whatsapp: z.boolean(),
  push: z.boolean(),
}).openapi("Consents");

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
