/** @jsxImportSource preact */
/**
 * The clinic's appointment types, for its admins: add one (code, name, length, colour, who may
 * book it, which doctors offer it), change it, deactivate it, or delete one no appointment has.
 * The consultation — every request's default — stays active and bookable by patients.
 */
import { useEffect, useState } from "preact/hooks";
import { type AppointmentType, appointmentTypes, clinics, DEFAULT_TYPE } from "../lib/endpoints.ts";
import { SelectField, TextField } from "../lib/ui.tsx";
import { Confirm } from "./confirm.tsx";
import { info, run, say, session } from "./store.ts";
import { t } from "./messages.ts";

interface Form {
  code: string;
  name: string;
  duration: string;
  colour: string;
  bookable_by: "patients" | "staff";
  all_doctors: boolean;
  doctor_ids: string[];
}

const EMPTY: Form = {
  code: "",
  name: "",
  duration: "",
  colour: "#2563eb",
  bookable_by: "patients",
  all_doctors: true,
  doctor_ids: [],
};

function formOf(x: AppointmentType): Form {
  return {
    code: x.code,
    name: x.name,
    duration: x.duration_minutes ? String(x.duration_minutes) : "",
    colour: x.colour,
    bookable_by: x.bookable_by,
    all_doctors: x.all_doctors,
    doctor_ids: x.doctor_ids,
  };
}

