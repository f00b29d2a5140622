/** @jsxImportSource preact */
/**
 * My visit: check in for today's appointment — mine or that of someone I look after, saying
 * whose — then a live ticket card — code, people ahead,
 * estimated wait, and "Go to Room 3" when called (with chime and vibration where allowed).
 * The card says when it is not live ("Reconnecting…", last update time): never stale silently.
 */
import { useEffect, useState } from "preact/hooks";
import { type AppKey, t as tr } from "./messages.ts";
import { messageOf } from "../lib/api.ts";
import { clockOffset, serverNow } from "../lib/clock.ts";
import {
  type Appointment,
  type MyAppointment,
  type MyTicket,
  queue,
  type Ticket,
} from "../lib/endpoints.ts";
import { localDay, longDate, minutesLabel, timeIn } from "../lib/format.ts";
import { audioReady, unlockAudio } from "../lib/sound.ts";
import { LinkBanner, Loading, Notice, PageTitle, SavedCopy, StatusChip } from "../lib/ui.tsx";
import { PushPrompt } from "./push_prompt.tsx";
import {
  myAppointments,
  myQueue,
  queueAsOf,
  queueUnreachable,
  refreshQueue,
  session,
  ticket,
  ticketZone,
  visitFeed,
} from "./store.ts";

const CHECKIN_STATUSES = new Set(["scheduled", "confirmed"]);
/**
 * Can the patient check in online? Booked, or marked no-show by the sweep and still within the
 * clinic's late window: the API gives `check_in_opens_at` for such a no-show only.
 */
const checkable = (a: Appointment) =>
  CHECKIN_STATUSES.has(a.status) || (a.status === "no_show" && !!a.check_in_opens_at);
const deviceZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
/** What an appointment of today that is past check-in means for the patient. */
const AFTER = new Set(["checked_in", "in_progress", "completed", "no_show"]);

/**
 * "Check-in opens at 08:00" (today) or "… at 08:00 on Tuesday, 8 December 2026"; null once it
 * is open (or the appointment cannot be checked in).
 */
export function checkInOpens(a: Appointment, now = serverNow()): string | null {
  if (!a.check_in_opens_at || Date.parse(a.check_in_opens_at) <= now) return null;
  const tz = a.timezone ?? "UTC";
  const at = timeIn(a.check_in_opens_at, tz);
  return localDay(a.check_in_opens_at, tz) === localDay(now, tz)
    ? tr("checkIn.opensToday", { time: at })
    : tr("checkIn.opensOn", { time: at, date: longDate(a.check_in_opens_at, tz) });
}

