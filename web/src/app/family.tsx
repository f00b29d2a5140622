/** @jsxImportSource preact */
/**
 * Family: the people I book for (`/me/dependants`) — add one at a clinic where I am registered
 * (their own record there, no account), book for them, choose how they are told
 * (DependantMessages), stop booking for them.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, messageOf } from "../lib/api.ts";
import {
  type Dependant,
  families,
  type Gender,
  type MyClinic,
  type Relationship,
  RELATIONSHIPS,
} from "../lib/endpoints.ts";
import { clinicLabel } from "../lib/format.ts";
import { Loading, Notice, PageTitle, SelectField, TextField } from "../lib/ui.tsx";
import { DependantMessages } from "./family_messages.tsx";
import { BirthFields } from "./profile.tsx";
import { ConfirmButton } from "./confirm.tsx";
import { t } from "./messages.ts";
import { session } from "./store.ts";

const EMPTY = { clinic: "", full_name: "", date_of_birth: "", gender: "", relationship: "" };

export function Family() {
  const [people, setPeople] = useState<Dependant[] | null>(null);
  const [clinics, setClinics] = useState<MyClinic[]>([]);
  const [form, setForm] = useState(EMPTY);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    families.dependants(session).then((l) => live && setPeople(l))
      .catch((e) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [version]);
  useEffect(() => {
    families.clinics(session).then((l) => {
      const mine = l.filter((c) => c.registered);
      setClinics(mine);
      setForm((f) => ({ ...f, clinic: f.clinic || mine[0]?.code || "" }));
    }).catch(() => {});
  }, []);

  const set = (key: keyof typeof EMPTY) => (e: { currentTarget: { value: string } }) =>
    setForm({ ...form, [key]: e.currentTarget.value });

  async function add(e: Event) {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!form.full_name.trim()) missing.full_name = t("signup.err.fullName");
    if (!form.date_of_birth) missing.date_of_birth = t("signup.err.dob");
    if (!form.gender) missing.gender = t("signup.err.gender");
    if (!form.relationship) missing.relationship = t("signup.err.gender");
    setFields(missing);
    if (Object.keys(missing).length || busy) return;
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const added = await families.add(session, form.clinic, {
        full_name: form.full_name.trim(),
        date_of_birth: form.date_of_birth,
        gender: form.gender as Gender,
        relationship: form.relationship as Relationship,
      });
      setMessage(t("family.added", { name: added.full_name }));
      setForm({ ...EMPTY, clinic: form.clinic });
      setVersion((v) => v + 1);
    } catch (err) {
      setError(messageOf(err));
      if (err instanceof ApiError) setFields(err.fieldErrors());
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <PageTitle>{t("family.title")}</PageTitle>
      <p class="muted">{t("family.intro")}</p>
      {error && <Notice kind="error">{error}</Notice>}
      {message && <Notice kind="success">{message}</Notice>}
      {people === null && !error && <Loading />}
      {people?.length === 0 && <p>{t("family.none")}</p>}
      {people && people.length > 0 && (
        <ul class="list">
          {people.map((d) => (
            <li key={d.id}>
              <article class="card">
                <h2>{d.full_name}</h2>
                <p class="muted">
                  {t(`family.rel.${d.relationship}`)} · {t("family.born", {
                    date: d.date_of_birth,
                  })} · {clinicLabel(d.clinic_name, d.branch_name)}
                </p>
                <DependantMessages dependant={d} />
                <div class="row">
                  <a
                    class="btn"
                    href={`/book?for=${encodeURIComponent(d.id)}&clinic=${
                      encodeURIComponent(d.clinic_code)
                    }`}
                  >
                    {t("family.bookFor", { name: d.full_name })}
                  </a>
                  <RemoveButton
                    dependant={d}
                    onRemoved={() => {
                      setMessage(t("family.removed", { name: d.full_name }));
                      setVersion((v) => v + 1);
                    }}
                  />
                </div>
              </article>
            </li>
          ))}
        </ul>
      )}

      <h2>{t("family.addTitle")}</h2>
      {clinics.length === 0
        ? <p class="muted">{t("family.noClinic")}</p>
        : (
          <form onSubmit={add} noValidate>
            {clinics.length > 1 && (
              <SelectField
                id="clinic"
                label={t("family.clinic")}
                value={form.clinic}
                onChange={set("clinic")}
              >
                {clinics.map((c) => (
                  <option key={c.code} value={c.code}>{clinicLabel(c.name, c.branch_name)}</option>
                ))}
              </SelectField>
            )}
            <TextField
              id="full_name"
              label={t("field.fullName")}
              required
              value={form.full_name}
              error={fields.full_name}
              onInput={set("full_name")}
            />
            <BirthFields
              dateOfBirth={form.date_of_birth}
              gender={form.gender}
              errors={fields}
              onInput={(key, value) => setForm({ ...form, [key]: value })}
            />
            <SelectField
              id="relationship"
              label={t("family.relationship")}
              required
              value={form.relationship}
              error={fields.relationship}
              onChange={set("relationship")}
            >
              <option value="">{t("field.choose")}</option>
              {RELATIONSHIPS.map((r) => <option key={r} value={r}>{t(`family.rel.${r}`)}</option>)}
            </SelectField>
            <button class="btn block" type="submit" disabled={busy} aria-busy={busy}>
              {busy ? t("family.adding") : t("family.add")}
            </button>
          </form>
        )}
    </section>
  );
}

/** "Remove", asked again. */
function RemoveButton(props: { dependant: Dependant; onRemoved: () => void }) {
  const d = props.dependant;
  return (
    <ConfirmButton
      id={`remove-${d.id}`}
      ariaLabel={t("family.removeWho", { name: d.full_name })}
      title={t("family.removeTitle", { name: d.full_name })}
      body={t("family.removeBody")}
      yes={t("family.yesRemove")}
      action={() => families.remove(session, d.id)}
      onDone={props.onRemoved}
    >
      {t("family.remove")}
    </ConfirmButton>
  );
}
