/**
 * Clinic closures and public holidays (edge/routes/closures.ts): the clinic's admins close it
 * on a range of dates or on a year's public holidays; no start is offered or taken on a closed
 * day, the bookings already there are listed (never dropped), each change is audited and moves
 * the availability version. Everyone else gets 401/403; bad input a 4xx.
 */
import assert from "node:assert/strict";
import { call } from "../support/app.ts";
import { asUser, claimsFor } from "../support/db.ts";
import { CLINIC_A, DOCTORS, PATIENTS, queueApp, USERS } from "../queue/_support.ts";

Deno.test("closures: admins close days, slots and bookings follow, collisions listed", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const base = "/clinics/GFC-TP/closures";
  // The first day from tomorrow on which Dr Tan has free slots.
  const [{ day }] = await q.sql`
    select d::date::text as day
    from generate_series((now() at time zone (select timezone from public.clinics
        where id = ${CLINIC_A}))::date + 1, (now() at time zone (select timezone
        from public.clinics where id = ${CLINIC_A}))::date + 7, interval '1 day') d
    where jsonb_array_length(api.available_slots('GFC-TP', d::date, ${DOCTORS.tan}) -> 'slots')
      > 1
    order by d limit 1`;
  assert.ok(day, "a bookable day ahead");
  const slots = async () =>
    (await q.call("GET", `/clinics/GFC-TP/slots?date=${day}&doctor_id=${DOCTORS.tan}`)).body
      .slots as { start: string }[];
  const [first, second] = await slots();
  const [booked] = await q.sql`
    insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
      visit_reason)
    values (${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan},
      tstzrange(${first.start}::timestamptz, ${first.start}::timestamptz + interval '15 minutes'),
      'scheduled', 'private reason')
    returning id`;
  const version = async () =>
    (await q.sql`select version from public.availability_versions
      where clinic_id = ${CLINIC_A} and service_date is null`)[0]?.version ?? "0";
  let closureId = "";

  await t.step("closed by an admin: the booking is listed, not dropped", async () => {
    const patient = await q.tokenFor(USERS.patientLim);
    const held = await q.call("POST", "/holds", {
      token: patient,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: second.start },
    });
    assert.equal(held.status, 201, JSON.stringify(held.body));
    const before = await version();
    const res = await q.call("POST", base, {
      token: admin,
      body: { starts_on: day, reason: "  Staff training " },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    closureId = res.body.closure.id;
    assert.equal(res.body.closure.starts_on, day);
    assert.equal(res.body.closure.ends_on, day);
    assert.equal(res.body.closure.reason, "Staff training");
    assert.deepEqual(res.body.affected_appointments.map((a: { id: string }) => a.id), [
      booked.id,
    ]);
    const [hit] = res.body.affected_appointments;
    assert.equal(hit.patient_id, PATIENTS.lim);
    assert.equal(hit.status, "scheduled");
    assert.equal(JSON.stringify(res.body).includes("private reason"), false, "no visit reason");
    const [{ status }] = await q.sql`select status from public.appointments
      where id = ${booked.id}`;
    assert.equal(status, "scheduled");
    assert.notEqual(await version(), before, "the availability version moved");
    // The hold on that day is released: booking it takes the decision's path, and is refused.
    const book = await call(q.app, "POST", "/api/bookings", {
      token: patient,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: {
        clinic_code: "GFC-TP",
        doctor_id: DOCTORS.tan,
        start: second.start,
        hold_id: held.body.hold.id,
      },
    });
    assert.equal(book.status, 422, JSON.stringify(book.body));
    assert.equal(book.body.error.code, "clinic_closed");
  });

  await t.step("no start is offered or taken on the closed day", async () => {
    assert.deepEqual(await slots(), []);
    const patient = await q.tokenFor(USERS.patientLim);
    const hold = await q.call("POST", "/holds", {
      token: patient,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: second.start },
    });
    assert.equal(hold.status, 422, JSON.stringify(hold.body));
    assert.equal(hold.body.error.code, "clinic_closed");
    const days = await q.call("GET", `/clinics/GFC-TP/days?doctor_id=${DOCTORS.tan}`);
    const closed = days.body.days.find((d: { date: string }) => d.date === day);
    assert.equal(closed.open, false);
  });

  await t.step("listed to admins with their collisions; audited", async () => {
    const res = await q.call("GET", base, { token: admin });
    assert.equal(res.status, 200);
    const row = res.body.closures.find((k: { id: string }) => k.id === closureId);
    assert.equal(row.affected_appointments, 1);
    const later = await q.call("GET", `${base}?from=2999-01-01`, { token: admin });
    assert.deepEqual(later.body.closures, []);
    const [log] = await q.sql`select actor_id, clinic_id from audit.logs
      where table_name = 'clinic_closures' and record_id = ${closureId} and action = 'INSERT'`;
    assert.equal(log.actor_id, USERS.admin);
    assert.equal(log.clinic_id, CLINIC_A);
  });

  await t.step("bad input is a 4xx, nothing written", async () => {
    const cases: [unknown, number, string?][] = [
      [{ starts_on: day, ends_on: "2000-01-01", reason: "Back to front" }, 422, "invalid_range"],
      [{ starts_on: "2030-01-01", ends_on: "2031-06-01", reason: "Too long" }, 422],
      [{ starts_on: day, reason: "Again" }, 409, "closure_exists"],
      [{ starts_on: "2030-02-30", reason: "No such day" }, 400],
      [{ starts_on: "tomorrow", reason: "Words" }, 400],
      [{ starts_on: "2030-01-01", reason: "" }, 400],
      [{ starts_on: "2030-01-01", reason: "x".repeat(101) }, 400],
      [{ starts_on: "2030-01-01", reason: "Tab\u0000" }, 400],
      [{ starts_on: "2030-01-01", reason: "Extra", clinic_id: CLINIC_A }, 400],
      [{ reason: "No date" }, 400],
      [null, 400],
      [[], 400],
    ];
    for (const [body, status, code] of cases) {
      const res = await q.call("POST", base, { token: admin, body });
      assert.equal(res.status, status, JSON.stringify([body, res.body]));
      if (code) assert.equal(res.body.error.code, code);
    }
    const [{ n }] = await q.sql`select count(*)::int as n from public.clinic_closures`;
    assert.equal(n, 1);
    assert.equal((await q.call("DELETE", `${base}/nope`, { token: admin })).status, 400);
    const unknown = await q.call("DELETE", `${base}/${crypto.randomUUID()}`, { token: admin });
    assert.equal(unknown.status, 404);
  });

  await t.step("401 anonymous; 403 staff, patients and another clinic's admin", async () => {
    assert.equal((await q.call("GET", base)).status, 401);
    for (const user of [USERS.staffKoh, USERS.nurseOng, USERS.patientLim, USERS.adminBedok]) {
      const token = await q.tokenFor(user);
      assert.equal((await q.call("GET", base, { token })).status, 403, user);
      const add = await q.call("POST", base, {
        token,
        body: { starts_on: "2030-01-01", reason: "Mine" },
      });
      assert.equal(add.status, 403, user);
      const imp = await q.call("POST", `${base}/public-holidays`, { token, body: { year: 2026 } });
      assert.equal(imp.status, 403, user);
      assert.equal((await q.call("DELETE", `${base}/${closureId}`, { token })).status, 403, user);
    }
    // RLS has the last word: staff cannot write the table directly either.
    await assert.rejects(
      asUser(
        q.sql,
        claimsFor(USERS.staffKoh),
        (tx) =>
          tx`insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason)
            values (${CLINIC_A}, '2030-01-01', '2030-01-01', 'x')`,
      ),
      /row-level security/,
    );
    const gone = await asUser(
      q.sql,
      claimsFor(USERS.staffKoh),
      (tx) => tx`delete from public.clinic_closures`,
    );
    assert.equal(gone.count, 0);
  });

  await t.step("removed: the day is open again", async () => {
    assert.equal((await q.call("DELETE", `${base}/${closureId}`, { token: admin })).status, 204);
    assert.equal((await slots()).length > 0, true);
    assert.equal((await q.call("DELETE", `${base}/${closureId}`, { token: admin })).status, 404);
  });
});

