/**
 * Shared by the queue and me sub-apps: the ticket's JSON shape, as the database writes it
 * (private.queue_ticket_json).
 */
import { z } from "@hono/zod-openapi";

export const TicketStatus = z.enum([
  "waiting",
  "called",
  "serving",
  "completed",
  "no_show",
  "cancelled",
]);

const ts = z.string().nullable().openapi({ format: "date-time" });

export const Ticket = z.object({
  id: z.string().openapi({ format: "uuid" }),
  code: z.string().openapi({
    example: "A012",
    description: "Reveals no name: A = appointment, W = walk-in",
  }),
  kind: z.enum(["appointment", "walk_in"]),
  status: TicketStatus,
  priority: z.number().int(),
  clinic_id: z.string(),
  service_date: z.string().openapi({ format: "date" }),
  room: z.string().nullable(),
  doctor_id: z.string().nullable(),
  patient_id: z.string().nullable(),
  appointment_id: z.string().nullable(),
  scheduled_at: ts,
  checked_in_at: ts,
  called_at: ts,
  call_count: z.number().int(),
  consultation_start_at: ts,
  consultation_end_at: ts,
  no_show_at: ts,
  cancelled_at: ts,
  position: z.number().int().nullable().openapi({
    description: "Place in the clinic's waiting line (as on the board); null once called",
  }),
  people_ahead: z.number().int().nullable().openapi({
    description: "Waiting tickets the same doctor will see first",
  }),
  estimated_wait_minutes: z.number().int().nullable().openapi({
    description: "From the doctor's rolling consultation durations",
  }),
  service_minutes: z.number().nullable().openapi({
    description: "The rolling mean consultation length the estimate used",
  }),
}).openapi("QueueTicket");
