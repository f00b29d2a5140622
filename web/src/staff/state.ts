/**
 * The staff console's state, pure (no DOM, no fetch, no signals): who the console serves, what
 * its realtime feed listens to, and what the screens derive from the clinic's tickets and
 * appointments of the day.
 *
 * The lists are never patched from realtime changes: any change of the clinic's `queue_tickets`
 * or `appointments` reloads both from the API (the truth, with names and doctors joined), so a
 * console cannot drift from what other staff did.
 */
import type {
  BoardTokenInfo,
  DayAppointment,
  Gender,
  PatientSummary,
  StaffTicket,
  TicketAction,
  WalkIn,
} from "../lib/endpoints.ts";
import { timeIn } from "../lib/format.ts";
import type { User } from "../lib/session.ts";
import { t } from "./messages.ts";
import { LANGS } from "../lib/i18n.ts";

/**
 * The token roles the console is for: the staff roles (private.staff_roles()) and `superadmin`,
 * the role a token carries for a superadmin whatever their membership (private.identity).
 * What each may do is decided by the API and the database; tests/db/roles_test.ts checks this
 * list against both.
 */
export const STAFF_ROLES: ReadonlySet<string> = new Set([
  "doctor",
  "nurse",
  "staff",
  "admin",
  "superadmin",
]);

export function isStaff(user: Pick<User, "role"> | null | undefined): boolean {
  return STAFF_ROLES.has(user?.role ?? "");
}

/**
 * Who the console runs for: a member of staff of a clinic, as `<user id>:<clinic code>`, or null
 * (the sign-in page). When it changes, everything loaded for the previous key is dropped.
 */
export function consoleKey(
  user: Pick<User, "id" | "role" | "clinic_code"> | null | undefined,
): string | null {
  return user && user.clinic_code && isStaff(user) ? `${user.id}:${user.clinic_code}` : null;
}

/** The console's realtime channel: every ticket and appointment change of its clinic. */
export function consoleFeed(clinicId: string): {
  topic: string;
  changes: { table: string; filter: string }[];
} {
  return {
    topic: `staff:${clinicId}`,
    changes: [
      { table: "queue_tickets", filter: `clinic_id=eq.${clinicId}` },
      { table: "appointments", filter: `clinic_id=eq.${clinicId}` },
    ],
  };
}

/** How many finished tickets the queue lists. */
export const FINISHED_SHOWN = 10;

export interface QueueView {
  /** Called or in consultation. */
  now: StaffTicket[];
  /** In call order (the API's order). */
  waiting: StaffTicket[];
  /** Completed, no-show or cancelled, the first FINISHED_SHOWN of them. */
  done: StaffTicket[];
}

/** The live queue split the way the console shows it, each part in the API's order. */
export function queueView(list: readonly StaffTicket[]): QueueView {
  return {
    now: list.filter((t) => t.status === "called" || t.status === "serving"),
    waiting: list.filter((t) => t.status === "waiting"),
    done: list.filter((t) => !["called", "serving", "waiting"].includes(t.status)).slice(
      0,
      FINISHED_SHOWN,
    ),
  };
}

const ACTIONS: Record<string, TicketAction[]> = {
  called: ["recall", "start", "no-show"],
  serving: ["complete"],
  waiting: ["cancel"],
  no_show: ["recall", "restore"],
  cancelled: ["restore"],
};

/** The buttons a ticket in this status offers: [action, label]. */
export function ticketActions(status: string): readonly [TicketAction, string][] {
  return (ACTIONS[status] ?? []).map((a) => [a, t(`action.${a}`)]);
}

/** A question before a step that is hard to take back (the Confirm dialog). */
export interface Question {
  title: string;
  body: string;
  /** The label of the step itself. */
  yes: string;
  /** The label of the safe choice. */
  no: string;
}

/**
 * The question to answer before an action that drops a patient from the line (cancel,
 * no-show), or null for the others.
 */
