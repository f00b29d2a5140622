/** @jsxImportSource preact */
/**
 * My visit: check in for today's appointment, then a live ticket card — code, people ahead,
 * estimated wait, and "Go to Room 3" when called (with chime and vibration where allowed).
 * The card says when it is not live ("Reconnecting…", last update time): never stale silently.
 */
import { useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { clockOffset, serverNow } from "../lib/clock.ts";
import { type Appointment, booking, queue, type Ticket } from "../lib/endpoints.ts";
import { localDay, longDate, minutesLabel, timeIn } from "../lib/format.ts";
import { audioReady, unlockAudio } from "../lib/sound.ts";
import { LinkBanner, Loading, Notice, PageTitle, StatusChip } from "../lib/ui.tsx";
import { myQueue, refreshQueue, session, ticket, ticketZone, visitFeed } from "./store.ts";

const CHECKIN_STATUSES = new Set(["scheduled", "confirmed"]);

export function Visit() {
  const t = ticket.value;
  const loaded = myQueue.value !== null;
  const [today, setToday] = useState<Appointment[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [sound, setSound] = useState(audioReady());

  useEffect(() => {
    let live = true;
    booking.mine(session).then((list) => {
      if (!live) return;
      const now = serverNow();
      setToday(
        [...list.upcoming, ...list.past].filter((a) => {
          const tz = a.timezone ?? "UTC";
          return localDay(a.start, tz) === localDay(now, tz) && a.status !== "cancelled" &&
            a.status !== "held";
        }).sort((a, b) => Date.parse(a.start) - Date.parse(b.start)),
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
      <PageTitle>My visit</PageTitle>
      <LinkBanner feed={visitFeed.value} />
      {error && <Notice kind="error">{error}</Notice>}
      {!loaded && !t && <Loading label="Loading your visit…" />}
      {t && <TicketCard ticket={t} />}
      {t && !sound && t.status === "waiting" && (
        <p>
          <button
            class="btn secondary"
            type="button"
            onClick={async () => setSound(await unlockAudio())}
          >
            Turn on sound alert
          </button>
        </p>
      )}
      {!t && today && today.length === 0 && (
        <div class="card">
          <p>You have no appointment today.</p>
          <a class="btn" href="/book">Book an appointment</a>
        </div>
      )}
      {!t && today?.map((a) => {
        const tz = a.timezone ?? "UTC";
        return (
          <article key={a.id} class="card">
            <h2>
              {timeIn(a.start, tz)} · {a.doctor_name ?? "Doctor"}
            </h2>
            <p class="muted">
              {longDate(a.start, tz)} · <StatusChip status={a.status} />
            </p>
            {CHECKIN_STATUSES.has(a.status) && (
              <>
                <p>Arrived at the clinic? Check in to get your queue number.</p>
                <button
                  class="btn block"
                  type="button"
                  disabled={busy !== null}
                  onClick={() => checkIn(a)}
                >
                  {busy === a.id ? "Checking in…" : "Check in"}
                </button>
              </>
            )}
          </article>
        );
      })}
    </section>
  );
}

export function TicketCard(props: { ticket: Ticket; compact?: boolean }) {
  const t = props.ticket;
  const feed = visitFeed.value;
  const synced = feed?.syncedAt.value ?? null;
  const live = feed?.state.value === "live";
  const tz = ticketZone.value ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const ahead = t.people_ahead ?? (typeof t.position === "number" ? t.position - 1 : null);
  return (
    <article class={`card ticket ${t.status}`} aria-labelledby="ticket-code">
      <p class="ticket-label">Your number</p>
      <p class="ticket-code mono" id="ticket-code">{t.code}</p>
      {t.status === "called" && (
        <div class="call-alert" role="alert">
          <p class="go">{t.room ? `Go to ${t.room}` : "Please go to the counter"}</p>
          {t.called_at && <p>Called at {timeIn(t.called_at, tz)}</p>}
        </div>
      )}
      {t.status === "waiting" && (
        <dl class="facts">
          <div>
            <dt>People ahead</dt>
            <dd>{ahead === 0 ? "You're next" : ahead ?? "—"}</dd>
          </div>
          <div>
            <dt>Estimated wait</dt>
            <dd>
              {typeof t.estimated_wait_minutes === "number"
                ? (ahead === 0 && t.estimated_wait_minutes < 1
                  ? "Any moment"
                  : minutesLabel(t.estimated_wait_minutes))
                : "—"}
            </dd>
          </div>
        </dl>
      )}
      {t.status === "serving" && (
        <p class="go">You are with the doctor{t.room ? ` in ${t.room}` : ""}.</p>
      )}
      {t.status === "completed" && <p>Your visit is complete. Thank you!</p>}
      {t.status === "no_show" && <p>You missed your call. Please see the front desk.</p>}
      {t.status === "cancelled" && <p>This ticket was cancelled. Please see the front desk.</p>}
      {!props.compact && (
        <p class="muted small" aria-live="off">
          {live ? "Live" : "Not live"}
          {synced ? ` · updated ${timeIn(synced + clockOffset.value, tz)}` : ""}
        </p>
      )}
    </article>
  );
}
