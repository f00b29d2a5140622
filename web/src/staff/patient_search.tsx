/** @jsxImportSource preact */
/**
 * Finding a registered patient at the desk, shared by the walk-in and the phone booking: the
 * search runs a quarter second after the typing stops, and the matches are offered as radio
 * buttons with what tells namesakes apart (number, masked contact, who looks after them).
 */
import { useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { type PatientSummary, staff } from "../lib/endpoints.ts";
import { guardianHint, patientHint, searchTerm } from "./state.ts";
import { t } from "./messages.ts";
import { say, session } from "./store.ts";

/**
 * The patients matching `query` (null while there is nothing, or nothing yet, to show), and a
 * setter for when the desk changes one of them (its guardians).
 */
export function usePatientSearch(code: string, query: string) {
  const [found, setFound] = useState<PatientSummary[] | null>(null);
  const q = query.trim();
  useEffect(() => {
    setFound(null);
    const term = searchTerm(q);
    if (!term) return;
    let live = true;
    const timer = setTimeout(() => {
      staff.patients(session, code, term).then((list) => live && setFound(list))
        .catch((e) => live && say("error", t("walkIn.searchFailed", { message: messageOf(e) })));
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [code, q]);
  return [found, setFound] as const;
}

/** The matches, one radio button each, named `name`. */
export function PatientChoices(props: {
  name: string;
  found: PatientSummary[];
  legend: string;
  picked: string | undefined;
  onPick: (p: PatientSummary) => void;
}) {
  return (
    <fieldset class="walkin-found">
      <legend>{props.legend}</legend>
      {props.found.map((p) => (
        <label key={p.id}>
          <input
            type="radio"
            name={props.name}
            value={p.id}
            checked={props.picked === p.id}
            onChange={() => props.onPick(p)}
          />
          <span>
            {p.full_name} <span class="muted">{patientHint(p)}</span>
            {p.guardians?.length ? <span class="muted">· {guardianHint(p)}</span> : null}
          </span>
        </label>
      ))}
    </fieldset>
  );
}
