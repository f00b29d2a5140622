/**
 * No-shows: the recurring sweep (private.sweep_no_shows, job `appointment.no_shows`) marks a
 * booked appointment not checked in by its start + the clinic's grace, counts it on the
 * patient, once; staff undo it (`POST /appointments/:id/undo-no-show`), audited; a patient who
 * arrives late after the sweep is still checked in under the queue's late policy.
 */
import assert from "node:assert/strict";
import { loadWebhookConfig } from "../../edge/config.ts";
import { serviceHandlers, serviceSchedules, startWorker } from "../../edge/jobs/mod.ts";
import { memoryTransport } from "../../edge/notify/transport.ts";
import type { Sql } from "../support/db.ts";
import { addAppointment, CLINIC_A, PATIENTS, queueApp, USERS } from "../queue/_support.ts";

const sweep = async (sql: Sql) => (await sql`select private.sweep_no_shows() as n`)[0].n as number;
const statusOf = async (sql: Sql, id: string) =>
  (await sql`select status::text from public.appointments where id = ${id}`)[0].status;
const noShowsOf = async (sql: Sql, patient: string) =>
  (await sql`select no_show_count from public.patients where id = ${patient}`)[0].no_show_count;
const setGrace = (sql: Sql, value: unknown) =>
  sql`update public.clinics
    set settings = jsonb_set(settings, '{queue}',
      coalesce(settings -> 'queue', '{}') || jsonb_build_object('no_show_grace_minutes', ${
    sql.json(value as never)
  }::jsonb))
    where id = ${CLINIC_A}`;