export function AppointmentTypes(props: { code: string }) {
  const [list, setList] = useState<AppointmentType[] | null>(null);
  const [form, setForm] = useState<Form>(EMPTY);
  // The type being edited (its code), or null when the form adds one.
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<AppointmentType | null>(null);
  const [busy, setBusy] = useState(false);
  const doctors = info.value?.doctors ?? [];
  const reload = () => clinics.types(props.code, session).then(setList);
  useEffect(() => {
    run(t("types.title"), reload);
  }, [props.code]);

  async function act(label: string, fn: () => Promise<unknown>) {
    setBusy(true);
    await run(label, async () => {
      await fn();
      await reload();
    });
    setBusy(false);
  }

  function save(e: Event) {
    e.preventDefault();
    const body = {
      name: form.name,
      duration_minutes: form.duration ? Number(form.duration) : null,
      colour: form.colour,
      bookable_by: form.bookable_by,
      all_doctors: form.all_doctors,
      doctor_ids: form.all_doctors ? [] : form.doctor_ids,
    };
    const code = editing;
    act(t(code ? "types.save" : "types.add"), async () => {
      if (code) {
        await appointmentTypes.update(session, props.code, code, body);
      } else {
        await appointmentTypes.create(session, props.code, {
          ...body,
          code: form.code,
          duration_minutes: body.duration_minutes ?? undefined,
        });
      }
      say("success", t("types.saved", { name: form.name }));
      setForm(EMPTY);
      setEditing(null);
    });
  }

  function setActive(x: AppointmentType, active: boolean) {
    act(t(active ? "types.activate" : "types.deactivate"), async () => {
      await appointmentTypes.update(session, props.code, x.code, { active });
      say("success", t(active ? "types.activated" : "types.deactivated", { name: x.name }));
    });
  }

  function remove(x: AppointmentType) {
    setDeleting(null);
    act(t("types.delete"), async () => {
      await appointmentTypes.remove(session, props.code, x.code);
      say("success", t("types.deleted", { name: x.name }));
    });
  }

  const toggleDoctor = (id: string, on: boolean) =>
    setForm({
      ...form,
      doctor_ids: on ? [...form.doctor_ids, id] : form.doctor_ids.filter((d) => d !== id),
    });
  const isDefault = editing === DEFAULT_TYPE;

  return (
    <section class="panel" aria-labelledby="types-h" data-testid="appointment-types">
      <h2 id="types-h">{t("types.title")}</h2>
      {!list && <p role="status" class="muted">{t("types.loading")}</p>}
      {list && (
        <ul class="appointment-types">
          {list.map((x) => (
            <li key={x.code} data-type={x.code} class={x.active ? "" : "inactive"}>
              <span class="swatch" style={{ background: x.colour }} aria-hidden="true" />
              <strong>{x.name}</strong>
              <span class="muted">
                {` · ${
                  x.duration_minutes
                    ? t("types.minutes", { n: x.duration_minutes })
                    : t("types.slotLength")
                } · ${t(x.bookable_by === "staff" ? "types.staffOnly" : "types.patients")}`}
                {x.active ? "" : ` · ${t("types.inactive")}`}
              </span>
              <span class="row">
                <button
                  class="btn small secondary"
                  type="button"
                  disabled={busy}
                  onClick={() => {
                    setEditing(x.code);
                    setForm(formOf(x));
                  }}
                >
                  {t("types.edit")}
                  <span class="visually-hidden">{` ${x.name}`}</span>
                </button>
                {x.code !== DEFAULT_TYPE && (
                  <button
                    class="btn small secondary"
                    type="button"
                    disabled={busy}
                    onClick={() => setActive(x, !x.active)}
                  >
                    {t(x.active ? "types.deactivate" : "types.activate")}
                    <span class="visually-hidden">{` ${x.name}`}</span>
                  </button>
                )}
                {x.code !== DEFAULT_TYPE && (
                  <button
                    class="btn small secondary"
                    type="button"
                    disabled={busy}
                    onClick={() => setDeleting(x)}
                  >
                    {t("types.delete")}
                    <span class="visually-hidden">{` ${x.name}`}</span>
                  </button>
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
      <form class="type-form" onSubmit={save}>
        <h3>{editing ? t("types.editing", { name: form.name }) : t("types.new")}</h3>
        {!editing && (
          <TextField
            id="type-code"
            label={t("types.code")}
            hint={t("types.codeHint")}
            required
            pattern="[a-z][a-z0-9_]{1,39}"
            value={form.code}
            onInput={(e) => setForm({ ...form, code: e.currentTarget.value })}
          />
        )}
        <TextField
          id="type-name"
          label={t("types.name")}
          required
          maxLength={80}
          value={form.name}
          onInput={(e) => setForm({ ...form, name: e.currentTarget.value })}
        />
        <TextField
          id="type-duration"
          label={t("types.duration")}
          hint={t("types.durationHint")}
          type="number"
          min={5}
          max={240}
          value={form.duration}
          onInput={(e) => setForm({ ...form, duration: e.currentTarget.value })}
        />
        <TextField
          id="type-colour"
          label={t("types.colour")}
          type="color"
          value={form.colour}
          onInput={(e) => setForm({ ...form, colour: e.currentTarget.value })}
        />
        {!isDefault && (
          <SelectField
            id="type-bookable"
            label={t("types.bookableBy")}
            value={form.bookable_by}
            onChange={(e) =>
              setForm({ ...form, bookable_by: e.currentTarget.value as Form["bookable_by"] })}
          >
            <option value="patients">{t("types.patients")}</option>
            <option value="staff">{t("types.staffOnly")}</option>
          </SelectField>
        )}
        <fieldset>
          <legend>{t("types.doctors")}</legend>
          <label>
            <input
              type="checkbox"
              checked={form.all_doctors}
              onChange={(e) => setForm({ ...form, all_doctors: e.currentTarget.checked })}
            />{" "}
            {t("types.allDoctors")}
          </label>
          {!form.all_doctors && doctors.map((d) => (
            <label key={d.id}>
              <input
                type="checkbox"
                checked={form.doctor_ids.includes(d.id)}
                onChange={(e) => toggleDoctor(d.id, e.currentTarget.checked)}
              />{" "}
              {d.display_name}
            </label>
          ))}
        </fieldset>
        <div class="row">
          <button class="btn" type="submit" disabled={busy}>
            {t(editing ? "types.save" : "types.add")}
          </button>
          {editing && (
            <button
              class="btn secondary"
              type="button"
              onClick={() => {
                setEditing(null);
                setForm(EMPTY);
              }}
            >
              {t("types.cancel")}
            </button>
          )}
        </div>
      </form>
      {deleting && (
        <Confirm
          title={t("types.deleteTitle", { name: deleting.name })}
          body={t("types.deleteBody")}
          yes={t("types.delete")}
          no={t("types.keep")}
          onYes={() => remove(deleting)}
          onNo={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
