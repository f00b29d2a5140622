/** @jsxImportSource preact */
/** Today's appointments of the clinic, with check-in for those still booked. */
import { useState } from "preact/hooks";
import { staff } from "../lib/endpoints.ts";
import { timeIn } from "../lib/format.ts";
import { StatusChip } from "../lib/ui.tsx";
import { canCheckIn } from "./state.ts";
import { appointments, run, say, session, tz } from "./store.ts";

export function Appointments() {
  const list = appointments.value;
  const zone = tz();
  const [busy, setBusy] = useState<string | null>(null);
  if (!list) return <p role="status" class="muted">Loading appointments…</p>;
  return (
    <section class="panel" aria-labelledby="appts-h">
      <h2 id="appts-h">Today's appointments</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="appts-h">
        <table>
          <caption class="visually-hidden">Today's appointments</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Patient</th>
              <th scope="col">Doctor</th>
              <th scope="col">Status</th>
              <th scope="col">Number</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id}>
                <th scope="row">{a.local_time ?? timeIn(a.start, zone)}</th>
                <td>{a.patient_name}</td>
                <td>{a.doctor_name ?? ""}</td>
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
                        await run(`Check in ${a.patient_name}`, async () => {
                          const t = await staff.checkIn(session, a.id);
                          say("success", `${a.patient_name} checked in: ticket ${t.code}.`);
                        });
                        setBusy(null);
                      }}
                    >
                      Check in<span class="visually-hidden">{` ${a.patient_name}`}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {list.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">No appointments today.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