Deno.test("no-shows: the sweep, its grace, the count, undo and late arrivals", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const patient = await q.tokenFor(USERS.patientLim);
  const before = await noShowsOf(q.sql, PATIENTS.lim);
  const missed = await addAppointment(q.sql, { startMin: -20, status: "confirmed" });
  const graced = await addAppointment(q.sql, { startMin: -10, status: "scheduled" });
  const ahead = await addAppointment(q.sql, { startMin: 30 });

  await t.step("marks what is past start + 15 min (the default grace), once", async () => {
    assert.equal(await sweep(q.sql), 1);
    assert.equal(await statusOf(q.sql, missed), "no_show");
    assert.equal(await statusOf(q.sql, graced), "scheduled");
    assert.equal(await statusOf(q.sql, ahead), "confirmed");
    assert.equal(await noShowsOf(q.sql, PATIENTS.lim), before + 1);
    assert.equal(await sweep(q.sql), 0, "idempotent");
    assert.equal(await noShowsOf(q.sql, PATIENTS.lim), before + 1);
  });

  await t.step("the grace is the clinic's typed setting", async () => {
    for (const bad of ["15", -1, 2.5, 1441, true]) {
      await assert.rejects(setGrace(q.sql, bad), (e: { code?: string }) => e.code === "23514");
    }
    await setGrace(q.sql, 5);
    assert.equal(await sweep(q.sql), 1);
    assert.equal(await statusOf(q.sql, graced), "no_show");
    assert.equal(await noShowsOf(q.sql, PATIENTS.lim), before + 2);
    await setGrace(q.sql, 15);
  });

  await t.step("the sweep's change is in the audit log", async () => {
    const [log] = await q.sql`
      select changed_fields, new_values ->> 'status' as status, actor_id
      from audit.logs where table_name = 'appointments' and record_id = ${missed}
      order by id desc limit 1`;
    assert.deepEqual(log.changed_fields, ["status"]);
    assert.equal(log.status, "no_show");
    assert.equal(log.actor_id, null);
  });

  await t.step("the staff list shows it, with the patient's count", async () => {
    const [{ day }] = await q.sql`select private.clinic_today(${CLINIC_A})::text as day`;
    const res = await q.call("GET", `/clinics/GFC-TP/appointments?date=${day}`, {
      token: staff,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const row = res.body.appointments.find((a: { id: string }) => a.id === missed);
    assert.equal(row.status, "no_show");
    assert.equal(row.no_show_undoable, true);
    assert.equal(row.patient_no_shows, before + 2);
    const other = res.body.appointments.find((a: { id: string }) => a.id === ahead);
    assert.equal(other.no_show_undoable, false);
  });

  await t.step("the patient's history shows it", async () => {
    const res = await q.call("GET", "/me/appointments", { token: patient });
    assert.equal(res.status, 200);
    const all = [...res.body.upcoming, ...res.body.past];
    assert.equal(all.find((a: { id: string }) => a.id === missed).status, "no_show");
  });

  await t.step("undo: 404 for the patient and another clinic, 400 for a bad id", async () => {
    const path = `/appointments/${missed}/undo-no-show`;
    assert.equal((await q.call("POST", path, { token: patient })).status, 404);
    const foreign = await q.tokenFor(USERS.adminBedok);
    assert.equal((await q.call("POST", path, { token: foreign })).status, 404);
    assert.equal((await q.call("POST", path)).status, 401);
    const bad = await q.call("POST", "/appointments/not-a-uuid/undo-no-show", { token: staff });
    assert.equal(bad.status, 400);
    const unknown = await q.call("POST", `/appointments/${crypto.randomUUID()}/undo-no-show`, {
      token: staff,
    });
    assert.equal(unknown.status, 404);
    assert.equal(await statusOf(q.sql, missed), "no_show");
  });

  await t.step("undo by staff: booked again as before, count back, audited", async () => {
    const res = await q.call("POST", `/appointments/${missed}/undo-no-show`, { token: staff });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.appointment.status, "confirmed");
    assert.equal(await noShowsOf(q.sql, PATIENTS.lim), before + 1);
    const [log] = await q.sql`
      select new_values ->> 'status' as status, actor_id from audit.logs
      where table_name = 'appointments' and record_id = ${missed} order by id desc limit 1`;
    assert.deepEqual([log.status, log.actor_id], ["confirmed", USERS.staffKoh]);
    const again = await q.call("POST", `/appointments/${missed}/undo-no-show`, { token: staff });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "not_undoable");
    assert.equal(await sweep(q.sql), 0, "an undone no-show is not marked again");
    assert.equal(await statusOf(q.sql, missed), "confirmed");
  });

  await t.step("a late arrival after the sweep is checked in, late, and uncounted", async () => {
    const res = await q.call("POST", `/appointments/${graced}/check-in`, { token: patient });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await statusOf(q.sql, graced), "checked_in");
    assert.equal(await noShowsOf(q.sql, PATIENTS.lim), before);
    const [line] = await q.sql`
      select l.late from private.queue_line(${CLINIC_A}, private.clinic_today(${CLINIC_A})) l
      where l.ticket_id = ${res.body.ticket.id}`;
    assert.equal(line.late, true);
    const undo = await q.call("POST", `/appointments/${graced}/undo-no-show`, { token: staff });
    assert.equal(undo.status, 409);
  });

  await t.step("a no-show from the queue is not undone here", async () => {
    const id = await addAppointment(q.sql, { startMin: -1 });
    const checkIn = await q.call("POST", `/appointments/${id}/check-in`, { token: staff });
    assert.equal(checkIn.status, 200);
    await q.sql`update public.queue_tickets set status = 'no_show', no_show_at = now()
      where appointment_id = ${id}`;
    await q.sql`update public.appointments set status = 'no_show' where id = ${id}`;
    const undo = await q.call("POST", `/appointments/${id}/undo-no-show`, { token: staff });
    assert.equal(undo.status, 409);
  });

  await t.step("the service's recurring job runs the sweep", async () => {
    const due = await addAppointment(q.sql, { startMin: -30 });
    const worker = startWorker({
      sql: q.sql,
      handlers: serviceHandlers({
        transports: { email: memoryTransport(), sms: memoryTransport() },
        webhooks: { config: loadWebhookConfig({}) },
      }),
      schedules: serviceSchedules.filter((s) => s.kind === "appointment.no_shows"),
      pollMs: 20,
      log: () => {},
    });
    await worker.ready;
    try {
      for (let i = 0; i < 400 && await statusOf(q.sql, due) !== "no_show"; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await worker.stop();
    }
    assert.equal(await statusOf(q.sql, due), "no_show");
  });
});
