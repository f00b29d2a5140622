/**
 * The front desk's date picker as pure functions: months of YYYY-MM-DD days (calendar dates,
 * zone-free), the page of `GET /clinics/:code/days` a month needs, and what a day offers.
 */
import type { ClinicDay } from "../lib/endpoints.ts";
import { addDays } from "../lib/format.ts";

/** The first day of the month of `day` (YYYY-MM-01). */
export function monthOf(day: string): string {
  return `${day.slice(0, 7)}-01`;
}

/** The first day of the month `n` months after the month of `day`. */
export function addMonths(day: string, n: number): string {
  const [y, m] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1 + n, 1)).toISOString().slice(0, 10);
}

/** Every day of the month that starts on `month`. */
export function monthDays(month: string): string[] {
  const next = addMonths(month, 1);
  const days: string[] = [];
  for (let d = month; d < next; d = addDays(d, 1)) days.push(d);
  return days;
}

/** How many blank cells precede the 1st in a week that starts on Monday. */
export function leadingBlanks(month: string): number {
  const [y, m] = month.split("-").map(Number);
  return (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7;
}

/** The `/days` query for a month: from its first day not before today, to its last day. */
export function monthQuery(month: string, today: string): { from: string; days: number } {
  const from = month < today ? today : month;
  const end = addMonths(month, 1);
  const days = Math.round((Date.parse(end) - Date.parse(from)) / 86_400_000);
  return { from, days: Math.max(days, 1) };
}

/** What a day offers: free times, fully booked, or closed (unknown days count as closed). */
export function dayState(day: ClinicDay | undefined): "free" | "full" | "closed" {
  if (!day?.open) return "closed";
  return day.free_slots > 0 ? "free" : "full";
}

/** Months the picker may show: from today's to the one of the window's last day. */
export function monthBounds(today: string, last: string | null): { first: string; last: string } {
  return { first: monthOf(today), last: monthOf(last && last > today ? last : today) };
}
