/** @jsxImportSource preact */
/**
 * Doctor, day and free time for one appointment type — the pickers a phone booking and a
 * reschedule share. A new doctor or day clears the chosen time: it may no longer be free.
 */
import type { Doctor, Slot } from "../lib/endpoints.ts";
import { SelectField } from "../lib/ui.tsx";
import { DatePicker, SlotPicker } from "./date_picker.tsx";
import { t } from "./messages.ts";

export function WhenPicker(props: {
  /** Prefix of the fields' ids: `<id>-doctor`, `<id>-day`, `<id>-slot`. */
  id: string;
  code: string;
  type?: string;
  doctors: Doctor[];
  doctorId: string;
  onDoctor: (id: string) => void;
  day: string | null;
  onDay: (day: string) => void;
  slot: Slot | null;
  onSlot: (slot: Slot | null) => void;
  reload?: number;
}) {
  return (
    <>
      <SelectField
        id={`${props.id}-doctor`}
        label={t("desk.doctor")}
        value={props.doctorId}
        onChange={(e) => {
          props.onDoctor(e.currentTarget.value);
          props.onSlot(null);
        }}
      >
        <option value="">{t("desk.anyDoctor")}</option>
        {props.doctors.map((d) => <option key={d.id} value={d.id}>{d.display_name}</option>)}
      </SelectField>
      <DatePicker
        id={`${props.id}-day`}
        code={props.code}
        doctorId={props.doctorId}
        type={props.type}
        value={props.day}
        reload={props.reload}
        onChange={(d) => {
          props.onDay(d);
          props.onSlot(null);
        }}
      />
      <SlotPicker
        id={`${props.id}-slot`}
        code={props.code}
        day={props.day}
        doctorId={props.doctorId}
        type={props.type}
        value={props.slot}
        reload={props.reload}
        onChange={props.onSlot}
      />
    </>
  );
}
