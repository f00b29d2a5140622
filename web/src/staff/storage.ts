/** What a desk remembers on its computer: the room it calls patients to and its doctor. */
import { effect, signal } from "@preact/signals";

function remembered(key: string, fallback: string) {
  const value = signal(localStorage.getItem(key) ?? fallback);
  effect(() => localStorage.setItem(key, value.value));
  return value;
}

export const room = remembered("clinic.staff.room", "Room 1");
/** A doctor id, or "" for the room's doctor / any. */
export const doctor = remembered("clinic.staff.doctor", "");