export function confirmAction(
  action: TicketAction,
  ticket: Pick<StaffTicket, "code" | "patient_name">,
): Question | null {
  const who = ticket.patient_name ? `${ticket.code} (${ticket.patient_name})` : ticket.code;
  if (action === "cancel") {
    return {
      title: t("cancel.title", { code: ticket.code }),
      body: t("cancel.body", { who }),
      yes: t("cancel.yes"),
      no: t("cancel.no"),
    };
  }
  if (action === "no-show") {
    return {
      title: t("noShow.title", { code: ticket.code }),
      body: t("noShow.body", { who }),
      yes: t("noShow.yes"),
      no: t("noShow.no"),
    };
  }
  return null;
}

/** The occupant of a room as a 409 `room_occupied` describes it. */
export interface Occupant {
  code: string;
  status: string;
}

export function occupantOf(details: unknown): Occupant | null {
  const d = details as Partial<Occupant> | null | undefined;
  return typeof d?.code === "string" && typeof d.status === "string"
    ? { code: d.code, status: d.status }
    : null;
}

/** The question before calling into a room whose patient is still called or in consultation. */
export function occupiedQuestion(room: string, o: Occupant): Question {
  const vars = { room, code: o.code };
  return {
    title: t("occupied.title", vars),
    body: t(o.status === "called" ? "occupied.bodyCalled" : "occupied.bodyServing", vars),
    yes: t("occupied.yes"),
    no: t("occupied.no"),
  };
}

/** The walk-in priorities the desk offers (names: `priorityName`). */
export const PRIORITIES = ["0", "3", "6"] as const;

/** A priority's name; a level the desk does not offer (set through the API) by its number. */
export function priorityName(priority: number): string {
  const offered = PRIORITIES.find((v) => Number(v) === priority);
  return offered ? t(`priority.${offered}`) : t("priority.n", { n: priority });
}

/** What tells two patients of the same name apart: number, birth date, masked contact. */
export function patientHint(
  p: Pick<PatientSummary, "patient_number" | "date_of_birth" | "phone_masked" | "email_masked">,
): string {
  return [p.patient_number, p.date_of_birth, p.phone_masked, p.email_masked]
    .filter(Boolean).join(" · ");
}

/**
 * Who books for the patient, as the front desk reads it: the guardian named by what they are
 * to the patient ("Parent: Lim Mei Ling" for a child).
 */
export function guardianHint(p: Pick<PatientSummary, "guardians">): string {
  return (p.guardians ?? []).map((g) => t(`guardian.${g.relationship}`, { name: g.full_name }))
    .join(" · ");
}

/** The registered patients a 409 `possible_duplicate` names. */
export function duplicatesOf(details: unknown): PatientSummary[] {
  const list = (details as { candidates?: unknown } | null | undefined)?.candidates;
  return Array.isArray(list) ? list as PatientSummary[] : [];
}

/** "Waited / called": minutes waited since check-in, or the clinic-local time of the call. */
export function ticketTiming(
  ticket: Pick<StaffTicket, "status" | "checked_in_at" | "called_at">,
  nowMs: number,
  timeZone: string,
): string {
  if (ticket.status === "waiting") {
    if (!ticket.checked_in_at) return "";
    const n = Math.max(0, Math.round((nowMs - Date.parse(ticket.checked_in_at)) / 60_000));
    return t("queue.minutes", { n });
  }
  return ticket.called_at ? timeIn(ticket.called_at, timeZone) : "";
}

/**
 * Staff may check a patient in for an appointment that is still booked, or that the no-show
 * sweep marked (they arrived late: the queue's late policy places them).
 */
export function canCheckIn(a: Pick<DayAppointment, "status" | "no_show_undoable">): boolean {
  return a.status === "scheduled" || a.status === "confirmed" || a.no_show_undoable;
}

