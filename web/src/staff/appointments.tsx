/** @jsxImportSource preact */
/**
 * The clinic's appointments of a day (today unless the desk picks another), with check-in for
 * those still booked (or marked no-show by the sweep: a late arrival), undo for such a
 * no-show, and reschedule or cancel (with a reason) for the patient.
 */
import { useState } from "preact/hooks";
import { serverNow } from "../lib/clock.ts";
import { type DayAppointment, staff } from "../lib/endpoints.ts";
import { localDay, longDate, timeIn } from "../lib/format.ts";
import { StatusChip, TextField } from "../lib/ui.tsx";
import { Cancel, Reschedule } from "./reschedule.tsx";
import { canChange, canCheckIn } from "./state.ts";
import { appointments, listDay, loadAll, run, say, session, tz } from "./store.ts";
import { t } from "./messages.ts";

export function Appointments(props: { code: string }) {
  const list = appointments.value;
  const zone = tz();
  const [busy, setBusy] = useState<string | null>(null);
  const [changing, setChanging] = useState<
    { appointment: DayAppointment; how: "move" | "cancel" } | null
  >(null);
  if (!list) return <p role="status" class="muted">{t("appts.loading")}</p>;
  const today = localDay(serverNow(), zone);
  const day = listDay.value ?? today;
  function show(next: string | null) {
    listDay.value = next && next !== today ? next : null;
    void loadAll(props.code).catch(() => {});
  }
  return (
    <section class="panel" aria-labelledby="appts-h">
      <h2 id="appts-h">
        {day === today
          ? t("appts.title")
          : t("appts.titleOn", { date: longDate(`${day}T12:00:00Z`, "UTC") })}
      </h2>
      <div class="row appts-day">
        <TextField
          id="appts-day"
          label={t("appts.day")}
          type="date"
          value={day}
          onInput={(e) => e.currentTarget.value && show(e.currentTarget.value)}
        />
        {day !== today && (
          <button
            class="btn small secondary"
            type="button"
            onClick={() => show(null)}
          >
            {t("appts.today")}
          </button>
        )}
      </div>
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
                  {canChange(a) && (
                    <>
                      <button
                        type="button"
                        class="btn small secondary"
                        onClick={() => setChanging({ appointment: a, how: "move" })}
                      >
                        {t("appts.reschedule")}
                        <span class="visually-hidden">{` ${a.patient_name}`}</span>
                      </button>
                      <button
                        type="button"
                        class="btn small secondary"
                        onClick={() => setChanging({ appointment: a, how: "cancel" })}
                      >
                        {t("appts.cancel")}
                        <span class="visually-hidden">{` ${a.patient_name}`}</span>
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
            {list.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  {day === today ? t("appts.none") : t("appts.noneOn")}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {changing?.how === "move" && (
        <Reschedule
          code={props.code}
          appointment={changing.appointment}
          onClose={() => setChanging(null)}
        />
      )}
      {changing?.how === "cancel" && (
        <Cancel
          appointment={changing.appointment}
          onClose={() => setChanging(null)}
        />
      )}
    </section>
  );
}
