/** @jsxImportSource preact */
/**
 * Who looks after a patient, at the front desk: the guardians of the patient picked in the
 * walk-in search, unlinking one, and linking an account registered at the clinic by its e-mail
 * (the API's key: after the desk has checked who is who). A form of its own, so Enter here
 * never issues a walk-in ticket.
 */
import { useState } from "preact/hooks";
import { type PatientSummary, type Relationship, RELATIONSHIPS, staff } from "../lib/endpoints.ts";
import { SelectField, TextField } from "../lib/ui.tsx";
import { guardianHint } from "./state.ts";
import { t } from "./messages.ts";
import { run, say, session } from "./store.ts";

export type Guardian = NonNullable<PatientSummary["guardians"]>[number];

export function Guardians(props: {
  code: string;
  patient: PatientSummary;
  /** The patient's guardians now (after a link or unlink). */
  onChange: (guardians: Guardian[]) => void;
}) {
  const p = props.patient;
  const list = p.guardians ?? [];
  const [email, setEmail] = useState("");
  const [relationship, setRelationship] = useState<Relationship>("child");
  const [busy, setBusy] = useState(false);

  async function link(e: Event) {
    e.preventDefault();
    if (busy || !email.trim()) return;
    setBusy(true);
    await run(t("guardians.link"), async () => {
      const answer = await staff.linkGuardian(session, props.code, p.id, {
        email: email.trim(),
        relationship,
      });
      const g = { ...answer.guardian, phone_masked: null };
      props.onChange([...list.filter((x) => x.user_id !== g.user_id), g]);
      say("success", t("guardians.linked", { name: g.full_name, patient: p.full_name }));
      setEmail("");
    });
    setBusy(false);
  }

  async function unlink(g: Guardian) {
    if (busy) return;
    setBusy(true);
    await run(t("guardians.unlink"), async () => {
      await staff.unlinkGuardian(session, props.code, p.id, g.user_id);
      props.onChange(list.filter((x) => x.user_id !== g.user_id));
      say("success", t("guardians.unlinked", { name: g.full_name, patient: p.full_name }));
    });
    setBusy(false);
  }

  return (
    <form class="guardians" onSubmit={link} aria-labelledby="guardians-h">
      <h3 id="guardians-h">{t("guardians.title", { name: p.full_name })}</h3>
      {list.length === 0 ? <p class="muted">{t("guardians.none")}</p> : (
        <ul>
          {list.map((g) => (
            <li key={g.user_id}>
              <span>{guardianHint({ guardians: [g] })}</span>
              <button
                class="btn secondary small"
                type="button"
                disabled={busy}
                onClick={() => unlink(g)}
              >
                {t("guardians.unlinkName", { name: g.full_name })}
              </button>
            </li>
          ))}
        </ul>
      )}
      <TextField
        id="guardian-email"
        label={t("guardians.email")}
        hint={t("guardians.emailHint")}
        type="email"
        autoComplete="off"
        required
        value={email}
        onInput={(e) => setEmail(e.currentTarget.value)}
      />
      <SelectField
        id="guardian-relationship"
        label={t("guardians.relationship", { name: p.full_name })}
        value={relationship}
        onChange={(e) => setRelationship(e.currentTarget.value as Relationship)}
      >
        {RELATIONSHIPS.map((r) => <option key={r} value={r}>{t(`guardians.rel.${r}`)}</option>)}
      </SelectField>
      <button class="btn secondary" type="submit" disabled={busy}>
        {t("guardians.link")}
      </button>
    </form>
  );
}