/** The desk may reschedule or cancel an appointment while it is booked (the API's rule). */
export function canChange(a: Pick<DayAppointment, "status">): boolean {
  return a.status === "scheduled" || a.status === "confirmed";
}

/** The console manages the clinic's TV boards for its admins (the API's rule). */
export function isAdmin(user: Pick<User, "role"> | null | undefined): boolean {
  return user?.role === "admin";
}

/** Whether a board token still opens its board at `nowMs`. */
export function boardState(
  b: Pick<BoardTokenInfo, "revoked_at" | "expires_at">,
  nowMs: number,
): "live" | "revoked" | "expired" {
  if (b.revoked_at) return "revoked";
  if (b.expires_at && Date.parse(b.expires_at) <= nowMs) return "expired";
  return "live";
}

/** Patient search needs two characters: the trimmed term, or null. */
export function searchTerm(query: string): string | null {
  const q = query.trim();
  return q.length >= 2 ? q : null;
}

export type WalkInWho = "none" | "find" | "new";

export interface PersonForm {
  full_name: string;
  date_of_birth: string;
  /** "" until chosen. */
  gender: Gender | "";
  phone: string;
}
export const NO_PERSON: PersonForm = { full_name: "", date_of_birth: "", gender: "", phone: "" };

/** The walk-in form as the desk filled it in. */
export interface WalkInForm {
  who: WalkInWho;
  /** "" = any doctor. */
  doctorId: string;
  priority: string;
  /** The patient chosen among `found` (who = find). */
  picked: string;
  found: readonly PatientSummary[] | null;
  /** The new patient (who = new). */
  person: PersonForm;
  /** The new patient agreed to be told by SMS (queue calls); never assumed. */
  smsConsent: boolean;
}

/**
 * The form as each walk-in starts: nobody chosen, any doctor, normal priority. After a ticket is
 * issued the form goes back to this, so one patient's priority never carries to the next.
 */
export const NEW_WALK_IN: WalkInForm = {
  who: "none",
  doctorId: "",
  priority: "0",
  picked: "",
  found: null,
  person: NO_PERSON,
  smsConsent: false,
};

/** The walk-in request and the name to confirm it with, or why it cannot be sent yet. */
export function walkInRequest(
  form: WalkInForm,
): { body: WalkIn; name?: string } | { error: string } {
  if (form.who === "find" && !form.picked) return { error: t("walkIn.pickFirst") };
  const { gender, ...person } = form.person;
  if (form.who === "new" && !gender) return { error: t("walkIn.genderFirst") };
  const phone = person.phone.trim();
  if (form.who === "new" && form.smsConsent && !phone) return { error: t("walkIn.smsNeedsPhone") };
  const body: WalkIn = {
    ...(form.doctorId ? { doctor_id: form.doctorId } : {}),
    ...(form.who === "find" ? { patient_id: form.picked } : {}),
    ...(form.who === "new" && gender
      ? {
        patient: {
          ...person,
          gender,
          phone: phone || undefined,
          ...(form.smsConsent ? { sms_consent: true } : {}),
        },
      }
      : {}),
    priority: Number(form.priority),
  };
  const name = form.who === "find"
    ? form.found?.find((p) => p.id === form.picked)?.full_name
    : form.who === "new"
    ? form.person.full_name.trim()
    : undefined;
  return { body, name };
}

/**
 * The TV board's address: the token rides in the fragment, so it never reaches a server log;
 * `langs` ("en,zh") sets the board's language and the one shown beside it (none: the TV's own).
 */
export function boardUrl(origin: string, code: string, token: string, langs = ""): string {
  const query = langs ? `?lang=${langs}` : "";
  return `${origin}/board/${encodeURIComponent(code)}${query}#token=${token}`;
}

/** The board languages the desk offers: one language, or English beside another. */
export const BOARD_LANGS: readonly string[] = [
  ...LANGS,
  ...LANGS.filter((l) => l !== "en").map((l) => `en,${l}`),
];
