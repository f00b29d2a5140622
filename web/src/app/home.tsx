/** @jsxImportSource preact */
/** Home: a welcome for visitors; for patients, today's visit and what is next. */
import { useEffect, useState } from "preact/hooks";
import { serverNow } from "../lib/clock.ts";
import type { Appointment } from "../lib/endpoints.ts";
import { clinicLabel, longDate, timeIn } from "../lib/format.ts";
import { PageTitle, SavedCopy } from "../lib/ui.tsx";
import { clinicCode, myAppointments, session, ticket } from "./store.ts";
import { checkInOpens, TicketCard } from "./visit.tsx";

export function Welcome() {
  const code = clinicCode.value;
  return (
    <section class="narrow welcome">
      <PageTitle title="Welcome">Book your clinic visit and skip the waiting room</PageTitle>
      <p>
        Book an appointment, check in from your phone when you arrive and follow your place in the
        queue live — we'll tell you when it's your turn.
      </p>
      {code && <p class="muted">Clinic: {code}</p>}
      <div class="stack">
        <a class="btn block" href="/signup">Create an account</a>
        <a class="btn secondary block" href="/login">Log in</a>
      </div>
    </section>
  );
}

export function Home() {
  const user = session.user.value;
  const t = ticket.value;
  // undefined: loading; "unknown": could not be loaded (never "no appointments" then).
  const [next, setNext] = useState<Appointment | null | undefined | "unknown">(undefined);
  const [asOf, setAsOf] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    myAppointments().then(({ data: list, asOf }) => {
      if (!live) return;
      setAsOf(asOf);
      const now = serverNow();
      const upcoming = list.upcoming
        .filter((a) =>
          Date.parse(a.end) > now && (a.status === "scheduled" || a.status === "confirmed" ||
            a.status === "checked_in")
        )
        .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
      setNext(upcoming[0] ?? null);
    }).catch(() => live && setNext("unknown"));
    return () => {
      live = false;
    };
  }, []);
  // The whole name as the patient gave it: "Lim Mei Ling" is not "Lim" (family name first).
  const name = user?.full_name?.trim();
  return (
    <section class="narrow">
      <PageTitle title="Home">{name ? `Hello, ${name}` : "Hello"}</PageTitle>
      {t && t.status !== "completed" && t.status !== "cancelled" && (
        <section aria-labelledby="visit-now">
          <h2 id="visit-now">Your visit today</h2>
          <TicketCard ticket={t} compact />
          <a class="btn block" href="/visit">Open my visit</a>
        </section>
      )}
      <section aria-labelledby="next-appt">
        <h2 id="next-appt">Next appointment</h2>
        {next === undefined && <p class="muted" role="status">Loading…</p>}
        <SavedCopy
          asOf={asOf}
          time={(at) => timeIn(at, Intl.DateTimeFormat().resolvedOptions().timeZone)}
        />
        {next === "unknown" && (
          <p role="status">
            Your appointments can't be loaded right now. Check your connection and try again.
          </p>
        )}
        {next === null && <p>You have no upcoming appointments.</p>}
        {next && next !== "unknown" && (
          <div class="card">
            <p class="big">
              {timeIn(next.start, next.timezone ?? "UTC")}
            </p>
            <p>{longDate(next.start, next.timezone ?? "UTC")}</p>
            <p>
              {next.doctor_name ?? "Doctor"}
              {next.clinic_name ? ` · ${clinicLabel(next.clinic_name, next.branch_name)}` : ""}
            </p>
            {next.appointment_number && (
              <p class="muted">
                Number <span class="mono">{next.appointment_number}</span>
              </p>
            )}
            {!t && (checkInOpens(next)
              ? <p>{checkInOpens(next)}</p>
              : <a class="btn secondary" href="/visit">Check in when you arrive</a>)}
          </div>
        )}
      </section>
      <a class="btn block" href="/book">Book an appointment</a>
    </section>
  );
}
