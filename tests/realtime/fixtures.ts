/**
 * Phase-1 fixtures: a claims-based rule authorizer over two test tables, and change
 * builders for the in-memory feed. (The database-backed authorizer has its own tests.)
 */
import { type Change, type Claims, createRuleAuthorizer } from "../../realtime/mod.ts";

export const CLINIC_A = "0a000000-0000-4000-8000-00000000000a";
export const CLINIC_B = "0b000000-0000-4000-8000-00000000000b";

const staff = (c: Claims) =>
  ["doctor", "nurse", "staff", "admin"].includes(String(c.app_metadata?.role));
const clinics = (c: Claims) => [...(c.app_metadata?.clinic_ids ?? [])].sort();

/** appointments: staff see their clinics' rows, patients their own; boards see the board. */
export function testAuthorizer() {
  return createRuleAuthorizer({
    rules: {
      "public.appointments": {
        principal: (c) =>
          c.role !== "authenticated"
            ? null
            : staff(c)
            ? `staff:${clinics(c).join(",")}`
            : `patient:${c.sub}`,
        allows: (c, row) =>
          staff(c) ? clinics(c).includes(String(row.clinic_id)) : row.patient_id === c.sub,
      },
      "public.queue_board": {
        principal: (c) =>
          c.app_metadata?.board
            ? `board:${c.app_metadata.clinic_id}`
            : c.role === "authenticated"
            ? `member:${clinics(c).join(",")}`
            : null,
        allows: (c, row) =>
          c.app_metadata?.board
            ? row.clinic_id === c.app_metadata.clinic_id
            : clinics(c).includes(String(row.clinic_id)),
        columns: (c) =>
          c.role === "anon" ? new Set(["ticket_id", "clinic_id", "code", "status"]) : undefined,
      },
    },
    columnTypes: {
      "public.appointments": { id: "int8", clinic_id: "uuid", patient_id: "uuid", status: "text" },
    },
  });
}

const appointmentColumns = [
  { name: "id", type: "int8" },
  { name: "clinic_id", type: "uuid" },
  { name: "patient_id", type: "uuid" },
  { name: "status", type: "text" },
  { name: "fee", type: "numeric" },
];

export interface Appointment {
  id: number;
  clinic_id: string;
  patient_id: string;
  status: string;
  fee?: number;
}

export function insertAppointment(row: Appointment): Change {
  return {
    schema: "public",
    table: "appointments",
    type: "INSERT",
    columns: appointmentColumns,
    record: { fee: 0, ...row },
  };
}

export function updateAppointment(old: Appointment, row: Appointment): Change {
  return {
    schema: "public",
    table: "appointments",
    type: "UPDATE",
    columns: appointmentColumns,
    record: { fee: 0, ...row },
    old_record: { fee: 0, ...old },
  };
}

export function deleteAppointment(old: Appointment): Change {
  return {
    schema: "public",
    table: "appointments",
    type: "DELETE",
    columns: appointmentColumns,
    old_record: { fee: 0, ...old },
  };
}

export function boardRow(clinicId: string, code: string): Change {
  return {
    schema: "public",
    table: "queue_board",
    type: "INSERT",
    columns: [
      { name: "ticket_id", type: "uuid" },
      { name: "clinic_id", type: "uuid" },
      { name: "code", type: "text" },
      { name: "status", type: "text" },
      { name: "room", type: "text" },
    ],
    record: {
      ticket_id: crypto.randomUUID(),
      clinic_id: clinicId,
      code,
      status: "waiting",
      room: "R1",
    },
  };
}
