/**
 * `check_in_opens_at` on an appointment (the patient app says when check-in opens) agrees with
 * the check-in rule itself (private.queue_check_in): refused just before, accepted from then.
 */
import assert from "node:assert/strict";
import { addAppointment, queueApp, USERS } from "./_support.ts";

Deno.test("check_in_opens_at agrees with check-in", async (t) => {
  await using q = await queueApp();
  const patient = await q.tokenFor(USERS.patientLim);
  const setWindow = (minutes: number) =>
    q.sql`update public.clinics set settings = jsonb_set(settings, '{queue}',
      coalesce(settings -> 'queue', '{}') || jsonb_build_object('check_in_window_minutes',
      ${minutes}::int)) where code = 'GFC-TP'`;

  await t.step("the window before the start; refused before it, accepted inside it", async () => {
    await setWindow(30);
    const id = await addAppointment(q.sql, { startMin: 31 });
    const { body } = await q.call("GET", `/appointments/${id}`, { token: patient });
    const opens = Date.parse(body.appointment.check_in_opens_at);
    const start = Date.parse(body.appointment.start);
    assert.equal(start - opens, 30 * 60_000);
    const early = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, "check_in_too_early");
    const local = body.appointment.check_in_opens_at.slice(11, 16);
    assert.ok(early.body.error.message.includes(local), `${early.body.error.message} ≠ ${local}`);
    await setWindow(32);
    const again = await q.call("GET", `/appointments/${id}`, { token: patient });
    assert.ok(Date.parse(again.body.appointment.check_in_opens_at) < Date.now());
    const ok = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const done = await q.call("GET", `/appointments/${id}`, { token: patient });
    assert.equal(done.body.appointment.check_in_opens_at, null, "checked in: nothing to open");
  });

  await t.step("a future day's booking: not before that day begins (clinic time)", async () => {
    await setWindow(60 * 24 * 3);
    const id = await addAppointment(q.sql, { startMin: 60 * 24 * 2 });
    const { body } = await q.call("GET", `/appointments/${id}`, { token: patient });
    const a = body.appointment;
    assert.equal(a.check_in_opens_at.slice(0, 10), a.local_date);
    assert.equal(a.check_in_opens_at.slice(11, 19), "00:00:00");
    const early = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
    assert.equal(early.status, 409);
  });
});
