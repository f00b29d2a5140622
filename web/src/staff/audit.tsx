/** @jsxImportSource preact */
/**
 * The clinic's audit log, for its admins: who changed what, newest first, filtered by table,
 * date, person and patient, one page at a time ("Load older" follows the API's cursor). What an
 * admin may see is the API's decision (an entry about health data only if they may read it).
 */
import { useEffect, useState } from "preact/hooks";
import { type AuditEntry, type AuditFilter, staff } from "../lib/endpoints.ts";
import { dayLabel, timeIn } from "../lib/format.ts";
import { run, session, tz } from "./store.ts";
import { t } from "./messages.ts";

const PAGE = 50;

type Filter = Omit<AuditFilter, "before" | "limit">;
type Labelled = { id: string; label: string };

export function AuditLog(props: { code: string }) {
  const [filter, setFilter] = useState<Filter>({});
  const [draft, setDraft] = useState<Filter>({});
  const [actor, setActor] = useState<Labelled | null>(null);
  const [patient, setPatient] = useState<Labelled | null>(null);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);

  async function load(before?: string) {
    const page = await staff.audit(session, props.code, { ...filter, before, limit: PAGE });
    setEntries((shown) => before && shown ? [...shown, ...page.entries] : page.entries);
    setCursor(page.next_cursor);
  }
  useEffect(() => {
    setEntries(null);
    run(t("audit.title"), () => load());
  }, [props.code, filter]);

  const zone = tz();
  const tables = [...new Set((entries ?? []).map((e) => e.table))].sort();
  const apply = (next: Filter) => setFilter(clean(next));

  return (
    <section class="panel audit" aria-labelledby="audit-h">
      <h2 id="audit-h">{t("audit.title")}</h2>
      <form
        class="row filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply({ ...filter, table: draft.table, from: draft.from, to: draft.to });
        }}
      >
        <label>
          {t("audit.table")}
          <input
            name="table"
            list="audit-tables"
            value={draft.table ?? ""}
            onInput={(e) => setDraft({ ...draft, table: e.currentTarget.value.trim() })}
          />
          <datalist id="audit-tables">{tables.map((n) => <option key={n} value={n} />)}</datalist>
        </label>
        <label>
          {t("audit.from")}
          <input
            name="from"
            type="date"
            value={draft.from ?? ""}
            onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
          />
        </label>
        <label>
          {t("audit.to")}
          <input
            name="to"
            type="date"
            value={draft.to ?? ""}
            onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })}
          />
        </label>
        <button class="btn small" type="submit">{t("audit.apply")}</button>
      </form>
      {(actor || patient) && (
        <p class="row chips">
          {actor && (
            <Chip
              text={t("audit.byFilter", { name: actor.label })}
              onClear={() => {
                setActor(null);
                apply({ ...filter, actor: undefined });
              }}
            />
          )}
          {patient && (
            <Chip
              text={t("audit.patientFilter", { id: patient.label })}
              onClear={() => {
                setPatient(null);
                apply({ ...filter, patient: undefined });
              }}
            />
          )}
        </p>
      )}
      {!entries && <p role="status" class="muted">{t("audit.loading")}</p>}
      {entries?.length === 0 && <p class="muted">{t("audit.none")}</p>}
      {entries && entries.length > 0 && (
        <table class="audit-log">
          <thead>
            <tr>
              <th scope="col">{t("audit.when")}</th>
              <th scope="col">{t("audit.who")}</th>
              <th scope="col">{t("audit.what")}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-audit={e.id}>
                <td>{`${dayLabel(e.at, zone)} ${timeIn(e.at, zone)}`}</td>
                <td>
                  {e.actor
                    ? (
                      <button
                        class="btn link"
                        type="button"
                        title={t("audit.byOnly")}
                        onClick={() => {
                          const who = e.actor!;
                          setActor({ id: who.id, label: who.name ?? who.email ?? who.id });
                          apply({ ...filter, actor: who.id });
                        }}
                      >
                        {e.actor.name ?? e.actor.email ?? e.actor.id}
                      </button>
                    )
                    : <span class="muted">{t("audit.system")}</span>}
                </td>
                <td>
                  <Change entry={e} />
                  {e.patient_id && e.patient_id !== filter.patient && (
                    <button
                      class="btn link small"
                      type="button"
                      onClick={() => {
                        setPatient({ id: e.patient_id!, label: e.patient_id!.slice(0, 8) });
                        apply({ ...filter, patient: e.patient_id! });
                      }}
                    >
                      {t("audit.patientOnly")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button
          class="btn secondary"
          type="button"
          onClick={() => run(t("audit.more"), () => load(cursor))}
        >
          {t("audit.more")}
        </button>
      )}
    </section>
  );
}

/** "appointments changed: status, notes" and, on demand, each field's before → after. */
function Change(props: { entry: AuditEntry }) {
  const e = props.entry;
  const fields = e.changed_fields ?? Object.keys(e.new_values ?? e.old_values ?? {});
  return (
    <details>
      <summary>
        {`${e.table} ${t(`audit.${e.action}`)}`}
        {e.changed_fields && `: ${e.changed_fields.join(", ")}`}
      </summary>
      <dl class="audit-values">
        {fields.map((f) => (
          <div key={f}>
            <dt>{f}</dt>
            <dd>
              {e.action === "UPDATE"
                ? `${shown(e.old_values?.[f])} → ${shown(e.new_values?.[f])}`
                : shown((e.new_values ?? e.old_values)?.[f])}
            </dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

function Chip(props: { text: string; onClear: () => void }) {
  return (
    <span class="chip">
      {props.text}
      <button class="btn link small" type="button" onClick={props.onClear}>
        {t("audit.remove")}
        <span class="visually-hidden">{` ${props.text}`}</span>
      </button>
    </span>
  );
}

function shown(value: unknown): string {
  if (value === undefined || value === null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The filter without its empty fields (the API takes absent, not empty, filters). */
function clean(filter: Filter): Filter {
  return Object.fromEntries(
    Object.entries(filter).filter(([, v]) => v !== undefined && v !== ""),
  ) as Filter;
}
