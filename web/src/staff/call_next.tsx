/** @jsxImportSource preact */
/** "Call next": the next waiting patient to this desk's room (for its doctor, or any). */
import { useState } from "preact/hooks";
import { ApiError, messageOf } from "../lib/api.ts";
import { staff } from "../lib/endpoints.ts";
import { SelectField, TextField } from "../lib/ui.tsx";
import { doctor, room } from "./storage.ts";
import { info, loadAll, say, session } from "./store.ts";

export function CallNext(props: { code: string }) {
  const [busy, setBusy] = useState(false);
  const doctors = info.value?.doctors ?? [];
  async function callNext() {
    if (busy || !room.value.trim()) return;
    setBusy(true);
    try {
      const t = await staff.callNext(
        session,
        props.code,
        room.value.trim(),
        doctor.value || undefined,
      );
      say("success", `Called ${t.code} to ${t.room ?? room.value}.`);
      await loadAll(props.code).catch(() => {});
    } catch (e) {
      if (e instanceof ApiError && e.code === "queue_empty") say("info", "Nobody is waiting.");
      else say("error", `Call next: ${messageOf(e)}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="panel call" aria-labelledby="call-h">
      <h2 id="call-h">Call next</h2>
      <div class="call-row">
        <TextField
          id="room"
          label="Room"
          value={room.value}
          onInput={(e) => (room.value = e.currentTarget.value)}
        />
        <SelectField
          id="doctor"
          label="Doctor"
          value={doctor.value}
          onChange={(e) => (doctor.value = e.currentTarget.value)}
        >
          <option value="">Room's doctor / any</option>
          {doctors.map((d) => <option key={d.id} value={d.id}>{d.display_name}</option>)}
        </SelectField>
        <button
          class="btn call-btn"
          type="button"
          onClick={callNext}
          disabled={busy}
          data-testid="call-next"
        >
          {busy ? "Calling…" : `Call next to ${room.value || "room"}`}
        </button>
      </div>
    </section>
  );
}
