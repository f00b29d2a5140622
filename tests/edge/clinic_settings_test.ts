/**
 * Clinic settings (edge/routes/clinic_settings.ts): the clinic's admins read the effective
 * settings and change them — queue policy, reminder leads, quiet hours merged key by key,
 * opening hours replacing the week, the time zone — each change audited and moving the
 * availability version; bad input a 4xx naming the field, nothing written; the API's schema
 * accepts exactly the settings documents the database's validator accepts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { SettingsDocument } from "../../edge/routes/clinic_settings.ts";
import { addAppointment, CLINIC_A, DOCTORS, queueApp, USERS } from "../queue/_support.ts";
import { asUser, claimsFor, freshDatabase } from "../support/db.ts";

const BASE = "/clinics/GFC-TP/settings";

/** A week open Monday–Saturday 08:00–12:00 and 12:00–19:00 (the demo doctors work 09–18). */
const WEEK = [1, 2, 3, 4, 5, 6].flatMap((weekday) => [
  { weekday, opens: "08:00", closes: "12:00" },
  { weekday, opens: "12:00", closes: "19:00" },
]);

Deno.test("clinic settings: admins read and change them, audited, availability follows", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const patch = (body: unknown, token = admin) => q.call("PATCH", BASE, { token, body });
  const version = async () =>
    (await q.sql`select version from public.availability_versions
      where clinic_id = ${CLINIC_A} and service_date is null`)[0]?.version ?? "0";
  const stored = async () =>
    (await q.sql`select settings, timezone from public.clinics where id = ${CLINIC_A}`)[0];

  await t.step("GET: every setting, defaults filled in", async () => {
    const res = await q.call("GET", BASE, { token: admin });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.timezone, (await stored()).timezone);
    assert.deepEqual(res.body.queue, {
      check_in_window_minutes: 60,
      check_in_late_minutes: 60,
      near_threshold: 3,
      lateness_grace_minutes: 10,
      priority_step_minutes: 15,
      max_wait_minutes: 90,
      no_show_recall_minutes: 30,
      no_show_grace_minutes: 15,
    });
    assert.deepEqual(res.body.notifications, {
      reminder_minutes_before: [1440, 120],
      quiet_hours: { start: "21:00", end: "08:00" },
    });
    assert.deepEqual(res.body.opening_hours, []);
  });

  await t.step(
    "401 anonymous; 403 staff, doctors, patients and another clinic's admin",
    async () => {
      assert.equal((await q.call("GET", BASE)).status, 401);
      assert.equal((await q.call("PATCH", BASE, { body: {} })).status, 401);
      for (
        const user of [
          USERS.staffKoh,
          USERS.nurseOng,
          USERS.doctorTan,
          USERS.patientLim,
          USERS.adminBedok,
        ]
      ) {
        const token = await q.tokenFor(user);
        const read = await q.call("GET", BASE, { token });
        assert.equal(read.status, 403, user);
        assert.equal(read.body.error.code, "not_clinic_admin");
        const write = await patch({ queue: { near_threshold: 9 } }, token);
        assert.equal(write.status, 403, user);
      }
      const unknown = await q.call("GET", "/clinics/NOPE-1/settings", { token: admin });
      assert.equal(unknown.status, 404);
      assert.equal((await stored()).settings.queue.near_threshold, 3, "nothing written");
    },
  );

  await t.step("PATCH merges key by key; audited; the version moves", async () => {
    const before = await version();
    const one = await patch({ queue: { near_threshold: 5 } });
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.queue.near_threshold, 5);
    assert.equal(one.body.queue.check_in_window_minutes, 60);
    const two = await patch({
      queue: { max_wait_minutes: 120, no_show_grace_minutes: 0 },
      notifications: { reminder_minutes_before: [30], quiet_hours: false },
    });
    assert.equal(two.status, 200, JSON.stringify(two.body));
    assert.equal(two.body.queue.near_threshold, 5, "kept");
    assert.equal(two.body.queue.max_wait_minutes, 120);
    assert.equal(two.body.queue.no_show_grace_minutes, 0);
    assert.deepEqual(two.body.notifications, { reminder_minutes_before: [30], quiet_hours: false });
    const three = await patch({ notifications: { quiet_hours: { start: "22:30", end: "07:00" } } });
    assert.deepEqual(three.body.notifications.reminder_minutes_before, [30], "kept");
    assert.deepEqual(three.body.notifications.quiet_hours, { start: "22:30", end: "07:00" });
    const { settings } = await stored();
    assert.equal(settings.queue.near_threshold, 5);
    assert.deepEqual(settings.notifications.reminder_minutes_before, [30]);
    // The readers see it.
    const [r] = await q.sql`select private.no_show_grace(settings) as grace,
      private.reminder_leads(settings) as leads from public.clinics where id = ${CLINIC_A}`;
    assert.equal(r.grace, 0);
    assert.deepEqual(r.leads, [30]);
    const logs = await q.sql`select actor_id, changed_fields from audit.logs
      where table_name = 'clinics' and record_id = ${CLINIC_A} and action = 'UPDATE'
        and actor_id = ${USERS.admin}`;
    assert.equal(logs.length, 3);
    assert.ok(logs.every((l) => l.changed_fields.includes("settings")));
    assert.notEqual(await version(), before);
    const unchanged = await version();
    for (const body of [{}, { queue: { near_threshold: 5 } }]) {
      const same = await patch(body);
      assert.equal(same.status, 200);
      assert.equal(same.body.queue.near_threshold, 5);
    }
    const [{ n }] = await q.sql`select count(*)::int as n from audit.logs
      where table_name = 'clinics' and record_id = ${CLINIC_A} and actor_id = ${USERS.admin}`;
    assert.equal(n, 3, "no change, nothing written");
    assert.equal(await version(), unchanged);
  });

  await t.step("bad input: 400 naming the field, nothing written", async () => {
    const before = await stored();
    const cases: [unknown, string][] = [
      [{ colour: "red" }, "colour"],
      [{ queue: { nearthreshold: 3 } }, "nearthreshold"],
      [{ queue: { near_threshold: "3" } }, "queue.near_threshold"],
      [{ queue: { near_threshold: 2.5 } }, "queue.near_threshold"],
      [{ queue: { near_threshold: -1 } }, "queue.near_threshold"],
      [{ queue: { no_show_grace_minutes: 1441 } }, "queue.no_show_grace_minutes"],
      [{ queue: { max_wait_minutes: 0 } }, "queue.max_wait_minutes"],
      [{ queue: null }, "queue"],
      [{ notifications: { reminder_minutes_before: [0] } }, "reminder_minutes_before.0"],
      [{ notifications: { reminder_minutes_before: [1, 2, 3, 4, 5, 6] } }, "reminder_minutes"],
      [{ notifications: { quiet_hours: { start: "25:00", end: "08:00" } } }, "quiet_hours"],
      [{ notifications: { quiet_hours: true } }, "quiet_hours"],
      [{ timezone: 8 }, "timezone"],
      [{ opening_hours: [{ weekday: 7, opens: "08:00", closes: "12:00" }] }, "weekday"],
      [{ opening_hours: [{ weekday: 1, opens: "8am", closes: "12:00" }] }, "opens"],
      [{ queue: { near_threshold: 4 }, extra: 1 }, "extra"],
    ];
    for (const [body, field] of cases) {
      const res = await patch(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, "invalid_request");
      assert.ok(JSON.stringify(res.body.error.details).includes(field), JSON.stringify(res.body));
    }
    for (const body of [null, [], "x"]) assert.equal((await patch(body)).status, 400);
    assert.deepEqual(await stored(), before);
  });

  await t.step("opening hours: checked, replaced as a week, binding doctors' hours", async () => {
    const before = await version();
    const backwards = await patch({
      queue: { near_threshold: 7 },
      opening_hours: [WEEK[0], { weekday: 2, opens: "12:00", closes: "09:00" }],
    });
    assert.equal(backwards.status, 422, JSON.stringify(backwards.body));
    assert.equal(backwards.body.error.code, "invalid_hours");
    assert.equal(backwards.body.error.details[0].path, "opening_hours.1");
    const overlap = await patch({
      opening_hours: [...WEEK, { weekday: 3, opens: "11:00", closes: "13:00" }],
    });
    assert.equal(overlap.status, 422);
    assert.equal(overlap.body.error.details[0].path, `opening_hours.${WEEK.length}`);
    assert.equal((await stored()).settings.queue.near_threshold, 5, "no partial write");

    const short = await patch({ opening_hours: [{ weekday: 1, opens: "10:00", closes: "17:00" }] });
    assert.equal(short.status, 409, JSON.stringify(short.body));
    assert.equal(short.body.error.code, "doctor_hours_outside");
    const named = short.body.error.details.doctor_hours as {
      weekday: number;
      doctor_name: string;
    }[];
    assert.ok(named.some((h) => h.weekday === 6 && h.doctor_name === "Dr Tan Wei Ming"));
    assert.ok(named.some((h) => h.weekday === 1), "Monday 09:00 starts before 10:00");
    const [{ n }] = await q.sql`select count(*)::int as n from public.clinic_opening_hours`;
    assert.equal(n, 0, "nothing written");

    const set = await patch({ opening_hours: WEEK.toReversed() });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.opening_hours, WEEK, "by weekday, then opening");
    assert.notEqual(await version(), before, "the version moved");
    const logged = await q.sql`select actor_id from audit.logs
      where table_name = 'clinic_opening_hours'`;
    assert.equal(logged.length, WEEK.length);
    assert.ok(logged.every((l) => l.actor_id === USERS.admin));
    const again = await patch({ opening_hours: WEEK });
    assert.equal(again.status, 200);
    const [{ logs }] = await q.sql`select count(*)::int as logs from audit.logs
      where table_name = 'clinic_opening_hours'`;
    assert.equal(logs, WEEK.length, "the same week again: nothing written");

    // Doctors' hours now live within them.
    const outside = await asUser(
      q.sql,
      claimsFor(USERS.admin),
      (tx) =>
        tx`insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, starts, ends)
          values (${DOCTORS.tan}, ${CLINIC_A}, 0, '09:00', '10:00')`,
    ).then(() => null, (e) => e);
    assert.equal(outside?.message, "outside_opening_hours");

    const cleared = await patch({ opening_hours: [] });
    assert.deepEqual(cleared.body.opening_hours, []);
  });

  await t.step("time zone: unknown 422; bookings from today on 409 listing them", async () => {
    const zone = (await stored()).timezone;
    const unknown = await patch({ timezone: "Mars/Olympus_Mons" });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.error.details[0].path, "timezone");
    const same = await patch({ timezone: zone });
    assert.equal(same.status, 200, "unchanged: nothing to check");

    const booked = await addAppointment(q.sql, { startMin: 24 * 60 });
    const busy = await patch({ timezone: "Asia/Kuala_Lumpur", queue: { near_threshold: 8 } });
    assert.equal(busy.status, 409, JSON.stringify(busy.body));
    assert.equal(busy.body.error.code, "time_zone_in_use");
    const ids = busy.body.error.details.affected_appointments.map((a: { id: string }) => a.id);
    assert.ok(ids.includes(booked));
    assert.equal((await stored()).timezone, zone);
    assert.equal((await stored()).settings.queue.near_threshold, 5, "no partial write");

    await q.sql`update public.appointments set status = 'cancelled'
      where clinic_id = ${CLINIC_A} and status in ('scheduled', 'confirmed')`;
    const before = await version();
    const moved = await patch({ timezone: "Asia/Kuala_Lumpur" });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.timezone, "Asia/Kuala_Lumpur");
    assert.notEqual(await version(), before);
    const [log] = await q.sql`select changed_fields from audit.logs
      where table_name = 'clinics' and record_id = ${CLINIC_A} and actor_id = ${USERS.admin}
      order by id desc limit 1`;
    assert.ok(log.changed_fields.includes("timezone"));
  });
  await t.step("anything an admin sends: a 2xx or a 4xx in the contract's shape", async () => {
    /** Mostly `valid`, now and then `other`. */
    const often = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
      fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: other });
    const hm = often(
      fc.constantFrom("00:00", "08:00", "09:00", "12:00", "13:00", "18:00", "19:00", "24:00"),
      fc.string({ maxLength: 6 }),
    );
    const interval = fc.record({
      weekday: often(fc.integer({ min: 0, max: 6 }), fc.constantFrom(-1, 7, "1")),
      opens: hm,
      closes: hm,
    });
    const body = fc.record({
      timezone: often(
        fc.constantFrom("Asia/Singapore", "Asia/Kuala_Lumpur", "UTC", "+08"),
        fc.constantFrom("Nowhere/City", "", "x".repeat(65), "Asia/Singapore\u0000"),
      ),
      opening_hours: fc.array(interval, { maxLength: 4 }),
      queue: fc.dictionary(
        often(fc.constantFrom("near_threshold", "max_wait_minutes"), fc.constant("x")),
        often(fc.integer({ min: 1, max: 50 }), fc.constantFrom(-5, 2000, null, "1", 1.5)),
      ),
      notifications: fc.record({
        reminder_minutes_before: fc.array(
          often(fc.integer({ min: 1, max: 10080 }), fc.constantFrom(0, 20000)),
          { maxLength: 6 },
        ),
        quiet_hours: often(
          fc.oneof(fc.constantFrom(false, null), fc.record({ start: hm, end: hm })),
          fc.constant(true),
        ),
      }, { requiredKeys: [] }),
    }, { requiredKeys: [] });
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await patch(b);
        assert.ok(
          res.status === 200 || (res.status >= 400 && res.status < 500),
          String(res.status),
        );
        if (res.status !== 200) assert.equal(typeof res.body.error.code, "string");
        seen.add(res.status);
      }),
      { seed: 16_000_201, numRuns: 150 },
    );
    for (const status of [200, 400, 409, 422]) assert.ok(seen.has(status), `no ${status} seen`);
  });
});

