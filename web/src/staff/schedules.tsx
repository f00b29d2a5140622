/** @jsxImportSource preact */
/**
 * Doctors' schedules, for the clinic's admins: pick a doctor, edit the week's working hours and
 * breaks and the slot settings, preview the week the draft gives (the API applies it and rolls
 * it back), save, block and unblock dates. The API decides every rule; its answer names the
 * field, shown next to it.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../lib/api.ts";
import {
  type BlockedDate,
  type Collision,
  type DoctorSchedule,
  type DoctorScheduleSummary,
  type ScheduleChange,
  type ScheduleInterval,
  type SchedulePreview,
  schedules,
} from "../lib/endpoints.ts";
import { serverNow } from "../lib/clock.ts";
import { addDays, calendarLabel, localDay } from "../lib/format.ts";
import { intlLocale } from "../lib/i18n.ts";
import { Notice, TextField } from "../lib/ui.tsx";
import { collisionsChanged } from "./collisions.tsx";
import { run, say, session, tz } from "./store.ts";
import { type StaffKey, t } from "./messages.ts";

/** Monday first, as the console's week grid; 0 = Sunday, as the API. */
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 0];

const SETTINGS = [
  "slot_minutes",
  "buffer_minutes",
  "max_per_day",
  "advance_days",
  "min_notice_minutes",
] as const;
type SettingKey = typeof SETTINGS[number];
type SettingsForm = Record<SettingKey, string>;

/** The API's rule codes, worded in the console's language. */
const RULES: Record<string, StaffKey> = {
  overlapping_hours: "schedules.err.overlap",
  invalid_interval: "schedules.err.order",
  break_outside_work: "schedules.err.break",
  invalid_setting: "schedules.err.range",
};

function weekdayName(weekday: number, style: "long" | "short" = "long"): string {
  return new Intl.DateTimeFormat(intlLocale(), { weekday: style, timeZone: "UTC" })
    .format(Date.UTC(2023, 0, 1 + weekday)); // 1 January 2023 was a Sunday
}

function settingsForm(s: DoctorSchedule["settings"]): SettingsForm {
  const form = {} as SettingsForm;
  for (const key of SETTINGS) form[key] = s?.[key] == null ? "" : String(s[key]);
  return form;
}

/** The draft as the API takes it: empty settings stay as saved, an empty cap is none. */
function draftOf(form: SettingsForm, hours: ScheduleInterval[]): ScheduleChange {
  const settings: Record<string, number | null> = {};
  for (const key of SETTINGS) {
    const value = form[key].trim();
    if (value !== "") settings[key] = Number(value);
    else if (key === "max_per_day") settings[key] = null;
  }
  return { settings, hours };
}

/** Field path → message: the API's rule in our words, else its own message. */
function fieldErrors(e: unknown): Record<string, string> {
  if (!(e instanceof ApiError)) return {};
  const fields = e.fieldErrors();
  const rule = RULES[e.code];
  if (rule) { for (const path of Object.keys(fields)) fields[path] = t(rule); }
  return fields;
}

