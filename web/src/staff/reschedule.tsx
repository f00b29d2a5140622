/** @jsxImportSource preact */
/**
 * Reschedule and cancel an appointment for the patient, from the staff list: a modal with the
 * same pickers as a phone booking (doctor, a day of the advance window, a free time), and a
 * modal that asks for the reason before cancelling (Escape or "Keep it" changes nothing).
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { newIdempotencyKey } from "../lib/api.ts";
import { booking, type DayAppointment, type Slot } from "../lib/endpoints.ts";
import { longDate } from "../lib/format.ts";
import { TextField } from "../lib/ui.tsx";
import { t } from "./messages.ts";
import { info, run, say, session } from "./store.ts";
import { WhenPicker } from "./when_picker.tsx";

/** A modal dialog that closes on Escape (the caller decides what closing means). */
function Modal(
  props: { id: string; title: string; onClose: () => void; children: ComponentChildren },
) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm desk-dialog"
      aria-labelledby={`${props.id}-h`}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={`${props.id}-h`}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

const whenOf = (a: { start: string; timezone: string; local_time: string }) => ({
  date: longDate(a.start, a.timezone),
  time: a.local_time,
});
const when = (a: DayAppointment) => ({ ...whenOf(a), doctor: a.doctor_name });

export function Reschedule(
  props: { code: string; appointment: DayAppointment; onClose: () => void },
) {
  const a = props.appointment;
  const [doctorId, setDoctorId] = useState(a.doctor_id);
  const [day, setDay] = useState<string | null>(a.local_date);
  const [slot, setSlot] = useState<Slot | null>(null);
  const [busy, setBusy] = useState(false);
  const inFlight = useRef(false);
  const doctors = info.value?.doctors ?? [];
  async function move(e: Event) {
    e.preventDefault();
    // A second click before the first answered would move an appointment that moved already.
    if (!slot || inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    await run(t("appts.rescheduleLabel", { name: a.patient_name }), async () => {
      const moved = await booking.reschedule(session, newIdempotencyKey(), a.id, {
        start: slot.start,
        doctor_id: slot.doctor_id,
      });
      say("success", t("appts.moved", { name: a.patient_name, ...whenOf(moved) }));
      props.onClose();
    });
    inFlight.current = false;
    setBusy(false);
  }
  return (
    <Modal
      id="move"
      title={t("appts.rescheduleTitle", { name: a.patient_name })}
      onClose={props.onClose}
    >
      <p>{t("appts.current", when(a))}</p>
      <form onSubmit={move}>
        <WhenPicker
          id="move"
          code={props.code}
          type={a.appointment_type}
          doctors={doctors}
          doctorId={doctorId}
          onDoctor={setDoctorId}
          day={day}
          onDay={setDay}
          slot={slot}
          onSlot={setSlot}
        />
        <div class="row">
          <button class="btn secondary" type="button" onClick={props.onClose}>
            {t("appts.close")}
          </button>
          <button class="btn" type="submit" disabled={busy || !slot}>{t("appts.move")}</button>
        </div>
      </form>
    </Modal>
  );
}

export function Cancel(props: { appointment: DayAppointment; onClose: () => void }) {
  const a = props.appointment;
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const inFlight = useRef(false);
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), []);
  async function cancel(e: Event) {
    e.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    await run(t("appts.cancelLabel", { name: a.patient_name }), async () => {
      await booking.cancel(session, a.id, reason.trim() || undefined);
      say("success", t("appts.cancelled", { name: a.patient_name }));
      props.onClose();
    });
    inFlight.current = false;
    setBusy(false);
  }
  return (
    <Modal
      id="cancel"
      title={t("appts.cancelTitle", { name: a.patient_name })}
      onClose={props.onClose}
    >
      <p>{t("appts.current", when(a))}</p>
      <form onSubmit={cancel}>
        <TextField
          id="cancel-reason"
          label={t("appts.reason")}
          maxLength={500}
          autoComplete="off"
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <div class="row">
          <button ref={keep} class="btn secondary" type="button" onClick={props.onClose}>
            {t("appts.keep")}
          </button>
          <button class="btn danger" type="submit" disabled={busy}>{t("appts.cancelYes")}</button>
        </div>
      </form>
    </Modal>
  );
}