Deno.test("clinic settings: the API's schema accepts exactly what the database accepts", async () => {
  await using db = await freshDatabase();
  /** Mostly valid, sometimes at or past a bound, now and then of another type. */
  const often = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
    fc.oneof({ weight: 30, arbitrary: valid }, { weight: 1, arbitrary: other });
  const junk = fc.oneof(
    fc.constantFrom("60", null, true, false, [], {}, 0.5, -1),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.jsonValue({ maxDepth: 1 }),
  );
  const minutes = fc.oneof(
    { weight: 20, arbitrary: fc.integer({ min: 1, max: 50 }) },
    { weight: 3, arbitrary: fc.constantFrom(0, 51, 240, 241, 1440, 1441, 10080, 10081) },
    { weight: 1, arbitrary: junk },
  );
  const hm = often(
    fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) =>
      `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`
    ),
    fc.oneof(fc.constantFrom("24:00", "7:00", "08:60", "", "08:00 ", "08:00\n"), junk),
  );
  // The known queue keys, from the database's own defaults (each known key has one).
  const [{ defaults }] = await db.sql`select private.clinic_settings_defaults() as defaults`;
  const keys = Object.keys(defaults.queue);
  assert.equal(keys.length, 8);
  const withStray = <T>(record: fc.Arbitrary<T>) =>
    often(record, fc.tuple(record, junk).map(([r, x]) => ({ ...r, stray: x })));
  const queue = often(
    withStray(fc.record(Object.fromEntries(keys.map((k) => [k, minutes])), { requiredKeys: [] })),
    junk,
  );
  const quiet = often(
    fc.oneof(fc.constantFrom(false, null), withStray(fc.record({ start: hm, end: hm }))),
    fc.oneof(fc.constantFrom(true, {}, "night"), fc.record({ start: hm }), junk),
  );
  const notifications = often(
    withStray(fc.record({
      reminder_minutes_before: often(fc.array(minutes, { maxLength: 6 }), junk),
      quiet_hours: quiet,
    }, { requiredKeys: [] })),
    junk,
  );
  const document = often(
    withStray(fc.record({ queue, notifications }, { requiredKeys: [] })),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const agree = async (doc: unknown) => {
    const [{ ok }] = await db.sql`
      select private.clinic_settings_valid(${JSON.stringify(doc)}::text::jsonb) as ok`;
    assert.equal(SettingsDocument.safeParse(doc).success, ok, Deno.inspect(doc, { depth: 9 }));
    return ok as boolean;
  };
  // Every bound, exhaustively: each key at each candidate bound.
  const bounds = [-1, 0, 1, 2, 49, 50, 51, 239, 240, 241, 1439, 1440, 1441, 10079, 10080, 10081];
  for (const key of keys) {
    for (const value of bounds) await agree({ queue: { [key]: value } });
  }
  for (const value of bounds) {
    await agree({ notifications: { reminder_minutes_before: [value] } });
  }

  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(document, async (doc) => {
      accepted += await agree(doc) ? 1 : 0;
    }),
    { seed: 16_000_200, numRuns: 2000 },
  );
  // Both answers are well represented (about 60% accepted with this seed).
  assert.ok(accepted > 500 && accepted < 1500, `${accepted} of 2000 accepted`);
});

