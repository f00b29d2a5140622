/** @jsxImportSource preact */
/** A walk-in: nameless, a patient found by name / number / phone, or a new patient. */
import { useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { GENDERS, type PatientSummary, staff } from "../lib/endpoints.ts";
import { SelectField, TextField } from "../lib/ui.tsx";
import { NO_PERSON, type PersonForm, searchTerm, walkInRequest, type WalkInWho } from "./state.ts";
import { info, run, say, session } from "./store.ts";

export function WalkIn(props: { code: string }) {
  const [doc, setDoc] = useState("");
  const [priority, setPriority] = useState("0");
  const [who, setWho] = useState<WalkInWho>("none");
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
    const term = searchTerm(q);
    if (who !== "find" || !term) return;
    let live = true;
    const t = setTimeout(() => {
      staff.patients(session, props.code, term).then((list) => live && setFound(list))
        .catch((e) => live && say("error", `Search: ${messageOf(e)}`));
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [who, q]);
  const field = (key: keyof PersonForm) => (e: Event) =>
    setPerson({ ...person, [key]: (e.currentTarget as HTMLInputElement).value });
  async function submit(e: Event) {
    e.preventDefault();
    const request = walkInRequest({ who, doctorId: doc, priority, picked, found, person });
    if ("error" in request) return say("error", request.error);
    setBusy(true);
    await run("Walk-in", async () => {
      const t = await staff.walkIn(session, props.code, request.body);
      const name = request.name;
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
          onChange={(e) => setWho(e.currentTarget.value as WalkInWho)}
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
