/** @jsxImportSource preact */
/**
 * The clinic's settings, for its admins: time zone, whether it takes new patients, opening
 * hours, queue policy, reminder leads and quiet hours, saved together in one change. The API decides what is valid (the database's
 * one validator); this panel shows its answer next to each field, and the doctors' hours or
 * bookings a change would collide with.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, messageOf } from "../lib/api.ts";
import { type ClinicSettings, type ClinicSettingsPatch, staff } from "../lib/endpoints.ts";
import { Notice, SelectField, TextField } from "../lib/ui.tsx";
import { info, say, session } from "./store.ts";
import { type StaffKey, t } from "./messages.ts";

type QueueKey = keyof ClinicSettings["queue"];
type Interval = ClinicSettings["opening_hours"][number];

const QUEUE_KEYS: QueueKey[] = [
  "check_in_window_minutes",
  "check_in_late_minutes",
  "near_threshold",
  "lateness_grace_minutes",
  "priority_step_minutes",
  "max_wait_minutes",
  "no_show_recall_minutes",
  "no_show_grace_minutes",
];
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 0];

/** The form's values, as typed (the API checks them). */
interface Draft {
  timezone: string;
  accepts: boolean;
  queue: Record<QueueKey, string>;
  leads: string;
  quiet: boolean;
  quietStart: string;
  quietEnd: string;
  hours: Interval[];
}

function draftOf(s: ClinicSettings): Draft {
  const quiet = s.notifications.quiet_hours;
  return {
    timezone: s.timezone,
    accepts: s.accepts_new_patients,
    queue: Object.fromEntries(QUEUE_KEYS.map((k) => [k, String(s.queue[k])])) as Draft["queue"],
    leads: s.notifications.reminder_minutes_before.join(", "),
    quiet: quiet !== false,
    quietStart: quiet ? quiet.start : "21:00",
    quietEnd: quiet ? quiet.end : "08:00",
    hours: s.opening_hours,
  };
}

/** A number as typed; anything else goes as is, for the API to name the field. */
const numberOf = (s: string) => (/^\s*-?\d+(\.\d+)?\s*$/.test(s) ? Number(s) : s) as number;

function patchOf(d: Draft): ClinicSettingsPatch {
  return {
    timezone: d.timezone,
    accepts_new_patients: d.accepts,
    queue: Object.fromEntries(QUEUE_KEYS.map((k) => [k, numberOf(d.queue[k])])),
    notifications: {
      reminder_minutes_before: d.leads.split(",").map((s) => s.trim()).filter(Boolean)
        .map(numberOf),
      quiet_hours: d.quiet ? { start: d.quietStart, end: d.quietEnd } : false,
    },
    opening_hours: d.hours,
  };
}