Deno.test("clinic settings: admins close and reopen the clinic to new patients, audited", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const accepts = async () =>
    (await q.sql`select accepts_new_patients from public.clinics where id = ${CLINIC_A}`)[0]
      .accepts_new_patients;

  await t.step("GET says it; PATCH changes it alone, audited with the admin", async () => {
    const read = await q.call("GET", BASE, { token: admin });
    assert.equal(read.body.accepts_new_patients, true);
    const res = await q.call("PATCH", BASE, {
      token: admin,
      body: { accepts_new_patients: false },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepts_new_patients, false);
    assert.equal(res.body.queue.near_threshold, 3, "the rest as it was");
    assert.equal(await accepts(), false);
    const [log] = await q.sql`select changed_fields, actor_id from audit.logs
      where table_name = 'clinics' and record_id = ${CLINIC_A} order by id desc limit 1`;
    assert.deepEqual([log.changed_fields, log.actor_id], [["accepts_new_patients"], USERS.admin]);
  });

  await t.step(
    "403 for anyone but its admins, 400 for a non-boolean; nothing written",
    async () => {
      for (const user of [USERS.staffKoh, USERS.patientLim, USERS.adminBedok]) {
        const res = await q.call("PATCH", BASE, {
          token: await q.tokenFor(user),
          body: { accepts_new_patients: true },
        });
        assert.equal(res.status, 403, user);
      }
      for (const bad of ["yes", 1, null]) {
        const res = await q.call("PATCH", BASE, {
          token: admin,
          body: { accepts_new_patients: bad },
        });
        assert.equal(res.status, 400, JSON.stringify(bad));
      }
      assert.equal(await accepts(), false);
    },
  );

  await t.step("reopened with the rest of a patch in one go", async () => {
    const res = await q.call("PATCH", BASE, {
      token: admin,
      body: { accepts_new_patients: true, queue: { near_threshold: 4 } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.accepts_new_patients, res.body.queue.near_threshold], [true, 4]);
    assert.equal(await accepts(), true);
  });
});
