/**
 * Doctors' schedules (edge/routes/schedules.ts): a clinic's admins list its doctors, change a
 * doctor's settings and week of hours atomically, block dates and preview a draft week. The
 * rules are the database's constraints: overlapping intervals, an end before its start, a break
 * outside work and settings out of range are a 422 naming the field, nothing written; every
 * change is audited and moves the availability version; the preview's bookable starts are what
 * the slots route offers once saved. Everyone else gets 401/403/404. A member who becomes a
 * doctor (an accepted invitation, a role change) gets a doctor row and a default schedule.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { asUser, claimsFor } from "../support/db.ts";
import {
  CLINIC_A,
  DOCTORS,
  inviteLink,
  localDate,
  PATIENTS,
  type TestApp,
  testApp,
  USERS,
} from "./_support.ts";

const base = "/api/clinics/GFC-TP/doctors";
const tan = `${base}/${DOCTORS.tan}`;

type Interval = { weekday: number; kind: "work" | "break"; starts: string; ends: string };

/** Mon–Fri 08:00–12:00 and 13:00–17:00, a 10:00–10:15 break on Mondays. */
const WEEK: Interval[] = [
  ...[1, 2, 3, 4, 5].flatMap((weekday): Interval[] => [
    { weekday, kind: "work", starts: "08:00", ends: "12:00" },
    { weekday, kind: "work", starts: "13:00", ends: "17:00" },
  ]),
  { weekday: 1, kind: "break", starts: "10:00", ends: "10:15" },
];

async function scheduleVersion(app: TestApp, clinic = CLINIC_A): Promise<string> {
  const [row] = await app.sql`select version::text from public.availability_versions
    where clinic_id = ${clinic} and service_date is null`;
  return row?.version ?? "0";
}

async function auditCount(app: TestApp, table: string): Promise<number> {
  const [row] = await app.sql`select count(*)::int as n from audit.logs
    where table_name = ${table}`;
  return row.n;
}

