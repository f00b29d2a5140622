/** @jsxImportSource preact */
/**
 * "Call next": the next waiting patient to this desk's room (for its doctor, or any). A room
 * whose patient is still called or in consultation asks first (409 `room_occupied`).
 */
import { useState } from "preact/hooks";
import { ApiError, messageOf } from "../lib/api.ts";
import { staff } from "../lib/endpoints.ts";
import { SelectField, TextField } from "../lib/ui.tsx";
import { Confirm } from "./confirm.tsx";
import { occupantOf, occupiedQuestion, type Question } from "./state.ts";
import { doctor, room } from "./storage.ts";
import { info, loadAll, say, session } from "./store.ts";
import { t } from "./messages.ts";

export function CallNext(props: { code: string }) {
  const [busy, setBusy] = useState(false);
  const [ask, setAsk] = useState<Question | null>(null);
  const doctors = info.value?.doctors ?? [];
  async function callNext(replace = false) {
    const where = room.value.trim();
    if (busy || !where) return;
    setAsk(null);
    setBusy(true);
    try {
      const ticket = await staff.callNext(
        session,
        props.code,
        where,
        doctor.value || undefined,
        replace,
      );
      say("success", t("call.called", { code: ticket.code, room: ticket.room ?? where }));
      await loadAll(props.code).catch(() => {});
    } catch (e) {
      const occupant = e instanceof ApiError && e.code === "room_occupied"
        ? occupantOf(e.details)
        : null;
      if (occupant) setAsk(occupiedQuestion(where, occupant));
      else if (e instanceof ApiError && e.code === "queue_empty") say("info", t("call.empty"));
      else say("error", t("call.failed", { message: messageOf(e) }));
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="panel call" aria-labelledby="call-h">
      <h2 id="call-h">{t("call.title")}</h2>
      <div class="call-row">
        <TextField
          id="room"
          label={t("call.room")}
          value={room.value}
          onInput={(e) => (room.value = e.currentTarget.value)}
        />
        <SelectField
          id="doctor"
          label={t("call.doctor")}
          value={doctor.value}
          onChange={(e) => (doctor.value = e.currentTarget.value)}
        >
          <option value="">{t("call.anyDoctor")}</option>
          {doctors.map((d) => <option key={d.id} value={d.id}>{d.display_name}</option>)}
        </SelectField>
        <button
          class="btn call-btn"
          type="button"
          onClick={() => callNext()}
          disabled={busy}
          data-testid="call-next"
        >
          {busy ? t("call.busy") : t("call.button", { room: room.value || t("call.roomFallback") })}
        </button>
      </div>
      {ask && <Confirm {...ask} onYes={() => callNext(true)} onNo={() => setAsk(null)} />}
    </section>
  );
}
