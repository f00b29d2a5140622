/**
 * The queue's HTTP surface through `app.request`: every endpoint and each status it answers.
 */
import assert from "node:assert/strict";
import {
  addAppointment,
  addPatients,
  CLINIC_B,
  DOCTORS,
  PATIENTS,
  queueApp,
  USERS,
} from "./_support.ts";

const NOBODY = "00000000-0000-4000-8000-000000000000";

function assertError(res: { status: number; body: unknown }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  const body = res.body as { error?: { code?: string; message?: string } };
  assert.equal(body.error?.code, code, JSON.stringify(res.body));
  assert.equal(typeof body.error?.message, "string");
}

Deno.test("POST /appointments/:id/check-in", async (t) => {
  await using q = await queueApp();
  const patient = await q.tokenFor(USERS.patientLim);
  const staff = await q.tokenFor(USERS.staffKoh);
  const chan = await q.tokenFor(USERS.patientChan);

  await t.step("200: the patient within the window gets a ticket with its place", async () => {
    const id = await addAppointment(q.sql, { startMin: 20 });
    const res = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const ticket = res.body.ticket;
    assert.match(ticket.code, /^A\d{3}$/);
    assert.equal(ticket.status, "waiting");
    assert.equal(ticket.kind, "appointment");
    assert.equal(ticket.appointment_id, id);
    assert.equal(ticket.position, 1);
    assert.equal(ticket.people_ahead, 0);
    assert.equal(typeof ticket.estimated_wait_minutes, "number");
    assert.ok(ticket.checked_in_at);

    const again = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
    assert.equal(again.status, 200);
    assert.equal(again.body.ticket.id, ticket.id, "idempotent");

    const [appt] = await q.sql`select status::text, checked_in_at from public.appointments
      where id = ${id}`;
    assert.equal(appt.status, "checked_in");
    assert.ok(appt.checked_in_at);
  });

  await t.step("409 too early / closed for the patient; staff may check in any time", async () => {
    const early = await addAppointment(q.sql, { startMin: 120 });
    assertError(
      await q.call("POST", `/appointments/${early}/check-in`, { token: patient }),
      409,
      "check_in_too_early",
    );
    const late = await addAppointment(q.sql, { startMin: -90 });
    assertError(
      await q.call("POST", `/appointments/${late}/check-in`, { token: patient }),
      409,
      "check_in_closed",
    );
    const byStaff = await q.call("POST", `/appointments/${early}/check-in`, { token: staff });
    assert.equal(byStaff.status, 200);
  });

  await t.step("the window is the clinic's setting", async () => {
    await q.sql`
      update public.clinics set settings = '{"queue": {"check_in_window_minutes": 180}}'
      where code = 'GFC-TP'`;
    const id = await addAppointment(q.sql, { startMin: 150 });
    const res = await q.call("POST", `/appointments/${id}/check-in`, { token: patient });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  await t.step("409 not_checkable and not_today", async () => {
    const cancelled = await addAppointment(q.sql, { startMin: 30, status: "cancelled" });
    assertError(
      await q.call("POST", `/appointments/${cancelled}/check-in`, { token: staff }),
      409,
      "not_checkable",
    );
    const tomorrow = await addAppointment(q.sql, { startMin: 24 * 60 });
    assertError(
      await q.call("POST", `/appointments/${tomorrow}/check-in`, { token: staff }),
      409,
      "not_today",
    );
  });

  await t.step("404 for an unknown or someone else's appointment", async () => {
    assertError(
      await q.call("POST", `/appointments/${NOBODY}/check-in`, { token: patient }),
      404,
      "not_found",
    );
    const lims = await addAppointment(q.sql, { startMin: 40 });
    assertError(
      await q.call("POST", `/appointments/${lims}/check-in`, { token: chan }),
      404,
      "not_found",
    );
  });

  await t.step("400 for a bad id, 401 without a token", async () => {
    assertError(
      await q.call("POST", `/appointments/not-a-uuid/check-in`, { token: patient }),
      400,
      "invalid_request",
    );
    assertError(await q.call("POST", `/appointments/${NOBODY}/check-in`), 401, "auth_required");
  });
});

Deno.test("walk-ins and call-next", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const patient = await q.tokenFor(USERS.patientLim);
  const bedok = await q.tokenFor(USERS.adminBedok);
  const doctor = await q.tokenFor(USERS.doctorTan);

  await t.step("POST walk-ins: 201 with a W code", async () => {
    const res = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
      token: staff,
      body: { patient_id: PATIENTS.lim, priority: 2 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.ticket.code, /^W\d{3}$/);
    assert.equal(res.body.ticket.kind, "walk_in");
    assert.equal(res.body.ticket.priority, 2);
    const bare = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff });
    assert.equal(bare.status, 201);
    assert.equal(bare.body.ticket.patient_id, null);
  });

  await t.step("walk-ins: 400, 403, 404", async () => {
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
        token: staff,
        body: { priority: 12 },
      }),
      400,
      "invalid_request",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: patient, body: {} }),
      403,
      "forbidden",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: bedok, body: {} }),
      403,
      "forbidden",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
        token: staff,
        body: { patient_id: PATIENTS.chan },
      }),
      404,
      "not_found",
    );
    assertError(
      await q.call("POST", "/clinics/NOPE-XX/queue/walk-ins", { token: staff, body: {} }),
      404,
      "clinic_not_found",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { body: {} }),
      401,
      "auth_required",
    );
  });

  await t.step("call-next: 200 with the called ticket in the room", async () => {
    const res = await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
      token: staff,
      body: { room: "3" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ticket.status, "called");
    assert.equal(res.body.ticket.room, "3");
    assert.equal(res.body.ticket.call_count, 1);
    assert.ok(res.body.ticket.called_at);
    assert.equal(res.body.ticket.priority, 2, "the priority walk-in first");
  });

  await t.step("call-next by a doctor assigns the ticket to them", async () => {
    const res = await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
      token: doctor,
      body: { room: "Room 1" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.ticket.doctor_id, DOCTORS.tan);
  });

  await t.step("call-next: 404 queue_empty", async () => {
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
        token: staff,
        body: { room: "3" },
      }),
      404,
      "queue_empty",
    );
  });

  await t.step("call-next: 400, 401, 403, 404", async () => {
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/call-next", { token: staff, body: {} }),
      400,
      "invalid_request",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
        token: staff,
        body: { room: "3", doctor_id: "nope" },
      }),
      400,
      "invalid_request",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
        token: staff,
        body: { room: "3", doctor_id: DOCTORS.ng },
      }),
      404,
      "not_found",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/call-next", { body: { room: "3" } }),
      401,
      "auth_required",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
        token: patient,
        body: { room: "3" },
      }),
      403,
      "forbidden",
    );
    assertError(
      await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
        token: bedok,
        body: { room: "3" },
      }),
      403,
      "forbidden",
    );
    assertError(
      await q.call("POST", "/clinics/NOPE-XX/queue/call-next", {
        token: staff,
        body: { room: "3" },
      }),
      404,
      "clinic_not_found",
    );
  });

  await t.step("GET /clinics/:code/queue/tickets (staff list with names)", async () => {
    const res = await q.call("GET", "/clinics/GFC-TP/queue/tickets", { token: staff });
    assert.equal(res.status, 200);
    assert.equal(res.body.tickets.length, 2);
    assert.ok(
      res.body.tickets.some((t: { patient_name: string }) => t.patient_name === "Lim Mei Ling"),
    );
    const called = await q.call("GET", "/clinics/GFC-TP/queue/tickets?status=called", {
      token: staff,
    });
    assert.equal(called.body.tickets.length, 2);
    assertError(
      await q.call("GET", "/clinics/GFC-TP/queue/tickets", { token: patient }),
      403,
      "forbidden",
    );
    assertError(
      await q.call("GET", "/clinics/GFC-TP/queue/tickets?status=bogus", { token: staff }),
      400,
      "invalid_request",
    );
    assertError(await q.call("GET", "/clinics/GFC-TP/queue/tickets"), 401, "auth_required");
    assertError(
      await q.call("GET", "/clinics/NOPE-XX/queue/tickets", { token: staff }),
      404,
      "clinic_not_found",
    );
  });
});

