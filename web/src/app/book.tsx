/** @jsxImportSource preact */
/**
 * Booking (and rescheduling): clinic → appointment type (only when the clinic offers patients
 * more than one; a reschedule keeps its type) → day → doctor → a free slot of that type in
 * clinic-local time → hold → confirm. The Idempotency-Key is made once per booking attempt
 * (when the slot is held) and reused for every retry of that attempt, so a double tap or a retry on a flaky network can
 * never book twice; the button is also disabled while a request is in flight.
 *
 * The free times are live: the clinic's `availability_versions` rows (public, no patient data)
 * move with every hold, booking, cancellation and schedule change, and each move of the shown
 * day (or of the schedule) revalidates the slots by their ETag, so a time someone else takes
 * disappears instead of ending in a 409.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, messageOf, newIdempotencyKey } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import { waitForConfig } from "../lib/config.ts";
import { type ClientLike, createClient, debounce, type Feed, openFeed } from "../lib/live.ts";
import {
  type Appointment,
  type AppointmentType,
  booking,
  type ClinicDay,
  clinics,
  DEFAULT_TYPE,
  type Dependant,
  type Doctor,
  families,
  type Hold,
  type Slot,
  typeParam,
} from "../lib/endpoints.ts";
import { addDays, calendarLabel, clinicLabel, localDay, longDate, timeIn } from "../lib/format.ts";
import { navigate, queryParam } from "../lib/router.ts";
import { Loading, Notice, PageTitle, SelectField, TextField } from "../lib/ui.tsx";
import { ClinicPicker } from "./clinic_picker.tsx";
import { chooseClinic, clinicCode, clinicInfo, session } from "./store.ts";
import { t } from "./messages.ts";

const DAYS_AHEAD = 14;

interface Attempt {
  code: string;
  type?: string;
  slot: Slot;
  hold: Hold | null;
  key: string;
  /** A dependant's patient record, when booking for them. */
  patientId?: string;
}

/**
 * The attempt survives a reload of the page (sessionStorage, 10 minutes), so "reload and tap
 * again" after a lost response still reuses the same Idempotency-Key.
 */
const ATTEMPT_KEY = "clinic.booking.attempt";
function loadAttempt(scope: string): Attempt | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(ATTEMPT_KEY) ?? "null");
    if (saved?.scope === scope && Date.now() - saved.at < 10 * 60_000) return saved.attempt;
  } catch {
    // ignore
  }
  return null;
}
function saveAttempt(scope: string, attempt: Attempt | null): void {
  try {
    if (attempt) {
      sessionStorage.setItem(ATTEMPT_KEY, JSON.stringify({ scope, attempt, at: Date.now() }));
    } else sessionStorage.removeItem(ATTEMPT_KEY);
  } catch {
    // ignore
  }
}

const deviceZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

function doctorLabel(d: Doctor | undefined, fallback?: string): string {
  return d?.display_name ?? fallback ?? t("doctor");
}

