/** @jsxImportSource preact */
/**
 * A walk-in: nameless, a patient found by name / number / phone, or a new patient. The form
 * starts afresh after every ticket (normal priority, any doctor); a new patient who looks
 * registered already (409 `possible_duplicate`) is shown with the likely matches first. The
 * patient picked in the search shows who looks after them, where the desk links and unlinks
 * guardians.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../lib/api.ts";
import {
  GENDERS,
  type PatientSummary,
  staff,
  type WalkIn as WalkInBody,
} from "../lib/endpoints.ts";
import { t as tl } from "../lib/messages.ts";
import { Notice, SelectField, TextField } from "../lib/ui.tsx";
import {
  duplicatesOf,
  NEW_WALK_IN,
  patientHint,
  type PersonForm,
  PRIORITIES,
  priorityName,
  walkInRequest,
  type WalkInWho,
} from "./state.ts";
import { Guardians } from "./guardians.tsx";
import { PatientChoices, usePatientSearch } from "./patient_search.tsx";
import { t } from "./messages.ts";
import { info, run, say, session } from "./store.ts";

export function WalkIn(props: { code: string }) {
  const [doc, setDoc] = useState(NEW_WALK_IN.doctorId);
  const [priority, setPriority] = useState(NEW_WALK_IN.priority);
  const [who, setWho] = useState<WalkInWho>(NEW_WALK_IN.who);
  const [query, setQuery] = useState("");
  const [found, setFound] = usePatientSearch(props.code, who === "find" ? query : "");
  const [picked, setPicked] = useState("");
  const [person, setPerson] = useState(NEW_WALK_IN.person);
  const [smsConsent, setSmsConsent] = useState(NEW_WALK_IN.smsConsent);
  const [dupes, setDupes] = useState<PatientSummary[]>([]);
  const [busy, setBusy] = useState(false);
  function reset() {
    setDoc(NEW_WALK_IN.doctorId);
    setPriority(NEW_WALK_IN.priority);
    setWho(NEW_WALK_IN.who);
    setQuery("");
    setPerson(NEW_WALK_IN.person);
    setSmsConsent(NEW_WALK_IN.smsConsent);
    setDupes([]);
  }
  const doctors = info.value?.doctors ?? [];
  const pickedPatient = who === "find" ? found?.find((p) => p.id === picked) : undefined;
  // Another search, or none: what was picked from the last one no longer shows.
  useEffect(() => setPicked(""), [who, query.trim()]);
  const field = (key: keyof PersonForm) => (e: Event) => {
    setDupes([]);
    setPerson({ ...person, [key]: (e.currentTarget as HTMLInputElement).value });
  };
  async function issue(body: WalkInBody, name?: string) {
    setBusy(true);
    await run(t("walkIn.action"), async () => {
      try {
        const ticket = await staff.walkIn(session, props.code, body);
        const vars = {
          code: ticket.code,
          name: name ?? "",
          priority: priorityName(ticket.priority),
        };
        const key = name
          ? (ticket.priority ? "walkIn.issuedForPriority" : "walkIn.issuedFor")
          : (ticket.priority ? "walkIn.issuedPriority" : "walkIn.issued");
        say("success", t(key, vars));
        reset();
      } catch (e) {
        if (!(e instanceof ApiError && e.code === "possible_duplicate")) throw e;
        setDupes(duplicatesOf(e.details));
      }
    });
    setBusy(false);
  }
  /** The form as the desk has filled it in. */
  const filled = () => ({ who, doctorId: doc, priority, picked, found, person, smsConsent });
  function submit(e: Event) {
    e.preventDefault();
    const request = walkInRequest(filled());
    if ("error" in request) return say("error", request.error);
    issue(request.body, request.name);
  }
  /** The desk chose a registered patient over registering the same person again. */
  function pickExisting(p: PatientSummary) {
    const request = walkInRequest(filled());
    if ("error" in request) return;
    const { patient: _new, ...rest } = request.body;
    issue({ ...rest, patient_id: p.id }, p.full_name);
  }
  function registerAnyway() {
    const request = walkInRequest(filled());
    if ("error" in request) return;
    issue({ ...request.body, confirm_new: true }, request.name);
  }
  return (
    <section class="panel" aria-labelledby="walkin-h">
      <h2 id="walkin-h">{t("walkIn.title")}</h2>
      <form onSubmit={submit} class="walkin">
        <SelectField
          id="walkin-who"
          label={t("walkIn.patient")}
          value={who}
          onChange={(e) => {
            setDupes([]);
            setWho(e.currentTarget.value as WalkInWho);
          }}
        >
          <option value="none">{t("walkIn.none")}</option>
          <option value="find">{t("walkIn.find")}</option>
          <option value="new">{t("walkIn.new")}</option>
        </SelectField>
        {who === "find" && (
          <>
            <TextField
              id="walkin-search"
              label={t("walkIn.search")}
              type="search"
              autoComplete="off"
              value={query}
              onInput={(e) => setQuery(e.currentTarget.value)}
            />
            {found && (
              <PatientChoices
                name="walkin-patient"
                found={found}
                legend={found.length ? t("walkIn.choose") : t("walkIn.noMatch")}
                picked={picked}
                onPick={(p) => setPicked(p.id)}
              />
            )}
          </>
        )}
        {who === "new" && (
          <>
            <TextField
              id="walkin-name"
              label={t("walkIn.fullName")}
              required
              autoComplete="off"
              value={person.full_name}
              onInput={field("full_name")}
            />
            <TextField
              id="walkin-dob"
              label={t("walkIn.dob")}
              type="date"
              required
              value={person.date_of_birth}
              onInput={field("date_of_birth")}
            />
            <SelectField
              id="walkin-gender"
              label={t("walkIn.gender")}
              required
              value={person.gender}
              onChange={field("gender")}
            >
              <option value="">{t("walkIn.chooseOption")}</option>
              {GENDERS.map((g) => <option key={g} value={g}>{tl(`gender.${g}`)}</option>)}
            </SelectField>
            <TextField
              id="walkin-phone"
              label={t("walkIn.phone")}
              type="tel"
              autoComplete="off"
              value={person.phone}
              onInput={field("phone")}
            />
            <label class="walkin-consent">
              <input
                type="checkbox"
                id="walkin-sms"
                checked={smsConsent}
                onChange={(e) => setSmsConsent(e.currentTarget.checked)}
              />
              <span>{t("walkIn.smsConsent")}</span>
            </label>
          </>
        )}
        <SelectField
          id="walkin-doctor"
          label={t("walkIn.doctor")}
          value={doc}
          onChange={(e) => setDoc(e.currentTarget.value)}
        >
          <option value="">{t("walkIn.anyDoctor")}</option>
          {doctors.map((d) => <option key={d.id} value={d.id}>{d.display_name}</option>)}
        </SelectField>
        <SelectField
          id="walkin-priority"
          label={t("walkIn.priority")}
          value={priority}
          onChange={(e) => setPriority(e.currentTarget.value)}
        >
          {PRIORITIES.map((p) => <option key={p} value={p}>{priorityName(Number(p))}</option>)}
        </SelectField>
        {dupes.length > 0 && (
          <div class="walkin-dupes" data-testid="walkin-duplicates">
            <Notice kind="warning">
              {t.plural("walkIn.dupe", dupes.length)}
            </Notice>
            <ul>
              {dupes.map((p) => (
                <li key={p.id}>
                  <span>
                    {p.full_name} <span class="muted">{patientHint(p)}</span>
                  </span>
                  <button
                    class="btn small"
                    type="button"
                    disabled={busy}
                    onClick={() => pickExisting(p)}
                  >
                    {t("walkIn.useThis")}
                    <span class="visually-hidden">{` ${p.patient_number}`}</span>
                  </button>
                </li>
              ))}
            </ul>
            <button
              class="btn secondary small"
              type="button"
              disabled={busy}
              onClick={registerAnyway}
            >
              {t("walkIn.registerAnyway")}
            </button>
          </div>
        )}
        <button class="btn" type="submit" disabled={busy}>
          {busy ? t("walkIn.busy") : t("walkIn.submit")}
        </button>
      </form>
      {pickedPatient && (
        <Guardians
          code={props.code}
          patient={pickedPatient}
          onChange={(guardians) =>
            setFound((list) =>
              list?.map((p) => (p.id === pickedPatient.id ? { ...p, guardians } : p)) ?? null
            )}
        />
      )}
    </section>
  );
}
