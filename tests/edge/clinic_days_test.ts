/**
 * `GET /clinics/:code/days`: the booking calendar's days — closed days (no schedule, a blocked
 * date, today after hours) are not open, and `free_slots` counts what `/slots` lists.
 */
import assert from "node:assert/strict";
import { CLINIC_A, DOCTORS, testApp } from "./_support.ts";

type Day = { date: string; open: boolean; free_slots: number };

Deno.test("GET /clinics/:code/days", async (t) => {
  await using app = await testApp();

  await t.step("14 days from today; Sundays closed; free_slots as /slots lists", async () => {
    const res = await app.call("GET", "/api/clinics/GFC-TP/days");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.timezone, "Asia/Singapore");
    const days: Day[] = res.body.days;
    assert.equal(days.length, 14);
    const [{ today }] = await app.sql`
      select to_char((now() at time zone 'Asia/Singapore')::date, 'YYYY-MM-DD') as today`;
    assert.equal(days[0].date, today);
    const hours = await app.sql`
      select distinct weekday from public.doctor_schedule_hours h
      join public.doctors d on d.id = h.doctor_id join public.clinics c on c.id = d.clinic_id
      where c.code = 'GFC-TP' and h.kind = 'work'`;
    const worked = new Set(hours.map((h) => Number(h.weekday)));
    for (const day of days.slice(1)) {
      const weekday = new Date(`${day.date}T00:00:00Z`).getUTCDay();
      assert.equal(day.open, worked.has(weekday), day.date);
      const slots = await app.call("GET", `/api/clinics/GFC-TP/slots?date=${day.date}`);
      assert.equal(day.free_slots, slots.body.slots.length, day.date);
      if (!day.open) assert.equal(day.free_slots, 0);
    }
  });

  await t.step("a blocked date of the only doctor asked for is closed", async () => {
    const res = await app.call("GET", `/api/clinics/GFC-TP/days?doctor_id=${DOCTORS.tan}`);
    const open = (res.body.days as Day[]).slice(1).find((d) => d.open)!;
    await app.sql`insert into public.doctor_blocked_dates (doctor_id, clinic_id, day)
      values (${DOCTORS.tan}, ${CLINIC_A}, ${open.date})`;
    const after = await app.call("GET", `/api/clinics/GFC-TP/days?doctor_id=${DOCTORS.tan}`);
    const same = (after.body.days as Day[]).find((d) => d.date === open.date)!;
    assert.deepEqual(same, { date: open.date, open: false, free_slots: 0 });
  });

  await t.step("today is closed once its last slot has begun", async () => {
    // One period a day (intervals of a kind never overlap), the day's first quarter hour.
    await app.sql`delete from public.doctor_schedule_hours where starts <> time '09:00'`;
    await app.sql`update public.doctor_schedule_hours set starts = time '00:00',
      ends = time '00:15'`;
    const res = await app.call("GET", "/api/clinics/GFC-TP/days?days=1");
    assert.equal(res.body.days.length, 1);
    assert.equal(res.body.days[0].open, false);
  });

  await t.step("404 unknown clinic or doctor, 400 bad days", async () => {
    assert.equal((await app.call("GET", "/api/clinics/NOPE-1/days")).status, 404);
    const nobody = "00000000-0000-4000-8000-000000000000";
    assert.equal(
      (await app.call("GET", `/api/clinics/GFC-TP/days?doctor_id=${nobody}`)).status,
      404,
    );
    assert.equal((await app.call("GET", "/api/clinics/GFC-TP/days?days=0")).status, 400);
    assert.equal((await app.call("GET", "/api/clinics/GFC-TP/days?days=x")).status, 400);
  });
});
