/**
 * `POST /bookings`: book a slot, idempotently. The whole request — idempotency record and
 * booking — is one call of api.book in one transaction under the caller's claims, sent as a
 * single statement (private.book_as sets the claims, then calls api.book): one round trip.
 *
 * Idempotency-Key (IETF httpapi draft): required (400 `idempotency_key_required`); the same
 * key and payload answer the original status and body again, success or failure (header
 * `Idempotent-Replayed: true`); the same key with another payload → 422
 * `idempotency_key_mismatch`; while the first request is in flight → 409
 * `idempotency_key_in_use`. Keys are per caller and kept 24 hours.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { AppointmentEnvelope } from "./_schemas.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import {
  BookingSource,
  ClinicCode,
  FreeText,
  idempotencyKey,
  Instant,
  RequestedType,
  Uuid,
} from "./_shared.ts";

const BookingBody = z.object({
  clinic_code: ClinicCode,
  doctor_id: Uuid,
  start: Instant,
  visit_reason: FreeText.trim().max(1000).optional(),
  hold_id: Uuid.optional(),
  type: RequestedType,
  patient_id: Uuid.optional().openapi({
    description: "Staff: the patient to book for (required). Patients: omit, their own id, or " +
      "a dependant's (GET /me/dependants).",
  }),
  source: BookingSource.optional(),
}).openapi("BookingRequest");

const route = createRoute({
  method: "post",
  path: "/bookings",
  tags: ["booking"],
  summary: "Book an appointment (Idempotency-Key required)",
  description: "Patients book for themselves and their dependants, staff for any patient of " +
    "their clinic. A slot " +
    "that is taken (or held by someone else) answers 409 `slot_unavailable`. Retrying with the " +
    "same Idempotency-Key and body replays the first answer; keys are kept 24 hours per caller. " +
    "`type` (default `consultation`) sets the visit's length; a staff-only type answers 403 to " +
    "patients, a type the doctor does not offer 422 `appointment_type_not_offered`.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    headers: z.object({
      "idempotency-key": z.string().optional().openapi({
        param: { name: "idempotency-key", in: "header" },
        description: "Required. 1–255 characters, unique per booking attempt (e.g. a UUID); " +
          "a missing key answers 400 idempotency_key_required",
      }),
    }),
    body: { content: { "application/json": { schema: BookingBody } }, required: true },
  },
  responses: {
    201: {
      description: "Booked",
      content: { "application/json": { schema: AppointmentEnvelope } },
    },
    ...errors(400, 401, 403, 404, 409, 422),
  },
});

type Booked = { status: number; body: unknown; replayed: boolean };

export const bookings = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const key = idempotencyKey(c.req.header("idempotency-key"));
  const body = c.req.valid("json");
  // One statement under the caller's claims (private.book_as sets them, then calls api.book);
  // its business errors reach onError like any other SQL error.
  const result = await c.get("db").callAs<Booked>(
    "private.book_as",
    key,
    body as postgres.JSONValue,
  );
  if (result.replayed) c.header("idempotent-replayed", "true");
  return c.json(result.body as z.infer<typeof AppointmentEnvelope>, result.status as 201);
});