export function Visit() {
  const t = ticket.value;
  const loaded = myQueue.value !== null;
  const [today, setToday] = useState<MyAppointment[] | null>(null);
  const [next, setNext] = useState<MyAppointment | null>(null);
  const [asOf, setAsOf] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [sound, setSound] = useState(audioReady());

  useEffect(() => {
    let live = true;
    myAppointments().then(({ data: list, asOf }) => {
      if (!live) return;
      setAsOf(asOf);
      // Mine and my dependants' (a guardian checks them in too), each card saying whose.
      const upcoming = list.upcoming;
      const now = serverNow();
      const isToday = (a: Appointment) =>
        localDay(a.start, a.timezone ?? "UTC") === localDay(now, a.timezone ?? "UTC");
      setToday(
        [...upcoming, ...list.past].filter((a) =>
          isToday(a) && a.status !== "cancelled" && a.status !== "held" &&
          a.status !== "rescheduled"
        ).sort((a, b) => Date.parse(a.start) - Date.parse(b.start)),
      );
      setNext(
        upcoming.find((a) => !isToday(a) && CHECKIN_STATUSES.has(a.status)) ?? null,
      );
    }).catch((e) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [t?.id]);

  async function checkIn(a: Appointment) {
    if (busy) return;
    setBusy(a.id);
    setError(null);
    // This tap is the user gesture browsers require before they let a page play sound.
    setSound(await unlockAudio());
    try {
      await queue.checkIn(session, a.id);
      await refreshQueue();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section class="narrow">
      <PageTitle>{tr("visit.title")}</PageTitle>
      <LinkBanner feed={visitFeed.value} />
      {error && <Notice kind="error">{error}</Notice>}
      {!t && (asOf !== null || queueAsOf.value !== null) && (
        <SavedCopy
          asOf={asOf ?? queueAsOf.value}
          time={(at) => timeIn(at, deviceZone())}
        />
      )}
      {!loaded && !t && !error && !queueUnreachable.value &&
        <Loading label={tr("visit.loading")} />}
      {!loaded && !t && !error && queueUnreachable.value && (
        <Notice kind="warning">{tr("visit.unreachable")}</Notice>
      )}
      {t && <TicketCard ticket={t} />}
      {(t?.status === "waiting" || (!t && !!today?.length)) && <PushPrompt />}
      {t && !sound && t.status === "waiting" && (
        <p>
          <button
            class="btn secondary"
            type="button"
            onClick={async () => setSound(await unlockAudio())}
          >
            {tr("visit.sound")}
          </button>
        </p>
      )}
      {!t && today && today.length === 0 && (next
        ? (
          <div class="card">
            <p>
              {tr(next.doctor_name ? "visit.nextAtWith" : "visit.nextAt", {
                time: timeIn(next.start, next.timezone ?? "UTC"),
                date: longDate(next.start, next.timezone ?? "UTC"),
                doctor: next.doctor_name ?? "",
              })}
            </p>
            {next.for_dependant && <p>{tr("appts.for", { name: next.patient_name })}</p>}
            <p>{checkInOpens(next) ?? tr("visit.checkInHere")}</p>
            <a class="btn secondary" href="/appointments">{tr("visit.myAppointments")}</a>
          </div>
        )
        : (
          <div class="card">
            <p>{tr("visit.noneToday")}</p>
            <a class="btn" href="/book">{tr("bookAppointment")}</a>
          </div>
        ))}
      {!t && today?.map((a) => {
        const tz = a.timezone ?? "UTC";
        return (
          <article key={a.id} class="card">
            <h2>
              {timeIn(a.start, tz)} · {a.doctor_name ?? tr("doctor")}
            </h2>
            <p class="muted">
              {longDate(a.start, tz)} · <StatusChip status={a.status} />
            </p>
            {a.for_dependant && <p>{tr("appts.for", { name: a.patient_name })}</p>}
            {AFTER.has(a.status) && !checkable(a) && <p>{tr(`after.${a.status}` as AppKey)}</p>}
            {a.status === "completed" && (
              <a class="btn secondary" href="/book">{tr("visit.followUp")}</a>
            )}
            {checkable(a) && checkInOpens(a) && <p>{checkInOpens(a)}</p>}
            {checkable(a) && !checkInOpens(a) && (
              <>
                <p>{tr("visit.arrived")}</p>
                <button
                  class="btn block"
                  type="button"
                  disabled={busy !== null}
                  onClick={() => checkIn(a)}
                >
                  {busy === a.id
                    ? tr("visit.checkingIn")
                    : a.for_dependant
                    ? tr("visit.checkInFor", { name: a.patient_name })
                    : tr("visit.checkIn")}
                </button>
              </>
            )}
          </article>
        );
      })}
    </section>
  );
}

export function TicketCard(
  props: {
    ticket: Ticket & Partial<Pick<MyTicket, "patient_name" | "for_dependant">>;
    compact?: boolean;
  },
) {
  const t = props.ticket;
  const feed = visitFeed.value;
  const synced = feed?.syncedAt.value ?? null;
  const live = feed?.state.value === "live";
  const tz = ticketZone.value ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const ahead = t.people_ahead ?? (typeof t.position === "number" ? t.position - 1 : null);
  // Arrived before the booked time: the queue puts a booking at its booked time, so people who
  // are due earlier (walk-ins included) may still go ahead — never promise "You're next" then.
  const early = t.status === "waiting" && t.kind === "appointment" && !!t.scheduled_at &&
    Date.parse(t.scheduled_at) > serverNow();
  return (
    <article class={`card ticket ${t.status}`} aria-labelledby="ticket-code">
      {t.for_dependant && <p>{tr("appts.for", { name: t.patient_name ?? "" })}</p>}
      <p class="ticket-label">{tr("ticket.number")}</p>
      <p class="ticket-code mono" id="ticket-code">{t.code}</p>
      {t.status === "called" && (
        <div class="call-alert" role="alert">
          <p class="go">{t.room ? tr("ticket.goTo", { room: t.room }) : tr("ticket.counter")}</p>
          {t.called_at && <p>{tr("ticket.calledAt", { time: timeIn(t.called_at, tz) })}</p>}
        </div>
      )}
      {t.status === "waiting" && (
        <dl class="facts">
          <div>
            <dt>{tr("ticket.ahead")}</dt>
            <dd>{ahead === 0 && !early ? tr("ticket.next") : ahead ?? "—"}</dd>
          </div>
          <div>
            <dt>{early ? tr("ticket.yourTurn") : tr("ticket.wait")}</dt>
            <dd>
              {early
                ? tr("ticket.around", { time: timeIn(t.scheduled_at!, tz) })
                : typeof t.estimated_wait_minutes === "number"
                ? (ahead === 0 && t.estimated_wait_minutes < 1
                  ? tr("ticket.anyMoment")
                  : minutesLabel(t.estimated_wait_minutes))
                : "—"}
            </dd>
          </div>
        </dl>
      )}
      {early && !props.compact && (
        <p class="muted">{tr("ticket.early", { time: timeIn(t.scheduled_at!, tz) })}</p>
      )}
      {t.status === "serving" && (
        <p class="go">
          {t.room ? tr("ticket.withDoctorIn", { room: t.room }) : tr("ticket.withDoctor")}
        </p>
      )}
      {t.status === "completed" && <p>{tr("ticket.complete")}</p>}
      {t.status === "no_show" && <p>{tr("ticket.missed")}</p>}
      {t.status === "cancelled" && <p>{tr("ticket.cancelled")}</p>}
      {!props.compact && queueAsOf.value !== null && (
        <p class="muted small">
          {tr("ticket.saved", { time: timeIn(queueAsOf.value, tz) })}
        </p>
      )}
      {!props.compact && queueAsOf.value === null && (
        <p class="muted small" aria-live="off">
          {synced
            ? tr("ticket.updated", {
              state: tr(live ? "ticket.live" : "ticket.notLive"),
              time: timeIn(synced + clockOffset.value, tz),
            })
            : tr(live ? "ticket.live" : "ticket.notLive")}
        </p>
      )}
    </article>
  );
}
