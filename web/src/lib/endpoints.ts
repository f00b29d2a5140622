/**
 * The API calls of the patient app and the staff console, in one place, and the shapes they
 * answer — all from `api_types.gen.ts` (generated from `GET /api/openapi.json`), so `deno check`
 * fails when the PWA and the API's routes disagree.
 */
import { type Auth, call, type RequestBody } from "./api.ts";
import type { components, paths } from "./api_types.gen.ts";

type Schemas = components["schemas"];

// ---- shapes ------------------------------------------------------------------------------------

export type ClinicInfo = Schemas["ClinicInfo"];
export type Clinic = ClinicInfo["clinic"];
export type Doctor = ClinicInfo["doctors"][number];
/** A clinic as `GET /api/clinics` lists it (what anyone may see). */
export type PublicClinic = Schemas["ClinicList"]["clinics"][number];
export type SlotsResponse = Schemas["Slots"];
/** A day of the booking calendar: open or closed, and its free times. */
export type ClinicDay = Schemas["ClinicDays"]["days"][number];
export type Slot = SlotsResponse["slots"][number];
export type Appointment = Schemas["Appointment"];
/** One of my appointments or my dependants': whose visit it is. */
export type MyAppointment = Schemas["MyAppointment"];
/** A clinic I can book at (`registered`) or join. */
export type MyClinic = Schemas["MyClinics"]["clinics"][number];
/** Someone I book for: their record at one clinic. */
export type Dependant = Schemas["Dependant"];
export type Relationship = Dependant["relationship"];
/** An appointment of the clinic's day, with its patient (staff). */
export type DayAppointment = Schemas["ClinicDayAppointments"]["appointments"][number];
export type Hold = Schemas["Hold"]["hold"];
/** A TV board token as the clinic's admins see it. */
export type BoardTokenInfo = Schemas["BoardTokenInfo"];
export type AuditEntry = Schemas["AuditEntry"];
/** A clinic's settings as its admins see them (defaults filled in), and a change to them. */
export type ClinicSettings = Schemas["ClinicSettings"];
export type ClinicSettingsPatch = Schemas["ClinicSettingsPatch"];
export type AuditFilter = NonNullable<
  paths["/api/clinics/{code}/audit"]["get"]["parameters"]["query"]
>;
export type WebhookEndpoint = Schemas["WebhookEndpoint"];
export type WebhookDelivery = Schemas["WebhookDelivery"];
/** The clinic's staff and pending invitations, as its admins see them. */
export type StaffList = Schemas["Staff"];
export type StaffRole = Schemas["StaffRole"];
export type ClosureInfo = Schemas["ClosureInfo"];
/** What a visit can be (a consultation, a health screening), its length, colour and doctors. */
export type AppointmentType = Schemas["AppointmentType"];
/** The type every request that names none books. */
export const DEFAULT_TYPE = "consultation";
export type Ticket = Schemas["QueueTicket"];
export type MyQueue = Schemas["MyQueue"];
/** My ticket of today, with its clinic. */
export type MyTicket = NonNullable<MyQueue["ticket"]>;
export type StaffTicket = Schemas["StaffQueueTicket"];
export type Notification = Schemas["Notification"];
export type PatientSummary = Schemas["PatientSummary"];
export type Gender = Schemas["PatientSummary"]["gender"];
export type Profile = Schemas["Profile"];
export type Consents = Schemas["Consents"];
/** A walk-in: nameless, a patient of the clinic (`patient_id`) or a new one (`patient`). */
export type WalkIn = RequestBody<"/api/clinics/{code}/queue/walk-ins", "post">;

export type TicketAction = "recall" | "start" | "complete" | "no-show" | "cancel" | "restore";

/** The genders a form offers, in order (labels: `gender.*` in messages.ts). */
export const GENDERS: readonly Gender[] = ["female", "male", "other", "prefer_not_to_say"];

// ---- calls ---------------------------------------------------------------------------------