/** The saved hours of Dr Tan, sorted as the API sorts them. */
async function savedHours(app: TestApp, token: string): Promise<Interval[]> {
  const res = await app.call("GET", `${tan}/schedule`, { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.hours;
}

Deno.test("schedules: the doctors list, a schedule read and changed atomically, audited", async (t) => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);

  await t.step("the clinic's doctors with their schedule summary", async () => {
    const res = await app.call("GET", base, { token: admin });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const ids = res.body.doctors.map((d: { id: string }) => d.id);
    assert.deepEqual(ids.sort(), [DOCTORS.tan, DOCTORS.lee].sort(), "clinic A's doctors only");
    const dr = res.body.doctors.find((d: { id: string }) => d.id === DOCTORS.tan);
    assert.deepEqual(dr.work_days, [1, 2, 3, 4, 5, 6]);
    assert.equal(dr.weekly_minutes, 6 * (8 * 60 - 15));
    assert.equal(dr.settings.slot_minutes, 15);
    assert.equal(dr.settings.max_per_day, 28);
    assert.equal(dr.upcoming_blocked_dates, 0);
    assert.equal(dr.user_id, USERS.doctorTan);
  });

  await t.step("a schedule: settings, the week by weekday, blocked dates", async () => {
    const res = await app.call("GET", `${tan}/schedule`, { token: admin });
    assert.equal(res.status, 200);
    assert.equal(res.body.doctor.display_name, "Dr Tan Wei Ming");
    assert.equal(res.body.hours.length, 18);
    assert.deepEqual(res.body.hours.slice(0, 3), [
      { weekday: 1, kind: "work", starts: "09:00", ends: "13:00" },
      { weekday: 1, kind: "work", starts: "14:00", ends: "18:00" },
      { weekday: 1, kind: "break", starts: "10:30", ends: "10:45" },
    ]);
    assert.deepEqual(res.body.blocked_dates, []);
  });

  await t.step("settings and the week change in one go; audited, the version moves", async () => {
    const before = await scheduleVersion(app);
    const res = await app.call("PATCH", `${tan}/schedule`, {
      token: admin,
      body: {
        settings: { slot_minutes: 20, max_per_day: null, min_notice_minutes: 0 },
        hours: WEEK,
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.settings.slot_minutes, 20);
    assert.equal(res.body.settings.max_per_day, null);
    assert.equal(res.body.settings.buffer_minutes, 0, "absent keys stay");
    assert.equal(res.body.settings.advance_days, 30);
    assert.equal(res.body.hours.length, WEEK.length);
    assert.deepEqual(res.body.hours[2], {
      weekday: 1,
      kind: "break",
      starts: "10:00",
      ends: "10:15",
    });
    assert.notEqual(await scheduleVersion(app), before);
    const logs = await app.sql`select action, actor_id, clinic_id from audit.logs
      where table_name = 'doctor_schedule_hours' and actor_id is not null`;
    assert.equal(logs.filter((l) => l.action === "DELETE").length, 18);
    assert.equal(logs.filter((l) => l.action === "INSERT").length, WEEK.length);
    assert.ok(logs.every((l) => l.actor_id === USERS.admin && l.clinic_id === CLINIC_A));
    const [settings] = await app.sql`select actor_id, changed_fields from audit.logs
      where table_name = 'doctor_schedules' and action = 'UPDATE'`;
    assert.equal(settings.actor_id, USERS.admin);
    assert.deepEqual(settings.changed_fields, [
      "max_per_day",
      "min_notice_minutes",
      "slot_minutes",
    ]);
  });

  await t.step("saving the same week again changes (and audits) nothing", async () => {
    const before = await auditCount(app, "doctor_schedule_hours");
    const res = await app.call("PATCH", `${tan}/schedule`, {
      token: admin,
      body: { hours: [...WEEK].reverse() },
    });
    assert.equal(res.status, 200);
    assert.equal(await auditCount(app, "doctor_schedule_hours"), before);
  });

  await t.step("a broken rule is a 422 naming the field; nothing is written", async () => {
    const hoursBefore = await savedHours(app, admin);
    const audited = await auditCount(app, "doctor_schedule_hours");
    const work = (weekday: number, starts: string, ends: string): Interval => ({
      weekday,
      kind: "work",
      starts,
      ends,
    });
    const brk = (weekday: number, starts: string, ends: string): Interval => ({
      weekday,
      kind: "break",
      starts,
      ends,
    });
    const cases: [unknown, string, string][] = [
      [
        { hours: [work(1, "09:00", "12:00"), work(1, "11:00", "13:00")] },
        "overlapping_hours",
        "hours.1",
      ],
      [
        {
          hours: [work(2, "09:00", "12:00"), work(1, "08:00", "17:00"), work(1, "12:00", "13:00")],
        },
        "overlapping_hours",
        "hours.2",
      ],
      [
        {
          hours: [work(3, "09:00", "17:00"), brk(3, "10:00", "11:00"), brk(3, "10:30", "10:45")],
        },
        "overlapping_hours",
        "hours.2",
      ],
      [{ hours: [work(1, "12:00", "09:00")] }, "invalid_interval", "hours.0.ends"],
      [{ hours: [work(1, "09:00", "09:00")] }, "invalid_interval", "hours.0.ends"],
      [
        { hours: [work(1, "09:00", "12:00"), brk(1, "11:30", "12:30")] },
        "break_outside_work",
        "hours.1",
      ],
      [
        { hours: [work(2, "09:00", "12:00"), brk(1, "10:00", "10:15")] },
        "break_outside_work",
        "hours.1",
      ],
      [
        {
          hours: [work(1, "09:00", "12:00"), work(1, "12:00", "15:00"), brk(1, "11:45", "12:15")],
        },
        "break_outside_work",
        "hours.2",
      ],
      [{ hours: [brk(0, "10:00", "10:15")] }, "break_outside_work", "hours.0"],
      [{ settings: { slot_minutes: 3 } }, "invalid_setting", "settings.slot_minutes"],
      [{ settings: { slot_minutes: 241 } }, "invalid_setting", "settings.slot_minutes"],
      [{ settings: { buffer_minutes: -1 } }, "invalid_setting", "settings.buffer_minutes"],
      [{ settings: { max_per_day: 0 } }, "invalid_setting", "settings.max_per_day"],
      [{ settings: { advance_days: 366 } }, "invalid_setting", "settings.advance_days"],
      [{ settings: { min_notice_minutes: -5 } }, "invalid_setting", "settings.min_notice_minutes"],
      // A valid settings change with a bad week: neither is saved.
      [
        {
          settings: { slot_minutes: 30 },
          hours: [work(1, "09:00", "12:00"), work(1, "10:00", "11:00")],
        },
        "overlapping_hours",
        "hours.1",
      ],
    ];
    for (const [body, code, path] of cases) {
      const res = await app.call("PATCH", `${tan}/schedule`, { token: admin, body });
      assert.equal(res.status, 422, JSON.stringify([body, res.body]));
      assert.equal(res.body.error.code, code, JSON.stringify(res.body));
      assert.equal(res.body.error.details[0].path, path, JSON.stringify([body, res.body]));
    }
    const malformed: unknown[] = [
      { hours: [{ weekday: 7, kind: "work", starts: "09:00", ends: "12:00" }] },
      { hours: [{ weekday: 1, kind: "lunch", starts: "09:00", ends: "12:00" }] },
      { hours: [{ weekday: 1, kind: "work", starts: "9:00", ends: "12:00" }] },
      { hours: [{ weekday: 1, kind: "work", starts: "24:00", ends: "24:00" }] },
      { hours: [{ weekday: 1, kind: "work", starts: "09:00", ends: "12:00", id: "x" }] },
      { hours: "all day" },
      { settings: { slot_minutes: 15.5 } },
      { settings: { slot_minutes: "15" } },
      { settings: { slot_minutes: 2 ** 31 } },
      { settings: { colour: "red" } },
      null,
    ];
    for (const body of malformed) {
      const res = await app.call("PATCH", `${tan}/schedule`, { token: admin, body });
      assert.equal(res.status, 400, JSON.stringify([body, res.body]));
    }
    assert.deepEqual(await savedHours(app, admin), hoursBefore);
    assert.equal(await auditCount(app, "doctor_schedule_hours"), audited);
    const [{ slot_minutes }] = await app.sql`select slot_minutes from public.doctor_schedules
      where doctor_id = ${DOCTORS.tan}`;
    assert.equal(slot_minutes, 20);
  });

  await t.step("a whole day to midnight, and an emptied week, are fine", async () => {
    const res = await app.call("PATCH", `${tan}/schedule`, {
      token: admin,
      body: { hours: [{ weekday: 0, kind: "work", starts: "18:00", ends: "24:00" }] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.hours, [{
      weekday: 0,
      kind: "work",
      starts: "18:00",
      ends: "24:00",
    }]);
    const empty = await app.call("PATCH", `${tan}/schedule`, { token: admin, body: { hours: [] } });
    assert.deepEqual(empty.body.hours, []);
  });

  await t.step("the constraints hold for direct writes too (the doctor's own)", async () => {
    const doctor = claimsFor(USERS.doctorTan);
    const insert = (kind: string, starts: string, ends: string) =>
      asUser(
        app.sql,
        doctor,
        (tx) =>
          tx`insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind, starts,
          ends) values (${DOCTORS.tan}, ${CLINIC_A}, 4, ${kind}, ${starts}, ${ends})`,
      );
    await insert("work", "09:00", "12:00");
    await assert.rejects(
      insert("work", "11:00", "14:00"),
      (e: { code: string }) => e.code === "23P01",
    );
    await assert.rejects(
      insert("break", "12:00", "12:30"),
      (e: { code: string }) => e.code === "PT422",
    );
    await insert("break", "11:00", "11:30");
    const removeWork = asUser(app.sql, doctor, (tx) =>
      tx`delete from public.doctor_schedule_hours
        where doctor_id = ${DOCTORS.tan} and weekday = 4 and kind = 'work'`);
    await assert.rejects(removeWork, (e: { code: string }) => e.code === "PT422", "break orphaned");
  });
});

Deno.test("schedules: only the clinic's admins; another clinic's doctor is 404", async () => {
  await using app = await testApp();
  const routes: [string, string, unknown?][] = [
    ["GET", base],
    ["GET", `${tan}/schedule`],
    ["PATCH", `${tan}/schedule`, { settings: { slot_minutes: 30 } }],
    ["POST", `${tan}/schedule/preview`, { week: "2030-01-07" }],
    ["GET", `${tan}/blocked-dates`],
    ["POST", `${tan}/blocked-dates`, { day: "2030-01-07" }],
    ["DELETE", `${tan}/blocked-dates/${crypto.randomUUID()}`],
  ];
  for (const [method, path, body] of routes) {
    assert.equal((await app.call(method, path, { body })).status, 401, `${method} ${path}`);
    for (
      const user of [
        USERS.staffKoh,
        USERS.nurseOng,
        USERS.doctorTan,
        USERS.patientLim,
        USERS.adminBedok,
      ]
    ) {
      const res = await app.call(method, path, { token: await app.tokenFor(user), body });
      assert.equal(res.status, 403, `${method} ${path} as ${user}: ${JSON.stringify(res.body)}`);
    }
  }
  const admin = await app.tokenFor(USERS.admin);
  const stranger = `${base}/${DOCTORS.ng}`;
  for (
    const [method, path, body] of [
      ["GET", `${stranger}/schedule`],
      ["PATCH", `${stranger}/schedule`, { hours: [] }],
      ["POST", `${stranger}/schedule/preview`, { week: "2030-01-07" }],
      ["GET", `${stranger}/blocked-dates`],
      ["POST", `${stranger}/blocked-dates`, { day: "2030-01-07" }],
      ["GET", `/api/clinics/NOPE-1/doctors`],
      ["GET", `/api/clinics/NOPE-1/doctors/${DOCTORS.tan}/schedule`],
    ] as [string, string, unknown?][]
  ) {
    const res = await app.call(method, path, { token: admin, body });
    assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
  }
  assert.equal((await app.call("GET", `${base}/nope/schedule`, { token: admin })).status, 400);
  const [{ n }] = await app.sql`select count(*)::int as n from public.doctor_schedule_hours
    where doctor_id = ${DOCTORS.ng}`;
  assert.equal(n, 6 * 3, "Dr Ng's week untouched");
});

Deno.test("schedules: blocked dates added, listed, refused twice, removed; slots follow", async () => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);
  // A Monday–Saturday ahead (Dr Tan works then), past the 30-minute notice.
  const [{ day }] = await app.sql`
    select d::date::text as day from generate_series(
      (now() at time zone 'Asia/Singapore')::date + 2,
      (now() at time zone 'Asia/Singapore')::date + 9, interval '1 day') d
    where extract(dow from d) between 1 and 6 order by d limit 1`;
  const slots = async () =>
    (await app.call("GET", `/api/clinics/GFC-TP/slots?date=${day}&doctor_id=${DOCTORS.tan}`))
      .body.slots.length;
  assert.ok(await slots() > 0);
  const before = await scheduleVersion(app);
  const added = await app.call("POST", `${tan}/blocked-dates`, {
    token: admin,
    body: { day, reason: "  Annual leave " },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.equal(added.body.reason, "Annual leave");
  assert.equal(await slots(), 0);
  assert.notEqual(await scheduleVersion(app), before);
  const [log] = await app.sql`select actor_id from audit.logs
    where table_name = 'doctor_blocked_dates' and record_id = ${added.body.id}`;
  assert.equal(log.actor_id, USERS.admin);

  const list = await app.call("GET", `${tan}/blocked-dates`, { token: admin });
  const { affected_appointments: stranded, ...blocked } = added.body;
  assert.deepEqual(stranded, [], "no booking that day");
  assert.deepEqual(list.body.blocked_dates, [blocked]);
  const later = await app.call("GET", `${tan}/blocked-dates?from=2999-01-01`, { token: admin });
  assert.deepEqual(later.body.blocked_dates, []);
  const schedule = await app.call("GET", `${tan}/schedule`, { token: admin });
  assert.deepEqual(schedule.body.blocked_dates, [blocked]);

  const twice = await app.call("POST", `${tan}/blocked-dates`, { token: admin, body: { day } });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.error.code, "date_blocked");
  assert.equal(twice.body.error.details[0].path, "day");
  const long = await app.call("POST", `${tan}/blocked-dates`, {
    token: admin,
    body: { day: "2030-01-08", reason: "x".repeat(101) },
  });
  assert.equal(long.status, 422);
  assert.equal(long.body.error.details[0].path, "reason");
  for (
    const body of [{ day: "2030-02-30" }, { day: "soon" }, {}, { day, reason: "a\u0000" }, {
      day,
      extra: 1,
    }]
  ) {
    const res = await app.call("POST", `${tan}/blocked-dates`, { token: admin, body });
    assert.equal(res.status, 400, JSON.stringify(body));
  }
  const [{ n }] = await app.sql`select count(*)::int as n from public.doctor_blocked_dates`;
  assert.equal(n, 1);

  const path = `${tan}/blocked-dates/${added.body.id}`;
  assert.equal((await app.call("DELETE", path, { token: admin })).status, 204);
  assert.ok(await slots() > 0);
  assert.equal((await app.call("DELETE", path, { token: admin })).status, 404);
  const lee = `${base}/${DOCTORS.lee}/blocked-dates/${added.body.id}`;
  assert.equal((await app.call("DELETE", lee, { token: admin })).status, 404);
});

Deno.test("schedules: the preview of a draft week is what the slots route offers once saved", async (t) => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);
  // A week whose Monday is two days ahead at least.
  const week = await localDate(app.sql, "Asia/Singapore", 8);
  const draft = {
    settings: { slot_minutes: 30, buffer_minutes: 10, min_notice_minutes: 0 },
    hours: [0, 1, 2, 3, 4, 5, 6].flatMap((weekday): Interval[] => [
      { weekday, kind: "work", starts: "09:00", ends: "12:00" },
      { weekday, kind: "break", starts: "10:00", ends: "10:30" },
    ]),
  };
  type Day = {
    date: string;
    closed: boolean;
    blocked: boolean;
    slots: { start: string; refusal: string | null }[];
  };
  const preview = async (body: Record<string, unknown>) => {
    const res = await app.call("POST", `${tan}/schedule/preview`, { token: admin, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { week_start: string; days: Day[] };
  };
  const bookable = (d: Day) => d.slots.filter((s) => s.refusal === null).map((s) => s.start);

  // On the draft's grid: a booking, a closure and a blocked date of that week.
  const [monday] = await app.sql`
    select (${week}::date - (extract(isodow from ${week}::date)::int - 1))::text as d`;
  const day = (i: number) =>
    new Date(Date.parse(`${monday.d}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10);
  await app.sql`insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
    values (${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan},
      tstzrange(${`${day(1)}T09:10:00+08:00`}::timestamptz, ${`${day(1)}T09:40:00+08:00`}),
      'scheduled')`;
  await app.sql`insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason)
    values (${CLINIC_A}, ${day(2)}, ${day(2)}, 'Training')`;
  await app.call("POST", `${tan}/blocked-dates`, { token: admin, body: { day: day(3) } });
  const version = await scheduleVersion(app);
  const audited = await auditCount(app, "doctor_schedule_hours");
  const saved = await savedHours(app, admin);
  let drafted: Day[] = [];

  await t.step("a draft week, decided by the booking decision, nothing saved", async () => {
    const res = await preview({ week, ...draft });
    assert.equal(res.week_start, monday.d);
    drafted = res.days;
    assert.deepEqual(drafted.map((d) => d.date), [0, 1, 2, 3, 4, 5, 6].map(day));
    // Every 40 minutes from 09:00: 09:40 and 10:20 meet the break, 11:40 ends past noon.
    assert.deepEqual(drafted[0].slots.map((s) => s.start), [
      `${day(0)}T09:00:00+08:00`,
      `${day(0)}T11:00:00+08:00`,
    ]);
    assert.deepEqual(drafted[1].slots.map((s) => s.refusal), ["taken", null]);
    assert.equal(drafted[2].closed, true);
    assert.deepEqual(drafted[2].slots, []);
    assert.equal(drafted[3].blocked, true);
    assert.deepEqual(drafted[3].slots, []);
    assert.equal(bookable(drafted[6]).length, 2, "Sunday too, in the draft");
    assert.deepEqual(await savedHours(app, admin), saved);
    assert.equal(await scheduleVersion(app), version, "no version moved");
    assert.equal(await auditCount(app, "doctor_schedule_hours"), audited, "nothing audited");
  });

  await t.step("the saved schedule's week without a draft", async () => {
    const res = await preview({ week });
    assert.equal(res.days[0].slots[0].start, `${day(0)}T09:00:00+08:00`);
    assert.equal(res.days[0].slots.length, 31, "15-minute slots, one break");
    assert.deepEqual(res.days[6].slots, [], "no hours on Sundays");
  });

  await t.step("saved: the slots route offers exactly the preview's bookable starts", async () => {
    const res = await app.call("PATCH", `${tan}/schedule`, { token: admin, body: draft });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const d of drafted) {
      const slots = await app.call(
        "GET",
        `/api/clinics/GFC-TP/slots?date=${d.date}&doctor_id=${DOCTORS.tan}`,
      );
      assert.deepEqual(
        slots.body.slots.map((s: { start: string }) => s.start),
        bookable(d),
        d.date,
      );
    }
    assert.deepEqual((await preview({ week })).days, drafted);
  });

  await t.step("notice and advance window: listed with the decision's refusal", async () => {
    const far = await preview({ week: await localDate(app.sql, "Asia/Singapore", 60) });
    const starts = far.days.flatMap((d) => d.slots);
    assert.ok(starts.length > 0);
    assert.ok(starts.every((s) => s.refusal === "too_far_ahead"));
    const soon = await preview({
      week: await localDate(app.sql, "Asia/Singapore", 7),
      settings: { min_notice_minutes: 60 * 24 * 60 },
    });
    assert.ok(soon.days.flatMap((d) => d.slots).every((s) => s.refusal !== null));
  });

  await t.step("a draft breaking a rule is the PATCH's 422", async () => {
    const res = await app.call("POST", `${tan}/schedule/preview`, {
      token: admin,
      body: { week, hours: [{ weekday: 1, kind: "break", starts: "10:00", ends: "10:15" }] },
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, "break_outside_work");
    const bad = await app.call("POST", `${tan}/schedule/preview`, {
      token: admin,
      body: { week: "2030-13-01" },
    });
    assert.equal(bad.status, 400);
  });
});

Deno.test("schedules: a member who becomes a doctor gets a doctor row and a schedule", async (t) => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);
  const email = "new.doctor@example.com";

  await t.step("an accepted doctor invitation: bookable once hours are set", async () => {
    const invited = await app.call("POST", "/api/clinics/GFC-TP/invitations", {
      token: admin,
      body: { email, role: "doctor" },
    });
    assert.equal(invited.status, 201, JSON.stringify(invited.body));
    const token = await inviteLink(app, email);
    const accepted = await app.call("POST", "/api/auth/invitations/accept", {
      body: { token, full_name: "Dr Farah Aziz", password: "correct horse battery" },
      ip: "198.51.100.200",
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const [doctor] = await app.sql`
      select d.id, d.display_name, d.is_active, s.slot_minutes
      from public.doctors d
      join public.users u on u.id = d.user_id
      join public.doctor_schedules s on s.doctor_id = d.id
      where u.email = ${email} and d.clinic_id = ${CLINIC_A}`;
    assert.equal(doctor.display_name, "Dr Farah Aziz");
    assert.equal(doctor.is_active, true);
    assert.equal(doctor.slot_minutes, 15);
    const list = await app.call("GET", base, { token: admin });
    const listed = list.body.doctors.find((d: { id: string }) => d.id === doctor.id);
    assert.deepEqual(listed.work_days, []);

    const day = await localDate(app.sql, "Asia/Singapore", 3);
    const slots = async () =>
      (await app.call("GET", `/api/clinics/GFC-TP/slots?date=${day}&doctor_id=${doctor.id}`))
        .body.slots.length;
    assert.equal(await slots(), 0);
    const [{ dow }] = await app.sql`select extract(dow from ${day}::date)::int as dow`;
    const set = await app.call("PATCH", `${base}/${doctor.id}/schedule`, {
      token: admin,
      body: { hours: [{ weekday: dow, kind: "work", starts: "09:00", ends: "10:00" }] },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(await slots(), 4);
  });

  await t.step("a nurse made doctor gets one too; the seeded doctors keep theirs", async () => {
    const res = await app.call("PATCH", `/api/clinics/GFC-TP/staff/${USERS.nurseOng}`, {
      token: admin,
      body: { role: "doctor" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const rows = await app.sql`select user_id from public.doctors where clinic_id = ${CLINIC_A}
      and user_id in (${USERS.nurseOng}, ${USERS.doctorTan}, ${USERS.doctorLee})`;
    assert.equal(rows.length, 3);
    const [{ n }] = await app.sql`select count(*)::int as n from public.doctors`;
    assert.equal(n, 5, "Tan, Lee, Ng, Farah, Ong");
  });
});

Deno.test("schedules: any week drawn is saved whole when the rules admit it, else 422 and kept", async () => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);
  const quarter = fc.integer({ min: 0, max: 96 }).map((q) =>
    q === 96
      ? "24:00"
      : `${String(Math.floor(q / 4)).padStart(2, "0")}:${String((q % 4) * 15).padStart(2, "0")}`
  );
  const interval = fc.record({
    weekday: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom("work" as const, "break" as const),
    starts: quarter.filter((q) => q !== "24:00"),
    ends: quarter,
  });
  // The rules, as a model of the constraints (exact duplicates are one interval).
  const admitted = (week: Interval[]) =>
    week.every((h) => h.starts < h.ends) &&
    week.every((a, i) =>
      week.every((b, j) =>
        i === j || a.weekday !== b.weekday || a.kind !== b.kind ||
        (a.starts === b.starts && a.ends === b.ends) || a.ends <= b.starts || b.ends <= a.starts
      )
    ) &&
    week.every((b) =>
      b.kind === "work" ||
      week.some((w) =>
        w.kind === "work" && w.weekday === b.weekday && w.starts <= b.starts && b.ends <= w.ends
      )
    );
  const key = (h: Interval) => `${h.weekday} ${h.kind} ${h.starts} ${h.ends}`;
  let saved = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(interval, { maxLength: 6 }), async (week) => {
      const before = await savedHours(app, admin);
      const res = await app.call("PATCH", `${tan}/schedule`, {
        token: admin,
        body: { hours: week },
      });
      const after = (await savedHours(app, admin)).map(key).sort();
      if (admitted(week)) {
        assert.equal(res.status, 200, JSON.stringify([week, res.body]));
        assert.deepEqual(after, [...new Set(week.map(key))].sort());
        saved++;
      } else {
        assert.equal(res.status, 422, JSON.stringify([week, res.body]));
        assert.match(res.body.error.details[0].path, /^hours\.\d+(\.ends)?$/);
        assert.deepEqual(after, before.map(key).sort(), "nothing written");
        refused++;
      }
    }),
    { numRuns: 60, seed: 16 },
  );
  assert.ok(saved > 5 && refused > 5, `${saved} saved, ${refused} refused`);
});
