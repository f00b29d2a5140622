/** @jsxImportSource preact */
/** My appointments (upcoming / past, cancel, reschedule) and one appointment's page. */
import { useEffect, useState } from "preact/hooks";
import { t } from "./messages.ts";
import { messageOf } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import { type Appointment, booking, type MyAppointment } from "../lib/endpoints.ts";
import { clinicLabel, longDate, timeIn } from "../lib/format.ts";
import { queryParam } from "../lib/router.ts";
import { Loading, Notice, PageTitle, SavedCopy, StatusChip } from "../lib/ui.tsx";
import { type MyAppointments, myAppointments, session } from "./store.ts";
import { PushPrompt } from "./push_prompt.tsx";
import { ConfirmButton } from "./confirm.tsx";

const ACTIVE = new Set(["scheduled", "confirmed"]);
const deviceZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
const tzOf = (a: Appointment) => a.timezone ?? deviceZone();

function useAppointments() {
  const [list, setList] = useState<MyAppointments | null>(null);
  const [asOf, setAsOf] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    myAppointments().then((known) => {
      if (!live) return;
      setList(known.data);
      setAsOf(known.asOf);
    }).catch((e) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [version]);
  return { list, asOf, error, reload: () => setVersion((v) => v + 1) };
}

export function Appointments() {
  const { list, asOf, error, reload } = useAppointments();
  const [message, setMessage] = useState<string | null>(null);
  // A moved visit shows once: as its new appointment, which says where it moved from.
  const shown = (a: Appointment) => a.status !== "held" && a.status !== "rescheduled";
  const upcoming = (list?.upcoming ?? []).filter(shown);
  const past = (list?.past ?? []).filter(shown);
  const byId = new Map([...list?.upcoming ?? [], ...list?.past ?? []].map((a) => [a.id, a]));

  return (
    <section>
      <div class="spread">
        <PageTitle>{t("appts.title")}</PageTitle>
        <a class="btn" href="/book">{t("nav.book")}</a>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      {message && <Notice kind="success">{message}</Notice>}
      <SavedCopy asOf={asOf} time={(at) => timeIn(at, deviceZone())} />
      {list === null && !error && <Loading />}
      {list && (
        <>
          <section aria-labelledby="upcoming">
            <h2 id="upcoming">{t("appts.upcoming")}</h2>
            {upcoming.length === 0 && (
              <p>
                {t("appts.noneUpcoming")} <a href="/book">{t("appts.bookOne")}</a>
              </p>
            )}
            <ul class="list">
              {upcoming.map((a) => (
                <li key={a.id}>
                  <AppointmentCard
                    appointment={a}
                    movedFrom={byId.get(a.rescheduled_from ?? "")}
                    onCancelled={() => {
                      setMessage(t("appts.cancelled", { number: a.appointment_number ?? "" }));
                      reload();
                    }}
                  />
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="past">
            <h2 id="past">{t("appts.past")}</h2>
            {past.length === 0 && <p class="muted">{t("appts.nothing")}</p>}
            <ul class="list">
              {past.map((a) => (
                <li key={a.id}>
                  <AppointmentCard
                    appointment={a}
                    movedFrom={byId.get(a.rescheduled_from ?? "")}
                  />
                </li>
              ))}
            </ul>
          </section>
        </>
      )}
    </section>
  );
}

function AppointmentCard(
  props: {
    /** From my list, it says whose visit it is. */
    appointment: Appointment & Partial<Pick<MyAppointment, "patient_name" | "for_dependant">>;
    /** The appointment this one replaced (a reschedule gives a new number). */
    movedFrom?: Appointment | null;
    onCancelled?: () => void;
    headingLevel?: 2 | 3;
  },
) {
  const from = props.movedFrom;
  const a = props.appointment;
  const tz = tzOf(a);
  const H = props.headingLevel === 2 ? "h2" : "h3";
  const canChange = ACTIVE.has(a.status) && Date.parse(a.start) > serverNow();
  const today = longDate(a.start, tz) === longDate(serverNow(), tz);
  return (
    <article class="card appointment">
      <div class="spread">
        <H class="when">
          {a.local_time ?? timeIn(a.start, tz)} · {longDate(a.start, tz)}
        </H>
        <StatusChip status={a.status} />
      </div>
      {a.for_dependant && a.patient_name && (
        <p class="for-whom">
          <strong>{t("appts.for", { name: a.patient_name })}</strong>
        </p>
      )}
      <p>
        {a.doctor_name ?? t("doctor")}
        {a.clinic_name ? ` · ${clinicLabel(a.clinic_name, a.branch_name)}` : ""}
      </p>
      {a.appointment_type_name && <p class="muted appointment-type">{a.appointment_type_name}</p>}
      {a.appointment_number && (
        <p class="muted">
          {t("appts.number")} <strong class="mono">{a.appointment_number}</strong>
        </p>
      )}
      {from && (
        <p class="muted">
          {t(from.appointment_number ? "appts.movedFromNumber" : "appts.movedFrom", {
            time: timeIn(from.start, tzOf(from)),
            date: longDate(from.start, tzOf(from)),
            number: from.appointment_number ?? "",
          })}
        </p>
      )}
      <div class="row">
        {today && (a.status === "scheduled" || a.status === "confirmed" ||
          a.status === "checked_in") &&
          <a class="btn" href="/visit">{t("visit.title")}</a>}
        {canChange && (
          <a class="btn secondary" href={`/book?reschedule=${a.id}`}>
            {t("appts.reschedule")}
            <span class="visually-hidden">
              {` ${t("appts.theAppt", { time: timeIn(a.start, tz) })}`}
            </span>
          </a>
        )}
        {canChange && props.onCancelled && (
          <CancelButton appointment={a} onCancelled={props.onCancelled} />
        )}
      </div>
    </article>
  );
}

function CancelButton(props: { appointment: Appointment; onCancelled: () => void }) {
  const a = props.appointment;
  const tz = tzOf(a);
  return (
    <ConfirmButton
      id={`cancel-${a.id}`}
      title={t("appts.cancelTitle")}
      body={t("appts.cancelBody", {
        time: timeIn(a.start, tz),
        date: longDate(a.start, tz),
        doctor: a.doctor_name ?? t("appts.yourDoctor"),
      })}
      yes={t("appts.yesCancel")}
      yesBusy={t("appts.cancelling")}
      action={() => booking.cancel(session, a.id)}
      onDone={props.onCancelled}
    >
      {t("appts.cancel")}
      <span class="visually-hidden">
        {` ${t("appts.theAppt", { time: timeIn(a.start, tz) })}`}
      </span>
    </ConfirmButton>
  );
}

export function AppointmentPage(props: { id: string }) {
  const [a, setA] = useState<Appointment | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cancelled, setCancelled] = useState(false);
  const [previous, setPrevious] = useState<Appointment | null>(null);
  const load = () => booking.get(session, props.id).then(setA).catch((e) => setError(messageOf(e)));
  useEffect(() => {
    if (!a?.rescheduled_from) return;
    booking.get(session, a.rescheduled_from).then(setPrevious).catch(() => {});
  }, [a?.rescheduled_from]);
  useEffect(() => {
    void load();
  }, [props.id]);
  const booked = queryParam("booked");
  const moved = queryParam("moved");
  const title = booked ? t("appt.booked") : moved ? t("appt.moved") : t("appt.title");
  return (
    <section class="narrow">
      <PageTitle>{title}</PageTitle>
      {error && <Notice kind="error">{error}</Notice>}
      {cancelled && a && (
        <Notice kind="success">
          {t("appts.cancelled", { number: a.appointment_number ?? "" })}
        </Notice>
      )}
      {!a && !error && <Loading />}
      {a && (
        <>
          {(booked || moved) && !cancelled && (
            <div class="card confirmation" role="status">
              <p>{moved ? t("appt.newNumber") : t("appt.number")}</p>
              <p class="number mono">{a.appointment_number}</p>
              {moved && previous?.appointment_number && (
                <p>{t("appt.replaces", { number: previous.appointment_number })}</p>
              )}
              <p class="muted">{t("appt.show")}</p>
              {booked && <PushPrompt />}
            </div>
          )}
          <AppointmentCard
            appointment={a}
            movedFrom={previous}
            headingLevel={2}
            onCancelled={() => {
              setCancelled(true);
              void load();
            }}
          />
          <p>
            <a href="/appointments">{t("appt.all")}</a>
          </p>
        </>
      )}
    </section>
  );
}
