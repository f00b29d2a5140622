/** @jsxImportSource preact */
/**
 * Affected appointments, for the clinic's admins: the bookings a closure or schedule change has
 * left outside the doctors' hours (the API's one definition). Select all or some, give a reason,
 * choose whether the patients are told, then cancel them or move each to the earliest free slot;
 * every appointment's outcome is shown — one with no free slot stays booked and listed.
 */
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import { type Collision, type CollisionOutcome, collisions } from "../lib/endpoints.ts";
import { calendarLabel, timeIn } from "../lib/format.ts";
import { Notice, TextField } from "../lib/ui.tsx";
import { Confirm } from "./confirm.tsx";
import { run, say, session, tz } from "./store.ts";
import { t } from "./messages.ts";

/** Bumped by a change that may collide with bookings (a new closure): the list reloads. */
export const collisionsChanged = signal(0);

type Action = "cancel" | "reschedule";
type Done = { row: Collision; result: CollisionOutcome };

function when(a: { date?: string; start: string }): string {
  const day = a.date ?? a.start.slice(0, 10);
  return `${calendarLabel(day)} ${timeIn(a.start, tz())}`;
}

function outcomeText(d: Done): string {
  const r = d.result;
  switch (r.outcome) {
    case "rescheduled":
      return t("collisions.outcome.rescheduled", {
        when: r.appointment ? when(r.appointment) : "",
        doctor: r.appointment?.doctor_name ?? "",
      });
    case "failed":
      return t("collisions.outcome.failed", { message: r.error?.message ?? "" });
    default:
      return t(`collisions.outcome.${r.outcome}`);
  }
}

export function Collisions(props: { code: string }) {
  const [list, setList] = useState<Collision[] | null>(null);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [reason, setReason] = useState("");
  const [notify, setNotify] = useState(true);
  const [asking, setAsking] = useState<Action | null>(null);
  const [done, setDone] = useState<Done[]>([]);
  const [busy, setBusy] = useState(false);
  const changed = collisionsChanged.value;
  const reload = () =>
    collisions.list(session, props.code).then((rows) => {
      setList(rows);
      setChosen((prev) => new Set(rows.filter((r) => prev.has(r.id)).map((r) => r.id)));
    });
  useEffect(() => {
    run(t("collisions.title"), reload);
  }, [props.code, changed]);

  const all = list !== null && list.length > 0 && chosen.size === list.length;
  const toggle = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    setChosen(next);
  };

  async function resolve(action: Action) {
    setAsking(null);
    setBusy(true);
    const rows = new Map((list ?? []).map((r) => [r.id, r]));
    await run(t(`collisions.${action}`), async () => {
      const results = await collisions.resolve(session, props.code, crypto.randomUUID(), {
        ids: [...chosen],
        action,
        reason: reason.trim(),
        notify,
      });
      setDone(results.flatMap((result) => {
        const row = rows.get(result.id);
        return row ? [{ row, result }] : [];
      }));
      say("success", t.plural("collisions.done", results.length));
      setChosen(new Set());
      await reload();
    });
    setBusy(false);
  }

  const ready = chosen.size > 0 && reason.trim().length > 0 && !busy;
  return (
    <section class="panel" id="collisions" aria-labelledby="collisions-h" data-testid="collisions">
      <h2 id="collisions-h">{t("collisions.title")}</h2>
      <p class="muted">{t("collisions.intro")}</p>
      {!list && <p role="status" class="muted">{t("collisions.loading")}</p>}
      {list?.length === 0 && <p class="muted">{t("collisions.none")}</p>}
      {list && list.length > 0 && (
        <>
          <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="collisions-h">
            <table>
              <caption class="visually-hidden">{t("collisions.title")}</caption>
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      id="collisions-all"
                      aria-label={t("collisions.all")}
                      checked={all}
                      onChange={(e) =>
                        setChosen(
                          new Set(
                            e.currentTarget.checked
                              ? list.map((r) => r.id)
                              : [],
                          ),
                        )}
                    />
                  </th>
                  <th scope="col">{t("col.time")}</th>
                  <th scope="col">{t("col.patient")}</th>
                  <th scope="col">{t("collisions.contact")}</th>
                  <th scope="col">{t("col.doctor")}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((a) => (
                  <tr key={a.id} data-collision={a.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={t("collisions.select", { name: a.patient_name })}
                        checked={chosen.has(a.id)}
                        onChange={(e) => toggle(a.id, e.currentTarget.checked)}
                      />
                    </td>
                    <th scope="row">{when(a)}</th>
                    <td>
                      {a.patient_name} <span class="muted">{a.patient_number ?? ""}</span>
                    </td>
                    <td>{[a.phone_masked, a.email_masked].filter(Boolean).join(" · ")}</td>
                    <td>{a.doctor_name}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="muted" role="status">{t("collisions.selected", { n: chosen.size })}</p>
          <TextField
            id="collisions-reason"
            label={t("collisions.reason")}
            required
            maxLength={200}
            value={reason}
            onInput={(e) =>
              setReason(e.currentTarget.value)}
          />
          <label>
            <input
              type="checkbox"
              id="collisions-notify"
              checked={notify}
              onChange={(e) =>
                setNotify(e.currentTarget.checked)}
            />
            <span>{t("collisions.notify")}</span>
          </label>
          <p class="row">
            <button
              class="btn"
              type="button"
              disabled={!ready}
              onClick={() => setAsking("reschedule")}
            >
              {t("collisions.reschedule")}
            </button>
            <button
              class="btn danger"
              type="button"
              disabled={!ready}
              onClick={() => setAsking("cancel")}
            >
              {t("collisions.cancel")}
            </button>
          </p>
        </>
      )}
      {done.length > 0 && (
        <div data-testid="collision-outcomes">
          <h3>{t("collisions.outcomes")}</h3>
          <ul>
            {done.map((d) => (
              <li key={d.result.id} data-outcome={d.result.outcome}>
                {`${when(d.row)} · ${d.row.patient_name}: `}
                {d.result.outcome === "cancelled" || d.result.outcome === "rescheduled"
                  ? outcomeText(d)
                  : <Notice kind="warning">{outcomeText(d)}</Notice>}
              </li>
            ))}
          </ul>
        </div>
      )}
      {asking && (
        <Confirm
          title={t.plural(`collisions.${asking}Title`, chosen.size)}
          body={t(notify ? "collisions.toldBody" : "collisions.untoldBody")}
          yes={t(`collisions.${asking}`)}
          no={t("collisions.back")}
          onYes={() => resolve(asking)}
          onNo={() => setAsking(null)}
        />
      )}
    </section>
  );
}
