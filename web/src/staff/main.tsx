/** @jsxImportSource preact */
/**
 * The staff console, `/staff`: today's appointments and the live queue of the clinic — call
 * next per room, recall, start, complete, no-show, cancel, staff check-in, walk-ins (nameless,
 * a patient found by name / number / phone, or a new patient registered with the ticket), and
 * a TV board link. Changes by other staff arrive live (realtime → debounced refetch of the truth).
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { batch, effect, signal } from "@preact/signals";
import { ApiError, messageOf } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import { waitForConfig } from "../lib/config.ts";
import {
  type ClinicInfo,
  clinics,
  type DayAppointment,
  GENDERS,
  type PatientSummary,
  staff,
  type StaffTicket,
  type TicketAction,
} from "../lib/endpoints.ts";
import { localDay, timeIn } from "../lib/format.ts";
import { type ClientLike, createClient, debounce, type Feed, openFeed } from "../lib/live.ts";
import { registerServiceWorker } from "../lib/pwa.ts";
import { createSession, NOT_SIGNED_IN } from "../lib/session.ts";
import { LinkBanner, Notice, PageTitle, SelectField, StatusChip, TextField } from "../lib/ui.tsx";

const session = createSession("clinic.staff.session");
const STAFF_ROLES = new Set(["doctor", "nurse", "staff", "admin", "superadmin"]);

const info = signal<ClinicInfo | null>(null);
const tickets = signal<StaffTicket[] | null>(null);
const appointments = signal<DayAppointment[] | null>(null);
const feed = signal<Feed | null>(null);
const flash = signal<{ kind: "success" | "error" | "info"; text: string } | null>(null);
const room = signal(localStorage.getItem("clinic.staff.room") ?? "Room 1");
const doctor = signal(localStorage.getItem("clinic.staff.doctor") ?? "");

effect(() => localStorage.setItem("clinic.staff.room", room.value));
effect(() => localStorage.setItem("clinic.staff.doctor", doctor.value));

const tz = () => info.value?.clinic.timezone ?? "UTC";

async function loadAll(code: string) {
  const [t, a] = await Promise.all([
    staff.tickets(session, code),
    staff.appointments(session, code, localDay(serverNow(), tz())),
  ]);
  batch(() => {
    tickets.value = t;
    appointments.value = a.appointments;
  });
}

let client: ClientLike | null = null;
let scope = 0;
async function connect(code: string) {
  const myScope = ++scope;
  const clinic = await clinics.get(code);
  if (myScope !== scope) return;
  info.value = clinic;
  const config = await waitForConfig({ cancelled: () => myScope !== scope });
  if (!config) return;
  client = createClient(config.anon_key, () => session.token());
  const clinicId = clinic.clinic.id;
  const reload = debounce(() => void loadAll(code).catch(() => {}), 250);
  feed.value = openFeed({
    client,
    topic: `staff:${clinicId}`,
    changes: [
      { table: "queue_tickets", filter: `clinic_id=eq.${clinicId}` },
      { table: "appointments", filter: `clinic_id=eq.${clinicId}` },
    ],
    refreshMs: 60_000,
    snapshot: () => loadAll(code),
    onChange: () => {
      if (myScope === scope) reload();
    },
  });
}

async function disconnect() {
  scope++;
  const f = feed.value;
  const c = client;
  client = null;
  batch(() => {
    feed.value = null;
    tickets.value = null;
    appointments.value = null;
    info.value = null;
  });
  await f?.close();
  await (c as unknown as { disconnect?(): Promise<unknown> } | null)?.disconnect?.();
}

let active: string | null = null;
effect(() => {
  const user = session.user.value;
  const key = user && user.clinic_code && STAFF_ROLES.has(user.role ?? "")
    ? `${user.id}:${user.clinic_code}`
    : null;
  if (key === active) return;
  active = key;
  void disconnect().then(() => {
    if (key && user?.clinic_code) void connect(user.clinic_code).catch(() => {});
  });
});

effect(() => {
  if (session.current.value?.access_token && client) void client.setAuth().catch(() => {});
});

function say(kind: "success" | "error" | "info", text: string) {
  flash.value = { kind, text };
}

async function run(label: string, fn: () => Promise<unknown>) {
  try {
    await fn();
    const code = session.user.value?.clinic_code;
    if (code) await loadAll(code).catch(() => {});
  } catch (e) {
    say("error", `${label}: ${messageOf(e)}`);
  }
}

// ---------------------------------------------------------------------------------------

function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await session.login(email.trim(), password, code.trim().toUpperCase() || undefined);
      if (!STAFF_ROLES.has(s.user.role ?? "")) {
        await session.logout();
        setError("This console is for clinic staff. Patients: use the app at /.");
      }
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? NOT_SIGNED_IN : messageOf(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="login">
      <PageTitle suffix="Staff">Staff console</PageTitle>
      {error && <Notice kind="error">{error}</Notice>}
      <form onSubmit={submit}>
        <TextField
          id="email"
          label="Email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <TextField
          id="password"
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <TextField
          id="clinic"
          label="Clinic code (if you work at several)"
          autoCapitalize="characters"
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        <button class="btn block" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

function CallNext(props: { code: string }) {
  const [busy, setBusy] = useState(false);
  const doctors = info.value?.doctors ?? [];
  async function callNext() {
    if (busy || !room.value.trim()) return;
    setBusy(true);
    try {
      const t = await staff.callNext(
        session,
        props.code,
        room.value.trim(),
        doctor.value || undefined,
      );
      say("success", `Called ${t.code} to ${t.room ?? room.value}.`);
      await loadAll(props.code).catch(() => {});
    } catch (e) {
      if (e instanceof ApiError && e.code === "queue_empty") say("info", "Nobody is waiting.");
      else say("error", `Call next: ${messageOf(e)}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="panel call" aria-labelledby="call-h">
      <h2 id="call-h">Call next</h2>
      <div class="call-row">
        <TextField
          id="room"
          label="Room"
          value={room.value}
          onInput={(e) => (room.value = e.currentTarget.value)}
        />
        <SelectField
          id="doctor"
          label="Doctor"
          value={doctor.value}
          onChange={(e) => (doctor.value = e.currentTarget.value)}
        >
          <option value="">Room's doctor / any</option>
          {doctors.map((d) => <option key={d.id} value={d.id}>{d.display_name}</option>)}
        </SelectField>
        <button
          class="btn call-btn"
          type="button"
          onClick={callNext}
          disabled={busy}
          data-testid="call-next"
        >
          {busy ? "Calling…" : `Call next to ${room.value || "room"}`}
        </button>
      </div>
    </section>
  );
}

const ACTIONS: Record<string, [TicketAction, string][]> = {
  called: [["recall", "Recall"], ["start", "Start"], ["no-show", "No-show"]],
  serving: [["complete", "Complete"]],
  waiting: [["cancel", "Cancel"]],
  no_show: [["recall", "Recall"]],
};

function TicketRow(props: { t: StaffTicket }) {
  const t = props.t;
  const [busy, setBusy] = useState(false);
  const zone = tz();
  const waited = t.checked_in_at
    ? Math.max(0, Math.round((serverNow() - Date.parse(t.checked_in_at)) / 60_000))
    : null;
  return (
    <tr>
      <th scope="row" class="code">{t.code}</th>
      <td>
        {t.patient_name ?? <span class="muted">Walk-in</span>}
        {t.priority ? <span class="status warn">Priority {t.priority}</span> : null}
      </td>
      <td>{t.doctor_name ?? "Any"}</td>
      <td>
        <StatusChip status={t.status} /> {t.room ?? ""}
      </td>
      <td>
        {t.status === "waiting"
          ? (waited !== null ? `${waited} min` : "")
          : t.called_at
          ? timeIn(t.called_at, zone)
          : ""}
      </td>
      <td class="actions">
        {(ACTIONS[t.status] ?? []).map(([action, label]) => (
          <button
            key={action}
            type="button"
            class={`btn small ${action === "start" || action === "complete" ? "" : "secondary"}`}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              await run(`${label} ${t.code}`, () => staff.act(session, t.id, action));
              setBusy(false);
            }}
          >
            {label}
            <span class="visually-hidden">{` ${t.code}`}</span>
          </button>
        ))}
      </td>
    </tr>
  );
}

function TicketTable(props: { caption: string; list: StaffTicket[]; empty: string }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={props.caption}>
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Ticket</th>
            <th scope="col">Patient</th>
            <th scope="col">Doctor</th>
            <th scope="col">Status</th>
            <th scope="col">Waited / called</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.list.map((t) => <TicketRow key={t.id} t={t} />)}
          {props.list.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">{props.empty}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function Queue() {
  const list = tickets.value;
  if (!list) return <p role="status" class="muted">Loading the queue…</p>;
  const now = list.filter((t) => t.status === "called" || t.status === "serving");
  const waiting = list.filter((t) => t.status === "waiting");
  const done = list.filter((t) => !["called", "serving", "waiting"].includes(t.status)).slice(
    0,
    10,
  );
  return (
    <section class="panel" aria-labelledby="queue-h">
      <h2 id="queue-h">
        Live queue <span class="muted count">{waiting.length} waiting</span>
      </h2>
      <TicketTable caption="Called and in consultation" list={now} empty="No one called." />
      <TicketTable caption="Waiting, in call order" list={waiting} empty="No one waiting." />
      <details>
        <summary>Finished today ({done.length})</summary>
        <TicketTable caption="Finished" list={done} empty="Nothing yet." />
      </details>
    </section>
  );
}

function Appointments() {
  const list = appointments.value;
  const zone = tz();
  const [busy, setBusy] = useState<string | null>(null);
  if (!list) return <p role="status" class="muted">Loading appointments…</p>;
  return (
    <section class="panel" aria-labelledby="appts-h">
      <h2 id="appts-h">Today's appointments</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="appts-h">
        <table>
          <caption class="visually-hidden">Today's appointments</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Patient</th>
              <th scope="col">Doctor</th>
              <th scope="col">Status</th>
              <th scope="col">Number</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id}>
                <th scope="row">{a.local_time ?? timeIn(a.start, zone)}</th>
                <td>{a.patient_name}</td>
                <td>{a.doctor_name ?? ""}</td>
                <td>
                  <StatusChip status={a.status} />
                </td>
                <td class="mono">{a.appointment_number}</td>
                <td>
                  {(a.status === "scheduled" || a.status === "confirmed") && (
                    <button
                      type="button"
                      class="btn small secondary"
                      disabled={busy === a.id}
                      onClick={async () => {
                        setBusy(a.id);
                        await run(`Check in ${a.patient_name}`, async () => {
                          const t = await staff.checkIn(session, a.id);
                          say("success", `${a.patient_name} checked in: ticket ${t.code}.`);
                        });
                        setBusy(null);
                      }}
                    >
                      Check in<span class="visually-hidden">{` ${a.patient_name}`}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {list.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">No appointments today.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

const NO_PERSON = { full_name: "", date_of_birth: "", gender: "", phone: "" };

/** A walk-in: nameless, a patient found by name / number / phone, or a new patient. */
function WalkIn(props: { code: string }) {
  const [doc, setDoc] = useState("");
  const [priority, setPriority] = useState("0");
  const [who, setWho] = useState<"none" | "find" | "new">("none");
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<PatientSummary[] | null>(null);
  const [picked, setPicked] = useState("");
  const [person, setPerson] = useState(NO_PERSON);
  const [busy, setBusy] = useState(false);
  const doctors = info.value?.doctors ?? [];
  const q = query.trim();
  useEffect(() => {
    setFound(null);
    setPicked("");
    if (who !== "find" || q.length < 2) return;
    let live = true;
    const t = setTimeout(() => {
      staff.patients(session, props.code, q).then((list) => live && setFound(list))
        .catch((e) => live && say("error", `Search: ${messageOf(e)}`));
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [who, q]);
  const field = (key: keyof typeof NO_PERSON) => (e: Event) =>
    setPerson({ ...person, [key]: (e.currentTarget as HTMLInputElement).value });
  async function submit(e: Event) {
    e.preventDefault();
    if (who === "find" && !picked) return say("error", "Walk-in: choose the patient first.");
    const phone = person.phone.trim();
    setBusy(true);
    await run("Walk-in", async () => {
      const t = await staff.walkIn(session, props.code, {
        ...(doc ? { doctor_id: doc } : {}),
        ...(who === "find" ? { patient_id: picked } : {}),
        ...(who === "new" ? { patient: { ...person, phone: phone || undefined } } : {}),
        priority: Number(priority),
      });
      const name = who === "find"
        ? found?.find((p) => p.id === picked)?.full_name
        : who === "new"
        ? person.full_name.trim()
        : undefined;
      say("success", `Walk-in registered: ticket ${t.code}${name ? ` for ${name}` : ""}.`);
      setQuery("");
      setPerson(NO_PERSON);
    });
    setBusy(false);
  }
  return (
    <section class="panel" aria-labelledby="walkin-h">
      <h2 id="walkin-h">Register a walk-in</h2>
      <form onSubmit={submit} class="walkin">
        <SelectField
          id="walkin-who"
          label="Patient"
          value={who}
          onChange={(e) => setWho(e.currentTarget.value as typeof who)}
        >
          <option value="none">No name (ticket only)</option>
          <option value="find">Find a patient of the clinic</option>
          <option value="new">New patient</option>
        </SelectField>
        {who === "find" && (
          <>
            <TextField
              id="walkin-search"
              label="Name, patient number or phone"
              type="search"
              autoComplete="off"
              value={query}
              onInput={(e) => setQuery(e.currentTarget.value)}
            />
            {found && (
              <fieldset class="walkin-found">
                <legend>{found.length ? "Choose the patient" : "No patient matches"}</legend>
                {found.map((p) => (
                  <label key={p.id}>
                    <input
                      type="radio"
                      name="walkin-patient"
                      value={p.id}
                      checked={picked === p.id}
                      onChange={() => setPicked(p.id)}
                    />
                    <span>
                      {p.full_name} <span class="mono">{p.patient_number}</span>{" "}
                      <span class="muted">{p.date_of_birth}</span>
                    </span>
                  </label>
                ))}
              </fieldset>
            )}
          </>
        )}
        {who === "new" && (
          <>
            <TextField
              id="walkin-name"
              label="Full name"
              required
              autoComplete="off"
              value={person.full_name}
              onInput={field("full_name")}
            />
            <TextField
              id="walkin-dob"
              label="Date of birth"
              type="date"
              required
              value={person.date_of_birth}
              onInput={field("date_of_birth")}
            />
            <SelectField
              id="walkin-gender"
              label="Gender"
              required
              value={person.gender}
              onChange={field("gender")}
            >
              <option value="">Choose…</option>
              {GENDERS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
            </SelectField>
            <TextField
              id="walkin-phone"
              label="Mobile phone (optional)"
              type="tel"
              autoComplete="off"
              value={person.phone}
              onInput={field("phone")}
            />
          </>
        )}
        <SelectField
          id="walkin-doctor"
          label="Doctor"
          value={doc}
          onChange={(e) => setDoc(e.currentTarget.value)}
        >
          <option value="">Any doctor</option>
          {doctors.map((d) => <option key={d.id} value={d.id}>{d.display_name}</option>)}
        </SelectField>
        <SelectField
          id="walkin-priority"
          label="Priority"
          value={priority}
          onChange={(e) => setPriority(e.currentTarget.value)}
        >
          <option value="0">Normal</option>
          <option value="3">Elderly / pregnant</option>
          <option value="6">Urgent</option>
        </SelectField>
        <button class="btn" type="submit" disabled={busy}>
          {busy ? "Registering…" : "Issue walk-in ticket"}
        </button>
      </form>
    </section>
  );
}

function BoardLink(props: { code: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function create() {
    setBusy(true);
    await run("Board link", async () => {
      const res = await staff.boardToken(
        session,
        props.code,
        `TV ${new Date().toLocaleDateString()}`,
      );
      setUrl(`${location.origin}/board/${encodeURIComponent(props.code)}#token=${res.token}`);
    });
    setBusy(false);
  }
  return (
    <section class="panel" aria-labelledby="board-h">
      <h2 id="board-h">Waiting-room TV</h2>
      <p class="muted">
        Create a link, open it once on the TV; it keeps working (no sign-in, no patient names).
      </p>
      <button class="btn secondary" type="button" onClick={create} disabled={busy}>
        Create TV board link
      </button>
      {url && (
        <div class="field board-url">
          <label for="board-url">Board link (keep it private)</label>
          <input id="board-url" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
          <a href={url} target="_blank" rel="noopener">Open the board</a>
        </div>
      )}
    </section>
  );
}

function Console() {
  const user = session.user.value!;
  const code = user.clinic_code!;
  const message = flash.value;
  useEffect(() => {
    if (!message) return;
    const t = setTimeout(() => (flash.value = null), 8000);
    return () => clearTimeout(t);
  }, [message]);
  return (
    <>
      <header class="staff-head">
        <div>
          <span class="brand">✚ {info.value?.clinic.name ?? code}</span>
          <span class="muted-on-primary">{user.full_name} · {user.role}</span>
        </div>
        <button class="btn link" type="button" onClick={() => session.logout()}>Sign out</button>
      </header>
      <LinkBanner feed={feed.value} />
      <main id="main" class="console" data-link={feed.value?.state.value ?? "connecting"}>
        <PageTitle suffix="Staff" title="Queue">
          Today at {info.value?.clinic.name ?? code}
        </PageTitle>
        <div aria-live="polite" class="flash-area">
          {message && <Notice kind={message.kind}>{message.text}</Notice>}
        </div>
        <div class="grid">
          <div class="col-main">
            <CallNext code={code} />
            <Queue />
          </div>
          <div class="col-side">
            <WalkIn code={code} />
            <BoardLink code={code} />
          </div>
        </div>
        <Appointments />
      </main>
    </>
  );
}

function App() {
  const user = session.user.value;
  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      {user && STAFF_ROLES.has(user.role ?? "") && user.clinic_code ? <Console /> : <Login />}
    </>
  );
}

const root = document.getElementById("root")!;
root.textContent = ""; // drop the no-JS fallback
render(<App />, root);
registerServiceWorker();
