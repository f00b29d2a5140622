/**
 * Every API call the PWA makes, in one place (shapes from `GET /api/openapi.json`).
 */
import { type Auth, request } from "./api.ts";

export interface Clinic {
  id: string;
  code: string;
  name: string;
  timezone: string;
  [key: string]: unknown;
}

/** A clinic as `GET /api/clinics` lists it (what anyone may see). */
export interface PublicClinic {
  code: string;
  name: string;
  branch_name: string | null;
  timezone: string;
}

export interface Doctor {
  id: string;
  display_name: string;
  specializations?: string[];
  languages?: string[];
  [key: string]: unknown;
}

export interface Slot {
  doctor_id: string;
  doctor_name?: string;
  start: string;
  end: string;
  local_time: string;
  [key: string]: unknown;
}

export interface SlotsResponse {
  clinic_code: string;
  date: string;
  timezone: string;
  slots: Slot[];
}

export interface Appointment {
  id: string;
  appointment_number: string | null;
  status: string;
  start: string;
  end: string;
  local_date?: string;
  local_time?: string;
  timezone?: string;
  clinic_id?: string;
  clinic_code?: string;
  clinic_name?: string;
  doctor_id: string;
  doctor_name?: string;
  patient_id: string;
  patient_name?: string;
  visit_reason?: string | null;
  [key: string]: unknown;
}

export interface Hold {
  id: string;
  expires_at: string;
  [key: string]: unknown;
}

export interface Ticket {
  id: string;
  code: string;
  status: string;
  position?: number | null;
  people_ahead?: number | null;
  estimated_wait_minutes?: number | null;
  room?: string | null;
  called_at?: string | null;
  appointment_id?: string | null;
  clinic_id?: string;
  clinic_code?: string;
  patient_name?: string | null;
  kind?: string;
  doctor_id?: string | null;
  doctor_name?: string | null;
  checked_in_at?: string | null;
  [key: string]: unknown;
}

export interface Notification {
  id: string;
  kind?: string;
  title: string;
  body: string;
  data?: Record<string, unknown>;
  created_at: string;
  read_at: string | null;
  [key: string]: unknown;
}

const enc = encodeURIComponent;

export interface ClinicInfo {
  clinic: Clinic;
  doctors: Doctor[];
}

export const clinics = {
  list: () => request<{ clinics: PublicClinic[] }>(`/api/clinics`).then((r) => r.clinics),
  get: (code: string) => request<ClinicInfo>(`/api/clinics/${enc(code)}`),
  slots: (code: string, date: string, doctorId?: string, auth?: Auth) =>
    request<SlotsResponse>(
      `/api/clinics/${enc(code)}/slots?date=${date}${
        doctorId ? `&doctor_id=${enc(doctorId)}` : ""
      }`,
      { auth },
    ),
};

export const booking = {
  hold: (auth: Auth, input: { clinic_code: string; doctor_id: string; start: string }) =>
    request<{ hold: Hold }>(`/api/holds`, { auth, body: input }).then((r) => r.hold),
  releaseHold: (auth: Auth, id: string) =>
    request<unknown>(`/api/holds/${enc(id)}`, { auth, method: "DELETE" }),
  book: (
    auth: Auth,
    key: string,
    input: {
      clinic_code: string;
      doctor_id: string;
      start: string;
      visit_reason?: string;
      hold_id?: string;
    },
  ) =>
    request<{ appointment: Appointment }>(`/api/bookings`, {
      auth,
      body: input,
      idempotencyKey: key,
    }).then((r) => r.appointment),
  mine: (auth: Auth) =>
    request<{ upcoming: Appointment[]; past: Appointment[] }>(`/api/me/appointments`, { auth }),
  get: (auth: Auth, id: string) =>
    request<{ appointment: Appointment }>(`/api/appointments/${enc(id)}`, { auth }).then((r) =>
      r.appointment
    ),
  cancel: (auth: Auth, id: string, reason?: string) =>
    request<{ appointment: Appointment }>(`/api/appointments/${enc(id)}/cancel`, {
      auth,
      body: reason ? { reason } : {},
    }).then((r) => r.appointment),
  reschedule: (
    auth: Auth,
    key: string,
    id: string,
    input: { start: string; doctor_id?: string },
  ) =>
    request<{ appointment: Appointment }>(`/api/appointments/${enc(id)}/reschedule`, {
      auth,
      body: input,
      idempotencyKey: key,
    }).then((r) => r.appointment),
};