Deno.test("ticket transitions", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const patient = await q.tokenFor(USERS.patientLim);
  const bedok = await q.tokenFor(USERS.adminBedok);
  const appt = await addAppointment(q.sql, { startMin: 5 });
  const checkIn = await q.call("POST", `/appointments/${appt}/check-in`, { token: patient });
  const id = checkIn.body.ticket.id as string;
  const act = (action: string, token = staff, body?: unknown) =>
    q.call("POST", `/queue/tickets/${id}/${action}`, { token, body });

  await t.step("409 invalid_transition with from/action details", async () => {
    const res = await act("start");
    assertError(res, 409, "invalid_transition");
    assert.deepEqual(res.body.error.details, { from: "waiting", action: "start" });
    assertError(await act("complete"), 409, "invalid_transition");
    assertError(await act("recall"), 409, "invalid_transition");
    assertError(await act("no-show"), 409, "invalid_transition");
  });

  await t.step("403 for the patient (except cancel), 404 for other clinics", async () => {
    assertError(await act("start", patient), 403, "forbidden");
    assertError(await act("recall", bedok), 404, "not_found");
    assertError(
      await q.call("POST", `/queue/tickets/${NOBODY}/start`, { token: staff }),
      404,
      "not_found",
    );
    assertError(await q.call("POST", `/queue/tickets/${id}/start`), 401, "auth_required");
    assertError(
      await q.call("POST", `/queue/tickets/xyz/start`, { token: staff }),
      400,
      "invalid_request",
    );
  });

  await t.step("called → recall → no-show → recall → start → complete", async () => {
    const called = await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
      token: staff,
      body: { room: "Room 3" },
    });
    assert.equal(called.body.ticket.id, id);
    const recall = await act("recall", staff, { room: "Room 4" });
    assert.equal(recall.status, 200);
    assert.equal(recall.body.ticket.call_count, 2);
    assert.equal(recall.body.ticket.room, "Room 4");

    const noShow = await act("no-show");
    assert.equal(noShow.status, 200);
    assert.equal(noShow.body.ticket.status, "no_show");
    assert.ok(noShow.body.ticket.no_show_at);
    const [p1] = await q.sql`select no_show_count from public.patients where id = ${PATIENTS.lim}`;
    assert.equal(p1.no_show_count, 1);

    const back = await act("recall");
    assert.equal(back.status, 200);
    assert.equal(back.body.ticket.status, "called");
    assert.equal(back.body.ticket.call_count, 3);
    const [p2] = await q.sql`select no_show_count from public.patients where id = ${PATIENTS.lim}`;
    assert.equal(p2.no_show_count, 0);

    const start = await act("start");
    assert.equal(start.body.ticket.status, "serving");
    assert.ok(start.body.ticket.consultation_start_at);
    const complete = await act("complete");
    assert.equal(complete.body.ticket.status, "completed");
    assert.ok(complete.body.ticket.consultation_end_at);
    const [a] = await q.sql`select status::text from public.appointments where id = ${appt}`;
    assert.equal(a.status, "completed");

    const audit = await q.sql`
      select changed_fields, actor_id from audit.logs
      where table_name = 'queue_tickets' and record_id = ${id} and action = 'UPDATE'
      order by id`;
    assert.ok(audit.length >= 6, `every transition audited (${audit.length})`);
    assert.ok(audit.every((r) => r.actor_id === USERS.staffKoh || r.actor_id === USERS.patientLim));
  });

  await t.step("409 recall_window_passed for an old no-show", async () => {
    const w = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff });
    const wid = w.body.ticket.id;
    await q.call("POST", "/clinics/GFC-TP/queue/call-next", { token: staff, body: { room: "1" } });
    await q.call("POST", `/queue/tickets/${wid}/no-show`, { token: staff });
    await q.sql`
      update public.queue_tickets set no_show_at = now() - interval '31 minutes'
      where id = ${wid}`;
    assertError(
      await q.call("POST", `/queue/tickets/${wid}/recall`, { token: staff }),
      409,
      "recall_window_passed",
    );
  });

  await t.step("the patient cancels their own waiting ticket", async () => {
    const a2 = await addAppointment(q.sql, { startMin: 30 });
    const tk = await q.call("POST", `/appointments/${a2}/check-in`, { token: patient });
    const res = await q.call("POST", `/queue/tickets/${tk.body.ticket.id}/cancel`, {
      token: patient,
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.ticket.status, "cancelled");
    assert.ok(res.body.ticket.cancelled_at);
    const [a] = await q.sql`select status::text from public.appointments where id = ${a2}`;
    assert.equal(a.status, "cancelled");
    assertError(
      await q.call("POST", `/queue/tickets/${tk.body.ticket.id}/cancel`, { token: patient }),
      409,
      "invalid_transition",
    );
  });
});

