/**
 * Safety at the front desk (issue #17): one patient called into a room at a time, cancelled and
 * no-show tickets restorable the same day, and duplicate patients told apart (masked contact
 * details, 409 possible_duplicate before registering the same person twice).
 */
import assert from "node:assert/strict";
import { addAppointment, CLINIC_A, PATIENTS, queueApp, USERS } from "./_support.ts";

function assertError(res: { status: number; body: unknown }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal((res.body as { error?: { code?: string } }).error?.code, code);
}

Deno.test("call-next into an occupied room: 409 room_occupied unless replace_current", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const walkIn = async () =>
    (await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff })).body.ticket;
  const callNext = (body: Record<string, unknown>) =>
    q.call("POST", "/clinics/GFC-TP/queue/call-next", { token: staff, body });
  const statuses = async () =>
    Object.fromEntries(
      (await q.sql`select code, status::text, room from public.queue_tickets order by code`)
        .map((r) => [r.code, `${r.status}${r.room ? ` ${r.room}` : ""}`]),
    );
  const first = await walkIn();
  const second = await walkIn();
  const third = await walkIn();

  await t.step("the first call into Room 1 is free", async () => {
    const res = await callNext({ room: "Room 1" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ticket.code, first.code);
  });

  await t.step("a second call answers 409 with the occupant, and changes nothing", async () => {
    const [before] = await q.sql`select version from public.queue_board_versions`;
    const notes = await q.sql`select count(*)::int as n from public.notifications`;
    for (const room of ["Room 1", "1", " room 1 "]) {
      const res = await callNext({ room });
      assertError(res, 409, "room_occupied");
      assert.deepEqual(res.body.error.details, {
        ticket_id: first.id,
        code: first.code,
        status: "called",
      });
      assert.match(res.body.error.message, new RegExp(`Room 1 still has ${first.code} called`));
    }
    assert.deepEqual(await statuses(), {
      [first.code]: "called Room 1",
      [second.code]: "waiting",
      [third.code]: "waiting",
    });
    const [after] = await q.sql`select version from public.queue_board_versions`;
    assert.equal(after.version, before.version, "the board did not move");
    assert.deepEqual(await q.sql`select count(*)::int as n from public.notifications`, notes);
  });

  await t.step("another room is free", async () => {
    const res = await callNext({ room: "Room 2" });
    assert.equal(res.body.ticket.code, second.code);
  });

  await t.step("replace_current: the called occupant goes back to waiting first", async () => {
    const res = await callNext({ room: "Room 1", replace_current: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ticket.code, third.code);
    assert.deepEqual(await statuses(), {
      [first.code]: "waiting",
      [second.code]: "called Room 2",
      [third.code]: "called Room 1",
    });
    const board = await q.call("GET", "/clinics/GFC-TP/queue", { token: staff });
    const inRoom1 = board.body.tickets.filter((b: { room: string | null }) => b.room === "Room 1");
    assert.deepEqual(inRoom1.map((b: { code: string }) => b.code), [third.code]);
    const back = board.body.tickets.find((b: { code: string }) => b.code === first.code);
    assert.deepEqual([back.status, back.position], ["waiting", 1], "at its place: first");
  });

  await t.step(
    "a patient in consultation occupies the room too; replacing completes them",
    async () => {
      const start = await q.call("POST", `/queue/tickets/${third.id}/start`, { token: staff });
      assert.equal(start.body.ticket.status, "serving");
      const busy = await callNext({ room: "Room 1" });
      assertError(busy, 409, "room_occupied");
      assert.equal(busy.body.error.details.status, "serving");
      const res = await callNext({ room: "Room 1", replace_current: true });
      assert.equal(res.body.ticket.code, first.code);
      const [done] = await q.sql`
      select status::text, consultation_end_at from public.queue_tickets where id = ${third.id}`;
      assert.equal(done.status, "completed");
      assert.ok(done.consultation_end_at);
    },
  );

  await t.step("an empty queue is 404 queue_empty, occupied or not", async () => {
    assertError(await callNext({ room: "Room 1" }), 404, "queue_empty");
  });

  await t.step("replace_current must be a boolean", async () => {
    assertError(await callNext({ room: "Room 1", replace_current: "yes" }), 400, "invalid_request");
  });
});

