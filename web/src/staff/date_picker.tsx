/** @jsxImportSource preact */
/**
 * The front desk's pickers: a month calendar over the whole advance window (days with free
 * times are choosable; closed and fully booked days are greyed and skipped by the arrow keys —
 * native radios), and the chosen day's free times. Both are the API's answer (`/days`,
 * `/slots`), so they follow closures, blocked dates, daily caps and bookings.
 */
import { useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import { type ClinicDay, clinics, type Slot } from "../lib/endpoints.ts";
import { localDay, longDate, monthLabel, weekdayNames } from "../lib/format.ts";
import { Loading, Notice } from "../lib/ui.tsx";
import {
  addMonths,
  dayState,
  leadingBlanks,
  monthBounds,
  monthDays,
  monthOf,
  monthQuery,
} from "./calendar.ts";
import { t } from "./messages.ts";
import { session, tz } from "./store.ts";

/** The day of `YYYY-MM-DD` in words ("Tuesday, 8 December 2026"), zone-free. */
const dayName = (day: string) => longDate(`${day}T12:00:00Z`, "UTC");

export function DatePicker(props: {
  id: string;
  code: string;
  doctorId: string;
  /** The appointment type (default: consultation). */
  type?: string;
  value: string | null;
  onChange: (day: string) => void;
  /** Changes whenever the calendar should be fetched again (e.g. after a booking). */
  reload?: number;
}) {
  const today = localDay(serverNow(), tz());
  const [month, setMonth] = useState(monthOf(props.value ?? today));
  const [days, setDays] = useState<Map<string, ClinicDay> | null>(null);
  const [last, setLast] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setDays(null);
    setError(null);
    // As the staff member: a staff-only type has days for them alone.
    clinics.days(props.code, props.doctorId, props.type, monthQuery(month, today), session)
      .then((res) => {
        if (!live) return;
        setDays(new Map(res.days.map((d) => [d.date, d])));
        setLast(res.last_bookable_date);
      }).catch((e) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [props.code, props.doctorId, props.type, month, today, props.reload]);
  const bounds = monthBounds(today, last);
  const heading = `${props.id}-month`;
  return (
    <fieldset class="cal">
      <legend>{t("desk.date")}</legend>
      <div class="cal-head">
        <button
          type="button"
          class="btn small secondary"
          aria-label={t("desk.prevMonth")}
          disabled={month <= bounds.first}
          onClick={() => setMonth(addMonths(month, -1))}
        >
          ‹
        </button>
        <h3 id={heading} aria-live="polite">{monthLabel(month)}</h3>
        <button
          type="button"
          class="btn small secondary"
          aria-label={t("desk.nextMonth")}
          disabled={month >= bounds.last}
          onClick={() => setMonth(addMonths(month, 1))}
        >
          ›
        </button>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      {!days && !error && <Loading label={t("desk.loadingDays")} />}
      {days && (
        <div class="cal-grid" role="radiogroup" aria-labelledby={heading}>
          {weekdayNames().map((w) => (
            <span key={w} class="cal-weekday" aria-hidden="true">{w}</span>
          ))}
          {Array.from(
            { length: leadingBlanks(month) },
            (_, i) => <span key={`blank-${i}`} aria-hidden="true" />,
          )}
          {monthDays(month).map((d) => {
            const info = days.get(d);
            const state = dayState(info);
            const words = state === "free"
              ? t("desk.freeLong", { date: dayName(d), n: info!.free_slots })
              : t(state === "full" ? "desk.fullLong" : "desk.closedLong", { date: dayName(d) });
            return (
              <label
                key={d}
                class={`cal-day ${state}${d === props.value ? " selected" : ""}`}
                title={words}
              >
                <input
                  type="radio"
                  name={props.id}
                  value={d}
                  checked={d === props.value}
                  disabled={state !== "free"}
                  aria-label={words}
                  onChange={() => props.onChange(d)}
                />
                <span aria-hidden="true">{Number(d.slice(8))}</span>
                <small aria-hidden="true">
                  {state === "free"
                    ? t("desk.free", { n: info!.free_slots })
                    : t(state === "full" ? "desk.full" : "desk.closed")}
                </small>
              </label>
            );
          })}
        </div>
      )}
    </fieldset>
  );
}

/** Slots by doctor, in the API's order (by time, then doctor). */
function byDoctor(slots: Slot[]): [string, Slot[]][] {
  const groups = new Map<string, Slot[]>();
  for (const s of slots) groups.set(s.doctor_name, [...groups.get(s.doctor_name) ?? [], s]);
  return [...groups.entries()];
}

/** The chosen day's free times by doctor, as radios named "09:00 · Dr Tan". */
export function SlotPicker(props: {
  id: string;
  code: string;
  day: string | null;
  doctorId: string;
  type?: string;
  value: Slot | null;
  onChange: (slot: Slot) => void;
  reload?: number;
}) {
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setSlots(null);
    setError(null);
    if (!props.day) return;
    let live = true;
    clinics.slots(props.code, props.day, props.doctorId || undefined, props.type, session).then(
      (res) => {
        if (live) setSlots(res.slots.filter((s) => Date.parse(s.start) > serverNow()));
      },
    ).catch((e) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [props.code, props.day, props.doctorId, props.type, props.reload]);
  if (!props.day) return <p class="muted">{t("desk.pickDay")}</p>;
  const key = (s: Slot) => `${s.doctor_id}|${s.start}`;
  const chosen = props.value ? key(props.value) : null;
  return (
    <fieldset class="slot-pick">
      <legend>{t("desk.times", { date: dayName(props.day) })}</legend>
      {error && <Notice kind="error">{error}</Notice>}
      {!slots && !error && <Loading label={t("desk.loadingTimes")} />}
      {slots?.length === 0 && <p>{t("desk.noTimes")}</p>}
      {byDoctor(slots ?? []).map(([doctor, list]) => (
        <div key={doctor} class="slot-group">
          <h3>{doctor}</h3>
          <div class="slot-list">
            {list.map((s) => (
              <label key={key(s)} class={`slot-choice${key(s) === chosen ? " selected" : ""}`}>
                <input
                  type="radio"
                  name={props.id}
                  value={key(s)}
                  checked={key(s) === chosen}
                  aria-label={t("desk.slotWith", { time: s.local_time, doctor })}
                  onChange={() =>
                    props.onChange(s)}
                />
                <span aria-hidden="true">{s.local_time}</span>
              </label>
            ))}
          </div>
        </div>
      ))}
    </fieldset>
  );
}
