/**
 * `/holds`: hold a slot for five minutes (an appointment row in status `held`, covered by the
 * same no-overlap constraint as bookings), and release it. The holder books it with
 * `POST /bookings {hold_id}`.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { BookingSource, ClinicCode, Instant, one, RequestedType, Uuid } from "./_shared.ts";

const HoldBody = z.object({
  clinic_code: ClinicCode,
  doctor_id: Uuid,
  start: Instant,
  type: RequestedType,
  patient_id: Uuid.optional().openapi({
    description:
      "Staff: the patient to hold for; a guardian: a dependant's id (default: one's own)",
  }),
  source: BookingSource.optional(),
}).openapi("HoldRequest");

const Hold = z.object({
  hold: z.object({
    id: z.string(),
    clinic_code: z.string(),
    doctor_id: z.string(),
    patient_id: z.string(),
    appointment_type: z.string().optional().openapi({ example: "consultation" }),
    start: z.string(),
    end: z.string(),
    expires_at: z.string(),
  }),
}).openapi("Hold");

const createHold = createRoute({
  method: "post",
  path: "/holds",
  tags: ["booking"],
  summary: "Hold a slot for a few minutes",
  description: "Nobody else can hold or book the slot until the hold expires (5 minutes). A " +
    "patient keeps one hold per clinic: a new hold releases the previous one.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { body: { content: { "application/json": { schema: HoldBody } }, required: true } },
  responses: {
    201: { description: "Held", content: { "application/json": { schema: Hold } } },
    ...errors(400, 401, 403, 404, 409, 422),
  },
});

const releaseHold = createRoute({
  method: "delete",
  path: "/holds/{id}",
  tags: ["booking"],
  summary: "Release a hold",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: z.object({ id: Uuid.openapi({ param: { name: "id", in: "path" } }) }) },
  responses: { 204: { description: "Released" }, ...errors(400, 401, 404) },
});

export const holds = new OpenAPIHono<AppEnv>()
  .openapi(createHold, async (c) => {
    const body = c.req.valid("json");
    const hold = await c.get("db").run(async (tx) =>
      one(await tx`select api.hold_slot(${tx.json(body as postgres.JSONValue)}) as r`)
    );
    return c.json(hold as z.infer<typeof Hold>, 201);
  })
  .openapi(releaseHold, async (c) => {
    const { id } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.release_hold(${id}::uuid)`);
    return c.body(null, 204);
  });
