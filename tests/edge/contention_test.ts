/**
 * Contention through the real app and database: many patients racing for one slot, and one
 * client retrying one Idempotency-Key many times at once. No timing assertions.
 */
import assert from "node:assert/strict";
import {
  addPatients,
  assertOneWinner,
  CLINIC_A,
  DOCTORS,
  nextWeekday,
  sgt,
  tally,
  testApp,
  USERS,
} from "./_support.ts";

Deno.test("200 patients book one slot at once: exactly one 201, the rest 409, no 5xx", async () => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const patients = await addPatients(app.sql, CLINIC_A, 200);
  const tokens = await Promise.all(patients.map((p) => app.tokenFor(p.userId)));
  const start = sgt(day, "09:00");

  const results = await Promise.all(tokens.map((token) =>
    app.call("POST", "/api/bookings", {
      token,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start },
    })
  ));
  await assertOneWinner(app.sql, results, DOCTORS.tan, start);
});

Deno.test("200 racing holds and bookings on one slot: one winner, never a 5xx", async () => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const patients = await addPatients(app.sql, CLINIC_A, 200);
  const tokens = await Promise.all(patients.map((p) => app.tokenFor(p.userId)));
  const start = sgt(day, "14:00");
  const body = { clinic_code: "GFC-TP", doctor_id: DOCTORS.lee, start };
  const results = await Promise.all(
    tokens.map((token, i) =>
      i % 2 === 0
        ? app.call("POST", "/api/holds", { token, body })
        : app.call("POST", "/api/bookings", {
          token,
          headers: { "idempotency-key": crypto.randomUUID() },
          body,
        })
    ),
  );
  const counts = tally(results.map((r) => r.status));
  assert.equal(counts[201], 1, JSON.stringify(counts));
  assert.equal(counts[409], 199, JSON.stringify(counts));
  const [n] = await app.sql`select count(*)::int n from public.appointments
    where doctor_id = ${DOCTORS.lee} and lower(period) = ${start}::timestamptz`;
  assert.equal(n.n, 1);
});

Deno.test("50 concurrent retries of one Idempotency-Key: one appointment", async () => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const token = await app.tokenFor(USERS.patientLim);
  const body = { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "15:00") };

  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      app.call("POST", "/api/bookings", {
        token,
        headers: { "idempotency-key": "the-one-key" },
        body,
      })),
  );
  const counts = tally(results.map((r) => r.status));
  // Each retry either ran first (201), met the first one in flight (409), or came after it
  // and got the replay (201 with Idempotent-Replayed).
  assert.ok(counts[201] >= 1, JSON.stringify(counts));
  assert.equal((counts[201] ?? 0) + (counts[409] ?? 0), 50, JSON.stringify(counts));
  for (const r of results.filter((r) => r.status === 409)) {
    assert.equal(r.body.error.code, "idempotency_key_in_use");
  }
  const created = results.filter((r) => r.status === 201);
  const ids = new Set(created.map((r) => r.body.appointment.id));
  assert.equal(ids.size, 1);
  assert.equal(created.filter((r) => !r.headers.get("idempotent-replayed")).length, 1);
  const [n] = await app.sql`select count(*)::int n from public.appointments
    where patient_id in (select id from public.patients where user_id = ${USERS.patientLim})`;
  assert.equal(n.n, 1);

  // After the dust settles every retry is a replay of the same 201.
  const later = await app.call("POST", "/api/bookings", {
    token,
    headers: { "idempotency-key": "the-one-key" },
    body,
  });
  assert.equal(later.status, 201);
  assert.equal(later.body.appointment.id, [...ids][0]);
});
