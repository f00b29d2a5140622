/** @jsxImportSource preact */
/** The patient PWA: layout, navigation and routes. */
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { match, navigate, onLinkClick, path } from "../lib/router.ts";
import { registerServiceWorker } from "../lib/pwa.ts";
import { PageTitle } from "../lib/ui.tsx";
import { Login, Signup, Unlock } from "./auth.tsx";
import { Book } from "./book.tsx";
import { AppointmentPage, Appointments } from "./appointments.tsx";
import { Home, Welcome } from "./home.tsx";
import { Notifications } from "./notifications.tsx";
import { forgetThisBrowser } from "./push_prompt.tsx";
import { Visit } from "./visit.tsx";
import { calledAlert, chooseClinic, session, unread, visitFeed } from "./store.ts";

const NAV: [string, string][] = [
  ["/", "Home"],
  ["/book", "Book"],
  ["/appointments", "Appointments"],
  ["/notifications", "Inbox"],
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
  // A staff account has no patient record: say where it belongs instead of failing requests.
  if (user && !user.patient_id && user.role && user.role !== "patient") return <StaffAccount />;
  if (p === "/") return user ? <Home /> : <Welcome />;
  if (!user) {
    const known = ["/book", "/appointments", "/visit", "/notifications"].some((r) => current(r, p));
    if (known) return <Redirect to={`/login?next=${encodeURIComponent(p + location.search)}`} />;
  }
  if (p === "/book") return <Book key={location.search} />;
  if (p === "/appointments") return <Appointments />;
  const appt = match("/appointments/:id", p);
  if (appt) return <AppointmentPage id={appt.id} />;
  if (p === "/visit") return <Visit />;
  if (p === "/notifications") return <Notifications />;
  return (
    <section class="narrow">
      <PageTitle>Page not found</PageTitle>
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </section>
  );
}

function StaffAccount() {
  return (
    <section class="narrow">
      <PageTitle>This is a staff account</PageTitle>
      <p>
        The patient app is for patients. Use the staff console for the clinic's queue and
        appointments, or sign out and log in with a patient account.
      </p>
      <a class="btn block" href="/staff">Open the staff console</a>
    </section>
  );
}

function CalledBanner() {
  const alert = calledAlert.value;
  if (!alert || path.value === "/visit") return null;
  return (
    <div class="called-banner" role="alert">
      <strong>{alert.code}</strong> —{" "}
      {alert.room ? `please go to ${alert.room}` : "it's your turn"}.{" "}
      <a href="/visit">Open my visit</a>
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
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="topbar">
        <a class="brand" href="/">
          <span aria-hidden="true" class="logo">✚</span> Clinic
        </a>
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
              Sign out
            </button>
          )
          : p !== "/login" && <a class="signin" href="/login">Log in</a>}
      </header>
      {user && (
        <nav class="tabbar" aria-label="Main">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={current(href, p) ? "page" : undefined}>
                  {label}
                  {href === "/notifications" && n > 0 && (
                    <>
                      {" "}
                      <span class="badge" aria-hidden="true">{n > 99 ? "99+" : n}</span>
                      <span class="visually-hidden">({n} unread)</span>
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
          Reconnecting… live updates are paused.
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
