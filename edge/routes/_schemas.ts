/** Response shapes shared by several issue-3 sub-apps (documented in /api/openapi.json). */
import { z } from "@hono/zod-openapi";

export const Appointment = z.object({
  id: z.string(),
  appointment_number: z.string().nullable().openapi({ example: "GFC-TP-261201-007" }),
  status: z.string().openapi({ example: "scheduled" }),
  start: z.string().openapi({ example: "2026-12-01T09:00:00+08:00" }),
  end: z.string().openapi({ example: "2026-12-01T09:15:00+08:00" }),
  local_date: z.string(),
  local_time: z.string().openapi({ example: "09:00" }),
  timezone: z.string(),
  clinic_id: z.string(),
  clinic_code: z.string(),
  clinic_name: z.string(),
  branch_name: z.string().nullable().openapi({
    description: "The clinic's branch (e.g. Tampines) when the practice has several",
    example: "Tampines",
  }),
  doctor_id: z.string(),
  doctor_name: z.string(),
  patient_id: z.string(),
  appointment_type: z.string().optional().openapi({ example: "consultation" }),
  appointment_type_name: z.string().optional().openapi({ example: "Consultation" }),
  appointment_type_colour: z.string().optional().openapi({
    description: "The type's colour on the staff console",
    example: "#2563eb",
  }),
  visit_reason: z.string().nullable(),
  hold_expires_at: z.string().nullable(),
  rescheduled_from: z.string().nullable(),
  cancelled_at: z.string().nullable(),
  cancellation_reason: z.string().nullable(),
  created_at: z.string(),
  check_in_opens_at: z.string().nullable().optional().openapi({
    description: "When online check-in opens (while the appointment can be checked in); " +
      "not on the booking response",
    example: "2026-12-01T08:00:00+08:00",
  }),
}).openapi("Appointment");

export const AppointmentEnvelope = z.object({ appointment: Appointment }).openapi(
  "AppointmentEnvelope",
);

export type AppointmentJson = z.infer<typeof Appointment>;