export function Schedules(props: { code: string }) {
  const today = localDay(serverNow(), tz());
  const [doctors, setDoctors] = useState<DoctorScheduleSummary[] | null>(null);
  const [doctorId, setDoctorId] = useState<string | null>(null);
  const [saved, setSaved] = useState<DoctorSchedule | null>(null);
  const [form, setForm] = useState<SettingsForm>(settingsForm(null));
  const [hours, setHours] = useState<ScheduleInterval[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [week, setWeek] = useState(addDays(today, 7));
  const [preview, setPreview] = useState<SchedulePreview | null>(null);
  const [block, setBlock] = useState({ day: "", reason: "" });
  const [busy, setBusy] = useState(false);
  /** The doctor's bookings a saved change left off the grid (kept, listed until resolved). */
  const [affected, setAffected] = useState<Collision[]>([]);

  const reloadList = () => schedules.doctors(session, props.code).then(setDoctors);
  useEffect(() => {
    run(t("schedules.title"), reloadList);
  }, [props.code]);

  function show(s: DoctorSchedule) {
    setSaved(s);
    setForm(settingsForm(s.settings));
    setHours(s.hours);
    setErrors({});
  }

  /** A change answered with the bookings it strands: shown here, resolved in the collisions panel. */
  function stranded(list: Collision[] | undefined) {
    setAffected(list ?? []);
    if (list?.length) collisionsChanged.value++;
  }

  function open(id: string) {
    setDoctorId(id);
    setPreview(null);
    setAffected([]);
    run(t("schedules.title"), async () => show(await schedules.get(session, props.code, id)));
  }

  /** Runs a call whose rule errors belong next to their fields. */
  async function act(label: string, fn: () => Promise<void>) {
    setBusy(true);
    setErrors({});
    await run(label, async () => {
      try {
        await fn();
      } catch (e) {
        setErrors(fieldErrors(e));
        throw e;
      }
    });
    setBusy(false);
  }

  const showPreview = (id: string) =>
    act(t("schedules.preview"), async () => {
      setPreview(
        await schedules.preview(session, props.code, id, week, draftOf(form, hours)),
      );
    });

  const save = (id: string) =>
    act(t("schedules.save"), async () => {
      const changed = await schedules.save(session, props.code, id, draftOf(form, hours));
      show(changed);
      stranded(changed.affected_appointments);
      say("success", t("schedules.saved", { name: saved?.doctor.display_name ?? "" }));
      await reloadList();
    });

  const addBlocked = (id: string, e: Event) => {
    e.preventDefault();
    act(t("schedules.block"), async () => {
      stranded(
        (await schedules.block(session, props.code, id, block.day, block.reason.trim()))
          .affected_appointments,
      );
      setBlock({ day: "", reason: "" });
      show(await schedules.get(session, props.code, id));
      await reloadList();
    });
  };

  const removeBlocked = (id: string, b: BlockedDate) =>
    act(t("schedules.unblock"), async () => {
      await schedules.unblock(session, props.code, id, b.id);
      show(await schedules.get(session, props.code, id));
      await reloadList();
    });

  const setInterval = (i: number, change: Partial<ScheduleInterval>) =>
    setHours(hours.map((h, j) => (j === i ? { ...h, ...change } : h)));

  const summary = (d: DoctorScheduleSummary) =>
    d.work_days.length === 0 ? t("schedules.noHours") : t("schedules.summary", {
      days: WEEKDAYS.filter((w) => d.work_days.includes(w)).map((w) => weekdayName(w, "short"))
        .join(" "),
      hours: Math.round(d.weekly_minutes / 6) / 10,
      slot: d.settings?.slot_minutes ?? "—",
    });

  return (
    <section class="panel schedules" aria-labelledby="schedules-h" data-testid="schedules">
      <h2 id="schedules-h">{t("schedules.title")}</h2>
      {!doctors && <p role="status" class="muted">{t("schedules.loading")}</p>}
      {doctors?.length === 0 && <p class="muted">{t("schedules.none")}</p>}
      {doctors && doctors.length > 0 && (
        <ul class="boards">
          {doctors.map((d) => (
            <li key={d.id} data-doctor={d.id}>
              <strong>{d.display_name}</strong>
              {!d.is_active && <span class="muted">{` · ${t("schedules.inactive")}`}</span>}
              <span class="muted">{` · ${summary(d)}`}</span>
              {d.upcoming_blocked_dates > 0 && (
                <span class="muted">
                  {` · ${t("schedules.blockedCount", { n: d.upcoming_blocked_dates })}`}
                </span>
              )}
              <button
                class="btn small secondary"
                type="button"
                aria-pressed={doctorId === d.id}
                onClick={() => open(d.id)}
              >
                {t("schedules.edit")}
                <span class="visually-hidden">{` ${d.display_name}`}</span>
              </button>
            </li>
          ))}
        </ul>
      )}

      {doctorId && saved?.doctor.id === doctorId && (
        <div class="schedule-editor" data-testid="schedule-editor">
          <h3>{saved.doctor.display_name}</h3>

          <fieldset class="schedule-settings">
            <legend>{t("schedules.settings")}</legend>
            {SETTINGS.map((key) => (
              <TextField
                key={key}
                id={`schedule-${key}`}
                label={t(`schedules.${key}`)}
                hint={key === "max_per_day" ? t("schedules.noCapHint") : undefined}
                type="number"
                inputMode="numeric"
                value={form[key]}
                error={errors[`settings.${key}`]}
                onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })}
              />
            ))}
          </fieldset>

          <fieldset class="schedule-week">
            <legend>{t("schedules.week")}</legend>
            {WEEKDAYS.map((w) => (
              <div key={w} class="schedule-day" data-weekday={w}>
                <h4>{weekdayName(w)}</h4>
                {hours.map((h, i) =>
                  h.weekday !== w
                    ? null
                    : (
                      <div key={i} class="schedule-interval" data-kind={h.kind}>
                        <select
                          aria-label={t("schedules.kind")}
                          value={h.kind}
                          onChange={(e) =>
                            setInterval(i, {
                              kind: e.currentTarget.value as ScheduleInterval["kind"],
                            })}
                        >
                          <option value="work">{t("schedules.work")}</option>
                          <option value="break">{t("schedules.break")}</option>
                        </select>
                        <input
                          type="time"
                          aria-label={t("schedules.starts")}
                          required
                          value={h.starts}
                          aria-invalid={errors[`hours.${i}.starts`] ? "true" : undefined}
                          onInput={(e) => setInterval(i, { starts: e.currentTarget.value })}
                        />
                        <span aria-hidden="true">–</span>
                        <input
                          type="time"
                          aria-label={t("schedules.ends")}
                          required
                          value={h.ends === "24:00" ? "23:59" : h.ends}
                          aria-invalid={errors[`hours.${i}.ends`] || errors[`hours.${i}`]
                            ? "true"
                            : undefined}
                          onInput={(e) => setInterval(i, { ends: e.currentTarget.value })}
                        />
                        <button
                          class="btn small secondary"
                          type="button"
                          onClick={() => setHours(hours.filter((_, j) => j !== i))}
                        >
                          {t("schedules.remove")}
                        </button>
                        {[`hours.${i}`, `hours.${i}.starts`, `hours.${i}.ends`].map((p) =>
                          errors[p] && <span key={p} class="error" role="alert">{errors[p]}</span>
                        )}
                      </div>
                    )
                )}
                <p class="row">
                  <button
                    class="btn small secondary"
                    type="button"
                    onClick={() =>
                      setHours([...hours, {
                        weekday: w,
                        kind: "work",
                        starts: "09:00",
                        ends: "13:00",
                      }])}
                  >
                    {t("schedules.addWork")}
                    <span class="visually-hidden">{` ${weekdayName(w)}`}</span>
                  </button>
                  <button
                    class="btn small secondary"
                    type="button"
                    onClick={() =>
                      setHours([...hours, {
                        weekday: w,
                        kind: "break",
                        starts: "12:00",
                        ends: "13:00",
                      }])}
                  >
                    {t("schedules.addBreak")}
                    <span class="visually-hidden">{` ${weekdayName(w)}`}</span>
                  </button>
                </p>
              </div>
            ))}
          </fieldset>

          <div class="row">
            <TextField
              id="schedule-week"
              label={t("schedules.weekOf")}
              type="date"
              value={week}
              onInput={(e) => setWeek(e.currentTarget.value)}
            />
            <button
              class="btn secondary"
              type="button"
              disabled={busy || !week}
              onClick={() => showPreview(doctorId)}
            >
              {t("schedules.preview")}
            </button>
            <button class="btn" type="button" disabled={busy} onClick={() => save(doctorId)}>
              {t("schedules.save")}
            </button>
          </div>

          {affected.length > 0 && (
            <div data-testid="schedule-collisions">
              <Notice kind="warning">{t("schedules.collisions", { n: affected.length })}</Notice>
              <p>
                <a href="#collisions">{t("closures.seeAffected")}</a>
              </p>
            </div>
          )}

          {preview && (
            <div class="schedule-preview" data-testid="schedule-preview">
              <p class="muted">{t("schedules.previewNote")}</p>
              {preview.affected_appointments.length > 0 && (
                <Notice kind="warning">
                  {t("schedules.previewCollisions", { n: preview.affected_appointments.length })}
                </Notice>
              )}
              <div class="preview-grid">
                {preview.days.map((d) => (
                  <div key={d.date} class="preview-day" data-date={d.date}>
                    <strong>{calendarLabel(d.date)}</strong>
                    {d.closed && <span class="muted">{t("schedules.closed")}</span>}
                    {d.blocked && <span class="muted">{t("schedules.blocked")}</span>}
                    {!d.closed && !d.blocked && d.slots.length === 0 && (
                      <span class="muted">{t("schedules.noSlots")}</span>
                    )}
                    <ul>
                      {d.slots.map((s) => (
                        <li
                          key={s.start}
                          data-refusal={s.refusal ?? "bookable"}
                          class={s.refusal ? "muted" : undefined}
                          title={s.refusal ? t(refusalKey(s.refusal)) : undefined}
                        >
                          {s.local_time}
                          {s.refusal && (
                            <span class="visually-hidden">{` ${t(refusalKey(s.refusal))}`}</span>
                          )}
                        </li>
                      ))}
                    </ul>
                  </div>
                ))}
              </div>
            </div>
          )}

          <h4>{t("schedules.blockedTitle")}</h4>
          <form class="closure-form" onSubmit={(e) => addBlocked(doctorId, e)}>
            <TextField
              id="blocked-day"
              label={t("schedules.blockDay")}
              type="date"
              required
              value={block.day}
              error={errors.day}
              onInput={(e) => setBlock({ ...block, day: e.currentTarget.value })}
            />
            <TextField
              id="blocked-reason"
              label={t("schedules.blockReason")}
              maxLength={100}
              value={block.reason}
              error={errors.reason}
              onInput={(e) => setBlock({ ...block, reason: e.currentTarget.value })}
            />
            <button class="btn" type="submit" disabled={busy}>{t("schedules.block")}</button>
          </form>
          {saved.blocked_dates.length === 0 && <p class="muted">{t("schedules.noBlocked")}</p>}
          <ul class="boards">
            {saved.blocked_dates.map((b) => (
              <li key={b.id} data-blocked={b.day}>
                <strong>{calendarLabel(b.day)}</strong> {b.reason ?? ""}
                <button
                  class="btn small secondary"
                  type="button"
                  disabled={busy}
                  onClick={() => removeBlocked(doctorId, b)}
                >
                  {t("schedules.unblock")}
                  <span class="visually-hidden">{` ${calendarLabel(b.day)}`}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

/** A refusal of the booking decision, in the console's words (unknown ones: generic). */
function refusalKey(refusal: string): StaffKey {
  const known: Record<string, StaffKey> = {
    too_soon: "schedules.refusal.too_soon",
    too_far_ahead: "schedules.refusal.too_far_ahead",
    day_full: "schedules.refusal.day_full",
    taken: "schedules.refusal.taken",
  };
  return known[refusal] ?? "schedules.refusal.other";
}
