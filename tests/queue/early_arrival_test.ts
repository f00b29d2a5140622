/**
 * An appointment checked in before its booked time is not told "you are next": the fairness
 * policy puts it at its booked time, so walk-ins due earlier may still go ahead. On time, it is.
 */
import assert from "node:assert/strict";
import { addAppointment, PATIENTS, queueApp, USERS } from "./_support.ts";

Deno.test("queue_near: not before the booked time", async (t) => {
  await using q = await queueApp();
  const patient = await q.tokenFor(USERS.patientLim);
  const told = async () =>
    (await q.sql`select title from public.notifications
      where user_id = ${USERS.patientLim} and kind = 'queue_near' order by created_at`)
      .map((r) => r.title as string);

  await t.step("early, nobody ahead: not told 'you are next'", async () => {
    const early = await addAppointment(q.sql, { patient: PATIENTS.lim, startMin: 30 });
    const res = await q.call("POST", `/appointments/${early}/check-in`, { token: patient });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ticket.people_ahead, 0);
    assert.deepEqual(await told(), []);
  });

  await t.step("once the booked time has come, the next change tells", async () => {
    // The booked time has come; the next change of the day's queue (this one) tells.
    await q.sql`update public.queue_tickets set scheduled_at = now() - interval '1 minute',
      checked_in_at = now() - interval '2 minutes' where patient_id = ${PATIENTS.lim}`;
    assert.match((await told())[0], /^Ticket A\d{3}: you are next$/);
  });
});
