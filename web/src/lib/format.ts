/**
 * Dates and times in the clinic's time zone (never the device's), worded in the screen's
 * language (`lang` in i18n.ts).
 */
import { intlLocale } from "./i18n.ts";
import { t } from "./messages.ts";

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const locale = intlLocale();
  const key = `${locale}|${timeZone}|${JSON.stringify(options)}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { timeZone, ...options });
    if (cache.size > 50) cache.clear();
    cache.set(key, f);
  }
  return f;
}

/** "09:30" in the clinic's zone. */
export function timeIn(value: string | number | Date, timeZone: string): string {
  return fmt(timeZone, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
    new Date(value),
  );
}

/** "Tue, 24 Nov" in the clinic's zone. */
export function dayLabel(value: string | number | Date, timeZone: string): string {
  return fmt(timeZone, { weekday: "short", day: "numeric", month: "short" }).format(
    new Date(value),
  );
}

/** "Tuesday, 24 November 2026" in the clinic's zone. */
export function longDate(value: string | number | Date, timeZone: string): string {
  return fmt(timeZone, { weekday: "long", day: "numeric", month: "long", year: "numeric" })
    .format(new Date(value));
}

/** The clinic-local calendar day (YYYY-MM-DD) of an instant. */
export function localDay(value: string | number | Date, timeZone: string): string {
  const parts = fmt(timeZone, { year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date(value));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** YYYY-MM-DD plus n days (calendar arithmetic, zone-free). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + n));
  return date.toISOString().slice(0, 10);
}

/** Label for a YYYY-MM-DD day (interpreted as a calendar date). */
export function calendarLabel(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return fmt("UTC", { weekday: "short", day: "numeric", month: "short" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

/** "December 2026" for the month of a YYYY-MM-DD day. */
export function monthLabel(day: string): string {
  const [y, m] = day.split("-").map(Number);
  return fmt("UTC", { month: "long", year: "numeric" }).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** The short names of the weekdays, Monday first ("Mon" … "Sun"). */
export function weekdayNames(): string[] {
  // 5 January 2026 is a Monday.
  return Array.from(
    { length: 7 },
    (_, i) => fmt("UTC", { weekday: "short" }).format(new Date(Date.UTC(2026, 0, 5 + i))),
  );
}

/** "about 15 min", "under a minute", "about 1 h 20 min". */
export function minutesLabel(minutes: number): string {
  if (!Number.isFinite(minutes) || minutes < 1) return t("wait.underMinute");
  const m = Math.round(minutes);
  const h = Math.floor(m / 60);
  const rest = m % 60;
  const parts = [h ? t("wait.hours", { n: h }) : "", rest ? t("wait.minutes", { n: rest }) : ""];
  return t("wait.about", { duration: parts.filter(Boolean).join(" ") });
}

/** "Gabriel Family Clinic · Tampines": a clinic with its branch, when it has one. */
export function clinicLabel(name: string, branch?: string | null): string {
  return branch ? `${name} · ${branch}` : name;
}
