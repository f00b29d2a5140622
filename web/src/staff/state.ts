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
  DayAppointment,
  Gender,
  PatientSummary,
  StaffTicket,
  TicketAction,
  WalkIn,
} from "../lib/endpoints.ts";
import { timeIn } from "../lib/format.ts";
import type { User } from "../lib/session.ts";

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

const ACTIONS: Record<string, [TicketAction, string][]> = {
  called: [["recall", "Recall"], ["start", "Start"], ["no-show", "No-show"]],
  serving: [["complete", "Complete"]],
  waiting: [["cancel", "Cancel"]],
  no_show: [["recall", "Recall"]],
};

/** The buttons a ticket in this status offers: [action, label]. */
export function ticketActions(status: string): readonly [TicketAction, string][] {
  return ACTIONS[status] ?? [];
}

/** "Waited / called": minutes waited since check-in, or the clinic-local time of the call. */
export function ticketTiming(
  t: Pick<StaffTicket, "status" | "checked_in_at" | "called_at">,
  nowMs: number,
  timeZone: string,
): string {
  if (t.status === "waiting") {
    if (!t.checked_in_at) return "";
    return `${Math.max(0, Math.round((nowMs - Date.parse(t.checked_in_at)) / 60_000))} min`;
  }
  return t.called_at ? timeIn(t.called_at, timeZone) : "";
}

/** Staff may check a patient in for an appointment that is still booked. */
export function canCheckIn(a: Pick<DayAppointment, "status">): boolean {
  return a.status === "scheduled" || a.status === "confirmed";
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
}

/** The walk-in request and the name to confirm it with, or why it cannot be sent yet. */
export function walkInRequest(
  form: WalkInForm,
): { body: WalkIn; name?: string } | { error: string } {
  if (form.who === "find" && !form.picked) return { error: "Walk-in: choose the patient first." };
  const { gender, ...person } = form.person;
  if (form.who === "new" && !gender) return { error: "Walk-in: choose the patient's gender." };
  const phone = person.phone.trim();
  const body: WalkIn = {
    ...(form.doctorId ? { doctor_id: form.doctorId } : {}),
    ...(form.who === "find" ? { patient_id: form.picked } : {}),
    ...(form.who === "new" && gender
      ? { patient: { ...person, gender, phone: phone || undefined } }
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

/** The TV board's address: the token rides in the fragment, so it never reaches a server log. */
export function boardUrl(origin: string, code: string, token: string): string {
  return `${origin}/board/${encodeURIComponent(code)}#token=${token}`;
}
