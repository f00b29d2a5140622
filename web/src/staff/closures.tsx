/** @jsxImportSource preact */
/**
 * The clinic's closures, for its admins: close the clinic on a range of dates or on a year's
 * public holidays, reopen a day. Bookings already on a closed day stay booked: they are listed
 * here, with a link to the affected appointments panel (./collisions.tsx) where the admin moves
 * or cancels them (nothing is dropped silently).
 */
import { useEffect, useState } from "preact/hooks";
import { type ClosureInfo, type Collision, staff } from "../lib/endpoints.ts";
import { serverNow } from "../lib/clock.ts";
import { calendarLabel, localDay, timeIn } from "../lib/format.ts";
import { Notice, TextField } from "../lib/ui.tsx";
import { collisionsChanged } from "./collisions.tsx";
import { Confirm } from "./confirm.tsx";
import { run, say, session, tz } from "./store.ts";
import { t } from "./messages.ts";

export function Closures(props: { code: string }) {
  const today = localDay(serverNow(), tz());
  const year = Number(today.slice(0, 4));
  const [list, setList] = useState<ClosureInfo[] | null>(null);
  const [form, setForm] = useState({ starts_on: "", ends_on: "", reason: "" });
  const [affected, setAffected] = useState<Collision[]>([]);
  const [removing, setRemoving] = useState<ClosureInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const reload = () => staff.closures(session, props.code, today).then(setList);
  useEffect(() => {
    run(t("closures.title"), reload);
  }, [props.code]);

  const span = (k: ClosureInfo) =>
    k.starts_on === k.ends_on
      ? calendarLabel(k.starts_on)
      : `${calendarLabel(k.starts_on)} – ${calendarLabel(k.ends_on)}`;

  async function act(label: string, fn: () => Promise<Collision[]>) {
    setBusy(true);
    await run(label, async () => {
      setAffected(await fn());
      collisionsChanged.value++;
      await reload();
    });
    setBusy(false);
  }

  function add(e: Event) {
    e.preventDefault();
    act(t("closures.add"), async () => {
      const res = await staff.addClosure(session, props.code, {
        starts_on: form.starts_on,
        ends_on: form.ends_on || form.starts_on,
        reason: form.reason,
      });
      say("success", t("closures.added", { when: span(res.closure as ClosureInfo) }));
      setForm({ starts_on: "", ends_on: "", reason: "" });
      return res.affected_appointments;
    });
  }

  function importYear(y: number) {
    act(t("closures.import", { year: y }), async () => {
      const res = await staff.importHolidays(session, props.code, y);
      say("success", t("closures.imported", { n: res.closures.length, year: y }));
      return res.affected_appointments;
    });
  }

  function remove(k: ClosureInfo) {
    setRemoving(null);
    act(t("closures.remove"), async () => {
      await staff.removeClosure(session, props.code, k.id);
      say("success", t("closures.removed", { when: span(k) }));
      return [];
    });
  }

  return (
    <section class="panel" aria-labelledby="closures-h" data-testid="closures">
      <h2 id="closures-h">{t("closures.title")}</h2>
      <p class="muted">{t("closures.intro")}</p>
      <form class="closure-form" onSubmit={add}>
        <TextField
          id="closure-from"
          label={t("closures.from")}
          type="date"
          required
          value={form.starts_on}
          onInput={(e) => setForm({ ...form, starts_on: e.currentTarget.value })}
        />
        <TextField
          id="closure-to"
          label={t("closures.to")}
          hint={t("closures.toHint")}
          type="date"
          value={form.ends_on}
          onInput={(e) => setForm({ ...form, ends_on: e.currentTarget.value })}
        />
        <TextField
          id="closure-reason"
          label={t("closures.reason")}
          required
          maxLength={100}
          value={form.reason}
          onInput={(e) => setForm({ ...form, reason: e.currentTarget.value })}
        />
        <button class="btn" type="submit" disabled={busy}>{t("closures.add")}</button>
      </form>
      <p class="row">
        {[year, year + 1].map((y) => (
          <button
            key={y}
            class="btn small secondary"
            type="button"
            disabled={busy}
            onClick={() => importYear(y)}
          >
            {t("closures.import", { year: y })}
          </button>
        ))}
      </p>
      {affected.length > 0 && (
        <div data-testid="closure-collisions">
          <Notice kind="warning">{t("closures.collisions", { n: affected.length })}</Notice>
          <p>
            <a href="#collisions">{t("closures.seeAffected")}</a>
          </p>
          <ul>
            {affected.map((a) => (
              <li key={a.id}>
                {`${calendarLabel(a.date)} ${timeIn(a.start, tz())} · ${a.patient_name}`}
                <span class="muted">{` ${a.patient_number ?? ""} · ${a.doctor_name}`}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      {!list && <p role="status" class="muted">{t("closures.loading")}</p>}
      {list?.length === 0 && <p class="muted">{t("closures.none")}</p>}
      {list && list.length > 0 && (
        <ul class="closures">
          {list.map((k) => (
            <li key={k.id} data-closure={k.starts_on}>
              <strong>{span(k)}</strong> {k.reason}
              {k.affected_appointments > 0 && (
                <span class="muted">
                  {` · ${t("closures.booked", { n: k.affected_appointments })}`}
                </span>
              )}
              <button class="btn small secondary" type="button" onClick={() => setRemoving(k)}>
                {t("closures.remove")}
                <span class="visually-hidden">{` ${span(k)}`}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {removing && (
        <Confirm
          title={t("closures.removeTitle", { when: span(removing) })}
          body={t("closures.removeBody")}
          yes={t("closures.remove")}
          no={t("closures.keep")}
          onYes={() => remove(removing)}
          onNo={() => setRemoving(null)}
        />
      )}
    </section>
  );
}
