/**
 * Holds, bookings (with Idempotency-Key), cancel, reschedule and "my appointments" through
 * `app.request` against the real database. Every status code these endpoints answer.
 */
import assert from "node:assert/strict";
import {
  addPatients,
  CLINIC_A,
  DOCTORS,
  nextWeekday,
  PATIENTS,
  sgt,
  testApp,
  USERS,
} from "./_support.ts";

const book = (doctor: string, start: string, extra: Record<string, unknown> = {}) => ({
  clinic_code: "GFC-TP",
  doctor_id: doctor,
  start,
  ...extra,
});

Deno.test("bookings: create, numbers, authorization and validation", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.staffKoh);
  const chan = await app.tokenFor(USERS.patientChan); // patient of the other clinic
  const adminBedok = await app.tokenFor(USERS.adminBedok);
  const key = () => ({ "idempotency-key": crypto.randomUUID() });

  await t.step("201 with a human-readable number; the slot disappears from /slots", async () => {
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: book(DOCTORS.tan, sgt(day, "09:00"), { visit_reason: "Cough" }),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const a = res.body.appointment;
    assert.match(
      a.appointment_number,
      new RegExp(`^GFC-TP-${day.slice(2).replaceAll("-", "")}-\\d{3}$`),
    );
    assert.equal(a.status, "scheduled");
    assert.equal(a.start, sgt(day, "09:00"));
    assert.equal(a.end, sgt(day, "09:15"));
    assert.equal(a.patient_id, PATIENTS.lim);
    assert.equal(a.doctor_id, DOCTORS.tan);
    assert.equal(a.visit_reason, "Cough");
    assert.equal(a.clinic_name, "Gabriel Family Clinic");
    assert.equal(a.branch_name, "Tampines", "the branch is named (two clinics share a name)");
    const slots = await app.call(
      "GET",
      `/api/clinics/GFC-TP/slots?date=${day}&doctor_id=${DOCTORS.tan}`,
    );
    assert.ok(!slots.body.slots.some((s: { start: string }) => s.start === sgt(day, "09:00")));
  });

  await t.step("numbers are distinct and sequential per clinic and day", async () => {
    const numbers = [];
    for (const time of ["09:15", "09:30", "09:45"]) {
      const res = await app.call("POST", "/api/bookings", {
        token: staff,
        headers: key(),
        body: book(DOCTORS.lee, sgt(day, time), { patient_id: PATIENTS.lim }),
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      numbers.push(res.body.appointment.appointment_number);
    }
    assert.equal(new Set(numbers).size, 3);
    const seq = numbers.map((n: string) => Number(n.slice(-3)));
    assert.deepEqual(seq, [seq[0], seq[0] + 1, seq[0] + 2]);
  });

  await t.step("past 999 a day, numbers grow a digit instead of repeating", async () => {
    const later = (await app.sql`select to_char(${day}::date + 7, 'YYYY-MM-DD') d`)[0].d;
    await app.sql`insert into private.day_counters (clinic_id, day, kind, value)
      values (${CLINIC_A}, ${later}::date, 'appointment', 998)`;
    const numbers = [];
    for (const time of ["09:00", "09:15", "09:30"]) {
      const res = await app.call("POST", "/api/bookings", {
        token: staff,
        headers: key(),
        body: book(DOCTORS.tan, sgt(later, time), { patient_id: PATIENTS.lim }),
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      numbers.push(res.body.appointment.appointment_number.split("-").at(-1));
    }
    assert.deepEqual(numbers, ["999", "1000", "1001"]);
  });

  await t.step("409 slot_unavailable when the slot is taken", async () => {
    const res = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: key(),
      body: book(DOCTORS.tan, sgt(day, "09:00"), { patient_id: PATIENTS.lim }),
    });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, "slot_unavailable");
  });

  await t.step("400: missing Idempotency-Key, invalid body with field paths", async () => {
    const missing = await app.call("POST", "/api/bookings", {
      token: lim,
      body: book(DOCTORS.tan, sgt(day, "10:00")),
    });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "idempotency_key_required");
    const invalid = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: { clinic_code: "GFC-TP", doctor_id: "nope", start: "tomorrow" },
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, "invalid_request");
    const paths = invalid.body.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ["doctor_id", "start"]);
    const noOffset = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: book(DOCTORS.tan, `${day}T10:00:00`),
    });
    assert.equal(noOffset.status, 400);
    const staffNoPatient = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: key(),
      body: book(DOCTORS.tan, sgt(day, "10:00")),
    });
    assert.equal(staffNoPatient.status, 400);
    assert.equal(staffNoPatient.body.error.code, "patient_required");
  });

  await t.step("401 without a token, or with a board token", async () => {
    const anon = await app.call("POST", "/api/bookings", {
      headers: key(),
      body: book(DOCTORS.tan, sgt(day, "10:00")),
    });
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, "auth_required");
    const board = await app.tokens.signBoard(crypto.randomUUID(), CLINIC_A);
    const boardRes = await app.call("POST", "/api/bookings", {
      token: board,
      headers: key(),
      body: book(DOCTORS.tan, sgt(day, "10:00")),
    });
    assert.equal(boardRes.status, 401);
  });

  await t.step(
    "403: another clinic's patient or staff; a patient booking for someone else",
    async () => {
      const foreignPatient = await app.call("POST", "/api/bookings", {
        token: chan,
        headers: key(),
        body: book(DOCTORS.tan, sgt(day, "10:00")),
      });
      assert.equal(foreignPatient.status, 403);
      assert.equal(foreignPatient.body.error.code, "not_a_patient");
      const foreignStaff = await app.call("POST", "/api/bookings", {
        token: adminBedok,
        headers: key(),
        body: book(DOCTORS.tan, sgt(day, "10:00"), { patient_id: PATIENTS.lim }),
      });
      assert.equal(foreignStaff.status, 403);
      assert.equal(foreignStaff.body.error.code, "forbidden");
      assert.match(foreignStaff.body.error.message, /Only staff of this clinic/);
      const [other] = await addPatients(app.sql, CLINIC_A, 1);
      const forOther = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: key(),
        body: book(DOCTORS.tan, sgt(day, "10:00"), { patient_id: other.patientId }),
      });
      assert.equal(forOther.status, 403);
      assert.equal(forOther.body.error.code, "forbidden");
    },
  );

  await t.step("404: unknown clinic, another clinic's doctor, unknown patient", async () => {
    const clinic = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: { ...book(DOCTORS.tan, sgt(day, "10:00")), clinic_code: "NOPE-1" },
    });
    assert.equal(clinic.status, 404);
    assert.equal(clinic.body.error.code, "clinic_not_found");
    const doctor = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: book(DOCTORS.ng, sgt(day, "10:00")),
    });
    assert.equal(doctor.status, 404);
    assert.equal(doctor.body.error.code, "doctor_not_found");
    const patient = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: key(),
      body: book(DOCTORS.tan, sgt(day, "10:00"), { patient_id: PATIENTS.chan }),
    });
    assert.equal(patient.status, 404);
    assert.equal(patient.body.error.code, "patient_not_found");
  });

  await t.step("422: off the schedule grid, in a break, too soon, too far ahead", async () => {
    for (
      const [start, code] of [
        [sgt(day, "09:05"), "outside_schedule"],
        [sgt(day, "10:30"), "outside_schedule"], // the tea break
        [sgt(day, "13:00"), "outside_schedule"], // lunch
        [sgt(day, "07:00"), "outside_schedule"],
        [new Date(Date.now() + 5 * 60_000).toISOString(), "too_soon"],
        [new Date(Date.now() + 60 * 86_400_000).toISOString(), "too_far_ahead"],
      ]
    ) {
      const res = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: key(),
        body: book(DOCTORS.tan, start),
      });
      assert.equal(res.status, 422, `${start}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, start);
    }
  });

  await t.step("blocked dates and the daily cap", async () => {
    await app.sql`insert into public.doctor_blocked_dates (doctor_id, clinic_id, day)
      values (${DOCTORS.lee}, ${CLINIC_A}, ${day}::date + 7)`;
    const weekLater = (await app.sql`select to_char(${day}::date + 7, 'YYYY-MM-DD') d`)[0].d;
    const blocked = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: book(DOCTORS.lee, sgt(weekLater, "09:00")),
    });
    assert.equal(blocked.status, 422);
    assert.equal(blocked.body.error.code, "outside_schedule");
    const slots = await app.call(
      "GET",
      `/api/clinics/GFC-TP/slots?date=${weekLater}&doctor_id=${DOCTORS.lee}`,
    );
    assert.deepEqual(slots.body.slots, []);

    await app
      .sql`update public.doctor_schedules set max_per_day = 1 where doctor_id = ${DOCTORS.tan}`;
    // Dr Tan already has the 09:00 appointment that day.
    const capped = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: book(DOCTORS.tan, sgt(day, "11:00")),
    });
    assert.equal(capped.status, 409);
    assert.equal(capped.body.error.code, "slot_unavailable");
    const none = await app.call(
      "GET",
      `/api/clinics/GFC-TP/slots?date=${day}&doctor_id=${DOCTORS.tan}`,
    );
    assert.deepEqual(none.body.slots, []);
    await app
      .sql`update public.doctor_schedules set max_per_day = 28 where doctor_id = ${DOCTORS.tan}`;
  });
});

Deno.test("bookings: Idempotency-Key semantics", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.staffKoh);

  await t.step("same key and payload: the original 201 again, one appointment", async () => {
    const body = book(DOCTORS.tan, sgt(day, "14:00"));
    const first = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": "retry-1" },
      body,
    });
    assert.equal(first.status, 201);
    assert.equal(first.headers.get("idempotent-replayed"), null);
    const again = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": '"retry-1"' }, // the draft's sf-string form
      body: { start: body.start, doctor_id: body.doctor_id, clinic_code: body.clinic_code },
    });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(again.body, first.body);
    const [n] = await app.sql`select count(*)::int as n from public.appointments
      where patient_id = ${PATIENTS.lim} and status = 'scheduled'`;
    assert.equal(n.n, 1);
  });

  await t.step("same key, different payload: 422", async () => {
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": "retry-1" },
      body: book(DOCTORS.tan, sgt(day, "14:15")),
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, "idempotency_key_mismatch");
  });

  await t.step("failures are replayed too (409 stays 409 after the slot frees up)", async () => {
    const body = book(DOCTORS.tan, sgt(day, "14:00"), { patient_id: PATIENTS.lim });
    const first = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: { "idempotency-key": "taken" },
      body,
    });
    assert.equal(first.status, 409);
    await app.sql`update public.appointments set status = 'cancelled'
      where patient_id = ${PATIENTS.lim} and status = 'scheduled'`;
    const again = await app.call("POST", "/api/bookings", {
      token: staff,
      headers: { "idempotency-key": "taken" },
      body,
    });
    assert.equal(again.status, 409);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(again.body, first.body);
  });

  await t.step("keys are per caller: the same key from two callers books twice", async () => {
    const [a, b] = await addPatients(app.sql, CLINIC_A, 2);
    for (const [p, time] of [[a, "15:00"], [b, "15:15"]] as const) {
      const res = await app.call("POST", "/api/bookings", {
        token: await app.tokenFor(p.userId),
        headers: { "idempotency-key": "shared-key" },
        body: book(DOCTORS.tan, sgt(day, time)),
      });
      assert.equal(res.status, 201);
      assert.equal(res.body.appointment.patient_id, p.patientId);
    }
  });

  await t.step("same key while the first is in flight: 409", async () => {
    // Hold the key's lock from another session, as a concurrent first request would.
    const reserved = await app.sql.reserve();
    try {
      await reserved`select pg_advisory_lock(hashtext('idempotency:' || ${USERS.patientLim}),
        hashtext('in-flight'))`;
      const res = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: { "idempotency-key": "in-flight" },
        body: book(DOCTORS.tan, sgt(day, "16:00")),
      });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, "idempotency_key_in_use");
      await reserved`select pg_advisory_unlock(hashtext('idempotency:' || ${USERS.patientLim}),
        hashtext('in-flight'))`;
    } finally {
      reserved.release();
    }
    const after = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": "in-flight" },
      body: book(DOCTORS.tan, sgt(day, "16:00")),
    });
    assert.equal(after.status, 201);
  });

  await t.step("records are kept at least 24 hours; an expired key starts afresh", async () => {
    const rows = await app.sql`select key, expires_at - created_at as kept
      from public.idempotency_keys where user_id = ${USERS.patientLim}`;
    assert.ok(rows.length >= 2);
    for (const row of rows) assert.ok(row.kept >= "24:00:00" || row.kept === "1 day", row.kept);
    const [{ ok }] = await app.sql`select bool_and(expires_at >= created_at + interval '24 hours')
      as ok from public.idempotency_keys`;
    assert.equal(ok, true);
    await app.sql`update public.idempotency_keys set created_at = now() - interval '2 days',
      expires_at = now() - interval '1 day' where key = 'retry-1'`;
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": "retry-1" },
      body: book(DOCTORS.tan, sgt(day, "16:15")),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("idempotent-replayed"), null);
  });

  await t.step(
    "an unexpected database error leaves no key behind (retry runs afresh)",
    async () => {
      const before = await app.sql`select count(*)::int n from public.idempotency_keys`;
      await app.sql`alter table public.appointments add constraint test_no_reason
      check (visit_reason is distinct from 'boom') not valid`;
      const res = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: { "idempotency-key": "boom" },
        body: book(DOCTORS.tan, sgt(day, "16:30"), { visit_reason: "boom" }),
      });
      assert.equal(res.status, 400); // 23514 check_violation → invalid_request, not stored
      await app.sql`alter table public.appointments drop constraint test_no_reason`;
      const after = await app.sql`select count(*)::int n from public.idempotency_keys`;
      assert.equal(after[0].n, before[0].n);
      const retry = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: { "idempotency-key": "boom" },
        body: book(DOCTORS.tan, sgt(day, "16:30"), { visit_reason: "boom" }),
      });
      assert.equal(retry.status, 201);
    },
  );
});

Deno.test("holds: hold, book with the hold, conflicts, release, expiry", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const [other] = await addPatients(app.sql, CLINIC_A, 1);
  const otherToken = await app.tokenFor(other.userId);
  let holdId = "";

  await t.step("201 hold; the slot is gone from /slots", async () => {
    const res = await app.call("POST", "/api/holds", {
      token: lim,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "11:00") },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    holdId = res.body.hold.id;
    const ttl = Date.parse(res.body.hold.expires_at) - Date.now();
    assert.ok(ttl > 4 * 60_000 && ttl <= 5 * 60_000 + 1000, String(ttl));
    const slots = await app.call(
      "GET",
      `/api/clinics/GFC-TP/slots?date=${day}&doctor_id=${DOCTORS.tan}`,
    );
    assert.ok(!slots.body.slots.some((s: { start: string }) => s.start === sgt(day, "11:00")));
  });

  await t.step("409 for anyone else: hold or book", async () => {
    const hold = await app.call("POST", "/api/holds", {
      token: otherToken,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "11:00") },
    });
    assert.equal(hold.status, 409);
    assert.equal(hold.body.error.code, "slot_unavailable");
    const booking = await app.call("POST", "/api/bookings", {
      token: otherToken,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(DOCTORS.tan, sgt(day, "11:00")),
    });
    assert.equal(booking.status, 409);
  });

  await t.step("422 when the hold does not match the booking", async () => {
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(DOCTORS.tan, sgt(day, "11:15"), { hold_id: holdId }),
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, "hold_mismatch");
  });

  await t.step("the holder books with the hold: same row, now scheduled and numbered", async () => {
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(DOCTORS.tan, sgt(day, "11:00"), { hold_id: holdId, visit_reason: "Fever" }),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.appointment.id, holdId);
    assert.equal(res.body.appointment.status, "scheduled");
    assert.equal(res.body.appointment.hold_expires_at, null);
    assert.ok(res.body.appointment.appointment_number);
  });

  await t.step(
    "a new hold replaces the patient's previous one; DELETE releases (204/404)",
    async () => {
      const first = await app.call("POST", "/api/holds", {
        token: otherToken,
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.lee, start: sgt(day, "09:00") },
      });
      assert.equal(first.status, 201);
      const second = await app.call("POST", "/api/holds", {
        token: otherToken,
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.lee, start: sgt(day, "09:15") },
      });
      assert.equal(second.status, 201);
      const [n] = await app.sql`select count(*)::int n from public.appointments
      where patient_id = ${other.patientId} and status = 'held'`;
      assert.equal(n.n, 1);
      const notMine = await app.call("DELETE", `/api/holds/${second.body.hold.id}`, { token: lim });
      assert.equal(notMine.status, 404);
      const released = await app.call("DELETE", `/api/holds/${second.body.hold.id}`, {
        token: otherToken,
      });
      assert.equal(released.status, 204);
      const gone = await app.call("DELETE", `/api/holds/${second.body.hold.id}`, {
        token: otherToken,
      });
      assert.equal(gone.status, 404);
    },
  );

  await t.step("an expired hold does not block anyone", async () => {
    const hold = await app.call("POST", "/api/holds", {
      token: otherToken,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.lee, start: sgt(day, "10:00") },
    });
    assert.equal(hold.status, 201);
    await app.sql`update public.appointments set hold_expires_at = now() - interval '1 second'
      where id = ${hold.body.hold.id}`;
    const slots = await app.call(
      "GET",
      `/api/clinics/GFC-TP/slots?date=${day}&doctor_id=${DOCTORS.lee}`,
    );
    assert.ok(slots.body.slots.some((s: { start: string }) => s.start === sgt(day, "10:00")));
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(DOCTORS.lee, sgt(day, "10:00")),
    });
    assert.equal(res.status, 201);
    // The holder's late booking with the vanished hold is refused: the slot is taken.
    const late = await app.call("POST", "/api/bookings", {
      token: otherToken,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(DOCTORS.lee, sgt(day, "10:00"), { hold_id: hold.body.hold.id }),
    });
    assert.equal(late.status, 409);
  });

  await t.step("the holder's own expired hold: booked through the normal path", async () => {
    const hold = await app.call("POST", "/api/holds", {
      token: otherToken,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.lee, start: sgt(day, "10:15") },
    });
    assert.equal(hold.status, 201);
    await app.sql`update public.appointments set hold_expires_at = now() - interval '1 second'
      where id = ${hold.body.hold.id}`;
    const res = await app.call("POST", "/api/bookings", {
      token: otherToken,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(DOCTORS.lee, sgt(day, "10:15"), { hold_id: hold.body.hold.id }),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.notEqual(res.body.appointment.id, hold.body.hold.id);
    const [gone] = await app.sql`select count(*)::int n from public.appointments
      where id = ${hold.body.hold.id}`;
    assert.equal(gone.n, 0);
  });

  await t.step("400 and 401 on holds", async () => {
    const bad = await app.call("POST", "/api/holds", {
      token: lim,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan },
    });
    assert.equal(bad.status, 400);
    const anon = await app.call("POST", "/api/holds", {
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "12:00") },
    });
    assert.equal(anon.status, 401);
    const badId = await app.call("DELETE", "/api/holds/not-a-uuid", { token: lim });
    assert.equal(badId.status, 400);
  });
});

Deno.test("cancel, reschedule, my appointments", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.staffKoh);
  const [other] = await addPatients(app.sql, CLINIC_A, 1);
  const otherToken = await app.tokenFor(other.userId);
  const create = async (token: string, doctor: string, time: string, extra = {}) => {
    const res = await app.call("POST", "/api/bookings", {
      token,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: book(doctor, sgt(day, time), extra),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.appointment;
  };

  await t.step("cancel frees the slot at once; cancelling again is 409", async () => {
    const a = await create(lim, DOCTORS.tan, "09:00");
    const res = await app.call("POST", `/api/appointments/${a.id}/cancel`, {
      token: lim,
      body: { reason: "Feeling better" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.appointment.status, "cancelled");
    assert.equal(res.body.appointment.cancellation_reason, "Feeling better");
    assert.ok(res.body.appointment.cancelled_at);
    const rebook = await create(otherToken, DOCTORS.tan, "09:00");
    assert.equal(rebook.start, a.start);
    const again = await app.call("POST", `/api/appointments/${a.id}/cancel`, { token: lim });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "invalid_state");
    const [audit] = await app.sql`select actor_id, changed_fields from audit.logs
      where table_name = 'appointments' and record_id = ${a.id} and action = 'UPDATE'`;
    assert.equal(audit.actor_id, USERS.patientLim);
    assert.ok(audit.changed_fields.includes("status"));
  });

  await t.step("cancel: 404 for someone else's appointment, 401 anonymous, staff may", async () => {
    const a = await create(otherToken, DOCTORS.tan, "09:30");
    const notMine = await app.call("POST", `/api/appointments/${a.id}/cancel`, { token: lim });
    assert.equal(notMine.status, 404);
    assert.equal(notMine.body.error.code, "appointment_not_found");
    const anon = await app.call("POST", `/api/appointments/${a.id}/cancel`);
    assert.equal(anon.status, 401);
    const byStaff = await app.call("POST", `/api/appointments/${a.id}/cancel`, { token: staff });
    assert.equal(byStaff.status, 200);
  });

  await t.step("reschedule moves atomically and is audited", async () => {
    const a = await create(lim, DOCTORS.tan, "10:00");
    const res = await app.call("POST", `/api/appointments/${a.id}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "10:15") },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.previous.id, a.id);
    assert.equal(res.body.previous.status, "rescheduled");
    assert.equal(res.body.appointment.status, "scheduled");
    assert.equal(res.body.appointment.start, sgt(day, "10:15"));
    assert.equal(res.body.appointment.rescheduled_from, a.id);
    // The old slot is free again.
    const slots = await app.call(
      "GET",
      `/api/clinics/GFC-TP/slots?date=${day}&doctor_id=${DOCTORS.tan}`,
    );
    assert.ok(slots.body.slots.some((s: { start: string }) => s.start === sgt(day, "10:00")));
    const logs = await app.sql`select record_id, action from audit.logs
      where table_name = 'appointments' and record_id in (${a.id}, ${res.body.appointment.id})
      order by id`;
    assert.ok(logs.some((l) => l.record_id === a.id && l.action === "UPDATE"));
    assert.ok(logs.some((l) => l.record_id === res.body.appointment.id && l.action === "INSERT"));

    // Onto a taken slot: 409, and nothing changed (never both, never neither).
    const taken = await create(otherToken, DOCTORS.tan, "11:00");
    const clash = await app.call(
      "POST",
      `/api/appointments/${res.body.appointment.id}/reschedule`,
      {
        token: lim,
        body: { start: taken.start },
      },
    );
    assert.equal(clash.status, 409);
    assert.equal(clash.body.error.code, "slot_unavailable");
    const [still] = await app.sql`select status, lower(period) = ${sgt(day, "10:15")}::timestamptz
      as same from public.appointments where id = ${res.body.appointment.id}`;
    assert.deepEqual({ ...still }, { status: "scheduled", same: true });
    const [count] = await app.sql`select count(*)::int n from public.appointments
      where patient_id = ${PATIENTS.lim} and status = 'scheduled'`;
    assert.equal(count.n, 1);

    // To another doctor, by staff.
    const moved = await app.call(
      "POST",
      `/api/appointments/${res.body.appointment.id}/reschedule`,
      {
        token: staff,
        body: { start: sgt(day, "11:00"), doctor_id: DOCTORS.lee },
      },
    );
    assert.equal(moved.status, 200);
    assert.equal(moved.body.appointment.doctor_id, DOCTORS.lee);
  });

  await t.step("reschedule: 400, 404, 409 (not active), 422 (same slot, off grid)", async () => {
    const a = await create(lim, DOCTORS.tan, "14:00");
    const bad = await app.call("POST", `/api/appointments/${a.id}/reschedule`, {
      token: lim,
      body: { start: "soon" },
    });
    assert.equal(bad.status, 400);
    const same = await app.call("POST", `/api/appointments/${a.id}/reschedule`, {
      token: lim,
      body: { start: a.start },
    });
    assert.equal(same.status, 422);
    assert.equal(same.body.error.code, "same_slot");
    const offGrid = await app.call("POST", `/api/appointments/${a.id}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "14:07") },
    });
    assert.equal(offGrid.status, 422);
    assert.equal(offGrid.body.error.code, "outside_schedule");
    const missing = await app.call("POST", `/api/appointments/${crypto.randomUUID()}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "14:15") },
    });
    assert.equal(missing.status, 404);
    const foreignDoctor = await app.call("POST", `/api/appointments/${a.id}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "14:15"), doctor_id: DOCTORS.ng },
    });
    assert.equal(foreignDoctor.status, 404);
    assert.equal(foreignDoctor.body.error.code, "doctor_not_found");
    await app.call("POST", `/api/appointments/${a.id}/cancel`, { token: lim });
    const cancelled = await app.call("POST", `/api/appointments/${a.id}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "14:15") },
    });
    assert.equal(cancelled.status, 409);
    assert.equal(cancelled.body.error.code, "invalid_state");
  });

  await t.step("GET /appointments/:id: 200 own, 404 others", async () => {
    const a = await create(otherToken, DOCTORS.lee, "15:00");
    assert.equal(
      (await app.call("GET", `/api/appointments/${a.id}`, { token: otherToken })).status,
      200,
    );
    assert.equal(
      (await app.call("GET", `/api/appointments/${a.id}`, { token: staff })).status,
      200,
    );
    assert.equal((await app.call("GET", `/api/appointments/${a.id}`, { token: lim })).status, 404);
  });

  await t.step("/me/appointments: upcoming soonest first, past latest first", async () => {
    // A past visit, completed.
    await app.sql`insert into public.appointments (clinic_id, patient_id, doctor_id, period,
      status) values (${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan},
      tstzrange(now() - interval '3 days', now() - interval '3 days' + interval '15 minutes'),
      'completed')`;
    const res = await app.call("GET", "/api/me/appointments", { token: lim });
    assert.equal(res.status, 200);
    const upcoming = res.body.upcoming;
    assert.ok(upcoming.length >= 1);
    assert.ok(upcoming.every((a: { patient_id: string }) => a.patient_id === PATIENTS.lim));
    const starts = upcoming.map((a: { start: string }) => Date.parse(a.start));
    assert.deepEqual(starts, [...starts].sort((x, y) => x - y));
    const statuses = new Set(res.body.past.map((a: { status: string }) => a.status));
    assert.ok(
      statuses.has("completed") && statuses.has("cancelled") && statuses.has("rescheduled"),
    );
    const pastStarts = res.body.past.map((a: { start: string }) => Date.parse(a.start));
    assert.deepEqual(pastStarts, [...pastStarts].sort((x, y) => y - x));
    const limited = await app.call("GET", "/api/me/appointments?past_limit=1", { token: lim });
    assert.equal(limited.body.past.length, 1);
    assert.equal(
      (await app.call("GET", "/api/me/appointments?past_limit=x", { token: lim })).status,
      400,
    );
    assert.equal((await app.call("GET", "/api/me/appointments")).status, 401);
  });

  await t.step("staff day list: 200 for staff, 403 patient, 404 clinic", async () => {
    const res = await app.call("GET", `/api/clinics/GFC-TP/appointments?date=${day}`, {
      token: staff,
    });
    assert.equal(res.status, 200);
    assert.ok(res.body.appointments.length > 0);
    assert.ok(res.body.appointments[0].patient_name);
    const patient = await app.call("GET", `/api/clinics/GFC-TP/appointments?date=${day}`, {
      token: lim,
    });
    assert.equal(patient.status, 403);
    const none = await app.call("GET", `/api/clinics/NOPE-1/appointments?date=${day}`, {
      token: staff,
    });
    assert.equal(none.status, 404);
  });
});
