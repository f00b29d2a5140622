/**
 * The front desk (20261207000600_front_desk.sql): staff book, hold, reschedule and cancel for
 * a patient — recorded as `phone` (or `front_desk`) with the staff member as `booked_by`,
 * idempotent by Idempotency-Key; the booking calendar pages through the whole advance window;
 * a patient the no-show sweep marked checks in online within the late window.
 */
import assert from "node:assert/strict";
import { addAppointment, queueApp } from "../queue/_support.ts";
import type { Sql } from "../support/db.ts";
import {
  addPatients,
  CLINIC_A,
  DOCTORS,
  localDate,
  nextWeekday,
  PATIENTS,
  sgt,
  testApp,
  USERS,
} from "./_support.ts";

const book = (start: string, extra: Record<string, unknown> = {}) => ({
  clinic_code: "GFC-TP",
  doctor_id: DOCTORS.tan,
  start,
  ...extra,
});

const row = async (sql: Sql, id: string) =>
  (await sql`select source, booked_by, cancelled_by, cancellation_reason, status::text
    from public.appointments where id = ${id}`)[0];

Deno.test("front desk: bookings by phone for a patient", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql, 5);
  const staff = await app.tokenFor(USERS.staffKoh);
  const lim = await app.tokenFor(USERS.patientLim);
  const [other] = await addPatients(app.sql, CLINIC_A, 1);

  await t.step("staff book for a patient: `phone`, booked by them, once per key", async () => {
    const key = { "idempotency-key": crypto.randomUUID() };
    const body = book(sgt(day, "09:00"), { patient_id: other.patientId });
    const first = await app.call("POST", "/api/bookings", { token: staff, headers: key, body });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.appointment.patient_id, other.patientId);
    const again = await app.call("POST", "/api/bookings", { token: staff, headers: key, body });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal(again.body.appointment.id, first.body.appointment.id);
    const [{ n }] = await app.sql`select count(*)::int as n from public.appointments
      where patient_id = ${other.patientId} and status = 'scheduled'`;
    assert.equal(n, 1);
    const stored = await row(app.sql, first.body.appointment.id);
    assert.equal(stored.source, "phone");
    assert.equal(stored.booked_by, USERS.staffKoh);
  });

  await t.step("`front_desk` when staff say so; a hold for the patient too", async () => {
    const desk = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(sgt(day, "09:15"), { patient_id: other.patientId, source: "front_desk" }),
    });
    assert.equal(desk.status, 201, JSON.stringify(desk.body));
    assert.equal((await row(app.sql, desk.body.appointment.id)).source, "front_desk");
    const hold = await app.call("POST", "/api/holds", {
      token: staff,
      body: book(sgt(day, "09:30"), { patient_id: PATIENTS.lim }),
    });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    const booked = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(sgt(day, "09:30"), { patient_id: PATIENTS.lim, hold_id: hold.body.hold.id }),
    });
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    assert.equal(booked.body.appointment.id, hold.body.hold.id);
    const stored = await row(app.sql, hold.body.hold.id);
    assert.deepEqual([stored.source, stored.booked_by], ["phone", USERS.staffKoh]);
  });

  await t.step("a patient's own booking is `web`; they cannot claim another source", async () => {
    const own = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(sgt(day, "10:00")),
    });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    assert.equal((await row(app.sql, own.body.appointment.id)).source, "web");
    const claimed = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(sgt(day, "10:15"), { source: "phone" }),
    });
    assert.equal(claimed.status, 403, JSON.stringify(claimed.body));
    assert.equal(claimed.body.error.code, "forbidden");
    const held = await app.call("POST", "/api/holds", {
      token: lim,
      body: book(sgt(day, "10:15"), { source: "front_desk" }),
    });
    assert.equal(held.status, 403);
    const bad = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(sgt(day, "10:15"), { patient_id: other.patientId, source: "fax" }),
    });
    assert.equal(bad.status, 400);
    const [{ n }] = await app.sql`select count(*)::int as n from public.appointments
      where doctor_id = ${DOCTORS.tan} and lower(period) = ${sgt(day, "10:15")}::timestamptz`;
    assert.equal(n, 0);
  });

  await t.step(
    "staff reschedule (source kept, booked by them) and cancel with a reason",
    async () => {
      const made = await app.call("POST", "/api/bookings", {
        token: staff,
        headers: { "idempotency-key": crypto.randomUUID() },
        body: book(sgt(day, "11:00"), { patient_id: PATIENTS.lim }),
      });
      assert.equal(made.status, 201);
      const later = await nextWeekday(app.sql, 8);
      const moved = await app.call(
        "POST",
        `/api/appointments/${made.body.appointment.id}/reschedule`,
        {
          token: staff,
          body: { start: sgt(later, "14:00"), doctor_id: DOCTORS.lee },
        },
      );
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      const next = moved.body.appointment;
      assert.deepEqual([next.start, next.doctor_id], [sgt(later, "14:00"), DOCTORS.lee]);
      const stored = await row(app.sql, next.id);
      assert.deepEqual([stored.source, stored.booked_by], ["phone", USERS.staffKoh]);
      const cancelled = await app.call("POST", `/api/appointments/${next.id}/cancel`, {
        token: staff,
        body: { reason: "Patient called: travelling" },
      });
      assert.equal(cancelled.status, 200);
      const gone = await row(app.sql, next.id);
      assert.deepEqual(
        [gone.status, gone.cancelled_by, gone.cancellation_reason],
        ["cancelled", USERS.staffKoh, "Patient called: travelling"],
      );
      // The patient's own list shows it.
      const mine = await app.call("GET", "/api/me/appointments", { token: lim });
      const all = [...mine.body.upcoming, ...mine.body.past];
      assert.equal(all.find((a: { id: string }) => a.id === next.id).status, "cancelled");
    },
  );
});

