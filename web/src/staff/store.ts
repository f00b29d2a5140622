/**
 * The staff console's data: the session, the clinic, its tickets and appointments of the day
 * (as last loaded from the API), the live feed, the flash message, and `run` — an action followed
 * by a reload, so the screen shows the outcome at once without waiting for the realtime change.
 */
import { batch, effect, signal } from "@preact/signals";
import { messageOf } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import {
  type ClinicInfo,
  type DayAppointment,
  profile,
  staff,
  type StaffTicket,
} from "../lib/endpoints.ts";
import { browserLang, setLang } from "../lib/i18n.ts";
import { localDay } from "../lib/format.ts";
import type { Feed } from "../lib/live.ts";
import { createSession } from "../lib/session.ts";
import { consoleKey } from "./state.ts";

export const session = createSession("clinic.staff.session");

// The console speaks the signed-in staff member's language (else the browser's).
effect(() => {
  const id = session.user.value?.id;
  if (!id) return setLang(browserLang());
  profile.get(session).then((p) => {
    if (session.user.value?.id === id) setLang(p.language);
  }).catch(() => {});
});

export const info = signal<ClinicInfo | null>(null);
export const tickets = signal<StaffTicket[] | null>(null);
export const appointments = signal<DayAppointment[] | null>(null);
export const feed = signal<Feed | null>(null);
/** The day the appointment list shows (clinic-local YYYY-MM-DD); null: today. */
export const listDay = signal<string | null>(null);
export const flash = signal<{ kind: "success" | "error" | "info"; text: string } | null>(null);

/** The clinic's time zone (every time on the console is clinic-local). */
export const tz = () => info.value?.clinic.timezone ?? "UTC";

/**
 * Loads the clinic's tickets and the appointments of the listed day (today unless the desk
 * chose another). An answer that arrives after the console
 * changed hands (sign-out, another user or clinic) is dropped: it would show one clinic's
 * patients to another's staff.
 */
export async function loadAll(code: string) {
  const key = consoleKey(session.user.value);
  const day = listDay.value;
  const [t, a] = await Promise.all([
    staff.tickets(session, code),
    staff.appointments(session, code, day ?? localDay(serverNow(), tz())),
  ]);
  if (key === null || consoleKey(session.user.value) !== key) return;
  if (listDay.value !== day) return; // the desk moved to another day meanwhile
  batch(() => {
    tickets.value = t;
    appointments.value = a.appointments;
  });
}

export function say(kind: "success" | "error" | "info", text: string) {
  flash.value = { kind, text };
}

/** Runs an action, then reloads; a failure is flashed as "<label>: <message>". */
export async function run(label: string, fn: () => Promise<unknown>) {
  try {
    await fn();
    const code = session.user.value?.clinic_code;
    if (code) await loadAll(code).catch(() => {});
  } catch (e) {
    say("error", `${label}: ${messageOf(e)}`);
  }
}