export const clinics = {
  list: () => call("get", "/api/clinics", {}).then((r) => r.clinics),
  get: (code: string) => call("get", "/api/clinics/{code}", { params: { code } }),
  /**
   * Public and the same for everyone: no token (a CDN may share it), revalidated by ETag —
   * except the staff's `auth` for a staff-only type.
   */
  slots: (code: string, date: string, doctorId?: string, type?: string, auth?: Auth) =>
    call("get", "/api/clinics/{code}/slots", {
      auth,
      cache: "no-cache",
      params: { code },
      query: { date, doctor_id: doctorId || undefined, type: typeParam(type) },
    }),
  /** The booking calendar: 14 days from today, or `page` (a month of the date picker). */
  days: (
    code: string,
    doctorId?: string,
    type?: string,
    page?: { from: string; days: number },
    auth?: Auth,
  ) =>
    call("get", "/api/clinics/{code}/days", {
      auth,
      params: { code },
      query: { doctor_id: doctorId || undefined, type: typeParam(type), ...page },
    }),
  /** The types patients may book (all of them, with `auth`, for the clinic's staff). */
  types: (code: string, auth?: Auth) =>
    call("get", "/api/clinics/{code}/appointment-types", { auth, params: { code } })
      .then((r) => r.appointment_types),
};

/** A type for a request: left out when it is the default (the request stays as it was). */
export function typeParam(type: string | undefined): string | undefined {
  return type && type !== DEFAULT_TYPE ? type : undefined;
}

/** A clinic's appointment types (its admins). */
export const appointmentTypes = {
  create: (auth: Auth, code: string, body: Schemas["AppointmentTypeRequest"]) =>
    call("post", "/api/clinics/{code}/appointment-types", { auth, params: { code }, body }),
  update: (auth: Auth, code: string, type: string, body: Schemas["AppointmentTypeChanges"]) =>
    call("patch", "/api/clinics/{code}/appointment-types/{type}", {
      auth,
      params: { code, type },
      body,
    }),
  remove: (auth: Auth, code: string, type: string) =>
    call("delete", "/api/clinics/{code}/appointment-types/{type}", {
      auth,
      params: { code, type },
    }),
};

export const booking = {
  hold: (auth: Auth, input: Schemas["HoldRequest"]) =>
    call("post", "/api/holds", { auth, body: input }).then((r) => r.hold),
  releaseHold: (auth: Auth, id: string) =>
    call("delete", "/api/holds/{id}", { auth, params: { id } }),
  book: (auth: Auth, key: string, input: Schemas["BookingRequest"]) =>
    call("post", "/api/bookings", { auth, body: input, idempotencyKey: key })
      .then((r) => r.appointment),
  mine: (auth: Auth) => call("get", "/api/me/appointments", { auth }),
  get: (auth: Auth, id: string) =>
    call("get", "/api/appointments/{id}", { auth, params: { id } }).then((r) => r.appointment),
  cancel: (auth: Auth, id: string, reason?: string) =>
    call("post", "/api/appointments/{id}/cancel", {
      auth,
      params: { id },
      body: reason ? { reason } : {},
    }).then((r) => r.appointment),
  reschedule: (auth: Auth, key: string, id: string, input: Schemas["RescheduleRequest"]) =>
    call("post", "/api/appointments/{id}/reschedule", {
      auth,
      params: { id },
      body: input,
      idempotencyKey: key,
    }).then((r) => r.appointment),
};

/** Several clinics, one account; the people I book for (`/me/clinics`, `/me/dependants`). */
export const families = {
  clinics: (auth: Auth) => call("get", "/api/me/clinics", { auth }).then((r) => r.clinics),
  register: (auth: Auth, code: string) =>
    call("post", "/api/clinics/{code}/register", { auth, params: { code }, body: {} }),
  dependants: (auth: Auth) => call("get", "/api/me/dependants", { auth }).then((r) => r.dependants),
  add: (auth: Auth, code: string, input: Schemas["DependantRequest"]) =>
    call("post", "/api/clinics/{code}/dependants", { auth, params: { code }, body: input })
      .then((r) => r.dependant),
  update: (auth: Auth, patientId: string, changes: Schemas["DependantChanges"]) =>
    call("patch", "/api/me/dependants/{patient_id}", {
      auth,
      params: { patient_id: patientId },
      body: changes,
    }).then((r) => r.dependant),
  remove: (auth: Auth, patientId: string) =>
    call("delete", "/api/me/dependants/{patient_id}", {
      auth,
      params: { patient_id: patientId },
    }),
};

