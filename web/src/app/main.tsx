/** @jsxImportSource preact */
/** The patient PWA: layout, navigation and routes. */
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { match, navigate, onLinkClick, path } from "../lib/router.ts";
import { registerServiceWorker } from "../lib/pwa.ts";
import { PageTitle } from "../lib/ui.tsx";
import { Login, Signup, Unlock } from "./auth.tsx";
import { AcceptInvite, ConfirmEmail, ForgotPassword, ResetPassword } from "./account.tsx";
import { Book } from "./book.tsx";
import { AppointmentPage, Appointments } from "./appointments.tsx";
import { Home, Welcome } from "./home.tsx";
import { Notifications } from "./notifications.tsx";
import { forgetThisBrowser } from "./push_prompt.tsx";
import { Visit } from "./visit.tsx";
import { calledAlert, chooseClinic, session, unread, visitFeed } from "./store.ts";
import { type AppKey, t } from "./messages.ts";
import { Profile } from "./profile.tsx";
import { Family } from "./family.tsx";
import { t as tl } from "../lib/messages.ts";

const NAV: [string, AppKey][] = [
  ["/", "nav.home"],
  ["/book", "nav.book"],
  ["/appointments", "nav.appointments"],
  ["/notifications", "nav.inbox"],
];

function current(href: string, p: string): boolean {
  return href === "/" ? p === "/" : p === href || p.startsWith(`${href}/`);
}

function ClinicLink(props: { code: string; to: string }) {
  useEffect(() => {
    chooseClinic(props.code);
    navigate(props.to, { replace: true });
  }, [props.code]);
  return null;
}

function Redirect(props: { to: string }) {
  useEffect(() => navigate(props.to, { replace: true }), [props.to]);
  return null;
}

function Route() {
  const p = path.value;
  const user = session.user.value;
  const clinic = match("/c/:code", p);
  if (clinic) return <ClinicLink code={clinic.code} to={user ? "/book" : "/signup"} />;
  if (p === "/login") return user ? <Redirect to="/" /> : <Login />;
  if (p === "/signup") return user ? <Redirect to="/book" /> : <Signup />;
  if (p === "/unlock") return <Unlock />;
  if (p === "/forgot-password") return user ? <Redirect to="/profile" /> : <ForgotPassword />;
  if (p === "/reset-password") return <ResetPassword />;
  if (p === "/confirm-email") return <ConfirmEmail />;
  if (p === "/accept-invite") return <AcceptInvite />;
  // A staff account has no patient record: say where it belongs instead of failing requests.
  if (user && !user.patient_id && user.role && user.role !== "patient") return <StaffAccount />;
  if (p === "/") return user ? <Home /> : <Welcome />;
  if (!user) {
    const pages = ["/book", "/appointments", "/visit", "/notifications", "/profile", "/family"];
    const known = pages.some((r) => current(r, p));
    if (known) return <Redirect to={`/login?next=${encodeURIComponent(p + location.search)}`} />;
  }
  if (p === "/book") return <Book key={location.search} />;
  if (p === "/appointments") return <Appointments />;
  const appt = match("/appointments/:id", p);
  if (appt) return <AppointmentPage id={appt.id} />;
  if (p === "/visit") return <Visit />;
  if (p === "/notifications") return <Notifications />;
  if (p === "/profile") return <Profile />;
  if (p === "/family") return <Family />;
  return (
    <section class="narrow">
      <PageTitle>{t("notFound.title")}</PageTitle>
      <p>
        <a href="/">{t("notFound.home")}</a>
      </p>
    </section>
  );
}

function StaffAccount() {
  return (
    <section class="narrow">
      <PageTitle>{t("staff.title")}</PageTitle>
      <p>{t("staff.body")}</p>
      <a class="btn block" href="/staff">{t("staff.open")}</a>
    </section>
  );
}

function CalledBanner() {
  const alert = calledAlert.value;
  if (!alert || path.value === "/visit") return null;
  return (
    <div class="called-banner" role="alert">
      <strong>{alert.code}</strong> —{" "}
      {alert.room ? t("called.goTo", { room: alert.room }) : t("called.yourTurn")}{" "}
      <a href="/visit">{t("openVisit")}</a>
    </div>
  );
}

function App() {
  const user = session.user.value;
  const p = path.value;
  const n = unread.value;
  const feed = visitFeed.value;
  // Pages with live data say so themselves (LinkBanner); elsewhere one line under the header.
  const down = user && feed && feed.state.value === "reconnecting" &&
    p !== "/visit" && p !== "/notifications";
  return (
    <div class="app" onClick={onLinkClick} data-link={feed?.state.value ?? "none"}>
      <a class="skip-link" href="#main">{t("skip")}</a>
      <header class="topbar">
        <a class="brand" href="/">
          <span aria-hidden="true" class="logo">✚</span> {tl("app.name")}
        </a>
        {user && (
          <a
            class="signin"
            href="/profile"
            aria-current={current("/profile", p) ? "page" : undefined}
          >
            {t("nav.profile")}
          </a>
        )}
        {user
          ? (
            <button
              class="btn link signout"
              type="button"
              onClick={async () => {
                await forgetThisBrowser().catch(() => {});
                await session.logout();
                navigate("/", { replace: true });
              }}
            >
              {t("signOut")}
            </button>
          )
          : p !== "/login" && <a class="signin" href="/login">{t("logIn")}</a>}
      </header>
      {user && (
        <nav class="tabbar" aria-label={t("nav.label")}>
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={current(href, p) ? "page" : undefined}>
                  {t(label)}
                  {href === "/notifications" && n > 0 && (
                    <>
                      {" "}
                      <span class="badge" aria-hidden="true">{n > 99 ? "99+" : n}</span>
                      <span class="visually-hidden">{t("unreadCount", { n })}</span>
                    </>
                  )}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {down && (
        <div class="link-state" role="status">
          {t("reconnecting")}
        </div>
      )}
      <CalledBanner />
      <main id="main" tabIndex={-1}>
        <Route />
      </main>
    </div>
  );
}

const root = document.getElementById("root")!;
root.textContent = ""; // drop the no-JS fallback
render(<App />, root);
registerServiceWorker();
