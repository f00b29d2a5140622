/**
 * Clinic settings in the database (supabase/migrations/20261207000200_clinic_settings.sql):
 * the one validator of clinics.settings, its defaults against the readers' fallbacks, and
 * opening hours binding the doctors' work hours in both directions.
 */
import assert from "node:assert/strict";
import { freshDatabase } from "../support/db.ts";
import postgres from "postgres";
import { CLINIC_A, DOCTORS } from "./_helpers.ts";

/** The PostgreSQL error `promise` fails with. */
async function refusal(promise: Promise<unknown>): Promise<postgres.PostgresError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof postgres.PostgresError) return error;
    throw error;
  }
  throw new Error("expected a PostgreSQL error, but the statement succeeded");
}

Deno.test("settings: one validator on clinics.settings, the readers' defaults are its defaults", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const valid = async (doc: unknown) =>
    (await db.sql`select private.clinic_settings_valid(${db.sql.json(doc as never)}) as ok`)[0]
      .ok as boolean;

  await t.step("known keys of their type and range only", async () => {
    assert.equal(await valid({}), true);
    assert.equal(await valid({ queue: { near_threshold: 0, max_wait_minutes: 1440 } }), true);
    assert.equal(
      await valid({ notifications: { reminder_minutes_before: [], quiet_hours: false } }),
      true,
    );
    assert.equal(await valid({ notifications: { quiet_hours: null } }), true);
    for (
      const bad of [
        { colour: "red" },
        { queue: { near_threshold: -1 } },
        { queue: { near_threshold: 2.5 } },
        { queue: { near_threshold: "3" } },
        { queue: { nearthreshold: 3 } },
        { queue: [] },
        { queue: { no_show_grace_minutes: 1441 } },
        { notifications: { reminder_minutes_before: [0] } },
        { notifications: { reminder_minutes_before: [1, 2, 3, 4, 5, 6] } },
        { notifications: { reminder_minutes_before: 60 } },
        { notifications: { quiet_hours: { start: "21:00" } } },
        { notifications: { sms: true } },
        [],
      ]
    ) assert.equal(await valid(bad), false, JSON.stringify(bad));
  });

  await t.step("the check constraint is that validator", async () => {
    const err = await refusal(db.sql`update public.clinics set settings = '{"queue": {"x": 1}}'
      where id = ${CLINIC_A}`);
    assert.equal(err.code, "23514");
    assert.match(String(err.message), /clinics_settings_valid/);
  });

  await t.step("the readers fall back to the defaults document", async () => {
    const [{ d }] = await db.sql`select private.clinic_settings_defaults() as d`;
    const [r] = await db.sql`
      select private.reminder_leads('{}') as leads, private.no_show_grace('{}') as grace,
        private.in_quiet_hours('{}', ${d.notifications.quiet_hours.start}::time) as at_start,
        private.in_quiet_hours('{}', ${d.notifications.quiet_hours.end}::time) as at_end`;
    assert.deepEqual([...r.leads].sort(), [...d.notifications.reminder_minutes_before].sort());
    assert.equal(r.grace, d.queue.no_show_grace_minutes);
    assert.equal(r.at_start, true);
    assert.equal(r.at_end, false);
    // Every literal fallback of private.queue_setting in the migrations is the default.
    const literals = new Set<string>();
    for await (const f of Deno.readDir("supabase/migrations")) {
      const text = await Deno.readTextFile(`supabase/migrations/${f.name}`);
      for (const m of text.matchAll(/queue_setting\([^,()]+, '(\w+)', (\d+)\)/g)) {
        literals.add(m[1]);
        assert.equal(Number(m[2]), d.queue[m[1]], `${f.name}: ${m[1]} falls back to ${m[2]}`);
      }
    }
    assert.ok(literals.size >= 8, [...literals].join());
  });
});

