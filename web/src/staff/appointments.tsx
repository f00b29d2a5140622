/** @jsxImportSource preact */
/**
 * Today's appointments of the clinic, with check-in for those still booked (or marked no-show
 * by the sweep: a late arrival) and undo for such a no-show.
 */
import { useState } from "preact/hooks";
import { staff } from "../lib/endpoints.ts";
import { timeIn } from "../lib/format.ts";
import { StatusChip } from "../lib/ui.tsx";
import { canCheckIn } from "./state.ts";
import { appointments, run, say, session, tz } from "./store.ts";
import { t } from "./messages.ts";

export function Appointments() {
  const list = appointments.value;
  const zone = tz();
  const [busy, setBusy] = useState<string | null>(null);
  if (!list) return <p role="status" class="muted">{t("appts.loading")}</p>;
  return (
    <section class="panel" aria-labelledby="appts-h">
      <h2 id="appts-h">{t("appts.title")}</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="appts-h">
        <table>
          <caption class="visually-hidden">{t("appts.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("col.time")}</th>
              <th scope="col">{t("col.patient")}</th>
              <th scope="col">{t("col.doctor")}</th>
              <th scope="col">{t("col.status")}</th>
              <th scope="col">{t("col.number")}</th>
              <th scope="col">{t("col.action")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id}>
                <th scope="row">{a.local_time ?? timeIn(a.start, zone)}</th>
                <td>
                  {a.patient_name}
                  {a.patient_no_shows > 0 && (
                    <span class="muted">
                      {` · ${t("appts.noShows", { n: a.patient_no_shows })}`}
                    </span>
                  )}
                </td>
                <td>
                  {a.doctor_name ?? ""}
                  {a.appointment_type_name && (
                    <span class="type-tag" data-type={a.appointment_type}>
                      <span
                        class="swatch"
                        style={{ background: a.appointment_type_colour }}
                        aria-hidden="true"
                      />
                      {a.appointment_type_name}
                    </span>
                  )}
                </td>
                <td>
                  <StatusChip status={a.status} />
                </td>
                <td class="mono">{a.appointment_number}</td>
                <td>
                  {canCheckIn(a) && (
                    <button
                      type="button"
                      class="btn small secondary"
                      disabled={busy === a.id}
                      onClick={async () => {
                        setBusy(a.id);
                        await run(t("appts.checkInLabel", { name: a.patient_name }), async () => {
                          const { code } = await staff.checkIn(session, a.id);
                          say("success", t("appts.checkedIn", { name: a.patient_name, code }));
                        });
                        setBusy(null);
                      }}
                    >
                      {t("appts.checkIn")}
                      <span class="visually-hidden">{` ${a.patient_name}`}</span>
                    </button>
                  )}
                  {a.no_show_undoable && (
                    <button
                      type="button"
                      class="btn small secondary"
                      disabled={busy === a.id}
                      onClick={async () => {
                        setBusy(a.id);
                        await run(t("appts.undoLabel", { name: a.patient_name }), async () => {
                          await staff.undoNoShow(session, a.id);
                          say("success", t("appts.undone", { name: a.patient_name }));
                        });
                        setBusy(null);
                      }}
                    >
                      {t("appts.undo")}
                      <span class="visually-hidden">{` ${a.patient_name}`}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {list.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">{t("appts.none")}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
