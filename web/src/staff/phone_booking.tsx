/** @jsxImportSource preact */
/**
 * Phone booking: the desk finds the patient (name, number or phone; contact details masked as
 * the search returns them), picks the appointment type (staff-only types included), a doctor
 * offering it (or any), a day of the advance window and a free time, and books for the
 * patient (`source: phone`). One Idempotency-Key per attempt — the
 * patient and time chosen — so a double click or a retry books once.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { messageOf, newIdempotencyKey } from "../lib/api.ts";
import {
  type Appointment,
  type AppointmentType,
  booking,
  clinics,
  DEFAULT_TYPE,
  type PatientSummary,
  type Slot,
  typeParam,
} from "../lib/endpoints.ts";
import { longDate } from "../lib/format.ts";
import { Notice, SelectField, TextField } from "../lib/ui.tsx";
import { PatientChoices, usePatientSearch } from "./patient_search.tsx";
import { t } from "./messages.ts";
import { info, run, say, session } from "./store.ts";
import { WhenPicker } from "./when_picker.tsx";

export function PhoneBooking(props: { code: string }) {
  const [query, setQuery] = useState("");
  const [found] = usePatientSearch(props.code, query);
  const [patient, setPatient] = useState<PatientSummary | null>(null);
  const [types, setTypes] = useState<AppointmentType[]>([]);
  const [type, setType] = useState(DEFAULT_TYPE);
  const [doctorId, setDoctorId] = useState("");
  const [day, setDay] = useState<string | null>(null);
  const [slot, setSlot] = useState<Slot | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ appointment: Appointment; name: string } | null>(null);
  const [reload, setReload] = useState(0);
  const inFlight = useRef(false);
  // A new attempt — another patient or time — gets a new key; retries of one attempt reuse it.
  const key = useMemo(() => newIdempotencyKey(), [patient?.id, slot?.doctor_id, slot?.start]);
  const chosenType = types.find((x) => x.code === type);
  // Only the doctors who offer the type.
  const doctors = (info.value?.doctors ?? []).filter((d) =>
    !chosenType || chosenType.all_doctors || chosenType.doctor_ids.includes(d.id)
  );
  useEffect(() => {
    let live = true;
    // As staff: every active type, staff-only ones included.
    clinics.types(props.code, session).then((list) =>
      live && setTypes(list.filter((x) => x.active))
    )
      .catch((e) => live && say("error", `${t("desk.type")}: ${messageOf(e)}`));
    return () => {
      live = false;
    };
  }, [props.code]);

  async function submit(e: Event) {
    e.preventDefault();
    if (!patient) return say("error", t("desk.pickPatient"));
    if (!slot) return say("error", t("desk.pickTime"));
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setDone(null);
    await run(t("desk.action"), async () => {
      try {
        const appointment = await booking.book(session, key, {
          clinic_code: props.code,
          doctor_id: slot.doctor_id,
          start: slot.start,
          patient_id: patient.id,
          type: typeParam(type),
          source: "phone",
        });
        setDone({ appointment, name: patient.full_name });
        say("success", bookedText(appointment, patient.full_name));
        setSlot(null);
      } finally {
        setReload((n) => n + 1);
      }
    });
    inFlight.current = false;
    setBusy(false);
  }

  return (
    <section class="panel desk" aria-labelledby="desk-h">
      <h2 id="desk-h">{t("desk.title")}</h2>
      <form onSubmit={submit}>
        <TextField
          id="desk-search"
          label={t("desk.search")}
          type="search"
          autoComplete="off"
          value={query}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setPatient(null);
            setDone(null);
          }}
        />
        {found && (
          <PatientChoices
            name="desk-patient"
            found={found}
            legend={found.length ? t("desk.choose") : t("desk.noMatch")}
            picked={patient?.id}
            onPick={setPatient}
          />
        )}
        {types.length > 1 && (
          <SelectField
            id="desk-type"
            label={t("desk.type")}
            value={type}
            onChange={(e) => {
              const next = types.find((x) => x.code === e.currentTarget.value);
              setType(e.currentTarget.value);
              setSlot(null);
              if (next && !next.all_doctors && !next.doctor_ids.includes(doctorId)) {
                setDoctorId("");
              }
            }}
          >
            {types.map((x) => (
              <option key={x.code} value={x.code}>
                {typeLabel(x)}
              </option>
            ))}
          </SelectField>
        )}
        <WhenPicker
          id="desk"
          code={props.code}
          type={type}
          doctors={doctors}
          doctorId={doctorId}
          onDoctor={setDoctorId}
          day={day}
          onDay={setDay}
          slot={slot}
          onSlot={setSlot}
          reload={reload}
        />
        <button class="btn" type="submit" disabled={busy || !patient || !slot}>
          {busy ? t("desk.booking") : t("desk.book")}
          {patient && <span class="visually-hidden">{` ${patient.full_name}`}</span>}
        </button>
      </form>
      {done && (
        <Notice kind="success">
          <span data-testid="desk-booked">{bookedText(done.appointment, done.name)}</span>
        </Notice>
      )}
    </section>
  );
}

/** "Booked Lim Wei Ming with Dr Tan on Tuesday, 8 December 2026 at 09:00 (GFC-TP-…)." */
export function bookedText(a: Appointment, name: string): string {
  return t("desk.booked", {
    name,
    doctor: a.doctor_name,
    date: longDate(a.start, a.timezone),
    time: a.local_time,
    number: a.appointment_number ?? "",
  });
}

/** "Health screening · 45 min (staff only)". */
function typeLabel(x: AppointmentType): string {
  const name = x.duration_minutes
    ? t("desk.typeMinutes", { name: x.name, n: x.duration_minutes })
    : x.name;
  return x.bookable_by === "staff" ? t("desk.staffOnly", { name }) : name;
}
