/**
 * `/clinics/:code/collisions`: the booked future appointments a change has left off their
 * doctor's grid — a closure, a blocked date, shorter hours, a new slot length
 * (private.booking_collisions, the one definition; the closures answer with it too) — for the
 * clinic's staff, and their bulk resolution by its admins: cancel with a reason, or move each to
 * the earliest free slot (same doctor first), the patients told with the reason unless
 * `notify` is false. Nothing is dropped: every appointment named has an outcome, and those
 * with no free slot stay booked (`not_moved`).
 *
 * The resolution is one transaction under the caller's claims (api.resolve_collisions), each
 * appointment in its own subtransaction — a refusal for one (already cancelled, say) is its
 * outcome and undoes nothing else — and its answer is stored with its changes under the
 * Idempotency-Key (required, as for bookings): a retry replays it (`Idempotent-Replayed`)
 * and changes nothing twice.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { Appointment } from "./_schemas.ts";
import { ClinicCode, FreeText, idempotencyKey, IsoDate, one, Uuid } from "./_shared.ts";

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});

/** A booked appointment a change collides with: who, with whom, when — never why. */
export const Collision = z.object({
  id: z.string(),
  status: z.string(),
  date: z.string(),
  start: z.string(),
  end: z.string(),
  doctor_id: z.string(),
  doctor_name: z.string(),
  patient_id: z.string(),
  patient_name: z.string(),
  patient_number: z.string().nullable(),
  phone_masked: z.string().nullable().openapi({ example: "•••• 4567" }),
  email_masked: z.string().nullable().openapi({ example: "l•••@example.com" }),
  language: z.string().openapi({ description: "The language the patient is told in" }),
}).openapi("Collision");

const Outcome = z.object({
  id: z.string(),
  outcome: z.enum(["cancelled", "rescheduled", "not_moved", "failed"]).openapi({
    description: "`not_moved`: no free slot in the advance window, still booked; " +
      "`failed`: refused (see `error`), unchanged",
  }),
  appointment: Appointment.optional().openapi({
    description: "The cancelled, new or unmoved appointment",
  }),
  previous: Appointment.optional().openapi({ description: "Rescheduled: the old booking" }),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
}).openapi("CollisionOutcome");

const Resolved = z.object({
  action: z.enum(["cancel", "reschedule"]),
  results: z.array(Outcome).openapi({ description: "One per appointment, earliest first" }),
}).openapi("CollisionsResolved");

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/collisions",
  tags: ["clinics"],
  summary: "Booked appointments a closure or schedule change has left off the grid (staff)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    query: z.object({
      from: IsoDate.optional().openapi({ description: "First local date (default: today)" }),
      to: IsoDate.optional().openapi({ description: "Last local date (default: none)" }),
    }),
  },
  responses: {
    200: json(
      z.object({ collisions: z.array(Collision) }).openapi("Collisions"),
      "Earliest first",
    ),
    ...errors(400, 401, [403, "Not staff of this clinic (`forbidden`)"], 404),
  },
});

const resolveRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/collisions/resolve",
  tags: ["clinics"],
  summary: "Cancel or move booked appointments in bulk, with a reason (admins; " +
    "Idempotency-Key required)",
  description: "`cancel` cancels each with the reason; `reschedule` moves each to the " +
    "earliest free slot on its day or later, with the same doctor if possible, else any " +
    "doctor of the clinic. The patients are told, with the reason, unless `notify` is false. " +
    "Each appointment has its own outcome; an unknown id, or another clinic's, answers 404 " +
    "and changes nothing.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    headers: z.object({
      "idempotency-key": z.string().optional().openapi({
        param: { name: "idempotency-key", in: "header" },
        description: "Required. 1–255 characters, unique per attempt (e.g. a UUID)",
      }),
    }),
    body: {
      content: {
        "application/json": {
          schema: z.strictObject({
            ids: z.array(Uuid).min(1).max(100),
            action: z.enum(["cancel", "reschedule"]),
            reason: FreeText.trim().min(1).max(200).openapi({
              description: "Told to the patients (app and e-mail) and kept as the " +
                "cancellation's reason",
            }),
            notify: z.boolean().optional().openapi({ description: "Default: true" }),
          }).openapi("CollisionsResolveRequest"),
        },
      },
      required: true,
    },
  },
  responses: {
    200: json(Resolved, "Each appointment's outcome"),
    ...errors(
      400,
      401,
      [403, "Not an admin of this clinic (`forbidden`)"],
      [
        404,
        "No such clinic, or an appointment not of it (`appointment_not_found`, `details.ids`)",
      ],
      409,
      422,
    ),
  },
});

type Answer = { status: number; body: unknown; replayed: boolean };

export const collisions = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { from, to } = c.req.valid("query");
    const list = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.booking_collisions(${code}, ${from ?? null}::date,
          ${to ?? null}::date) as r`,
      )
    );
    return c.json({ collisions: list as z.infer<typeof Collision>[] }, 200);
  })
  .openapi(resolveRoute, async (c) => {
    const key = idempotencyKey(c.req.header("idempotency-key"));
    const { code } = c.req.valid("param");
    const request = { clinic_code: code.toUpperCase(), ...c.req.valid("json") };
    const answer = await c.get("db").run(async (tx) =>
      one<Answer>(
        await tx`select api.resolve_collisions(${key},
          ${tx.json(request as postgres.JSONValue)}::jsonb) as r`,
      )
    );
    if (answer.replayed) c.header("idempotent-replayed", "true");
    return c.json(answer.body as z.infer<typeof Resolved>, answer.status as 200);
  });