/** The time zones to offer: the platform's list, with the current one always in it. */
function zones(current: string): string[] {
  const all = (Intl as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.(
    "timeZone",
  ) ?? [];
  return all.includes(current) ? all : [current, ...all];
}

export function ClinicSettingsPanel(props: { code: string }) {
  const draft = useSignal<Draft | null>(null);
  const errors = useSignal<Record<string, string>>({});
  const doctorHours = useSignal<
    { doctor_name: string; weekday: number; starts: string; ends: string }[]
  >(
    [],
  );
  const bookings = useSignal<{ id: string; date: string; patient_name: string }[]>([]);
  const busy = useSignal(false);

  const load = (s: ClinicSettings) => (draft.value = draftOf(s));
  useEffect(() => {
    staff.settings(session, props.code).then(load).catch((e) =>
      say("error", `${t("settings.title")}: ${messageOf(e)}`)
    );
  }, [props.code]);

  const d = draft.value;
  if (!d) {
    return (
      <section class="panel" aria-labelledby="settings-h" data-testid="clinic-settings">
        <h2 id="settings-h">{t("settings.title")}</h2>
        <p role="status" class="muted">{t("settings.loading")}</p>
      </section>
    );
  }
  const edit = (next: Partial<Draft>) => (draft.value = { ...d, ...next });
  /** The API's message for a field or anything under it. */
  const errorAt = (path: string) =>
    Object.entries(errors.value).find(([p]) => p === path || p.startsWith(`${path}.`))?.[1];
  const hourError = (i: number) => errorAt(`opening_hours.${i}`);
  const setHour = (i: number, next: Partial<Interval>) =>
    edit({ hours: d.hours.map((h, j) => (j === i ? { ...h, ...next } : h)) });

  async function save(e: Event) {
    e.preventDefault();
    busy.value = true;
    errors.value = {};
    doctorHours.value = [];
    bookings.value = [];
    try {
      load(await staff.updateSettings(session, props.code, patchOf(d!)));
      if (info.value) {
        info.value = { ...info.value, clinic: { ...info.value.clinic, timezone: d!.timezone } };
      }
      say("success", t("settings.saved"));
    } catch (err) {
      if (err instanceof ApiError) {
        errors.value = err.fieldErrors();
        const details = err.details as Record<string, never> | undefined;
        doctorHours.value = details?.doctor_hours ?? [];
        bookings.value = details?.affected_appointments ?? [];
      }
      say("error", `${t("settings.save")}: ${messageOf(err)}`);
    }
    busy.value = false;
  }

  const day = (w: number) => t(`settings.day.${w}` as StaffKey);
  return (
    <section class="panel" aria-labelledby="settings-h" data-testid="clinic-settings">
      <h2 id="settings-h">{t("settings.title")}</h2>
      <form onSubmit={save} noValidate>
        <SelectField
          id="settings-timezone"
          label={t("settings.timezone")}
          value={d.timezone}
          error={errorAt("timezone")}
          onChange={(e) => edit({ timezone: e.currentTarget.value })}
        >
          {zones(d.timezone).map((z) => <option key={z} value={z}>{z}</option>)}
        </SelectField>
        <label class="check">
          <input
            type="checkbox"
            checked={d.accepts}
            aria-describedby="settings-accepts-hint"
            onChange={(e) => edit({ accepts: e.currentTarget.checked })}
          />{" "}
          {t("settings.accepts")}
        </label>
        <p class="muted" id="settings-accepts-hint">{t("settings.acceptsHint")}</p>
        {bookings.value.length > 0 && (
          <div data-testid="settings-bookings">
            <Notice kind="warning">{t("settings.tzBooked", { n: bookings.value.length })}</Notice>
            <ul>
              {bookings.value.map((b) => <li key={b.id}>{`${b.date} · ${b.patient_name}`}</li>)}
            </ul>
          </div>
        )}

        <fieldset>
          <legend>{t("settings.hours")}</legend>
          <p class="muted">{t("settings.hoursIntro")}</p>
          {WEEKDAYS.map((w) => (
            <div key={w} class="row" data-weekday={w}>
              <strong>{day(w)}</strong>
              {d.hours.every((h) => h.weekday !== w) && (
                <span class="muted">{` ${t("settings.closed")}`}</span>
              )}
              {d.hours.map((h, i) =>
                h.weekday === w && (
                  <div key={i} class="row">
                    <TextField
                      id={`settings-opens-${i}`}
                      label={t("settings.opens")}
                      type="time"
                      value={h.opens}
                      error={hourError(i)}
                      onInput={(e) => setHour(i, { opens: e.currentTarget.value })}
                    />
                    <TextField
                      id={`settings-closes-${i}`}
                      label={t("settings.closes")}
                      type="time"
                      value={h.closes}
                      onInput={(e) => setHour(i, { closes: e.currentTarget.value })}
                    />
                    <button
                      class="btn small secondary"
                      type="button"
                      onClick={() => edit({ hours: d.hours.filter((_, j) => j !== i) })}
                    >
                      {t("settings.removeHours")}
                      <span class="visually-hidden">{` ${day(w)} ${h.opens}`}</span>
                    </button>
                  </div>
                )
              )}
              <button
                class="btn small secondary"
                type="button"
                onClick={() =>
                  edit({ hours: [...d.hours, { weekday: w, opens: "09:00", closes: "17:00" }] })}
              >
                {t("settings.addHours")}
                <span class="visually-hidden">{` ${day(w)}`}</span>
              </button>
            </div>
          ))}
          {doctorHours.value.length > 0 && (
            <div data-testid="settings-doctor-hours">
              <Notice kind="warning">{t("settings.doctorHours")}</Notice>
              <ul>
                {doctorHours.value.map((h, i) => (
                  <li key={i}>{`${h.doctor_name} · ${day(h.weekday)} ${h.starts}–${h.ends}`}</li>
                ))}
              </ul>
            </div>
          )}
        </fieldset>

        <fieldset>
          <legend>{t("settings.queue")}</legend>
          {QUEUE_KEYS.map((k) => (
            <TextField
              key={k}
              id={`settings-${k}`}
              label={t(`settings.q.${k}` as StaffKey)}
              type="number"
              inputMode="numeric"
              value={d.queue[k]}
              error={errorAt(`queue.${k}`)}
              onInput={(e) => edit({ queue: { ...d.queue, [k]: e.currentTarget.value } })}
            />
          ))}
        </fieldset>

        <fieldset>
          <legend>{t("settings.notifications")}</legend>
          <TextField
            id="settings-leads"
            label={t("settings.leads")}
            hint={t("settings.leadsHint")}
            value={d.leads}
            error={errorAt("notifications.reminder_minutes_before")}
            onInput={(e) => edit({ leads: e.currentTarget.value })}
          />
          <label class="check">
            <input
              type="checkbox"
              checked={d.quiet}
              onChange={(e) => edit({ quiet: e.currentTarget.checked })}
            />{" "}
            {t("settings.quiet")}
          </label>
          {d.quiet && (
            <div class="row">
              <TextField
                id="settings-quiet-start"
                label={t("settings.quietStart")}
                type="time"
                value={d.quietStart}
                error={errorAt("notifications.quiet_hours")}
                onInput={(e) => edit({ quietStart: e.currentTarget.value })}
              />
              <TextField
                id="settings-quiet-end"
                label={t("settings.quietEnd")}
                type="time"
                value={d.quietEnd}
                onInput={(e) => edit({ quietEnd: e.currentTarget.value })}
              />
            </div>
          )}
        </fieldset>
        <button class="btn" type="submit" disabled={busy.value}>{t("settings.save")}</button>
      </form>
    </section>
  );
}