Deno.test("restore: a cancelled or no-show ticket of today back to waiting (staff only)", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const patient = await q.tokenFor(USERS.patientLim);
  const act = (id: string, action: string, token = staff) =>
    q.call("POST", `/queue/tickets/${id}/${action}`, { token });

  await t.step(
    "cancelled → waiting at its place; the appointment is checked in again",
    async () => {
      const appt = await addAppointment(q.sql, { startMin: -5 });
      const ticket = (await q.call("POST", `/appointments/${appt}/check-in`, { token: staff }))
        .body.ticket;
      await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff });
      assert.equal((await act(ticket.id, "cancel")).body.ticket.status, "cancelled");
      assertError(await act(ticket.id, "restore", patient), 403, "forbidden");
      const res = await act(ticket.id, "restore");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.ticket.status, "waiting");
      assert.equal(res.body.ticket.cancelled_at, null);
      assert.equal(res.body.ticket.position, 1, "its booked time still puts it first");
      const [a] = await q.sql`select status::text from public.appointments where id = ${appt}`;
      assert.equal(a.status, "checked_in");
      const audit = await q.sql`
      select changed_fields from audit.logs
      where table_name = 'queue_tickets' and record_id = ${ticket.id} and action = 'UPDATE'
        and actor_id = ${USERS.staffKoh}`;
      assert.equal(audit.length, 2, "cancel and restore audited");
    },
  );

  await t.step("no-show → waiting takes the no-show count back", async () => {
    const w = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
      token: staff,
      body: { patient_id: PATIENTS.lim, priority: 9 },
    });
    const id = w.body.ticket.id;
    await q.call("POST", "/clinics/GFC-TP/queue/call-next", { token: staff, body: { room: "5" } });
    assert.equal((await act(id, "no-show")).body.ticket.status, "no_show");
    const res = await act(id, "restore");
    assert.equal(res.body.ticket.status, "waiting");
    assert.equal(res.body.ticket.room, null);
    const [p] = await q.sql`select no_show_count from public.patients where id = ${PATIENTS.lim}`;
    assert.equal(p.no_show_count, 0);
  });

  await t.step("409 for a ticket that is not cancelled or no-show, or not of today", async () => {
    const w = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff });
    assertError(await act(w.body.ticket.id, "restore"), 409, "invalid_transition");
    await act(w.body.ticket.id, "cancel");
    await q.sql`
      update public.queue_tickets set service_date = service_date - 1
      where id = ${w.body.ticket.id}`;
    assertError(await act(w.body.ticket.id, "restore"), 409, "restore_window_passed");
  });
});

Deno.test("duplicates: masked contact details in search, 409 possible_duplicate on register", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  await q.sql`
    insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender,
      phone, email)
    values (${CLINIC_A}, 'TP-P-000060', 'Tan Ah Kow', '1950-02-03', 'male', '+65 8123 4567',
            'kow@example.com'),
           (${CLINIC_A}, 'TP-P-000061', 'Tan Ah Kow', '1950-02-03', 'male', null, null)`;
  const newKow = { full_name: " tan  ah KOW", date_of_birth: "1950-02-03", gender: "male" };

  await t.step("search: the phone and e-mail only masked", async () => {
    const res = await q.call("GET", "/clinics/GFC-TP/patients?q=ah%20kow", { token: staff });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.patients.map((p: Record<string, unknown>) => [
        p.patient_number,
        p.phone_masked,
        p.email_masked,
      ]),
      [["TP-P-000060", "•••• 4567", "k•••@example.com"], ["TP-P-000061", null, null]],
    );
    assert.ok(!JSON.stringify(res.body).includes("8123"), "no full phone in the list");
    assert.ok(!JSON.stringify(res.body).includes("kow@"), "no full e-mail in the list");
  });

  await t.step("409 possible_duplicate with the masked candidates; nothing written", async () => {
    const before = await q.sql`select count(*)::int as n from public.queue_tickets`;
    const res = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
      token: staff,
      body: { patient: newKow },
    });
    assertError(res, 409, "possible_duplicate");
    assert.deepEqual(
      res.body.error.details.candidates.map((c: Record<string, unknown>) => [
        c.patient_number,
        c.full_name,
        c.date_of_birth,
        c.phone_masked,
      ]),
      [
        ["TP-P-000060", "Tan Ah Kow", "1950-02-03", "•••• 4567"],
        ["TP-P-000061", "Tan Ah Kow", "1950-02-03", null],
      ],
    );
    assert.deepEqual(await q.sql`select count(*)::int as n from public.queue_tickets`, before);
  });

  await t.step("a different date of birth is no duplicate", async () => {
    const res = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
      token: staff,
      body: { patient: { ...newKow, date_of_birth: "1950-02-04" } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });

  await t.step("confirm_new registers anyway", async () => {
    const res = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
      token: staff,
      body: { patient: newKow, confirm_new: true },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const [p] = await q.sql`
      select full_name from public.patients where id = ${res.body.ticket.patient_id}`;
    assert.equal(p.full_name, "tan  ah KOW");
  });

  await t.step("non-staff learn nothing: 403 before any duplicate check", async () => {
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
        token: await q.tokenFor(USERS.patientLim),
        body: { patient: newKow },
      }),
      403,
      "forbidden",
    );
  });
});
