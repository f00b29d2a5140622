/** @jsxImportSource preact */
/**
 * "Pick your clinic". Signed out: the public clinic list (`GET /api/clinics`) as buttons.
 * Signed in: the clinics I can book at and, each with "Register at this clinic", those I can
 * join (`GET /api/me/clinics`; registering is `POST /api/clinics/{code}/register`).
 */
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { clinics, families, type MyClinic, type PublicClinic } from "../lib/endpoints.ts";
import { clinicLabel } from "../lib/format.ts";
import { Notice } from "../lib/ui.tsx";
import { session } from "./store.ts";
import { t } from "./messages.ts";

const list = signal<PublicClinic[] | null>(null);
let loading: Promise<unknown> | null = null;

/** Shows nothing until the list has loaded (or when it cannot load: type the code instead). */
export function ClinicPicker(props: { onPick: (code: string) => void; hideFor?: string }) {
  if (session.user.value) return <MyClinicPicker onPick={props.onPick} />;
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
              {clinicLabel(c.name, c.branch_name)}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function MyClinicPicker(props: { onPick: (code: string) => void }) {
  const [mine, setMine] = useState<MyClinic[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    families.clinics(session).then((l) => live && setMine(l)).catch(() => {});
    return () => {
      live = false;
    };
  }, []);
  if (!mine?.length) return null;

  async function register(code: string) {
    setBusy(code);
    setError(null);
    try {
      await families.register(session, code);
      props.onPick(code);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <div class="clinic-picker" role="group" aria-labelledby="clinic-picker-h">
      <p id="clinic-picker-h">{t("picker.title")}</p>
      {error && <Notice kind="error">{error}</Notice>}
      <ul>
        {mine.map((c) => (
          <li key={c.code}>
            {c.registered
              ? (
                <button
                  type="button"
                  class="btn secondary block"
                  onClick={() => props.onPick(c.code)}
                >
                  {clinicLabel(c.name, c.branch_name)}
                </button>
              )
              : (
                <div class="spread">
                  <span>{clinicLabel(c.name, c.branch_name)}</span>
                  <button
                    type="button"
                    class="btn secondary"
                    disabled={busy !== null}
                    aria-busy={busy === c.code}
                    aria-label={t("picker.registerAt", {
                      clinic: clinicLabel(c.name, c.branch_name),
                    })}
                    onClick={() => register(c.code)}
                  >
                    {t("picker.register")}
                  </button>
                </div>
              )}
          </li>
        ))}
      </ul>
    </div>
  );
}