Deno.test("opening hours: ordered, never overlapping, and they bind doctors' work hours", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const open = (weekday: number, opens: string, closes: string) =>
    db.sql`insert into public.clinic_opening_hours (clinic_id, weekday, opens, closes)
      values (${CLINIC_A}, ${weekday}, ${opens}, ${closes})`;

  await t.step("end after start, no overlap on a day", async () => {
    assert.equal((await refusal(open(1, "10:00", "09:00"))).code, "23514");
    await db.sql.begin(async (tx) => {
      await tx`insert into public.clinic_opening_hours (clinic_id, weekday, opens, closes)
        values (${CLINIC_A}, 0, '08:00', '12:00')`;
      const err = await refusal(tx`insert into public.clinic_opening_hours (clinic_id, weekday,
        opens, closes) values (${CLINIC_A}, 0, '11:00', '13:00')`);
      assert.equal(err.code, "23P01");
      throw new Rollback();
    }).catch((e) => {
      if (!(e instanceof Rollback)) throw e;
    });
  });

  await t.step("opening hours that leave doctors' hours outside are refused", async () => {
    // Seed doctors work Mon–Sat 09–13 and 14–18: Monday alone open leaves Tue–Sat outside.
    const err = await refusal(open(1, "08:00", "20:00"));
    assert.equal(err.code, "PT409");
    assert.equal(err.message, "doctor_hours_outside");
  });

  await t.step("covering opening hours (adjoining intervals too) are taken", async () => {
    await db.sql.begin(async (tx) => {
      for (let d = 1; d <= 6; d++) {
        await tx`insert into public.clinic_opening_hours (clinic_id, weekday, opens, closes)
          values (${CLINIC_A}, ${d}, '08:00', '12:00'), (${CLINIC_A}, ${d}, '12:00', '18:00')`;
      }
    });
  });

  await t.step("doctor hours outside them are refused", async () => {
    const add = (weekday: number, starts: string, ends: string) =>
      db.sql`insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind,
        starts, ends) values (${DOCTORS.tan}, ${CLINIC_A}, ${weekday}, 'work', ${starts}, ${ends})`;
    const sunday = await refusal(add(0, "09:00", "10:00"));
    assert.equal(sunday.code, "PT409");
    assert.equal(sunday.message, "outside_opening_hours");
    // Monday's work is 09–13 and 14–18, opening 08–18: 18–19 overlaps no work, only closing time.
    assert.equal((await refusal(add(1, "18:00", "19:00"))).code, "PT409");
  });

  await t.step("shortening under doctors' hours is refused, naming them", async () => {
    const err = await refusal(db.sql`delete from public.clinic_opening_hours
      where clinic_id = ${CLINIC_A} and weekday = 2 and opens = '08:00'`);
    assert.equal(err.code, "PT409");
    const details = JSON.parse(err.hint ?? "{}");
    assert.ok(details.doctor_hours.length >= 2);
    assert.ok(details.doctor_hours.every((h: { weekday: number }) => h.weekday === 2));
    assert.ok(details.doctor_hours.every((h: { starts: string }) => h.starts === "09:00"));
    assert.ok(details.doctor_hours.some((h: { doctor_id: string }) => h.doctor_id === DOCTORS.tan));
  });

  await t.step("written at once, doctors' hours and opening hours never both pass", async () => {
    // Tuesday open 08:00–19:00, then one transaction closes at 18:30 while another adds Dr Tan
    // 18:30–19:00: each alone is fine, together they would break the rule.
    await db.sql.begin(async (tx) => {
      await tx`delete from public.clinic_opening_hours where clinic_id = ${CLINIC_A}
        and weekday = 2`;
      await tx`insert into public.clinic_opening_hours (clinic_id, weekday, opens, closes)
        values (${CLINIC_A}, 2, '08:00', '19:00')`;
    });
    const shorten = await db.sql.reserve();
    const add = await db.sql.reserve();
    try {
      await shorten`begin`;
      await shorten`update public.clinic_opening_hours set closes = '18:30'
        where clinic_id = ${CLINIC_A} and weekday = 2`;
      await shorten`set constraints all immediate`;
      const [{ pid }] = await add`select pg_backend_pid() as pid`;
      let settled = false;
      const adding = refusal(add`insert into public.doctor_schedule_hours (doctor_id, clinic_id,
        weekday, starts, ends) values (${DOCTORS.tan}, ${CLINIC_A}, 2, '18:30', '19:00')`)
        .finally(() => (settled = true));
      // The doctor's insert waits on the clinic's row until the shorter hours commit...
      while (!settled) {
        const [w] = await db.sql`select wait_event_type from pg_stat_activity where pid = ${pid}`;
        if (w.wait_event_type === "Lock") break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(settled, false, "the insert waited");
      await shorten`commit`;
      // ...and then sees them.
      const err = await adding;
      assert.equal(err.message, "outside_opening_hours");
    } finally {
      shorten.release();
      add.release();
    }
  });

  await t.step("no opening hours at all: nothing bound", async () => {
    await db.sql`delete from public.clinic_opening_hours where clinic_id = ${CLINIC_A}`;
    await db.sql`insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, starts,
      ends) values (${DOCTORS.tan}, ${CLINIC_A}, 0, '09:00', '10:00')`;
  });
});

class Rollback extends Error {}
