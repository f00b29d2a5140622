/**
 * Collisions with bookings (edge/routes/collisions.ts): a booked appointment a change has left
 * off its doctor's grid (shorter hours, a closure) is listed to staff — the closures answer with
 * the same list — and its admins cancel it with a reason or move it to the earliest free slot
 * in bulk, the patient told in their language; one with no free slot is reported, not dropped;
 * replays change nothing twice; everyone else and bad input get a 4xx.
 */
import assert from "node:assert/strict";
import { call } from "../support/app.ts";
import { CLINIC_A, CLINIC_B, DOCTORS, PATIENTS, queueApp, USERS } from "../queue/_support.ts";

type Row = { id: string; outcome?: string; patient_name?: string };

Deno.test("collisions: listed, cancelled or moved in bulk with a reason", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const base = "/clinics/GFC-TP/collisions";
  // The first two days from tomorrow on which Dr Tan has free slots, of different weekdays.
  const days = await q.sql`
    select d::date::text as day, extract(dow from d)::int as dow
    from generate_series((now() at time zone (select timezone from public.clinics
        where id = ${CLINIC_A}))::date + 1, (now() at time zone (select timezone
        from public.clinics where id = ${CLINIC_A}))::date + 8, interval '1 day') d
    where jsonb_array_length(api.available_slots('GFC-TP', d::date, ${DOCTORS.tan}) -> 'slots')
      > 1
    order by d limit 2`;
  const [{ day, dow }, { day: other }] = days;
  const slotsOf = async (date: string, doctor: string) =>
    (await q.sql`select s ->> 'start' as start
      from jsonb_array_elements(api.available_slots('GFC-TP', ${date}::date, ${doctor})
        -> 'slots') s`).map((r) => r.start as string);
  const book = async (start: string, patient: string = PATIENTS.lim, doctor = DOCTORS.tan) =>
    (await q.sql`
      insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
        visit_reason)
      values (${CLINIC_A}, ${patient}, ${doctor},
        tstzrange(${start}::timestamptz, ${start}::timestamptz + interval '15 minutes'),
        'scheduled', 'private reason')
      returning id`)[0].id as string;
  const daySlots = await slotsOf(day, DOCTORS.tan);
  const early = await book(daySlots[0]); // 09:00
  const late = await book(daySlots[daySlots.length - 1]); // 17:45
  const onOther = await book((await slotsOf(other, DOCTORS.tan))[0]);
  const list = async (token = admin) => {
    const res = await q.call("GET", base, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.collisions as Row[];
  };
  const resolve = (body: unknown, key: string = crypto.randomUUID(), token = admin) =>
    call(q.app, "POST", `/api${base}/resolve`, {
      token,
      body,
      headers: { "idempotency-key": key },
    });

  await t.step("on the grid: nothing collides", async () => {
    assert.deepEqual(await list(), []);
  });

  await t.step("shorter hours (SQL): the booking past the new end is listed", async () => {
    await q.sql`update public.doctor_schedule_hours set ends = '17:00'
      where doctor_id = ${DOCTORS.tan} and weekday = ${dow} and starts = '14:00'`;
    const rows = await list();
    assert.deepEqual(rows.map((r) => r.id), [late]);
    const [row] = rows as (Row & Record<string, unknown>)[];
    assert.equal(row.patient_name, "Lim Mei Ling");
    assert.equal(row.phone_masked, "•••• 0003");
    assert.equal(row.email_masked, "p•••@demo.com");
    assert.equal(JSON.stringify(rows).includes("private reason"), false, "no visit reason");
    // Staff see the list too.
    assert.equal((await list(await q.tokenFor(USERS.staffKoh))).length, 1);
  });

  await t.step("a closure over a booked day: listed, and the closure says the same", async () => {
    const res = await q.call("POST", "/clinics/GFC-TP/closures", {
      token: admin,
      body: { starts_on: other, reason: "Renovation" },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.affected_appointments.map((a: Row) => a.id), [onOther]);
    assert.deepEqual((await list()).map((r) => r.id), [late, onOther]);
    const [{ n }] = await q.sql`select count(*)::int as n from public.appointments
      where id in (${late}, ${onOther}) and status = 'scheduled'`;
    assert.equal(n, 2, "still booked");
  });

  await t.step(
    "bulk cancel: cancelled with the reason, told in the patient's language",
    async () => {
      await q.sql`update public.patients set preferred_language = 'ms' where id = ${PATIENTS.lim}`;
      await q.sql`update public.users set language = 'ms' where id = ${USERS.patientLim}`;
      const res = await resolve({ ids: [onOther], action: "cancel", reason: "Clinic renovation" });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.action, "cancel");
      assert.deepEqual(res.body.results.map((r: Row) => [r.id, r.outcome]), [
        [onOther, "cancelled"],
      ]);
      const [appt] = await q.sql`select status, cancellation_reason, cancelled_by
      from public.appointments where id = ${onOther}`;
      assert.deepEqual(
        [appt.status, appt.cancellation_reason, appt.cancelled_by],
        ["cancelled", "Clinic renovation", USERS.admin],
      );
      const [note] = await q.sql`select n.id, n.kind, n.title, n.body
      from public.notifications n
      where n.patient_id = ${PATIENTS.lim} and n.data ->> 'appointment_id' = ${onOther}
        and n.kind = 'booking_cancelled'`;
      assert.equal(note.title, "Temujanji dibatalkan oleh klinik");
      assert.match(note.body, /Clinic renovation/);
      const deliveries = await q.sql`select channel::text, language, body
      from public.notification_deliveries where notification_id = ${note.id}
      order by channel`;
      assert.deepEqual(deliveries.map((d) => [d.channel, d.language]), [["email", "ms"], [
        "sms",
        "ms",
      ]]);
      assert.match(deliveries[0].body, /Clinic renovation/);
      assert.doesNotMatch(deliveries[1].body, /renovation/, "no free text on a lock screen");
      const [log] = await q.sql`select actor_id from audit.logs
      where table_name = 'appointments' and record_id = ${onOther} and action = 'UPDATE'`;
      assert.equal(log.actor_id, USERS.admin);
      assert.deepEqual((await list()).map((r) => r.id), [late]);
    },
  );

  await t.step("replay: the same answer, nothing done twice", async () => {
    const key = crypto.randomUUID();
    const body = { ids: [late], action: "cancel", reason: "Shorter hours", notify: false };
    const first = await resolve(body, key);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.results[0].outcome, "cancelled");
    const count = async () =>
      (await q.sql`select (select count(*) from public.notifications
          where data ->> 'appointment_id' = ${late})::int as notes,
        (select count(*) from audit.logs where record_id = ${late})::int as logs`)[0];
    const before = await count();
    assert.equal(before.notes, 1, "notify: false — only the booking's confirmation");
    const again = await resolve(body, key);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(again.body, first.body);
    assert.deepEqual(await count(), before);
    const other = await resolve({ ...body, reason: "Another" }, key);
    assert.equal(other.status, 422);
    assert.equal(other.body.error.code, "idempotency_key_mismatch");
    // Cancelled already: that appointment's own outcome, not an error of the request.
    const twice = await resolve(body);
    assert.equal(twice.status, 200);
    assert.equal(twice.body.results[0].outcome, "failed");
    assert.equal(twice.body.results[0].error.code, "invalid_state");
  });

  let moved = "";
  await t.step("bulk reschedule: moved to the earliest free slot, the patient told", async () => {
    const moving = await book(daySlots[daySlots.length - 2]); // 17:30, past the new end
    const free = await slotsOf(day, DOCTORS.tan);
    const res = await resolve({ ids: [moving], action: "reschedule", reason: "Shorter hours" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [r] = res.body.results;
    assert.equal(r.outcome, "rescheduled");
    assert.equal(r.previous.id, moving);
    assert.equal(Date.parse(r.appointment.start), Date.parse(free[0]));
    assert.equal(r.appointment.doctor_id, DOCTORS.tan);
    moved = r.appointment.id;
    const [old] = await q.sql`select status from public.appointments where id = ${moving}`;
    assert.equal(old.status, "rescheduled");
    const [note] = await q.sql`select title, body from public.notifications
      where data ->> 'appointment_id' = ${r.appointment.id} and kind = 'booking_rescheduled'`;
    assert.equal(note.title, "Temujanji dipindahkan oleh klinik");
    assert.match(note.body, /Shorter hours/);
    assert.deepEqual(await list(), []);
  });

  let toLee = "";
  await t.step("blocked dates: listed; no free slot with the doctor → another doctor", async () => {
    const fresh = await book(daySlots[2]); // 09:30 with Dr Tan
    await q.sql`insert into public.doctor_blocked_dates (doctor_id, clinic_id, day, reason)
      select ${DOCTORS.tan}, ${CLINIC_A}, d::date, 'Leave'
      from generate_series(${day}::date - 2, ${day}::date + 40, interval '1 day') d`;
    assert.deepEqual(
      (await list()).map((r) => r.id).sort(),
      [early, moved, fresh].sort(),
      "Dr Tan's bookings on blocked dates",
    );
    const free = await slotsOf(day, DOCTORS.lee);
    const res = await resolve({ ids: [fresh], action: "reschedule", reason: "Doctor on leave" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [r] = res.body.results;
    assert.equal(r.outcome, "rescheduled", JSON.stringify(r));
    assert.equal(r.appointment.doctor_id, DOCTORS.lee);
    assert.equal(Date.parse(r.appointment.start), Date.parse(free[0]));
    toLee = r.appointment.id;
  });

  await t.step("no free slot anywhere: reported not moved, still booked", async () => {
    await q.sql`insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason)
      select ${CLINIC_A}, (now() at time zone c.timezone)::date,
        (now() at time zone c.timezone)::date + 60, 'Closed for good'
      from public.clinics c where c.id = ${CLINIC_A}`;
    const res = await resolve({ ids: [early], action: "reschedule", reason: "Closed" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.results.map((r: Row) => [r.id, r.outcome]), [[early, "not_moved"]]);
    assert.equal(res.body.results[0].appointment.status, "scheduled");
    const [row] = await q.sql`select status from public.appointments where id = ${early}`;
    assert.equal(row.status, "scheduled");
    assert.deepEqual(
      (await list()).map((r) => r.id).sort(),
      [early, moved, toLee].sort(),
      "still listed",
    );
  });

  await t.step("bad input and other clinics: a 4xx, nothing done", async () => {
    const [foreign] = await q.sql`
      insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
      values (${CLINIC_B}, ${PATIENTS.chan}, ${DOCTORS.ng},
        tstzrange(now() + interval '3 days', now() + interval '3 days 15 minutes'),
        'scheduled')
      returning id`;
    const ok = { ids: [early], action: "cancel", reason: "Closed" };
    const cases: [unknown, number, string?][] = [
      [{ ...ok, ids: [foreign.id] }, 404, "appointment_not_found"],
      [{ ...ok, ids: [early, crypto.randomUUID()] }, 404, "appointment_not_found"],
      [{ ...ok, ids: ["nope"] }, 400],
      [{ ...ok, ids: [] }, 400],
      [{ ...ok, ids: Array.from({ length: 101 }, () => crypto.randomUUID()) }, 400],
      [{ ...ok, action: "delete" }, 400],
      [{ ...ok, reason: "   " }, 400],
      [{ ...ok, reason: "x".repeat(201) }, 400],
      [{ ...ok, reason: "Nul\u0000" }, 400],
      [{ ...ok, notify: "yes" }, 400],
      [{ ...ok, clinic_code: "GFC-BD" }, 400],
      [{ ids: [early], reason: "No action" }, 400],
      [null, 400],
    ];
    for (const [body, status, code] of cases) {
      const res = await resolve(body);
      assert.equal(res.status, status, JSON.stringify([body, res.body]));
      if (code) assert.equal(res.body.error.code, code);
    }
    const noKey = await q.call("POST", `${base}/resolve`, { token: admin, body: ok });
    assert.equal(noKey.status, 400);
    assert.equal(noKey.body.error.code, "idempotency_key_required");
    const [{ n }] = await q.sql`select count(*)::int as n from public.appointments
      where id in (${early}, ${foreign.id}) and status = 'scheduled'`;
    assert.equal(n, 2);
    assert.equal((await q.call("GET", `${base}?from=someday`, { token: admin })).status, 400);
    assert.equal((await q.call("GET", "/clinics/NOPE/collisions", { token: admin })).status, 404);
  });

  await t.step("401 anonymous; 403 non-admins and another clinic's admin", async () => {
    assert.equal((await q.call("GET", base)).status, 401);
    assert.equal((await q.call("POST", `${base}/resolve`, { body: {} })).status, 401);
    for (const user of [USERS.patientLim, USERS.adminBedok]) {
      const res = await q.call("GET", base, { token: await q.tokenFor(user) });
      assert.equal(res.status, 403, user);
    }
    for (const user of [USERS.staffKoh, USERS.nurseOng, USERS.patientLim, USERS.adminBedok]) {
      const res = await resolve(
        { ids: [early], action: "cancel", reason: "Mine" },
        undefined,
        await q.tokenFor(user),
      );
      assert.equal(res.status, 403, user);
    }
    const [row] = await q.sql`select status from public.appointments where id = ${early}`;
    assert.equal(row.status, "scheduled");
  });
});

Deno.test("collisions: one definition — grid changes collide; notice, window and cap do not", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const [{ day, dow }] = await q.sql`
    select d::date::text as day, extract(dow from d)::int as dow
    from generate_series((now() at time zone (select timezone from public.clinics
        where id = ${CLINIC_A}))::date + 1, (now() at time zone (select timezone
        from public.clinics where id = ${CLINIC_A}))::date + 8, interval '1 day') d
    where extract(dow from d) between 1 and 6
    order by d limit 1`;
  const book = async (doctor: string, time: string) =>
    (await q.sql`
      insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
      select ${CLINIC_A}, ${PATIENTS.lim}, ${doctor},
        tstzrange(s, s + interval '15 minutes'), 'scheduled'
      from public.clinics c
      cross join lateral (select (${day}::date + ${time}::time) at time zone c.timezone as s) x
      where c.id = ${CLINIC_A}
      returning id`)[0].id as string;
  const lee0915 = await book(DOCTORS.lee, "09:15");
  const lee1100 = await book(DOCTORS.lee, "11:00");
  const tan0900 = await book(DOCTORS.tan, "09:00");
  const tan0915 = await book(DOCTORS.tan, "09:15");
  const listed = async () =>
    ((await q.call("GET", "/clinics/GFC-TP/collisions", { token: admin })).body
      .collisions as Row[]).map((r) => r.id).sort();

  await t.step("notice, advance window and daily cap: nothing collides", async () => {
    await q.sql`update public.doctor_schedules
      set min_notice_minutes = 60 * 24 * 20, advance_days = 0, max_per_day = 1
      where clinic_id = ${CLINIC_A}`;
    assert.deepEqual(await listed(), []);
    await q.sql`update public.doctor_schedules
      set min_notice_minutes = 30, advance_days = 30, max_per_day = 28
      where clinic_id = ${CLINIC_A}`;
  });

  await t.step("a longer slot moves the grid: the start off it collides", async () => {
    await q.sql`update public.doctor_schedules set slot_minutes = 20
      where doctor_id = ${DOCTORS.lee}`;
    assert.deepEqual(await listed(), [lee0915]);
  });

  await t.step("schedule changes through the API answer with what they strand", async () => {
    const doctor = `/clinics/GFC-TP/doctors/${DOCTORS.lee}`;
    const ids = (body: { affected_appointments: Row[] }) =>
      body.affected_appointments.map((r) => r.id).sort();
    const preview = await q.call("POST", `${doctor}/schedule/preview`, {
      token: admin,
      body: { week: day, settings: { slot_minutes: 15 } },
    });
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    assert.deepEqual(ids(preview.body), [], "the draft puts 09:15 back on the grid");
    assert.deepEqual(await listed(), [lee0915], "the preview kept nothing");
    const saved = await q.call("PATCH", `${doctor}/schedule`, {
      token: admin,
      body: { settings: { slot_minutes: 20 } },
    });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.deepEqual(ids(saved.body), [lee0915]);
    const blocked = await q.call("POST", `${doctor}/blocked-dates`, {
      token: admin,
      body: { day, reason: "Course" },
    });
    assert.equal(blocked.status, 201, JSON.stringify(blocked.body));
    assert.deepEqual(ids(blocked.body), [lee0915, lee1100].sort());
    const unblocked = await q.call("DELETE", `${doctor}/blocked-dates/${blocked.body.id}`, {
      token: admin,
    });
    assert.ok(unblocked.status < 300, JSON.stringify(unblocked.body));
  });

  await t.step("a new break over a booking collides", async () => {
    await q.sql`insert into public.doctor_schedule_hours
        (doctor_id, clinic_id, weekday, kind, starts, ends)
      values (${DOCTORS.tan}, ${CLINIC_A}, ${dow}, 'break', '09:15', '09:30')`;
    assert.deepEqual(await listed(), [lee0915, tan0915].sort());
    assert.ok(!(await listed()).includes(tan0900));
  });

  await t.step("a doctor who stops taking appointments: all theirs collide", async () => {
    await q.sql`update public.doctors set is_active = false where id = ${DOCTORS.lee}`;
    assert.deepEqual(await listed(), [lee0915, lee1100, tan0915].sort());
  });
});
