/**
 * Appointment types (edge/routes/appointment_types.ts, the type on /slots, /days, /holds,
 * /bookings and reschedules): the clinic's admins add, change, deactivate and delete types,
 * audited, each change moving the availability version; slots are as long as the type and only
 * its doctors have them; patients book patient-bookable types only; a request without a type
 * is a consultation as before. Everyone else gets 401/403, bad input a 4xx naming the field.
 */
import assert from "node:assert/strict";
import { CLINIC_A, DOCTORS, nextWeekday, PATIENTS, sgt, testApp, USERS } from "./_support.ts";

const BASE = "/api/clinics/GFC-TP/appointment-types";

Deno.test("appointment types: admin CRUD, the list, and the type in every booking path", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const admin = await app.tokenFor(USERS.admin);
  const lim = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.staffKoh);
  const key = () => ({ "idempotency-key": crypto.randomUUID() });
  const book = (token: string, start: string, extra: Record<string, unknown> = {}) =>
    app.call("POST", "/api/bookings", {
      token,
      headers: key(),
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start, ...extra },
    });
  const version = async () =>
    (await app.sql`select version from public.availability_versions
      where clinic_id = ${CLINIC_A} and service_date is null`)[0]?.version ?? "0";
  const slots = async (query: string, token?: string) =>
    await app.call("GET", `/api/clinics/GFC-TP/slots?date=${day}&${query}`, { token });
  const times = (res: { body: { slots: { local_time: string }[] } }) =>
    res.body.slots.map((s) => s.local_time);

  await t.step("every clinic has its consultation; anyone lists it", async () => {
    const res = await app.call("GET", BASE);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.appointment_types, [{
      code: "consultation",
      name: "Consultation",
      duration_minutes: null,
      colour: "#2563eb",
      bookable_by: "patients",
      active: true,
      all_doctors: true,
      doctor_ids: [],
    }]);
    const [{ n }] = await app.sql`select count(*)::int as n from public.clinics c
      where not exists (select 1 from public.appointment_types t
                        where t.clinic_id = c.id and t.code = 'consultation')`;
    assert.equal(n, 0);
    assert.equal((await app.call("GET", "/api/clinics/NOPE-1/appointment-types")).status, 404);
  });

  await t.step("admins add types: audited, the availability version moves", async () => {
    const before = await version();
    const screening = await app.call("POST", BASE, {
      token: admin,
      body: {
        code: "screening",
        name: " Health screening ",
        duration_minutes: 45,
        colour: "#0D9488",
        doctor_ids: [DOCTORS.tan],
      },
    });
    assert.equal(screening.status, 201, JSON.stringify(screening.body));
    assert.deepEqual(screening.body, {
      code: "screening",
      name: "Health screening",
      duration_minutes: 45,
      colour: "#0d9488",
      bookable_by: "patients",
      active: true,
      all_doctors: false,
      doctor_ids: [DOCTORS.tan],
    });
    const vaccination = await app.call("POST", BASE, {
      token: admin,
      body: {
        code: "vaccination",
        name: "Vaccination",
        duration_minutes: 10,
        bookable_by: "staff",
        all_doctors: true,
      },
    });
    assert.equal(vaccination.status, 201, JSON.stringify(vaccination.body));
    assert.notEqual(await version(), before, "the availability version moved");
    const logs = await app.sql`select table_name, action, actor_id, clinic_id from audit.logs
      where table_name in ('appointment_types', 'appointment_type_doctors')
        and actor_id is not null
      order by id`;
    assert.deepEqual(logs.map((l) => [l.table_name, l.action]), [
      ["appointment_types", "INSERT"],
      ["appointment_type_doctors", "INSERT"],
      ["appointment_types", "INSERT"],
    ]);
    assert.ok(logs.every((l) => l.actor_id === USERS.admin && l.clinic_id === CLINIC_A));
  });

  await t.step("the list: patient-bookable types for anyone, all for staff", async () => {
    const anyone = await app.call("GET", BASE, { token: lim });
    assert.deepEqual(anyone.body.appointment_types.map((x: { code: string }) => x.code), [
      "consultation",
      "screening",
    ]);
    const staffList = await app.call("GET", BASE, { token: staff });
    assert.deepEqual(staffList.body.appointment_types.map((x: { code: string }) => x.code), [
      "consultation",
      "screening",
      "vaccination",
    ]);
  });

  await t.step("slots of a type: its length, its doctors, not across the break", async () => {
    const consultation = await slots(`doctor_id=${DOCTORS.tan}`);
    const screening = await slots("type=screening");
    assert.equal(screening.status, 200, JSON.stringify(screening.body));
    assert.equal(screening.body.appointment_type, "screening");
    assert.match(screening.headers.get("cache-control") ?? "", /^public/);
    assert.ok(
      screening.body.slots.every((s: { doctor_id: string; duration_minutes: number }) =>
        s.doctor_id === DOCTORS.tan && s.duration_minutes === 45
      ),
      "only Dr Tan offers it, 45 minutes each",
    );
    // 09:00–13:00 with a 10:30–10:45 break: a 45-minute visit fits from 09:45 (ends 10:30),
    // not from 10:00 or 10:15, and from 12:15 (ends 13:00), not 12:30.
    const at = times(screening);
    for (const time of ["09:00", "09:45", "10:45", "12:15", "14:00", "17:15"]) {
      assert.ok(at.includes(time), `${time} offered`);
    }
    for (const time of ["10:00", "10:15", "10:30", "12:30", "12:45", "17:30"]) {
      assert.ok(!at.includes(time), `${time} not offered`);
    }
    assert.ok(times(consultation).includes("10:00"), "a consultation fits at 10:00");
    assert.notEqual(screening.headers.get("etag"), consultation.headers.get("etag"));
    const etag = screening.headers.get("etag")!;
    assert.ok(etag.includes(".screening."), etag);
    const again = await app.call("GET", `/api/clinics/GFC-TP/slots?date=${day}&type=screening`, {
      headers: { "if-none-match": etag },
    });
    assert.equal(again.status, 304);
    const other = await app.call("GET", `/api/clinics/GFC-TP/slots?date=${day}`, {
      headers: { "if-none-match": etag },
    });
    assert.equal(other.status, 200, "another type's ETag does not match");
    const days = await app.call("GET", `/api/clinics/GFC-TP/days?type=screening&days=7`);
    assert.equal(days.status, 200, JSON.stringify(days.body));
    const listed = days.body.days.find((d: { date: string }) => d.date === day);
    assert.equal(listed.free_slots, screening.body.slots.length);
  });

  let screeningId = "";
  await t.step("patients book a patient type the doctor offers; 422 otherwise", async () => {
    const lee = await book(lim, sgt(day, "09:00"), { doctor_id: DOCTORS.lee, type: "screening" });
    assert.equal(lee.status, 422, JSON.stringify(lee.body));
    assert.equal(lee.body.error.code, "appointment_type_not_offered");
    assert.equal(lee.body.error.details[0].path, "type");
    const held = await app.call("POST", "/api/holds", {
      token: lim,
      body: {
        clinic_code: "GFC-TP",
        doctor_id: DOCTORS.lee,
        start: sgt(day, "09:00"),
        type: "screening",
      },
    });
    assert.equal(held.status, 422);
    assert.equal(held.body.error.code, "appointment_type_not_offered");
    const overBreak = await book(lim, sgt(day, "10:00"), { type: "screening" });
    assert.equal(overBreak.status, 422, JSON.stringify(overBreak.body));
    assert.equal(overBreak.body.error.code, "outside_schedule");
    const ok = await book(lim, sgt(day, "09:45"), { type: "screening" });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const a = ok.body.appointment;
    screeningId = a.id;
    assert.equal(a.appointment_type, "screening");
    assert.equal(a.appointment_type_name, "Health screening");
    assert.equal(a.appointment_type_colour, "#0d9488");
    assert.equal(a.end, sgt(day, "10:30"));
    // A consultation at 10:00 overlaps it; one at 10:45 (after the break) does not.
    assert.equal((await book(lim, sgt(day, "10:00"))).status, 409);
    const plain = await book(lim, sgt(day, "10:45"));
    assert.equal(plain.status, 201, JSON.stringify(plain.body));
    assert.equal(plain.body.appointment.appointment_type, "consultation");
    assert.equal(plain.body.appointment.end, sgt(day, "11:00"));
    const mine = await app.call("GET", "/api/me/appointments", { token: lim });
    const listed = mine.body.upcoming.find((x: { id: string }) => x.id === screeningId);
    assert.equal(listed.appointment_type_name, "Health screening");
  });

  await t.step("a hold keeps its type: booking it as another type is refused", async () => {
    const held = await app.call("POST", "/api/holds", {
      token: lim,
      body: {
        clinic_code: "GFC-TP",
        doctor_id: DOCTORS.tan,
        start: sgt(day, "14:00"),
        type: "screening",
      },
    });
    assert.equal(held.status, 201, JSON.stringify(held.body));
    assert.equal(held.body.hold.appointment_type, "screening");
    assert.equal(held.body.hold.end, sgt(day, "14:45"));
    const mismatch = await book(lim, sgt(day, "14:00"), { hold_id: held.body.hold.id });
    assert.equal(mismatch.status, 422);
    assert.equal(mismatch.body.error.code, "hold_mismatch");
    await app.call("DELETE", `/api/holds/${held.body.hold.id}`, { token: lim });
  });

  await t.step("a staff-only type: 403 to patients, booked by staff", async () => {
    const res = await book(lim, sgt(day, "15:00"), { type: "vaccination" });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "appointment_type_staff_only");
    assert.equal(res.body.error.details[0].path, "type");
    assert.equal((await slots("type=vaccination")).status, 403);
    assert.equal((await slots("type=vaccination", lim)).status, 403);
    const listed = await slots(`type=vaccination&doctor_id=${DOCTORS.lee}`, staff);
    assert.equal(listed.status, 200);
    assert.equal(listed.body.bookable_by, "staff");
    assert.equal(listed.headers.get("cache-control"), "private, no-cache", "no shared cache");
    // Any answer to a request with a token is the caller's: never kept by a shared cache.
    const mine = await slots("type=consultation", lim);
    assert.equal(mine.headers.get("cache-control"), "private, no-cache");
    assert.match((await slots("type=consultation")).headers.get("cache-control") ?? "", /^public/);
    assert.equal(listed.body.slots[0].duration_minutes, 10);
    const booked = await book(staff, sgt(day, "15:00"), {
      type: "vaccination",
      patient_id: PATIENTS.lim,
      doctor_id: DOCTORS.lee,
    });
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    assert.equal(booked.body.appointment.appointment_type, "vaccination");
    assert.equal(booked.body.appointment.end, sgt(day, "15:10"));
  });

  await t.step("unknown and malformed types: 404 and 400 naming the field", async () => {
    const unknown = await book(lim, sgt(day, "16:00"), { type: "massage" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "appointment_type_not_found");
    assert.equal(unknown.body.error.details[0].path, "type");
    assert.equal((await slots("type=massage")).status, 404);
    for (const bad of ["Bad Type", "x", "a".repeat(41), "drop;table"]) {
      const res = await book(lim, sgt(day, "16:00"), { type: bad });
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.details[0].path, "type");
      const listed = await slots(`type=${encodeURIComponent(bad)}`);
      assert.equal(listed.status, 400, bad);
    }
    assert.equal((await book(lim, sgt(day, "16:00"), { type: 7 })).status, 400);
  });

  await t.step("a reschedule keeps the type", async () => {
    const moved = await app.call("POST", `/api/appointments/${screeningId}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "12:15") },
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.appointment.appointment_type, "screening");
    assert.equal(moved.body.appointment.end, sgt(day, "13:00"));
    screeningId = moved.body.appointment.id;
    const toLee = await app.call("POST", `/api/appointments/${screeningId}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "09:00"), doctor_id: DOCTORS.lee },
    });
    assert.equal(toLee.status, 422);
    assert.equal(toLee.body.error.code, "appointment_type_not_offered");
  });

  await t.step("admins change a type and its doctors; the version moves", async () => {
    const before = await version();
    const res = await app.call("PATCH", `${BASE}/screening`, {
      token: admin,
      body: { name: "Screening", doctor_ids: [DOCTORS.tan, DOCTORS.lee], colour: "#112233" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.name, "Screening");
    assert.deepEqual(res.body.doctor_ids, [DOCTORS.tan, DOCTORS.lee].sort());
    assert.notEqual(await version(), before);
    const lee = await slots(`type=screening&doctor_id=${DOCTORS.lee}`);
    assert.ok(lee.body.slots.length > 0, "Dr Lee offers it now");
    const [log] = await app.sql`select changed_fields, actor_id from audit.logs
      where table_name = 'appointment_types' and action = 'UPDATE' order by id desc limit 1`;
    assert.deepEqual(log.changed_fields, ["colour", "name"]);
    assert.equal(log.actor_id, USERS.admin);
    const plainLength = await app.call("PATCH", `${BASE}/screening`, {
      token: admin,
      body: { duration_minutes: null },
    });
    assert.equal(plainLength.body.duration_minutes, null);
    const fifteen = await slots(`type=screening&doctor_id=${DOCTORS.tan}`);
    assert.equal(fifteen.body.slots[0].duration_minutes, 15);
  });

  await t.step(
    "a deactivated type is neither listed nor bookable; in use, not deleted",
    async () => {
      const before = await version();
      const off = await app.call("PATCH", `${BASE}/screening`, {
        token: admin,
        body: { active: false },
      });
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal(off.body.active, false);
      assert.notEqual(await version(), before);
      const list = await app.call("GET", BASE);
      assert.ok(!list.body.appointment_types.some((x: { code: string }) => x.code === "screening"));
      const staffList = await app.call("GET", BASE, { token: staff });
      assert.ok(
        staffList.body.appointment_types.some((x: { code: string }) => x.code === "screening"),
      );
      const listed = await slots("type=screening");
      assert.equal(listed.status, 422);
      assert.equal(listed.body.error.code, "appointment_type_inactive");
      const res = await book(lim, sgt(day, "16:00"), { type: "screening" });
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, "appointment_type_inactive");
      const del = await app.call("DELETE", `${BASE}/screening`, { token: admin });
      assert.equal(del.status, 409);
      assert.equal(del.body.error.code, "appointment_type_in_use");
      // Its appointments stay as they were.
      const [{ status }] = await app.sql`select status from public.appointments
      where id = ${screeningId}`;
      assert.equal(status, "scheduled");
    },
  );

  await t.step("an unused type is deleted; the consultation stays", async () => {
    const added = await app.call("POST", BASE, {
      token: admin,
      body: { code: "travel", name: "Travel advice" },
    });
    assert.equal(added.status, 201);
    assert.equal(added.body.all_doctors, true, "every doctor, unless doctor_ids are given");
    assert.equal((await app.call("DELETE", `${BASE}/travel`, { token: admin })).status, 204);
    assert.equal((await app.call("DELETE", `${BASE}/travel`, { token: admin })).status, 404);
    const [{ n }] = await app.sql`select count(*)::int as n from audit.logs
      where table_name = 'appointment_types' and action = 'DELETE'`;
    assert.equal(n, 1);
    for (
      const [method, path, body] of [
        ["DELETE", `${BASE}/consultation`, undefined],
        ["PATCH", `${BASE}/consultation`, { active: false }],
        ["PATCH", `${BASE}/consultation`, { bookable_by: "staff" }],
      ] as const
    ) {
      const res = await app.call(method, path, { token: admin, body });
      assert.equal(res.status, 422, `${method} ${JSON.stringify(body)}`);
      assert.equal(res.body.error.code, "default_type");
    }
    const ok = await app.call("PATCH", `${BASE}/consultation`, {
      token: admin,
      body: { duration_minutes: 20, name: "General consultation" },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  await t.step("bad input: a 4xx naming the field, nothing written", async () => {
    const [{ n: before }] = await app.sql`select count(*)::int as n
      from public.appointment_types`;
    const cases: [unknown, number, string][] = [
      [{ code: "vaccination", name: "Again" }, 409, "code"],
      [{ code: "Bad Code", name: "X" }, 400, "code"],
      [{ code: "ok_code", name: "" }, 400, "name"],
      [{ code: "ok_code", name: "x".repeat(81) }, 400, "name"],
      [{ code: "ok_code", name: "Tab\u0000" }, 400, "name"],
      [{ code: "ok_code", name: "X", duration_minutes: 3 }, 400, "duration_minutes"],
      [{ code: "ok_code", name: "X", duration_minutes: 241 }, 400, "duration_minutes"],
      [{ code: "ok_code", name: "X", duration_minutes: 10.5 }, 400, "duration_minutes"],
      [{ code: "ok_code", name: "X", colour: "red" }, 400, "colour"],
      [{ code: "ok_code", name: "X", bookable_by: "everyone" }, 400, "bookable_by"],
      [{ code: "ok_code", name: "X", doctor_ids: ["nope"] }, 400, "doctor_ids.0"],
      [{ code: "ok_code", name: "X", doctor_ids: [DOCTORS.ng] }, 422, "doctor_ids"],
      [{ code: "ok_code", name: "X", clinic_id: CLINIC_A }, 400, ""],
    ];
    for (const [body, status, path] of cases) {
      const res = await app.call("POST", BASE, { token: admin, body });
      assert.equal(res.status, status, JSON.stringify([body, res.body]));
      if (path) {
        assert.equal(res.body.error.details?.[0]?.path, path, JSON.stringify(res.body));
      }
    }
    for (const body of [null, [], "{", { active: "yes" }, { duration_minutes: 0 }]) {
      const res = await app.call("PATCH", `${BASE}/vaccination`, { token: admin, body });
      assert.equal(res.status, 400, JSON.stringify([body, res.body]));
    }
    const unknownDoctor = await app.call("PATCH", `${BASE}/vaccination`, {
      token: admin,
      body: { doctor_ids: [crypto.randomUUID()] },
    });
    assert.equal(unknownDoctor.status, 422);
    assert.equal(unknownDoctor.body.error.details[0].path, "doctor_ids");
    assert.equal(
      (await app.call("PATCH", `${BASE}/massage`, { token: admin, body: { name: "M" } })).status,
      404,
    );
    assert.equal(
      (await app.call("PATCH", `${BASE}/BAD!`, { token: admin, body: { name: "M" } })).status,
      400,
    );
    const [{ n: after }] = await app.sql`select count(*)::int as n
      from public.appointment_types`;
    assert.equal(after, before);
  });

  await t.step(
    "401 anonymous; 403 staff, patients, doctors and another clinic's admin",
    async () => {
      const body = { code: "walk_in", name: "Walk-in" };
      assert.equal((await app.call("POST", BASE, { body })).status, 401);
      assert.equal((await app.call("PATCH", `${BASE}/vaccination`, { body })).status, 401);
      for (
        const user of [
          USERS.staffKoh,
          USERS.nurseOng,
          USERS.doctorTan,
          USERS.patientLim,
          USERS.adminBedok,
        ]
      ) {
        const token = await app.tokenFor(user);
        const created = await app.call("POST", BASE, { token, body });
        assert.equal(created.status, 403, `${user}: ${JSON.stringify(created.body)}`);
        const edited = await app.call("PATCH", `${BASE}/vaccination`, {
          token,
          body: { name: "Jab" },
        });
        assert.equal(edited.status, 403, user);
        assert.equal((await app.call("DELETE", `${BASE}/vaccination`, { token })).status, 403);
      }
      // And not around the API either: RLS lets only admins write the tables.
      const [{ name }] = await app.sql`select name from public.appointment_types
      where clinic_id = ${CLINIC_A} and code = 'vaccination'`;
      assert.equal(name, "Vaccination");
    },
  );
});

Deno.test("appointment types: the foreign key, the availability version, new clinics' consultation", async () => {
  await using app = await testApp();
  await assert.rejects(
    app.sql`insert into public.appointments (clinic_id, patient_id, doctor_id, period,
        appointment_type)
      values (${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan},
        tstzrange(now() + interval '3 days', now() + interval '3 days 15 minutes'), 'massage')`,
    (e: { code?: string }) => e.code === "23503",
  );
  // A doctor offering a type or no longer: the clinic's availability version moves.
  const version = async () =>
    (await app.sql`select version from public.availability_versions
      where clinic_id = ${CLINIC_A} and service_date is null`)[0]?.version ?? "0";
  const before = await version();
  const [offer] = await app.sql`
    insert into public.appointment_type_doctors (clinic_id, type_id, doctor_id)
    select clinic_id, id, ${DOCTORS.lee} from public.appointment_types
    where clinic_id = ${CLINIC_A} and code = 'consultation'
    returning id`;
  const added = await version();
  assert.notEqual(added, before);
  await app.sql`delete from public.appointment_type_doctors where id = ${offer.id}`;
  assert.notEqual(await version(), added);
  const [clinic] = await app.sql`insert into public.clinics (code, name, timezone)
    values ('NEW-1', 'New', 'Asia/Singapore') returning id`;
  const [type] = await app.sql`select code, all_doctors, bookable_by, active
    from public.appointment_types where clinic_id = ${clinic.id}`;
  assert.deepEqual({ ...type }, {
    code: "consultation",
    all_doctors: true,
    bookable_by: "patients",
    active: true,
  });
});

Deno.test("appointment types: the API's checks are the table's (code, name, length, colour)", async () => {
  await using app = await testApp();
  /** Does the table take a type with these columns (the rest valid)? */
  const tableTakes = async (columns: Record<string, unknown>) => {
    const row = {
      code: "probe",
      name: "Probe",
      duration_minutes: 15,
      colour: "#123456",
      ...columns,
    };
    try {
      await app.sql.begin(async (tx) => {
        await tx`insert into public.appointment_types (clinic_id, code, name, duration_minutes,
            colour)
          values (${CLINIC_A}, ${row.code as string}, ${row.name as string},
            ${row.duration_minutes as number}, ${row.colour as string})`;
        throw new Rollback();
      });
    } catch (error) {
      if (error instanceof Rollback) return true;
      if ((error as { code?: string }).code === "23514") return false;
      throw error;
    }
    return true;
  };
  const cases: [string, unknown][] = [
    ...[
      "ab",
      "a1",
      "health_screening",
      "a".repeat(40),
      "a".repeat(41),
      "1ab",
      "_ab",
      "Ab",
      "a",
      "a-b",
      "a b",
      "é_b",
    ].map((code): [string, unknown] => ["code", code]),
    ...["X", "A name", "x".repeat(80), "x".repeat(81)].map((name): [string, unknown] => [
      "name",
      name,
    ]),
    ...[4, 5, 45, 240, 241].map((n): [string, unknown] => ["duration_minutes", n]),
    ...["#0d9488", "#abcdef", "#ABCDEF", "#12345", "red", "#1234567"].map((
      colour,
    ): [string, unknown] => ["colour", colour]),
  ];
  const admin = await app.tokenFor(USERS.admin);
  for (const [field, value] of cases) {
    // The API lower-cases a colour before it is stored.
    const stored = field === "colour" ? String(value).toLowerCase() : value;
    const table = await tableTakes({ [field]: stored });
    const res = await app.call("POST", BASE, {
      token: admin,
      body: { code: "probe", name: "Probe", duration_minutes: 15, [field]: value },
    });
    const apiTakes = !(res.status === 400 &&
      res.body.error.details?.some((d: { path: string }) => d.path === field));
    assert.equal(apiTakes, table, `${field} = ${value}: ${JSON.stringify(res.body)}`);
    if (res.status === 201) {
      await app.sql`delete from public.appointment_types
        where clinic_id = ${CLINIC_A} and code = ${res.body.code}`;
    }
  }
  // And the consultation's rule, as the table states it.
  await assert.rejects(
    app.sql`update public.appointment_types set active = false where code = 'consultation'`,
    (e: { code?: string }) => e.code === "23514",
  );
});

class Rollback {}