export interface MyQueue {
  ticket: Ticket | null;
}

export const queue = {
  checkIn: (auth: Auth, appointmentId: string) =>
    request<{ ticket: Ticket }>(`/api/appointments/${enc(appointmentId)}/check-in`, {
      auth,
      body: {},
    }).then((r) => r.ticket),
  mine: (auth: Auth) => request<MyQueue>(`/api/me/queue`, { auth }),
};

export const notifications = {
  list: (auth: Auth) =>
    request<{ notifications: Notification[]; unread_count: number; next_cursor: string | null }>(
      `/api/notifications?limit=50`,
      { auth },
    ),
  unread: (auth: Auth) => request<{ count: number }>(`/api/notifications/unread-count`, { auth }),
  read: (auth: Auth, id: string) =>
    request<unknown>(`/api/notifications/${enc(id)}/read`, { auth, body: {} }),
  readAll: (auth: Auth) => request<unknown>(`/api/notifications/read-all`, { auth, body: {} }),
};

export interface StaffTicket extends Ticket {
  patient_name: string | null;
  patient_number: string | null;
  doctor_name: string | null;
  call_count?: number;
  priority?: number;
}

export interface DayAppointment extends Appointment {
  patient_name: string;
  patient_number: string;
}

export type TicketAction = "recall" | "start" | "complete" | "no-show" | "cancel";

export const GENDERS: [string, string][] = [
  ["female", "Female"],
  ["male", "Male"],
  ["other", "Other"],
  ["prefer_not_to_say", "Prefer not to say"],
];

export interface PatientSummary {
  id: string;
  patient_number: string;
  full_name: string;
  date_of_birth: string;
  gender: string;
  phone: string | null;
}

/** A walk-in patient registered at the desk (no account). */
export interface NewPatient {
  full_name: string;
  date_of_birth: string;
  gender: string;
  phone?: string;
}

export const staff = {
  appointments: (auth: Auth, code: string, date: string) =>
    request<
      { clinic_code: string; date: string; timezone: string; appointments: DayAppointment[] }
    >(
      `/api/clinics/${enc(code)}/appointments?date=${date}`,
      { auth },
    ),
  tickets: (auth: Auth, code: string) =>
    request<{ tickets: StaffTicket[] }>(`/api/clinics/${enc(code)}/queue/tickets`, { auth })
      .then((r) => r.tickets),
  callNext: (auth: Auth, code: string, room: string, doctorId?: string) =>
    request<{ ticket: Ticket }>(`/api/clinics/${enc(code)}/queue/call-next`, {
      auth,
      body: { room, ...(doctorId ? { doctor_id: doctorId } : {}) },
    }).then((r) => r.ticket),
  act: (auth: Auth, id: string, action: TicketAction, room?: string) =>
    request<{ ticket: Ticket }>(`/api/queue/tickets/${enc(id)}/${action}`, {
      auth,
      body: room ? { room } : {},
    }).then((r) => r.ticket),
  walkIn: (
    auth: Auth,
    code: string,
    input: { patient_id?: string; patient?: NewPatient; doctor_id?: string; priority?: number },
  ) =>
    request<{ ticket: Ticket }>(`/api/clinics/${enc(code)}/queue/walk-ins`, {
      auth,
      body: input,
    }).then((r) => r.ticket),
  checkIn: (auth: Auth, appointmentId: string) =>
    request<{ ticket: Ticket }>(`/api/appointments/${enc(appointmentId)}/check-in`, {
      auth,
      body: {},
    }).then((r) => r.ticket),
  patients: (auth: Auth, code: string, q: string) =>
    request<{ patients: PatientSummary[] }>(
      `/api/clinics/${enc(code)}/patients?q=${enc(q)}&limit=10`,
      { auth },
    ).then((r) => r.patients),
  boardToken: (auth: Auth, code: string, label: string) =>
    request<{ token: string; id: string; expires_at: string | null }>(
      `/api/clinics/${enc(code)}/board-tokens`,
      { auth, body: { label } },
    ),
};
