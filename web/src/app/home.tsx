/** @jsxImportSource preact */
/** Home: a welcome for visitors; for patients, today's visit and what is next. */
import { useEffect, useState } from "preact/hooks";
import { serverNow } from "../lib/clock.ts";
import type { MyAppointment } from "../lib/endpoints.ts";
import { clinicLabel, longDate, timeIn } from "../lib/format.ts";
import { PageTitle, SavedCopy } from "../lib/ui.tsx";
import { clinicCode, myAppointments, session, ticket } from "./store.ts";
import { t } from "./messages.ts";
import { t as tl } from "../lib/messages.ts";
import { checkInOpens, TicketCard } from "./visit.tsx";

export function Welcome() {
  const code = clinicCode.value;
  return (
    <section class="narrow welcome">
      <PageTitle title={t("welcome.tab")}>{t("welcome.title")}</PageTitle>
      <p>{t("welcome.body")}</p>
      {code && <p class="muted">{t("welcome.clinic", { code })}</p>}
      <div class="stack">
        <a class="btn block" href="/signup">{t("createAccount")}</a>
        <a class="btn secondary block" href="/login">{t("logIn")}</a>
      </div>
    </section>
  );
}

export function Home() {
  const user = session.user.value;
  const today = ticket.value;
  // undefined: loading; "unknown": could not be loaded (never "no appointments" then).
  const [next, setNext] = useState<MyAppointment | null | undefined | "unknown">(undefined);
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
      <PageTitle title={t("nav.home")}>
        {name ? t("home.hello", { name }) : t("home.helloAnon")}
      </PageTitle>
      {today && today.status !== "completed" && today.status !== "cancelled" && (
        <section aria-labelledby="visit-now">
          <h2 id="visit-now">{t("home.visitToday")}</h2>
          <TicketCard ticket={today} compact />
          <a class="btn block" href="/visit">{t("openVisit")}</a>
        </section>
      )}
      <section aria-labelledby="next-appt">
        <h2 id="next-appt">{t("home.next")}</h2>
        {next === undefined && <p class="muted" role="status">{tl("loading")}</p>}
        <SavedCopy
          asOf={asOf}
          time={(at) => timeIn(at, Intl.DateTimeFormat().resolvedOptions().timeZone)}
        />
        {next === "unknown" && <p role="status">{t("home.cantLoad")}</p>}
        {next === null && <p>{t("home.none")}</p>}
        {next && next !== "unknown" && (
          <div class="card">
            <p class="big">
              {timeIn(next.start, next.timezone ?? "UTC")}
            </p>
            <p>{longDate(next.start, next.timezone ?? "UTC")}</p>
            <p>
              {next.doctor_name ?? t("doctor")}
              {next.clinic_name ? ` · ${clinicLabel(next.clinic_name, next.branch_name)}` : ""}
            </p>
            {next.appointment_number && (
              <p class="muted">
                {t("home.number")} <span class="mono">{next.appointment_number}</span>
              </p>
            )}
            {next.for_dependant && <p>{t("appts.for", { name: next.patient_name })}</p>}
            {!today && (checkInOpens(next)
              ? <p>{checkInOpens(next)}</p>
              : <a class="btn secondary" href="/visit">{t("home.checkInArrive")}</a>)}
          </div>
        )}
      </section>
      <a class="btn block" href="/book">{t("bookAppointment")}</a>
      <a class="btn secondary block" href="/family">{t("nav.family")}</a>
    </section>
  );
}
