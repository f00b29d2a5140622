/**
 * Shared by the queue, me and notifications sub-apps: the ticket's JSON shape and columns, its
 * position and wait estimate, and the clinic of a `:code` path parameter.
 */
import { z } from "@hono/zod-openapi";
import type postgres from "postgres";
import { apiError } from "../errors.ts";

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
export type TicketJson = z.infer<typeof Ticket>;

/** The ticket columns of table alias `t` (or none), with dates as text (never shifted). */
export function ticketColumnsOf(t = ""): string {
  const p = t ? `${t}.` : "";
  return `${p}id, ${p}code, ${p}kind::text as kind, ${p}status::text as status, ${p}priority,
    ${p}clinic_id, ${p}service_date::text as service_date, ${p}room, ${p}doctor_id,
    ${p}patient_id, ${p}appointment_id, ${p}scheduled_at, ${p}checked_in_at, ${p}called_at,
    ${p}call_count, ${p}consultation_start_at, ${p}consultation_end_at, ${p}no_show_at,
    ${p}cancelled_at`;
}
export const ticketColumns = ticketColumnsOf();

export interface TicketRow {
  id: string;
  code: string;
  kind: "appointment" | "walk_in";
  status: z.infer<typeof TicketStatus>;
  priority: number;
  clinic_id: string;
  service_date: string;
  room: string | null;
  doctor_id: string | null;
  patient_id: string | null;
  appointment_id: string | null;
  scheduled_at: Date | null;
  checked_in_at: Date | null;
  called_at: Date | null;
  call_count: number;
  consultation_start_at: Date | null;
  consultation_end_at: Date | null;
  no_show_at: Date | null;
  cancelled_at: Date | null;
}

interface TicketInfo {
  position: number | null;
  people_ahead: number | null;
  estimated_wait_minutes: number | null;
  service_minutes: number | null;
}

export const iso = (value: Date | null | undefined): string | null =>
  value ? new Date(value).toISOString() : null;

/** Runs `command` (a set-returning queue function) and answers the ticket with its estimate. */
export async function commandTicket(
  tx: postgres.TransactionSql,
  command: postgres.PendingQuery<postgres.Row[]>,
): Promise<TicketJson | undefined> {
  const [row] = await command as unknown as TicketRow[];
  if (!row) return undefined;
  return await withInfo(tx, row);
}

/** The ticket as JSON with position, people ahead and the wait estimate. */
export async function withInfo(tx: postgres.TransactionSql, row: TicketRow): Promise<TicketJson> {
  const [{ info }] = await tx<{ info: TicketInfo | null }[]>`
    select private.queue_ticket_info(${row.id}) as info`;
  return {
    id: row.id,
    code: row.code,
    kind: row.kind,
    status: row.status,
    priority: row.priority,
    clinic_id: row.clinic_id,
    service_date: row.service_date,
    room: row.room,
    doctor_id: row.doctor_id,
    patient_id: row.patient_id,
    appointment_id: row.appointment_id,
    scheduled_at: iso(row.scheduled_at),
    checked_in_at: iso(row.checked_in_at),
    called_at: iso(row.called_at),
    call_count: row.call_count,
    consultation_start_at: iso(row.consultation_start_at),
    consultation_end_at: iso(row.consultation_end_at),
    no_show_at: iso(row.no_show_at),
    cancelled_at: iso(row.cancelled_at),
    position: info?.position ?? null,
    people_ahead: info?.people_ahead ?? null,
    estimated_wait_minutes: info?.estimated_wait_minutes ?? null,
    service_minutes: info?.service_minutes == null ? null : Number(info.service_minutes),
  };
}

export interface ClinicRow {
  id: string;
  code: string;
  name: string;
  timezone: string;
}

/** The clinic of a `:code` path parameter (readable by anyone), or 404 `clinic_not_found`. */
export async function clinicByCode(tx: postgres.TransactionSql, code: string): Promise<ClinicRow> {
  const [clinic] = await tx<ClinicRow[]>`
    select id, code, name, timezone from public.clinics where code = ${code.toUpperCase()}`;
  if (!clinic) throw apiError(404, "clinic_not_found", "No such clinic");
  return clinic;
}