export function Book() {
  const rescheduleId = queryParam("reschedule");
  const [code, setCode] = useState(
    queryParam("clinic") || clinicCode.value || session.user.value?.clinic_code || "",
  );
  // Whom the visit is for: "" is me, else a dependant's patient id (Family → "Book for").
  const [forId, setForId] = useState(queryParam("for") ?? "");
  const [dependants, setDependants] = useState<Dependant[]>([]);
  const [codeInput, setCodeInput] = useState(code);
  const [clinicName, setClinicName] = useState<string | null>(null);
  const [clinicId, setClinicId] = useState<string | null>(null);
  const [slotFeed, setSlotFeed] = useState<Feed | null>(null);
  const [tz, setTz] = useState<string | null>(null);
  const [day, setDay] = useState<string | null>(null);
  const [doctorId, setDoctorId] = useState("");
  // The clinic's patient-bookable types, and the one chosen (null: still to choose).
  const [types, setTypes] = useState<AppointmentType[] | null>(null);
  const [type, setType] = useState<string | null>(null);
  const [doctors, setDoctors] = useState<Doctor[]>([]);
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [calendar, setCalendar] = useState<ClinicDay[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [original, setOriginal] = useState<Appointment | null>(null);
  const scope = `${session.user.value?.id}|${rescheduleId ?? ""}`;
  const [attempt, setAttemptState] = useState<Attempt | null>(() => loadAttempt(scope));
  const setAttempt = (a: Attempt | null) => {
    saveAttempt(scope, a);
    setAttemptState(a);
  };
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const inFlight = useRef(false);

  // The appointment being rescheduled (its clinic and doctor are the defaults).
  useEffect(() => {
    if (!rescheduleId) return;
    booking.get(session, rescheduleId).then((a) => {
      setOriginal(a);
      if (a.clinic_code) setCode(a.clinic_code);
      setDoctorId(a.doctor_id);
      setType(a.appointment_type ?? DEFAULT_TYPE);
      // Rescheduling starts from the appointment's own day, not today.
      setDay(a.local_date);
    }).catch((e) => setLoadError(messageOf(e)));
  }, [rescheduleId]);

  // The people I book for, at this clinic.
  useEffect(() => {
    if (rescheduleId) return;
    families.dependants(session).then(setDependants).catch(() => {});
  }, [rescheduleId]);
  const here = dependants.filter((d) => d.clinic_code === code.toUpperCase());
  const forWhom = here.find((d) => d.id === forId) ?? null;

  // Clinic details and doctors.
  useEffect(() => {
    if (!code) return;
    let live = true;
    setLoadError(null);
    clinicInfo(code).then(({ clinic: c, doctors }) => {
      if (!live) return;
      setClinicName(clinicLabel(c.name, c.branch_name));
      setClinicId(c.id);
      setTz(c.timezone);
      setDoctors(doctors);
      chooseClinic(c.code ?? code);
    }).catch((e) => {
      if (!live) return;
      if (e instanceof ApiError && e.status === 404) {
        setLoadError(t("book.noClinic", { code }));
      } else {
        // Without clinic details, fall back to the device's day; slots carry the zone.
        setDay((d) => d ?? localDay(serverNow(), deviceZone()));
      }
    });
    return () => {
      live = false;
    };
  }, [code]);

  // The types to choose from: with a single one (the consultation), nothing to choose.
  useEffect(() => {
    if (!code) return;
    let live = true;
    setTypes(null);
    clinics.types(code).then((list) => {
      if (!live) return;
      setTypes(list);
      if (list.length <= 1) setType((x) => x ?? list[0]?.code ?? DEFAULT_TYPE);
    }).catch(() => live && setType((x) => x ?? DEFAULT_TYPE));
    return () => {
      live = false;
    };
  }, [code]);

  // Which days are open (and have free times): the first such day is the default, not today.
  useEffect(() => {
    if (!code || !type) return;
    let live = true;
    clinics.days(code, doctorId || undefined, type).then((res) => {
      if (!live) return;
      setTz(res.timezone);
      setCalendar(res.days);
      const first = res.days.find((d) => d.free_slots > 0) ?? res.days.find((d) => d.open);
      setDay((d) => d ?? first?.date ?? res.days[0]?.date ?? null);
    }).catch(() => {
      // Without the calendar, every day is offered, from today.
      if (live) setDay((d) => d ?? localDay(serverNow(), tz ?? deviceZone()));
    });
    return () => {
      live = false;
    };
  }, [code, doctorId, type]);

  // Free slots of the type for the day (and doctor).
  useEffect(() => {
    if (!code || !day || !type) return;
    let live = true;
    setSlots(null);
    clinics.slots(code, day, doctorId || undefined, type).then((res) => {
      if (!live) return;
      setTz(res.timezone);
      setSlots(upcoming(res.slots));
    }).catch((e) => live && setLoadError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [code, day, doctorId, type, reload]);

  // …kept live: a change of the day's (or the schedule's) availability version revalidates them.
  const realtime = useRef<ClientLike | null>(null);
  useEffect(() => () => void disconnect(realtime.current), []);
  useEffect(() => {
    if (!code || !day || !clinicId || !type) return;
    let live = true;
    let feed: Feed | null = null;
    const refresh = () =>
      clinics.slots(code, day, doctorId || undefined, type).then((res) => {
        if (live) setSlots(upcoming(res.slots));
      });
    const changed = debounce(() => void refresh().catch(() => {}), 100);
    void waitForConfig({ cancelled: () => !live }).then((config) => {
      if (!config || !live) return;
      realtime.current ??= createClient(config.anon_key);
      feed = openFeed({
        client: realtime.current,
        topic: `availability:${clinicId}:${day}`,
        changes: [{ table: "availability_versions", filter: `clinic_id=eq.${clinicId}` }],
        // Time changes the answer too (notice, lapsed holds): its ETag says when.
        refreshMs: 60_000,
        snapshot: refresh,
        onChange(change) {
          const row = change.new as { service_date?: string | null };
          if (row?.service_date == null || row.service_date === day) changed();
        },
      });
      setSlotFeed(feed);
    });
    return () => {
      live = false;
      setSlotFeed(null);
      void feed?.close();
    };
  }, [code, day, doctorId, clinicId, type]);

  const today = tz ? localDay(serverNow(), tz) : day;
  const days = useMemo(
    () => (today ? Array.from({ length: DAYS_AHEAD }, (_, i) => addDays(today, i)) : []),
    [today],
  );
  const dayInfo = useMemo(() => new Map((calendar ?? []).map((d) => [d.date, d])), [calendar]);
  const doctorById = useMemo(() => new Map(doctors.map((d) => [d.id, d])), [doctors]);
  const chosenType = types?.find((x) => x.code === type);
  const typeChoice = !rescheduleId && (types?.length ?? 0) > 1;
  const groups = useMemo(() => {
    const map = new Map<string, Slot[]>();
    for (const s of slots ?? []) {
      const list = map.get(s.doctor_id) ?? [];
      list.push(s);
      map.set(s.doctor_id, list);
    }
    return [...map.entries()];
  }, [slots]);

  async function pick(slot: Slot) {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      let hold: Hold | null = null;
      // A reschedule moves the appointment atomically; holding the new slot first would
      // block our own move, so only new bookings hold.
      if (!rescheduleId) {
        try {
          hold = await booking.hold(session, {
            clinic_code: code,
            doctor_id: slot.doctor_id,
            start: slot.start,
            ...(forWhom ? { patient_id: forWhom.id } : {}),
            type: typeParam(type ?? undefined),
          });
        } catch (e) {
          if (!(e instanceof ApiError && (e.status === 404 || e.status === 405))) throw e;
          // No hold service: book directly (the booking itself is still atomic).
        }
      }
      setAttempt({
        code,
        type: type ?? undefined,
        slot,
        hold,
        key: newIdempotencyKey(),
        patientId: forWhom?.id,
      });
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 409 ? t("book.taken") : messageOf(e),
      );
      setReload((n) => n + 1);
    } finally {
      setBusy(false);
    }
  }

  async function back() {
    const held = attempt?.hold;
    setAttempt(null);
    setError(null);
    if (held) await booking.releaseHold(session, held.id).catch(() => {});
    setReload((n) => n + 1);
  }

  async function confirm() {
    if (!attempt || inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      const { slot, hold, key } = attempt;
      const appointment = rescheduleId
        ? await booking.reschedule(session, key, rescheduleId, {
          start: slot.start,
          doctor_id: slot.doctor_id,
        })
        : await booking.book(session, key, {
          clinic_code: attempt.code,
          doctor_id: slot.doctor_id,
          start: slot.start,
          type: typeParam(attempt.type),
          ...(reason.trim() ? { visit_reason: reason.trim() } : {}),
          ...(hold ? { hold_id: hold.id } : {}),
          ...(attempt.patientId ? { patient_id: attempt.patientId } : {}),
        });
      saveAttempt(scope, null);
      navigate(`/appointments/${appointment.id}?${rescheduleId ? "moved" : "booked"}=1`, {
        replace: true,
      });
    } catch (e) {
      if (e instanceof ApiError && (e.code === "slot_unavailable" || e.status === 409)) {
        setAttempt(null);
        setReload((n) => n + 1);
        setError(t("book.gone"));
      } else if (e instanceof ApiError && (e.status === 0 || e.status >= 500)) {
        // Unknown outcome: retry with the same key — it can only ever book once.
        setError(t("book.unknownOutcome", { message: messageOf(e) }));
      } else {
        setError(messageOf(e));
      }
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }

  const title = rescheduleId ? t("book.reschedule") : t("bookAppointment");

  if (!code) {
    return (
      <section class="narrow">
        <PageTitle>{title}</PageTitle>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (codeInput.trim()) setCode(codeInput.trim().toUpperCase());
          }}
        >
          <TextField
            id="clinic"
            label={t("field.clinicCode")}
            hint={t("field.clinicCodeHint")}
            autoCapitalize="characters"
            value={codeInput}
            onInput={(e) => setCodeInput(e.currentTarget.value)}
          />
          <button class="btn" type="submit">{t("book.continue")}</button>
        </form>
        <ClinicPicker onPick={setCode} />
      </section>
    );
  }

  if (attempt && tz) {
    const { slot } = attempt;
    const doc = doctorLabel(doctorById.get(slot.doctor_id), slot.doctor_name);
    return (
      <section class="narrow">
        <PageTitle key="confirm" title={title}>
          {rescheduleId ? t("book.confirmNew") : t("book.confirm")}
        </PageTitle>
        {error && <Notice kind="error">{error}</Notice>}
        <div class="card summary">
          <p class="big">{slot.local_time ?? timeIn(slot.start, tz)}</p>
          <p>{longDate(slot.start, tz)}</p>
          <p>
            {doc}
            {clinicName ? ` · ${clinicName}` : ""}
          </p>
          {attempt.patientId && (
            <p>
              {t("appts.for", {
                name: dependants.find((d) => d.id === attempt.patientId)?.full_name ?? "",
              })}
            </p>
          )}
          {typeChoice && chosenType && <p>{chosenType.name}</p>}
          {attempt.hold && <HoldTimer expiresAt={attempt.hold.expires_at} />}
          {original && (
            <p class="muted">
              {t("book.movingFrom", {
                time: timeIn(original.start, tz),
                date: longDate(original.start, tz),
              })}
            </p>
          )}
        </div>
        {!rescheduleId && (
          <div class="field">
            <label for="reason">{t("book.reason")}</label>
            <textarea
              id="reason"
              rows={3}
              maxLength={1000}
              value={reason}
              onInput={(e) => setReason(e.currentTarget.value)}
            />
          </div>
        )}
        <div class="row">
          <button class="btn" type="button" onClick={confirm} disabled={busy} aria-busy={busy}>
            {busy
              ? t("book.confirming")
              : error
              ? t("book.tryAgain")
              : rescheduleId
              ? t("book.move")
              : t("book.confirm")}
          </button>
          <button class="btn secondary" type="button" onClick={back} disabled={busy}>
            {t("book.another")}
          </button>
        </div>
      </section>
    );
  }

  return (
    <section>
      <PageTitle key="choose">{title}</PageTitle>
      <p class="muted">
        {clinicName ?? code}
        {tz ? ` · ${t("book.clinicTime", { tz })}` : ""}{" "}
        <button
          class="btn link"
          type="button"
          onClick={() => {
            setCode("");
            setCodeInput("");
            setClinicName(null);
            setTz(null);
            setDay(null);
            setCalendar(null);
            setDoctors([]);
            setTypes(null);
            setType(null);
          }}
        >
          {t("book.changeClinic")}
        </button>
      </p>
      {original && tz && (
        <Notice kind="info">
          {t("book.current", {
            time: timeIn(original.start, tz),
            date: longDate(original.start, tz),
          })}
        </Notice>
      )}
      {loadError && <Notice kind="error">{loadError}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}

      {here.length > 0 && !rescheduleId && (
        <SelectField
          id="for"
          label={t("book.for")}
          value={forWhom?.id ?? ""}
          onChange={(e) => setForId(e.currentTarget.value)}
        >
          <option value="">{t("book.forMe")}</option>
          {here.map((d) => <option key={d.id} value={d.id}>{d.full_name}</option>)}
        </SelectField>
      )}

      {typeChoice && (
        <TypePicker
          types={types!}
          value={type}
          onPick={(code) => {
            setType(code);
            setDay(null);
            setCalendar(null);
          }}
        />
      )}
      <fieldset class="days">
        <legend>{t("book.day")}</legend>
        <div class="chips" role="radiogroup" aria-label={t("book.day")}>
          {days.map((d) => {
            const info = dayInfo.get(d);
            const closed = info ? !info.open : false;
            const full = info ? info.open && info.free_slots === 0 : false;
            return (
              <label
                key={d}
                class={`chip${d === day ? " selected" : ""}${closed ? " closed" : ""}`}
              >
                <input
                  type="radio"
                  name="day"
                  value={d}
                  checked={d === day}
                  disabled={closed && d !== day}
                  onChange={() => setDay(d)}
                />
                <span>
                  {d === today ? t("today") : calendarLabel(d)}
                  {closed ? ` · ${t("book.closed")}` : full ? ` · ${t("book.full")}` : ""}
                </span>
              </label>
            );
          })}
        </div>
      </fieldset>

      <SelectField
        id="doctor"
        label={t("doctor")}
        value={doctorId}
        onChange={(e) => setDoctorId(e.currentTarget.value)}
      >
        <option value="">{t("book.anyDoctor")}</option>
        {doctors.map((d) => (
          <option key={d.id} value={d.id}>
            {doctorLabel(d)}
            {d.specializations?.length ? ` — ${d.specializations.join(", ")}` : ""}
          </option>
        ))}
      </SelectField>

      <section aria-labelledby="slots-heading" aria-busy={slots === null}>
        <h2 id="slots-heading">
          {t("book.freeTimes")}
          {day ? ` · ${calendarLabel(day)}` : ""}
        </h2>
        {slotFeed?.state.value === "reconnecting" && <p class="muted">{t("reconnecting")}</p>}
        {slots === null && !loadError && type && <Loading label={t("book.finding")} />}
        {!type && typeChoice && <p class="muted">{t("book.typeFirst")}</p>}
        {slots?.length === 0 && (
          <p>
            {day && dayInfo.get(day)?.open === false ? t("book.closedDay") : t("book.noTimes")}
          </p>
        )}
        {groups.map(([doctor, list]) => {
          const label = doctorLabel(doctorById.get(doctor), list[0]?.doctor_name);
          return (
            <div key={doctor} class="slot-group">
              <h3>{label}</h3>
              <ul class="slots">
                {list.map((s) => (
                  <li key={s.start}>
                    <button
                      type="button"
                      class="slot"
                      disabled={busy}
                      aria-label={t("book.slotWith", {
                        time: s.local_time ?? timeIn(s.start, tz ?? "UTC"),
                        doctor: label,
                      })}
                      onClick={() => pick(s)}
                    >
                      {s.local_time ?? timeIn(s.start, tz ?? "UTC")}
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
      </section>
    </section>
  );
}

/** The clinic's appointment types, to choose one first: its name and length. */
function TypePicker(
  props: { types: AppointmentType[]; value: string | null; onPick: (code: string) => void },
) {
  return (
    <fieldset class="types" data-testid="type-picker">
      <legend>{t("book.type")}</legend>
      <div class="chips" role="radiogroup" aria-label={t("book.type")}>
        {props.types.map((x) => (
          <label key={x.code} class={`chip${x.code === props.value ? " selected" : ""}`}>
            <input
              type="radio"
              name="type"
              value={x.code}
              checked={x.code === props.value}
              onChange={() =>
                props.onPick(x.code)}
            />
            <span>
              {x.name}
              {x.duration_minutes ? ` · ${t("book.minutes", { n: x.duration_minutes })}` : ""}
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** The slots still ahead by the server's clock. */
function upcoming(slots: Slot[]): Slot[] {
  const now = serverNow();
  return slots.filter((s) => Date.parse(s.start) > now);
}

/** Closes the page's realtime socket (realtime-js has no type for it on ClientLike). */
async function disconnect(client: ClientLike | null) {
  await (client as unknown as { disconnect?(): Promise<unknown> } | null)?.disconnect?.();
}

function HoldTimer(props: { expiresAt: string }) {
  const [left, setLeft] = useState(() => Date.parse(props.expiresAt) - serverNow());
  useEffect(() => {
    const t = setInterval(() => setLeft(Date.parse(props.expiresAt) - serverNow()), 1000);
    return () => clearInterval(t);
  }, [props.expiresAt]);
  if (Number.isNaN(left)) return null;
  if (left <= 0) {
    return <p class="muted">{t("book.holdEnded")}</p>;
  }
  const m = Math.floor(left / 60_000);
  const s = Math.floor((left % 60_000) / 1000);
  return (
    <p class="muted">
      {t("book.heldFor")}{" "}
      <span aria-live="off">
        {m}:{String(s).padStart(2, "0")}
      </span>
    </p>
  );
}