Deno.test("front desk: the calendar over the whole advance window", async (t) => {
  await using app = await testApp();
  type Day = { date: string; open: boolean; free_slots: number };

  await t.step("`from` pages the window; `last_bookable_date` says where it ends", async () => {
    // The demo doctors book 30 days ahead.
    const last = await localDate(app.sql, "Asia/Singapore", 30);
    const from = await localDate(app.sql, "Asia/Singapore", 20);
    const res = await app.call("GET", `/api/clinics/GFC-TP/days?from=${from}&days=31`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.last_bookable_date, last);
    const days: Day[] = res.body.days;
    assert.equal(days.length, 31);
    assert.equal(days[0].date, from);
    for (const d of days) {
      const slots = await app.call("GET", `/api/clinics/GFC-TP/slots?date=${d.date}`);
      assert.equal(d.free_slots, slots.body.slots.length, d.date);
      if (d.date > last) assert.deepEqual([d.open, d.free_slots], [false, 0], d.date);
    }
    assert.ok(days.some((d) => d.date <= last && d.open && d.free_slots > 0));
  });

  await t.step("a full day stays open with no free times; a past day is closed", async () => {
    const day = await nextWeekday(app.sql, 3);
    await app.sql`update public.doctor_schedules set max_per_day = 1`;
    const staff = await app.tokenFor(USERS.staffKoh);
    for (const [doctor, patient] of [[DOCTORS.tan, PATIENTS.lim], [DOCTORS.lee, PATIENTS.lim]]) {
      const res = await app.call("POST", "/api/bookings", {
        token: staff,
        headers: { "idempotency-key": crypto.randomUUID() },
        body: { ...book(sgt(day, "09:00"), { patient_id: patient }), doctor_id: doctor },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const res = await app.call("GET", `/api/clinics/GFC-TP/days?from=${day}&days=1`);
    assert.deepEqual(res.body.days, [{ date: day, open: true, free_slots: 0 }]);
    const past = await localDate(app.sql, "Asia/Singapore", -3);
    const before = await app.call("GET", `/api/clinics/GFC-TP/days?from=${past}&days=2`);
    assert.ok(before.body.days.every((d: Day) => !d.open && d.free_slots === 0));
  });

  await t.step("a staff-only type pages for staff alone; its visits are its length", async () => {
    await app.sql`insert into public.appointment_types (clinic_id, code, name, duration_minutes,
        bookable_by, all_doctors)
      values (${CLINIC_A}, 'vaccination', 'Vaccination', 10, 'staff', true)`;
    await app.sql`update public.doctor_schedules set max_per_day = null`;
    const from = await nextWeekday(app.sql, 3);
    const path = `/api/clinics/GFC-TP/days?type=vaccination&from=${from}&days=3`;
    const anonymous = await app.call("GET", path);
    assert.equal(anonymous.status, 403, JSON.stringify(anonymous.body));
    const staff = await app.tokenFor(USERS.staffKoh);
    const res = await app.call("GET", path, { token: staff });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.days[0].date, from);
    const slots = await app.call(
      "GET",
      `/api/clinics/GFC-TP/slots?date=${from}&type=vaccination`,
      { token: staff },
    );
    assert.equal(res.body.days[0].free_slots, slots.body.slots.length);
    assert.equal(slots.body.slots[0].duration_minutes, 10);
  });

  await t.step("400 for a bad `from` or `days`; null window for a doctor without one", async () => {
    for (const q of ["from=2026-02-30", "from=tomorrow", "days=63", "days=0"]) {
      assert.equal((await app.call("GET", `/api/clinics/GFC-TP/days?${q}`)).status, 400, q);
    }
    await app.sql`delete from public.doctor_schedules where doctor_id = ${DOCTORS.tan}`;
    const res = await app.call("GET", `/api/clinics/GFC-TP/days?doctor_id=${DOCTORS.tan}&days=2`);
    assert.equal(res.status, 200);
    assert.equal(res.body.last_bookable_date, null);
  });
});

Deno.test("front desk: a late arrival after the no-show sweep checks in online", async (t) => {
  await using q = await queueApp();
  const patient = await q.tokenFor(USERS.patientLim);
  const sweep = () => q.sql`select private.sweep_no_shows()`;
  const mine = async (id: string) => {
    const res = await q.call("GET", "/me/appointments", { token: patient });
    return [...res.body.upcoming, ...res.body.past].find((a: { id: string }) => a.id === id);
  };

  await t.step(
    "within check_in_late_minutes: offered, and the check-in clears the mark",
    async () => {
      const id = await addAppointment(q.sql, { startMin: -20 });
      await sweep();
      const before = await mine(id);
      assert.equal(before.status, "no_show");
      assert.ok(before.check_in_opens_at, "the app offers check-in");
      const res = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await mine(id)).status, "checked_in");
    },
  );

  await t.step("past the late window: not offered, and refused as the queue says", async () => {
    const id = await addAppointment(q.sql, { startMin: -90, doctor: DOCTORS.lee });
    await sweep();
    const late = await mine(id);
    assert.equal(late.status, "no_show");
    assert.equal(late.check_in_opens_at, null);
    const res = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, "check_in_closed");
  });

  await t.step("a no-show staff marked by hand is not offered", async () => {
    const id = await addAppointment(q.sql, {
      startMin: -5,
      status: "no_show",
      doctor: DOCTORS.lee,
    });
    assert.equal((await mine(id)).check_in_opens_at, null);
  });
});