Deno.test("GET /clinics/:code/queue: board snapshot and who may read it", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  for (let i = 0; i < 3; i++) {
    await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff });
  }
  await q.call("POST", "/clinics/GFC-TP/queue/call-next", { token: staff, body: { room: "2" } });

  await t.step("200 with a board token: version and PII-free rows in board order", async () => {
    const board = await q.boardToken();
    const res = await q.call("GET", "/clinics/GFC-TP/queue", { token: board });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.clinic_code, "GFC-TP");
    assert.equal(res.body.clinic_name, "Gabriel Family Clinic");
    assert.equal(res.body.branch_name, "Tampines", "the board names its branch");
    assert.equal(res.body.version, 4);
    assert.deepEqual(
      res.body.tickets.map((t: { code: string; status: string; position: number | null }) => [
        t.code,
        t.status,
        t.position,
      ]),
      [["W001", "called", null], ["W002", "waiting", 1], ["W003", "waiting", 2]],
    );
    for (const ticket of res.body.tickets) {
      assert.deepEqual(Object.keys(ticket).sort(), [
        "called_at",
        "code",
        "position",
        "room",
        "status",
        "ticket_id",
      ]);
    }
    const [v] = await q.sql`select version from public.queue_board_versions`;
    assert.equal(Number(v.version), res.body.version);
  });

  await t.step("200 for members (patient, staff)", async () => {
    for (const user of [USERS.patientLim, USERS.staffKoh, USERS.doctorTan]) {
      const res = await q.call("GET", "/clinics/GFC-TP/queue", { token: await q.tokenFor(user) });
      assert.equal(res.status, 200);
      assert.equal(res.body.tickets.length, 3);
    }
  });

  await t.step("401 without a token or with a revoked board token", async () => {
    assertError(await q.call("GET", "/clinics/GFC-TP/queue"), 401, "auth_required");
    const revoked = await q.boardToken(undefined, { revoked: true });
    assertError(
      await q.call("GET", "/clinics/GFC-TP/queue", { token: revoked }),
      401,
      "board_token_revoked",
    );
  });

  await t.step("403 for another clinic's board or members", async () => {
    const other = await q.boardToken(CLINIC_B);
    assertError(await q.call("GET", "/clinics/GFC-TP/queue", { token: other }), 403, "forbidden");
    assertError(
      await q.call("GET", "/clinics/GFC-TP/queue", { token: await q.tokenFor(USERS.patientChan) }),
      403,
      "forbidden",
    );
  });

  await t.step("404 for an unknown clinic", async () => {
    assertError(
      await q.call("GET", "/clinics/NOPE-XX/queue", { token: staff }),
      404,
      "clinic_not_found",
    );
  });

  await t.step("an empty day answers version 0 and no tickets", async () => {
    const res = await q.call("GET", "/clinics/GFC-BD/queue", {
      token: await q.tokenFor(USERS.adminBedok),
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.version, 0);
    assert.deepEqual(res.body.tickets, []);
  });
});

