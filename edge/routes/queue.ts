/**
 * The clinic queue: check-in, walk-ins, call-next, ticket transitions, the staff list and the
 * PII-free board snapshot. The rules live in the database (`private.queue_*`, migration
 * 20261122000900_queue.sql); every request runs them as the caller, in one transaction.
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
import { apiError } from "../errors.ts";
import { requireUser } from "../middleware/auth.ts";
import { ClinicCode, IsoDate, Line } from "./_shared.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import {
  clinicByCode,
  commandTicket,
  iso,
  Ticket,
  ticketColumns,
  ticketColumnsOf,
  type TicketJson,
  TicketStatus,
} from "./queue_shared.ts";

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
    'get the same ticket. The patient is notified ("please go to Room 3").',
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
    ),
  },
});

const NewPatient = z.object({
  full_name: Line.trim().min(1).max(200),
  date_of_birth: IsoDate,
  gender: z.enum(["male", "female", "other", "prefer_not_to_say"]),
  phone: z.string().regex(/^[+0-9][0-9 -]{5,19}$/, "Not a phone number").optional(),
}).openapi("NewWalkInPatient");

const walkInRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/queue/walk-ins",
  tags: ["queue"],
  summary: "Register a walk-in (staff)",
  description: "Issues a `W…` ticket. `patient_id` (a patient of the clinic) lets the patient " +
    "follow the ticket and be notified; or `patient` registers a new patient of the clinic " +
    "(next patient number) and issues the ticket for them in the same transaction. " +
    "`doctor_id` ties it to one doctor; `priority` 0–9.",
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
        [409, "`invalid_transition` (details: from, action); `recall_window_passed`"],
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

function need(ticket: TicketJson | undefined): TicketJson {
  if (!ticket) throw apiError(500, "internal_error", "The command returned no ticket");
  return ticket;
}

const app = new OpenAPIHono<AppEnv>()
  .openapi(checkInRoute, async (c) => {
    const { id } = c.req.valid("param");
    const ticket = await c.get("db").run((tx) =>
      commandTicket(tx, tx`select ${tx.unsafe(ticketColumns)} from private.queue_check_in(${id})`)
    );
    return c.json({ ticket: need(ticket) }, 200);
  })
  .openapi(callNextRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { room, doctor_id } = c.req.valid("json");
    const ticket = await c.get("db").run(async (tx) => {
      const clinic = await clinicByCode(tx, code);
      return await commandTicket(
        tx,
        tx`select ${tx.unsafe(ticketColumns)}
           from private.queue_call_next(${clinic.id}, ${room}, ${doctor_id ?? null})`,
      );
    });
    if (!ticket) throw apiError(404, "queue_empty", "Nobody is waiting for this room");
    return c.json({ ticket }, 200);
  })
  .openapi(walkInRoute, async (c) => {
    const { code } = c.req.valid("param");
    const body = c.req.valid("json");
    const ticket = await c.get("db").run(async (tx) => {
      const clinic = await clinicByCode(tx, code);
      let patientId = body.patient_id ?? null;
      if (body.patient) {
        const p = body.patient;
        [{ patientId }] = await tx`
          select private.register_patient(${clinic.id}, ${p.full_name}, ${p.date_of_birth}::date,
            ${p.gender}::public.gender, ${p.phone ?? null}) as "patientId"`;
      }
      return await commandTicket(
        tx,
        tx`select ${tx.unsafe(ticketColumns)}
           from private.queue_walk_in(${clinic.id}, ${patientId},
             ${body.doctor_id ?? null}, ${body.priority ?? 0})`,
      );
    });
    return c.json({ ticket: need(ticket) }, 201);
  })
  .openapi(boardRoute, async (c) => {
    const { code } = c.req.valid("param");
    const claims = c.get("claims");
    const board = await c.get("db").run(async (tx) => {
      const clinic = await clinicByCode(tx, code);
      if (claims.role === "anon") {
        if (!claims.app_metadata?.board) {
          throw apiError(401, "auth_required", "Sign in or use a board token");
        }
        const [{ clinic_id }] = await tx`select private.board_clinic_id() as clinic_id`;
        if (!clinic_id) {
          throw apiError(401, "board_token_revoked", "This board token is no longer valid");
        }
        if (clinic_id !== clinic.id) {
          throw apiError(403, "forbidden", "This board token is for another clinic");
        }
      } else {
        const [{ member }] = await tx`
          select ${clinic.id}::uuid in (select private.member_clinic_ids()) as member`;
        if (!member) throw apiError(403, "forbidden", "You are not a member of this clinic");
      }
      // One statement, one snapshot: the rows and the version line up.
      const [row] = await tx`
        with d as (select private.clinic_today(${clinic.id}) as day)
        select d.day::text as service_date,
          coalesce((select v.version from public.queue_board_versions v
                    where v.clinic_id = ${clinic.id} and v.service_date = d.day), 0)::bigint
            as version,
          coalesce((
            select json_agg(json_build_object(
                'ticket_id', b.ticket_id, 'code', b.code, 'status', b.status, 'room', b.room,
                'called_at', b.called_at, 'position', b.position)
              order by case when b.status in ('called', 'serving') then 0
                            when b.status = 'waiting' then 1 else 2 end,
                       case when b.status in ('called', 'serving') then b.called_at end
                         desc nulls last,
                       b.position nulls last, b.code)
            from public.queue_board b
            where b.clinic_id = ${clinic.id} and b.service_date = d.day), '[]'::json) as tickets
        from d`;
      return {
        clinic_code: clinic.code,
        clinic_name: clinic.name,
        service_date: row.service_date as string,
        timezone: clinic.timezone,
        version: Number(row.version),
        tickets: (row.tickets as z.infer<typeof BoardTicket>[]).map((t) => ({
          ...t,
          called_at: t.called_at ? new Date(t.called_at).toISOString() : null,
        })),
      };
    });
    return c.json(board, 200);
  })
  .openapi(staffListRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { status } = c.req.valid("query");
    const tickets = await c.get("db").run(async (tx) => {
      const clinic = await clinicByCode(tx, code);
      const [{ staff }] = await tx`
        select ${clinic.id}::uuid in (select private.staff_clinic_ids()) as staff`;
      if (!staff) throw apiError(403, "forbidden", "Only staff of this clinic can see this");
      const rows = await tx`
        select ${tx.unsafe(ticketColumnsOf("t"))},
               b.position, p.full_name as patient_name, p.patient_number,
               d.display_name as doctor_name
        from public.queue_tickets t
        left join public.queue_board b on b.ticket_id = t.id
        left join public.patients p on p.id = t.patient_id
        left join public.doctors d on d.id = t.doctor_id
        where t.clinic_id = ${clinic.id}
          and t.service_date = private.clinic_today(${clinic.id})
          and (${status ?? null}::public.ticket_status is null or t.status = ${status ?? null})
        order by case when t.status in ('called', 'serving') then 0
                      when t.status = 'waiting' then 1 else 2 end,
                 b.position nulls last, t.called_at desc nulls last, t.code`;
      return rows.map((r) => ({
        id: r.id,
        code: r.code,
        kind: r.kind,
        status: r.status,
        priority: r.priority,
        clinic_id: r.clinic_id,
        service_date: r.service_date,
        room: r.room,
        doctor_id: r.doctor_id,
        patient_id: r.patient_id,
        appointment_id: r.appointment_id,
        scheduled_at: iso(r.scheduled_at),
        checked_in_at: iso(r.checked_in_at),
        called_at: iso(r.called_at),
        call_count: r.call_count,
        consultation_start_at: iso(r.consultation_start_at),
        consultation_end_at: iso(r.consultation_end_at),
        no_show_at: iso(r.no_show_at),
        cancelled_at: iso(r.cancelled_at),
        position: r.position,
        people_ahead: null,
        estimated_wait_minutes: null,
        service_minutes: null,
        patient_name: r.patient_name,
        patient_number: r.patient_number,
        doctor_name: r.doctor_name,
      }));
    });
    return c.json({ tickets }, 200);
  });

function addTransition(action: keyof typeof actions) {
  app.openapi(transitionRoute(action), async (c) => {
    const { id } = c.req.valid("param");
    const { room } = c.req.valid("json");
    const ticket = await c.get("db").run((tx) =>
      commandTicket(
        tx,
        tx`select ${tx.unsafe(ticketColumns)}
           from private.queue_transition(${id}, ${actions[action].sql}, ${room ?? null})`,
      )
    );
    return c.json({ ticket: need(ticket) }, 200);
  });
}
for (const action of Object.keys(actions) as (keyof typeof actions)[]) addTransition(action);

export const queue = app;