/** The relationships a guardian may give (labels: `family.rel.*` in messages.ts). */
export const RELATIONSHIPS: readonly Relationship[] = ["child", "parent", "spouse", "other"];

/** Checks in for an appointment of today: the new ticket. */
const checkIn = (auth: Auth, appointmentId: string) =>
  call("post", "/api/appointments/{id}/check-in", { auth, params: { id: appointmentId } })
    .then((r) => r.ticket);

/** My language, phone and consents per channel (`/me/profile`). */
export const profile = {
  get: (auth: Auth) => call("get", "/api/me/profile", { auth }),
  update: (auth: Auth, changes: Schemas["ProfileChanges"]) =>
    call("patch", "/api/me/profile", { auth, body: changes }),
};

/** The account: its address, password reset, e-mail verification and changes. */
export const account = {
  me: (auth: Auth) => call("get", "/api/auth/me", { auth }),
  forgot: (email: string) => call("post", "/api/auth/password/forgot", { body: { email } }),
  reset: (token: string, password: string) =>
    call("post", "/api/auth/password/reset", { body: { token, password } }),
  changePassword: (auth: Auth, body: Schemas["PasswordChangeRequest"]) =>
    call("post", "/api/auth/password/change", { auth, body }),
  verify: (auth: Auth) => call("post", "/api/auth/email/verify", { auth }),
  changeEmail: (auth: Auth, body: Schemas["EmailChangeRequest"]) =>
    call("post", "/api/auth/email/change", { auth, body }),
  confirm: (token: string) => call("post", "/api/auth/email/confirm", { body: { token } }),
  acceptInvitation: (body: Schemas["InvitationAcceptRequest"]) =>
    call("post", "/api/auth/invitations/accept", { body }),
};

export const queue = {
  checkIn,
  mine: (auth: Auth) => call("get", "/api/me/queue", { auth }),
};

export const notifications = {
  list: (auth: Auth) => call("get", "/api/notifications", { auth, query: { limit: 50 } }),
  unread: (auth: Auth) => call("get", "/api/notifications/unread-count", { auth }),
  read: (auth: Auth, id: string) =>
    call("post", "/api/notifications/{id}/read", { auth, params: { id } }),
  readAll: (auth: Auth) => call("post", "/api/notifications/read-all", { auth }),
};

/** Web push subscriptions of this browser (`PushSubscription.toJSON()`). */
export const push = {
  subscribe: (auth: Auth, subscription: Schemas["PushSubscribeRequest"]) =>
    call("post", "/api/push/subscriptions", { auth, body: subscription }),
  list: (auth: Auth) => call("get", "/api/push/subscriptions", { auth }),
  /** "Tell me when I'm called" is the patient's consent to push (kept in the history, `app`). */
  consent: (auth: Auth) =>
    call("patch", "/api/me/profile", { auth, body: { consents: { push: true } } }),
  unsubscribe: (auth: Auth, id: string) =>
    call("delete", "/api/push/subscriptions/{id}", { auth, params: { id } }),
};