Deno.test("GET /me/queue: my ticket, position, people ahead, estimated wait", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const patient = await q.tokenFor(USERS.patientLim);

  await t.step("null without a ticket; 401 without a token", async () => {
    const res = await q.call("GET", "/me/queue", { token: patient });
    assert.equal(res.status, 200);
    assert.equal(res.body.ticket, null);
    assertError(await q.call("GET", "/me/queue"), 401, "auth_required");
  });

  await t.step("position and estimate from Dr Tan's measured durations", async () => {
    // Dr Tan's history (yesterday): 10, 20 and 30 minute consultations → 20 on average.
    const others = await addPatients(q.sql, 6);
    await q.sql`
      insert into public.queue_tickets (clinic_id, service_date, code, kind, status, patient_id,
        doctor_id, checked_in_at, called_at, consultation_start_at, consultation_end_at)
      select c.id, private.clinic_today(c.id) - 1, 'W9' || lpad(g::text, 2, '0'), 'walk_in',
        'completed', null, ${DOCTORS.tan}, now() - interval '1 day',
        now() - interval '1 day', now() - interval '1 day',
        now() - interval '1 day' + g * interval '10 minutes'
      from public.clinics c, generate_series(1, 3) g where c.code = 'GFC-TP'`;
    // Two people ahead for Dr Tan, one for Dr Lee (not counted), one serving with Dr Tan.
    for (const [i, p] of others.slice(0, 2).entries()) {
      const a = await addAppointment(q.sql, { patient: p, startMin: -10 + i, lengthSec: 30 });
      await q.call("POST", `/appointments/${a}/check-in`, { token: staff });
    }
    const lee = await addAppointment(q.sql, {
      patient: others[2],
      doctor: DOCTORS.lee,
      startMin: -12,
    });
    await q.call("POST", `/appointments/${lee}/check-in`, { token: staff });
    const mine = await addAppointment(q.sql, { startMin: 0 });
    await q.call("POST", `/appointments/${mine}/check-in`, { token: patient });

    const res = await q.call("GET", "/me/queue", { token: patient });
    assert.equal(res.status, 200);
    const ticket = res.body.ticket;
    assert.equal(ticket.clinic_code, "GFC-TP");
    assert.equal(ticket.appointment_id, mine);
    assert.equal(ticket.position, 4, "behind Dr Lee's patient on the clinic's board");
    assert.equal(ticket.people_ahead, 2, "only Dr Tan's line counts");
    assert.equal(ticket.service_minutes, 20);
    assert.equal(ticket.estimated_wait_minutes, 40);

    // Dr Tan calls the first; it is in progress for ~0 minutes: 1 ahead + ~20 remaining.
    const called = await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
      token: staff,
      body: { room: "Room 1", doctor_id: DOCTORS.tan },
    });
    await q.call("POST", `/queue/tickets/${called.body.ticket.id}/start`, { token: staff });
    const later = await q.call("GET", "/me/queue", { token: patient });
    assert.equal(later.body.ticket.people_ahead, 1);
    assert.equal(later.body.ticket.estimated_wait_minutes, 40);
  });

  await t.step("clinic_code filter", async () => {
    const res = await q.call("GET", "/me/queue?clinic_code=GFC-BD", { token: patient });
    assert.equal(res.body.ticket, null);
  });
});

Deno.test("the OpenAPI document lists the queue and notification routes", async () => {
  await using q = await queueApp();
  const res = await q.call("GET", "/openapi.json");
  assert.equal(res.status, 200);
  for (
    const path of [
      "/api/appointments/{id}/check-in",
      "/api/clinics/{code}/queue",
      "/api/clinics/{code}/queue/call-next",
      "/api/clinics/{code}/queue/walk-ins",
      "/api/clinics/{code}/queue/tickets",
      "/api/queue/tickets/{id}/recall",
      "/api/queue/tickets/{id}/start",
      "/api/queue/tickets/{id}/complete",
      "/api/queue/tickets/{id}/no-show",
      "/api/queue/tickets/{id}/cancel",
      "/api/me/queue",
      "/api/notifications",
      "/api/notifications/unread-count",
      "/api/notifications/{id}/read",
      "/api/notifications/read-all",
    ]
  ) {
    assert.ok(res.body.paths[path] ?? res.body.paths[path.replace(/^\/api/, "")], path);
  }
});
