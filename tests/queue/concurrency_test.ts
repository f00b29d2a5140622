/**
 * Concurrency: simultaneous check-ins never share a ticket code; simultaneous call-next presses
 * never share a ticket.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { freshDatabase } from "../support/db.ts";
import {
  addAppointment,
  addPatients,
  asDemoUser,
  CLINIC_A,
  DOCTORS,
  middayClinic,
  queueApp,
  USERS,
} from "./_support.ts";

Deno.test("100 simultaneous check-ins get 100 distinct codes", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  const patients = await addPatients(db.sql, 100);
  const appointments: string[] = [];
  for (const [i, patient] of patients.entries()) {
    appointments.push(
      await addAppointment(db.sql, {
        patient,
        doctor: i % 2 ? DOCTORS.tan : DOCTORS.lee,
        startMin: -20 + Math.floor(i / 2) * 0.5,
        lengthSec: 30,
      }),
    );
  }
  // 100 connections, so every check-in is in flight at once.
  const pool = postgres(db.url, { max: 100, onnotice: () => {} });
  try {
    const tickets = await Promise.all(
      appointments.map((id) =>
        asDemoUser(pool, USERS.staffKoh, async (tx) => {
          const [t] = await tx`select id, code from private.queue_check_in(${id})`;
          return t;
        })
      ),
    );
    const codes = tickets.map((t) => t.code as string);
    assert.equal(new Set(codes).size, 100);
    for (const code of codes) assert.match(code, /^A\d{3}$/);
    assert.deepEqual(
      [...codes].sort(),
      Array.from({ length: 100 }, (_, i) => `A${String(i + 1).padStart(3, "0")}`),
    );
  } finally {
    await pool.end();
  }
  const board = await db.sql`
    select position, version from public.queue_board where clinic_id = ${CLINIC_A}`;
  assert.equal(board.length, 100);
  assert.deepEqual(
    board.map((b) => b.position).sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  const [{ version }] = await db.sql`
    select version from public.queue_board_versions where clinic_id = ${CLINIC_A}`;
  assert.equal(Number(version), 100, "one board version per ticket change");
  const [{ checked }] = await db.sql`
    select count(*)::int as checked from public.appointments where status = 'checked_in'`;
  assert.equal(checked, 100);
});

Deno.test("the same appointment checked in twice at once gets one ticket", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  const id = await addAppointment(db.sql, { startMin: 5 });
  const pool = postgres(db.url, { max: 10, onnotice: () => {} });
  try {
    const tickets = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          asDemoUser(pool, i % 2 ? USERS.patientLim : USERS.staffKoh, async (tx) => {
            const [t] = await tx`select id, code from private.queue_check_in(${id})`;
            return t;
          }),
      ),
    );
    assert.equal(new Set(tickets.map((t) => t.id)).size, 1);
  } finally {
    await pool.end();
  }
});

Deno.test("10 simultaneous call-next presses on one queue get 10 distinct tickets", async () => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  for (let i = 0; i < 15; i++) {
    const res = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff });
    assert.equal(res.status, 201);
  }
  const line = await q.sql`
    select t.id from public.queue_board b join public.queue_tickets t on t.id = b.ticket_id
    where b.status = 'waiting' order by b.position`;
  const presses = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      q.call("POST", "/clinics/GFC-TP/queue/call-next", {
        token: staff,
        body: { room: `Desk ${i + 1}` },
      })),
  );
  for (const press of presses) assert.equal(press.status, 200, JSON.stringify(press.body));
  const ids = presses.map((p) => p.body.ticket.id as string);
  assert.equal(new Set(ids).size, 10, "no ticket called twice");
  assert.deepEqual(
    new Set(ids),
    new Set(line.slice(0, 10).map((r) => r.id as string)),
    "the ten at the head of the line",
  );
  const [{ called }] = await q.sql`
    select count(*)::int as called from public.queue_tickets where status = 'called'`;
  assert.equal(called, 10);
  const [{ calls }] = await q.sql`
    select sum(call_count)::int as calls from public.queue_tickets`;
  assert.equal(calls, 10);
});

Deno.test("simultaneous presses for two doctors split the shared walk-ins", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await asDemoUser(db.sql, USERS.staffKoh, async (tx) => {
    for (let i = 0; i < 6; i++) {
      await tx`select * from private.queue_walk_in(${CLINIC_A}, null, null, 0)`;
    }
  });
  const pool = postgres(db.url, { max: 8, onnotice: () => {} });
  try {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        asDemoUser(pool, USERS.staffKoh, async (tx) => {
          const doctor = i % 2 ? DOCTORS.tan : DOCTORS.lee;
          const [t] = await tx`
            select id, doctor_id from private.queue_call_next(${CLINIC_A}, 'Room 9', ${doctor})`;
          return t ? { id: t.id as string, doctor: t.doctor_id as string, asked: doctor } : null;
        })),
    );
    const called = results.filter((r) => r !== null);
    assert.equal(called.length, 6, "six tickets for eight presses");
    assert.equal(new Set(called.map((r) => r.id)).size, 6);
    for (const r of called) assert.equal(r.doctor, r.asked, "the ticket is assigned on call");
  } finally {
    await pool.end();
  }
});