export const staff = {
  appointments: (auth: Auth, code: string, date: string) =>
    call("get", "/api/clinics/{code}/appointments", { auth, params: { code }, query: { date } }),
  tickets: (auth: Auth, code: string) =>
    call("get", "/api/clinics/{code}/queue/tickets", { auth, params: { code } })
      .then((r) => r.tickets),
  callNext: (auth: Auth, code: string, room: string, doctorId?: string, replace = false) =>
    call("post", "/api/clinics/{code}/queue/call-next", {
      auth,
      params: { code },
      body: {
        room,
        ...(doctorId ? { doctor_id: doctorId } : {}),
        ...(replace ? { replace_current: true } : {}),
      },
    }).then((r) => r.ticket),
  act: (auth: Auth, id: string, action: TicketAction, room?: string) =>
    call("post", `/api/queue/tickets/{id}/${action}`, {
      auth,
      params: { id },
      body: room ? { room } : {},
    }).then((r) => r.ticket),
  walkIn: (auth: Auth, code: string, input: WalkIn) =>
    call("post", "/api/clinics/{code}/queue/walk-ins", { auth, params: { code }, body: input })
      .then((r) => r.ticket),
  checkIn,
  patients: (auth: Auth, code: string, q: string) =>
    call("get", "/api/clinics/{code}/patients", {
      auth,
      params: { code },
      query: { q, limit: 10 },
    }).then((r) => r.patients),
  linkGuardian: (
    auth: Auth,
    code: string,
    patientId: string,
    body: RequestBody<"/api/clinics/{code}/patients/{patient_id}/guardians", "post">,
  ) =>
    call("post", "/api/clinics/{code}/patients/{patient_id}/guardians", {
      auth,
      params: { code, patient_id: patientId },
      body,
    }),
  unlinkGuardian: (auth: Auth, code: string, patientId: string, userId: string) =>
    call("delete", "/api/clinics/{code}/patients/{patient_id}/guardians/{user_id}", {
      auth,
      params: { code, patient_id: patientId, user_id: userId },
    }),
  boardToken: (auth: Auth, code: string, label: string) =>
    call("post", "/api/clinics/{code}/board-tokens", { auth, params: { code }, body: { label } }),
  boardTokens: (auth: Auth, code: string) =>
    call("get", "/api/clinics/{code}/board-tokens", { auth, params: { code } })
      .then((r) => r.board_tokens),
  labelBoard: (auth: Auth, code: string, id: string, label: string) =>
    call("patch", "/api/clinics/{code}/board-tokens/{id}", {
      auth,
      params: { code, id },
      body: { label },
    }),
  revokeBoard: (auth: Auth, code: string, id: string) =>
    call("delete", "/api/clinics/{code}/board-tokens/{id}", { auth, params: { code, id } }),
  staffList: (auth: Auth, code: string) =>
    call("get", "/api/clinics/{code}/staff", { auth, params: { code } }),
  invite: (auth: Auth, code: string, email: string, role: StaffRole) =>
    call("post", "/api/clinics/{code}/invitations", {
      auth,
      params: { code },
      body: { email, role },
    }),
  withdrawInvitation: (auth: Auth, code: string, id: string) =>
    call("delete", "/api/clinics/{code}/invitations/{id}", { auth, params: { code, id } }),
  setRole: (auth: Auth, code: string, userId: string, role: StaffRole) =>
    call("patch", "/api/clinics/{code}/staff/{user_id}", {
      auth,
      params: { code, user_id: userId },
      body: { role },
    }),
  removeMember: (auth: Auth, code: string, userId: string) =>
    call("delete", "/api/clinics/{code}/staff/{user_id}", {
      auth,
      params: { code, user_id: userId },
    }),
  closures: (auth: Auth, code: string, from: string) =>
    call("get", "/api/clinics/{code}/closures", { auth, params: { code }, query: { from } })
      .then((r) => r.closures),
  addClosure: (
    auth: Auth,
    code: string,
    body: { starts_on: string; ends_on: string; reason: string },
  ) => call("post", "/api/clinics/{code}/closures", { auth, params: { code }, body }),
  removeClosure: (auth: Auth, code: string, id: string) =>
    call("delete", "/api/clinics/{code}/closures/{id}", { auth, params: { code, id } }),
  importHolidays: (auth: Auth, code: string, year: number) =>
    call("post", "/api/clinics/{code}/closures/public-holidays", {
      auth,
      params: { code },
      body: { year },
    }),
  settings: (auth: Auth, code: string) =>
    call("get", "/api/clinics/{code}/settings", { auth, params: { code } }),
  updateSettings: (auth: Auth, code: string, body: ClinicSettingsPatch) =>
    call("patch", "/api/clinics/{code}/settings", { auth, params: { code }, body }),
  undoNoShow: (auth: Auth, id: string) =>
    call("post", "/api/appointments/{id}/undo-no-show", { auth, params: { id } }),
  audit: (auth: Auth, code: string, query: AuditFilter) =>
    call("get", "/api/clinics/{code}/audit", { auth, params: { code }, query }),
};

