/**
 * The clinic queue: check-in, walk-ins, call-next, ticket transitions, the staff list and the
 * PII-free board snapshot. Each request is one `api.queue_*` call as the caller, which answers
 * the response JSON; the rules, who may do what included, live in the database
 * (`private.queue_*`, migration 20261122000900_queue.sql; docs/authorization.md).
 *
 * Fairness policy of call-next (the board's positions follow the same order): an appointment
 * checked in by its booked time + `lateness_grace_minutes` is due at its booked time; a late
 * appointment or a walk-in is due when it checked in, so walk-ins interleave with appointments
 * by the clock; each priority level moves a ticket `priority_step_minutes` earlier; whoever has
 * waited `max_wait_minutes` since being due goes first (longest wait first). Call-next serves
 * the doctor's tickets and tickets for no doctor in particular.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { ClinicCode, IsoDate, Line, one, Phone } from "./_shared.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { Ticket, TicketStatus } from "./queue_shared.ts";

const TicketResponse = z.object({ ticket: Ticket }).openapi("QueueTicketResponse");

const Code = ClinicCode.openapi({ param: { name: "code", in: "path" } });
const Id = z.uuid().openapi({ param: { name: "id", in: "path" } });

// ---------------------------------------------------------------------------------------
// Check-in
// ---------------------------------------------------------------------------------------

const checkInRoute = createRoute({
  method: "post",
  path: "/appointments/{id}/check-in",
  tags: ["queue"],
  summary: "Check in for a booked appointment: issues a queue ticket",
  description: "By the appointment's patient from `check_in_window_minutes` before the booked " +
    "start until `check_in_late_minutes` after it (clinic settings, default 60/60), or by " +
    "staff of the clinic any time that day. Idempotent: checking in again returns the same " +
    "ticket. The ticket code (`A012`) is unique per clinic and day and reveals no name.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: z.object({ id: Id }) },
  responses: {
    200: json(TicketResponse, "The ticket"),
    ...errors(
      [400, "Invalid id"],
      [401, "Sign in first"],
      [404, "No such appointment (or not yours)"],
      [
        409,
        "`not_checkable` (cancelled, completed…), `not_today`, `check_in_too_early`, `check_in_closed`",
      ],
    ),
  },
});

// ---------------------------------------------------------------------------------------
// Call-next, walk-ins
// ---------------------------------------------------------------------------------------

const callNextRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/queue/call-next",
  tags: ["queue"],
  summary: "Call the next patient to a room",
  description: "Staff of the clinic. Picks by the published fairness policy: appointments by " +
    "booked time (late arrivals beyond `lateness_grace_minutes` join as if walk-ins at their " +
    "check-in time), walk-ins interleaved by arrival, each priority level " +
    "`priority_step_minutes` earlier, and anyone waiting longer than `max_wait_minutes` first. " +
    "Serves tickets of the doctor (`doctor_id`, else the calling doctor, else the doctor whose " +
    "default room this is) and tickets for no doctor in particular. Simultaneous presses never " +
    'get the same ticket. The patient is notified ("please go to Room 3"). One patient per ' +
    "room: while a ticket is still called or in consultation in this room the answer is 409 " +
    "`room_occupied` (details: its `ticket_id`, `code`, `status`), unless `replace_current` " +
    "is true; then a called occupant goes back to the waiting line at its place and one in " +
    "consultation is completed, before the next patient is called.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({ code: Code }),
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            room: Line.trim().min(1).max(40).openapi({ example: "Room 3" }),
            doctor_id: z.uuid().optional(),
            replace_current: z.boolean().optional().openapi({
              description: "Call even though the room has a called or serving ticket " +
                "(default false: 409 `room_occupied`)",
            }),
          }),
        },
      },
    },
  },
  responses: {
    200: json(TicketResponse, "The called ticket"),
    ...errors(
      [400, "Invalid request"],
      [401, "Sign in first"],
      [403, "Not staff of this clinic"],
      [404, "`queue_empty`: nobody is waiting for this doctor; `clinic_not_found`"],
      [409, "`room_occupied`: the room still has a called or serving ticket (details)"],
    ),
  },
});

const NewPatient = z.object({
  full_name: Line.trim().min(1).max(200),
  date_of_birth: IsoDate,
  gender: z.enum(["male", "female", "other", "prefer_not_to_say"]),
  phone: Phone.optional().openapi({ description: "Stored in E.164" }),
  sms_consent: z.boolean().optional().openapi({
    description: 'The patient agreed to be told by SMS (queue calls, "N away"); recorded ' +
      "with source `front_desk`. Needs `phone`",
  }),
}).refine((p) => !p.sms_consent || p.phone !== undefined, {
  message: "SMS consent needs a phone number",
  path: ["phone"],
}).openapi("NewWalkInPatient");

const walkInRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/queue/walk-ins",
  tags: ["queue"],
  summary: "Register a walk-in (staff)",
  description: "Issues a `W…` ticket. `patient_id` (a patient of the clinic) lets the patient " +
    "follow the ticket and be notified; or `patient` registers a new patient of the clinic " +
    "(next patient number) and issues the ticket for them in the same transaction. " +
    "`doctor_id` ties it to one doctor; `priority` 0–9. A new patient with the name and date " +
    "of birth of a registered one is refused with 409 `possible_duplicate` (details: " +
    "`candidates`, contact details masked) unless `confirm_new` is true.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({ code: Code }),
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.object({
            patient_id: z.uuid().optional(),
            patient: NewPatient.optional(),
            doctor_id: z.uuid().optional(),
            priority: z.number().int().min(0).max(9).optional(),
            confirm_new: z.boolean().optional().openapi({
              description: "Register `patient` even if it looks like a registered patient",
            }),
          }).refine((b) => !(b.patient_id && b.patient), {
            message: "Send patient_id or patient, not both",
            path: ["patient"],
          }),
        },
      },
    },
  },
  responses: {
    201: json(TicketResponse, "The new ticket"),
    ...errors(
      [400, "Invalid request"],
      [401, "Sign in first"],
      [403, "Not staff of this clinic"],
      [404, "No such clinic, patient or doctor"],
      [409, "`possible_duplicate`: `patient` looks registered already (details: candidates)"],
    ),
  },
});

// ---------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------

const actions = {
  recall: {
    summary: "Call a called ticket again, or a no-show within `no_show_recall_minutes`",
    sql: "recall",
  },
  start: { summary: "Start the consultation (called → serving)", sql: "start" },
  complete: { summary: "End the consultation (serving → completed)", sql: "complete" },
  "no-show": { summary: "Mark a called ticket as no-show", sql: "no_show" },
  cancel: {
    summary: "Cancel a waiting or called ticket (staff, or the ticket's patient)",
    sql: "cancel",
  },
  restore: {
    summary: "Put a cancelled or no-show ticket of today back in the waiting line (staff)",
    sql: "restore",
  },
} as const;

function transitionRoute(action: keyof typeof actions) {
  return createRoute({
    method: "post",
    path: `/queue/tickets/{id}/${action}`,
    tags: ["queue"],
    summary: actions[action].summary,
    security: bearerSecurity,
    middleware: [requireUser] as const,
    request: {
      params: z.object({ id: Id }),
      body: {
        required: false,
        content: {
          "application/json": {
            schema: z.object({
              room: Line.trim().min(1).max(40).optional().openapi({
                description: "recall/start: a different room",
              }),
            }),
          },
        },
      },
    },
    responses: {
      200: json(TicketResponse, "The ticket after the transition"),
      ...errors(
        [400, "Invalid request"],
        [401, "Sign in first"],
        [403, "Only staff can do that"],
        [404, "No such ticket"],
        [
          409,
          "`invalid_transition` (details: from, action); `recall_window_passed`; " +
          "`restore_window_passed`",
        ],
      ),
    },
  });
}

// ---------------------------------------------------------------------------------------
// Board snapshot and staff list
// ---------------------------------------------------------------------------------------

const BoardTicket = z.object({
  ticket_id: z.string(),
  code: z.string(),
  status: TicketStatus,
  room: z.string().nullable(),
  called_at: z.string().nullable(),
  position: z.number().int().nullable(),
}).openapi("BoardTicket");

const Board = z.object({
  clinic_code: z.string(),
  clinic_name: z.string(),
  branch_name: z.string().nullable().openapi({ example: "Tampines" }),
  service_date: z.string().openapi({ format: "date" }),
  timezone: z.string(),
  version: z.number().int().openapi({
    description: "The board's version for this clinic and day (`queue_board_versions`); " +
      "stream changes with a higher version apply on top of this snapshot",
  }),
  tickets: z.array(BoardTicket),
}).openapi("QueueBoard");

const boardRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/queue",
  tags: ["queue"],
  summary: "The PII-free board snapshot of today",
  description: "Ticket code, status, room, called time and position only — no names, no " +
    "reasons, no patient ids. Readable by members of the clinic and by a TV board token of " +
    "the clinic. Called and serving tickets first (latest call first), then the waiting line " +
    "in order, then finished tickets.",
  security: bearerSecurity,
  request: { params: z.object({ code: Code }) },
  responses: {
    200: json(Board, "Snapshot"),
    ...errors(
      [401, "A user or board token is required"],
      [403, "Not a member of this clinic"],
      [404, "No such clinic"],
    ),
  },
});

const StaffTicket = Ticket.extend({
  patient_name: z.string().nullable(),
  patient_number: z.string().nullable(),
  doctor_name: z.string().nullable(),
}).openapi("StaffQueueTicket");

const staffListRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/queue/tickets",
  tags: ["queue"],
  summary: "Today's tickets with patient names (staff console)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({ code: Code }),
    query: z.object({ status: TicketStatus.optional() }),
  },
  responses: {
    200: json(z.object({ tickets: z.array(StaffTicket) }), "Tickets in board order"),
    ...errors([401, "Sign in first"], [403, "Not staff of this clinic"], [404, "No such clinic"]),
  },
});

// ---------------------------------------------------------------------------------------

type TicketAnswer = z.infer<typeof TicketResponse>;

const app = new OpenAPIHono<AppEnv>()
  .openapi(checkInRoute, async (c) => {
    const { id } = c.req.valid("param");
    const answer = await c.get("db").run(async (tx) =>
      one<TicketAnswer>(await tx`select api.queue_check_in(${id}::uuid) as r`)
    );
    return c.json(answer, 200);
  })
  .openapi(callNextRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { room, doctor_id, replace_current } = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<TicketAnswer>(
        await tx`select api.queue_call_next(${code}, ${room}, ${doctor_id ?? null}::uuid,
          ${replace_current ?? false}) as r`,
      )
    );
    return c.json(answer, 200);
  })
  .openapi(walkInRoute, async (c) => {
    const { code } = c.req.valid("param");
    const body = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<TicketAnswer>(
        await tx`select api.queue_walk_in(${code}, ${body.patient_id ?? null}::uuid,
          ${body.patient ? tx.json(body.patient) : null}::jsonb, ${body.doctor_id ?? null}::uuid,
          ${body.priority ?? null}::integer, ${body.confirm_new ?? false}) as r`,
      )
    );
    return c.json(answer, 201);
  })
  .openapi(boardRoute, async (c) => {
    const { code } = c.req.valid("param");
    const board = await c.get("db").run(async (tx) =>
      one<z.infer<typeof Board>>(await tx`select api.queue_board(${code}) as r`)
    );
    return c.json(board, 200);
  })
  .openapi(staffListRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { status } = c.req.valid("query");
    const list = await c.get("db").run(async (tx) =>
      one<{ tickets: z.infer<typeof StaffTicket>[] }>(
        await tx`select api.queue_tickets(${code}, ${status ?? null}::public.ticket_status) as r`,
      )
    );
    return c.json(list, 200);
  });

function addTransition(action: keyof typeof actions) {
  app.openapi(transitionRoute(action), async (c) => {
    const { id } = c.req.valid("param");
    const { room } = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<TicketAnswer>(
        await tx`select api.queue_transition(${id}::uuid, ${actions[action].sql},
          ${room ?? null}) as r`,
      )
    );
    return c.json(answer, 200);
  });
}
for (const action of Object.keys(actions) as (keyof typeof actions)[]) addTransition(action);

export const queue = app;
