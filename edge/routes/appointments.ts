/**
 * `/appointments/:id…` and `/me/appointments`: read, cancel and reschedule an appointment
 * (the patient's own, or any of the clinic's for its staff — RLS decides), and the caller's
 * upcoming and past appointments for the PWA. Cancel and reschedule are audited by the
 * appointments audit trigger; a reschedule is one transaction (never both slots, never
 * neither).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { Appointment, AppointmentEnvelope } from "./_schemas.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { FreeText, Instant, one, Uuid } from "./_shared.ts";

const IdParam = z.object({ id: Uuid.openapi({ param: { name: "id", in: "path" } }) });

const Rescheduled = z.object({ appointment: Appointment, previous: Appointment }).openapi(
  "Rescheduled",
);

const MyAppointment = Appointment.extend({
  patient_name: z.string().openapi({ description: "Whose visit it is" }),
  for_dependant: z.boolean().openapi({ description: "The visit of someone the caller books for" }),
}).openapi("MyAppointment");

const MyAppointments = z.object({
  upcoming: z.array(MyAppointment),
  past: z.array(MyAppointment),
}).openapi("MyAppointments");

const getRoute = createRoute({
  method: "get",
  path: "/appointments/{id}",
  tags: ["appointments"],
  summary: "One appointment (the patient's own, or the clinic's for staff)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: IdParam },
  responses: {
    200: {
      description: "The appointment",
      content: { "application/json": { schema: AppointmentEnvelope } },
    },
    ...errors(400, 401, 404),
  },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/appointments/{id}/cancel",
  tags: ["appointments"],
  summary: "Cancel an appointment; the slot is free at once",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: IdParam,
    body: {
      content: {
        "application/json": {
          schema: z.object({ reason: FreeText.trim().max(500).optional() }).openapi(
            "CancelRequest",
          ),
        },
      },
      required: false,
    },
  },
  responses: {
    200: {
      description: "Cancelled",
      content: { "application/json": { schema: AppointmentEnvelope } },
    },
    ...errors(400, 401, 404, 409),
  },
});

const rescheduleRoute = createRoute({
  method: "post",
  path: "/appointments/{id}/reschedule",
  tags: ["appointments"],
  summary: "Move an appointment to another slot, atomically",
  description: "The old appointment becomes `rescheduled` and a new one (with " +
    "`rescheduled_from`) takes the new slot, in one transaction. A taken slot answers 409 " +
    "`slot_unavailable` and changes nothing.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: IdParam,
    body: {
      content: {
        "application/json": {
          schema: z.object({
            start: Instant,
            doctor_id: Uuid.optional().openapi({ description: "Default: the same doctor" }),
          }).openapi("RescheduleRequest"),
        },
      },
      required: true,
    },
  },
  responses: {
    200: { description: "Moved", content: { "application/json": { schema: Rescheduled } } },
    ...errors(400, 401, 404, 409, 422),
  },
});

const undoNoShowRoute = createRoute({
  method: "post",
  path: "/appointments/{id}/undo-no-show",
  tags: ["appointments"],
  summary: "Undo a no-show the sweep marked (staff of the clinic)",
  description: "The appointment is booked again (its status before the sweep) and the " +
    "patient's no-show count goes back down. 409 `not_undoable` for any other appointment " +
    "(a no-show from the queue comes back by recalling or restoring its ticket).",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: IdParam },
  responses: {
    200: {
      description: "Booked again",
      content: { "application/json": { schema: AppointmentEnvelope } },
    },
    ...errors(400, 401, 404, 409),
  },
});

const mineRoute = createRoute({
  method: "get",
  path: "/me/appointments",
  tags: ["appointments"],
  summary: "My appointments as a patient: upcoming (soonest first) and past (latest first)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    query: z.object({
      past_limit: z.coerce.number().int().min(0).max(200).optional().openapi({
        param: { name: "past_limit", in: "query" },
      }),
    }),
  },
  responses: {
    200: {
      description: "Appointments",
      content: { "application/json": { schema: MyAppointments } },
    },
    ...errors(400, 401),
  },
});

export const appointments = new OpenAPIHono<AppEnv>()
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const found = await c.get("db").run(async (tx) =>
      one(await tx`select api.get_appointment(${id}::uuid) as r`)
    );
    return c.json(found as z.infer<typeof AppointmentEnvelope>, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid("param");
    let reason: string | null = null;
    if ((c.req.header("content-type") ?? "").includes("application/json")) {
      reason = c.req.valid("json")?.reason ?? null;
    }
    const cancelled = await c.get("db").run(async (tx) =>
      one(await tx`select api.cancel_appointment(${id}::uuid, ${reason}) as r`)
    );
    return c.json(cancelled as z.infer<typeof AppointmentEnvelope>, 200);
  })
  .openapi(rescheduleRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const moved = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.reschedule_appointment(${id}::uuid, ${body.start}::timestamptz,
          ${body.doctor_id ?? null}::uuid) as r`,
      )
    );
    return c.json(moved as z.infer<typeof Rescheduled>, 200);
  })
  .openapi(undoNoShowRoute, async (c) => {
    const { id } = c.req.valid("param");
    const undone = await c.get("db").run(async (tx) =>
      one(await tx`select api.undo_no_show(${id}::uuid) as r`)
    );
    return c.json(undone as z.infer<typeof AppointmentEnvelope>, 200);
  })
  .openapi(mineRoute, async (c) => {
    const { past_limit } = c.req.valid("query");
    const mine = await c.get("db").run(async (tx) =>
      one(await tx`select api.my_appointments(${past_limit ?? 50}) as r`)
    );
    return c.json(mine as z.infer<typeof MyAppointments>, 200);
  });
