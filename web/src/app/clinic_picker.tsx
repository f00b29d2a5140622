/** @jsxImportSource preact */
/** "Pick your clinic": the public clinic list (`GET /api/clinics`) as buttons. */
import { signal } from "@preact/signals";
import { clinics, type PublicClinic } from "../lib/endpoints.ts";
import { t } from "./messages.ts";

const list = signal<PublicClinic[] | null>(null);
let loading: Promise<unknown> | null = null;

/** Shows nothing until the list has loaded (or when it cannot load: type the code instead). */
export function ClinicPicker(props: { onPick: (code: string) => void; hideFor?: string }) {
  loading ??= clinics.list().then((l) => (list.value = l)).catch(() => (loading = null));
  const all = list.value;
  const known = props.hideFor?.trim().toUpperCase();
  if (!all?.length || all.some((c) => c.code === known)) return null;
  return (
    <div class="clinic-picker" role="group" aria-labelledby="clinic-picker-h">
      <p id="clinic-picker-h">{t("picker.title")}</p>
      <ul>
        {all.map((c) => (
          <li key={c.code}>
            <button type="button" class="btn secondary block" onClick={() => props.onPick(c.code)}>
              {c.name}
              {c.branch_name ? ` · ${c.branch_name}` : ""}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