/** A clinic's outbound webhook endpoints (admins). */
export const webhooks = {
  list: (auth: Auth, code: string) =>
    call("get", "/api/clinics/{code}/webhook-endpoints", { auth, params: { code } })
      .then((r) => r.endpoints),
  create: (auth: Auth, code: string, body: Schemas["WebhookEndpointCreate"]) =>
    call("post", "/api/clinics/{code}/webhook-endpoints", { auth, params: { code }, body }),
  update: (auth: Auth, code: string, id: string, body: Schemas["WebhookEndpointUpdate"]) =>
    call("patch", "/api/clinics/{code}/webhook-endpoints/{id}", {
      auth,
      params: { code, id },
      body,
    }),
  deliveries: (auth: Auth, code: string, id: string) =>
    call("get", "/api/clinics/{code}/webhook-endpoints/{id}/deliveries", {
      auth,
      params: { code, id },
      query: { limit: 20 },
    }).then((r) => r.deliveries),
  retry: (auth: Auth, code: string, id: string, deliveryId: string) =>
    call("post", "/api/clinics/{code}/webhook-endpoints/{id}/deliveries/{delivery_id}/retry", {
      auth,
      params: { code, id, delivery_id: deliveryId },
    }),
};

// ---- doctors' schedules (admins) ---------------------------------------------------------------

export type DoctorScheduleSummary = Schemas["DoctorScheduleSummary"];
export type DoctorSchedule = Schemas["DoctorSchedule"];
export type ScheduleInterval = Schemas["ScheduleInterval"];
export type ScheduleChange = Schemas["ScheduleChange"];
export type SchedulePreview = Schemas["SchedulePreview"];
export type BlockedDate = Schemas["BlockedDate"];

export const schedules = {
  doctors: (auth: Auth, code: string) =>
    call("get", "/api/clinics/{code}/doctors", { auth, params: { code } }).then((r) => r.doctors),
  get: (auth: Auth, code: string, id: string) =>
    call("get", "/api/clinics/{code}/doctors/{id}/schedule", { auth, params: { code, id } }),
  save: (auth: Auth, code: string, id: string, body: ScheduleChange) =>
    call("patch", "/api/clinics/{code}/doctors/{id}/schedule", {
      auth,
      params: { code, id },
      body,
    }),
  preview: (auth: Auth, code: string, id: string, week: string, draft: ScheduleChange) =>
    call("post", "/api/clinics/{code}/doctors/{id}/schedule/preview", {
      auth,
      params: { code, id },
      body: { week, ...draft },
    }),
  block: (auth: Auth, code: string, id: string, day: string, reason: string) =>
    call("post", "/api/clinics/{code}/doctors/{id}/blocked-dates", {
      auth,
      params: { code, id },
      body: reason ? { day, reason } : { day },
    }),
  unblock: (auth: Auth, code: string, id: string, blockedId: string) =>
    call("delete", "/api/clinics/{code}/doctors/{id}/blocked-dates/{blocked_id}", {
      auth,
      params: { code, id, blocked_id: blockedId },
    }),
};

/** Booked appointments a change has left off the grid (staff), resolved in bulk (admins). */
export type Collision = Schemas["Collision"];
export type CollisionOutcome = Schemas["CollisionOutcome"];
export const collisions = {
  list: (auth: Auth, code: string) =>
    call("get", "/api/clinics/{code}/collisions", { auth, params: { code } })
      .then((r) => r.collisions),
  resolve: (
    auth: Auth,
    code: string,
    key: string,
    body: Schemas["CollisionsResolveRequest"],
  ) =>
    call("post", "/api/clinics/{code}/collisions/resolve", {
      auth,
      params: { code },
      body,
      idempotencyKey: key,
    }).then((r) => r.results),
};