Deno.test("closures: a year of Singapore's public holidays, imported once", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const path = "/clinics/GFC-TP/closures/public-holidays";

  await t.step("2026: every holiday a one-day closure; importing again adds nothing", async () => {
    const [christmas] = await q.sql`
      insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
      select ${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan}, tstzrange(s, s + interval '15 minutes'),
        'confirmed'
      from public.clinics c,
        lateral (select '2026-12-25 10:00'::timestamp at time zone c.timezone as s) x
      where c.id = ${CLINIC_A}
      returning id`;
    const res = await q.call("POST", path, { token: admin, body: { year: 2026 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.affected_appointments.map((a: { id: string }) => a.id), [
      christmas.id,
    ]);
    const days = res.body.closures.map((k: { starts_on: string }) => k.starts_on);
    assert.equal(days.length, 14);
    assert.ok(days.includes("2026-08-09") && days.includes("2026-08-10"), "National Day");
    for (const k of res.body.closures) {
      assert.equal(k.starts_on, k.ends_on);
      assert.equal(k.holiday_country, "SG");
    }
    const again = await q.call("POST", path, { token: admin, body: { year: 2026, country: "SG" } });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.closures, []);
    const [{ n }] = await q.sql`select count(*)::int as n from public.clinic_closures`;
    assert.equal(n, 14);
  });

  await t.step("a year not on record is 422 with the years that are; bad years 400", async () => {
    const res = await q.call("POST", path, { token: admin, body: { year: 2031 } });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, "holidays_unavailable");
    assert.deepEqual(res.body.error.details.years, [2025, 2026]);
    for (
      const body of [{}, { year: "2026" }, { year: 2026.5 }, { year: 1899 }, {
        year: 2026,
        country: "MY",
      }, null]
    ) {
      const bad = await q.call("POST", path, { token: admin, body });
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
  });
});
