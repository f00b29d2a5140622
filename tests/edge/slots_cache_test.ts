/**
 * `GET /api/clinics/:code/slots` caching: an ETag from the clinic-day's availability version
 * (supabase/migrations/20261206001100_availability_version.sql), a 304 on `If-None-Match`, a
 * short shared Cache-Control, and a version that moves with every hold, booking, cancellation,
 * reschedule and schedule change — in the writing transaction itself.
 */
import assert from "node:assert/strict";
import { SLOTS_CACHE_CONTROL } from "../../edge/routes/clinics.ts";
import { DOCTORS, nextWeekday, sgt, type TestApp, testApp, USERS } from "./_support.ts";

type Slot = { doctor_id: string; start: string };

async function etagOf(app: TestApp, path: string): Promise<string> {
  const res = await app.call("GET", path);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const etag = res.headers.get("etag");
  assert.ok(etag, "an ETag");
  return etag;
}

/** The 304 when `etag` is still current, else the 200 with its new ETag. */
async function revalidate(app: TestApp, path: string, etag: string) {
  return await app.call("GET", path, { headers: { "if-none-match": etag } });
}

Deno.test("slots: ETag, 304 and Cache-Control", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const path = `/api/clinics/GFC-TP/slots?date=${day}`;

  await t.step("200 carries an ETag and short shared caching", async () => {
    const res = await app.call("GET", path);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("etag") ?? "", /^"GFC-TP\.[^"]+"$/);
    assert.equal(res.headers.get("cache-control"), SLOTS_CACHE_CONTROL);
    assert.match(SLOTS_CACHE_CONTROL, /^public, max-age=1\b/);
  });

  await t.step("If-None-Match with the current ETag: 304, no body, same headers", async () => {
    const etag = await etagOf(app, path);
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`]) {
      const res = await revalidate(app, path, header);
      assert.equal(res.status, 304, header);
      assert.equal(res.body, undefined);
      assert.equal(res.headers.get("etag"), etag);
      assert.equal(res.headers.get("cache-control"), SLOTS_CACHE_CONTROL);
    }
    const lower = await revalidate(app, path.replace("GFC-TP", "gfc-tp"), etag);
    assert.equal(lower.status, 304, "the code in any case names the same answer");
  });

  await t.step("another ETag, another doctor filter or date: 200 with the body", async () => {
    const etag = await etagOf(app, path);
    const stale = await revalidate(app, path, '"GFC-TP.nope"');
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get("etag"), etag);
    assert.ok(stale.body.slots.length > 0);
    const one = await revalidate(app, `${path}&doctor_id=${DOCTORS.tan}`, etag);
    assert.equal(one.status, 200);
    assert.notEqual(one.headers.get("etag"), etag);
    assert.ok(one.body.slots.every((s: Slot) => s.doctor_id === DOCTORS.tan));
    const other = await nextWeekday(app.sql, 3);
    const next = await revalidate(app, `/api/clinics/GFC-TP/slots?date=${other}`, etag);
    assert.equal(next.status, 200);
  });

  await t.step("errors stay errors with If-None-Match, and carry no ETag", async () => {
    const etag = await etagOf(app, path);
    const unknown = await revalidate(app, `/api/clinics/NOPE-1/slots?date=${day}`, etag);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get("etag"), null);
    assert.equal(unknown.headers.get("cache-control"), null);
    const doctor = await revalidate(app, `${path}&doctor_id=${crypto.randomUUID()}`, "*");
    assert.equal(doctor.status, 404, "* is not taken for a match");
    const bad = await revalidate(app, `/api/clinics/GFC-TP/slots?date=2026-02-30`, etag);
    assert.equal(bad.status, 400);
  });
});

Deno.test("slots: the version moves with every write that changes the day", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const path = `/api/clinics/GFC-TP/slots?date=${day}`;
  const lim = await app.tokenFor(USERS.patientLim);
  const key = () => ({ "idempotency-key": crypto.randomUUID() });

  /** Runs `write`, then: the old ETag no longer matches, and the new one does. */
  async function moves(write: () => Promise<void>): Promise<{ slots: Slot[] }> {
    const before = await etagOf(app, path);
    await write();
    const res = await revalidate(app, path, before);
    assert.equal(res.status, 200, "the old ETag is stale");
    const after = res.headers.get("etag")!;
    assert.notEqual(after, before);
    assert.equal((await revalidate(app, path, after)).status, 304);
    return res.body;
  }

  let holdId = "";
  await t.step("a hold, and its release", async () => {
    const body = await moves(async () => {
      const res = await app.call("POST", "/api/holds", {
        token: lim,
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "09:00") },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      holdId = res.body.hold.id;
    });
    assert.ok(
      !body.slots.some((s) => s.doctor_id === DOCTORS.tan && s.start === sgt(day, "09:00")),
    );
    await moves(async () => {
      assert.equal((await app.call("DELETE", `/api/holds/${holdId}`, { token: lim })).status, 204);
    });
  });

  let appointmentId = "";
  await t.step("a booking: the slot is gone from the new answer", async () => {
    const body = await moves(async () => {
      const res = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: key(),
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "09:15") },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      appointmentId = res.body.appointment.id;
    });
    assert.ok(
      !body.slots.some((s) => s.doctor_id === DOCTORS.tan && s.start === sgt(day, "09:15")),
    );
  });

  await t.step("a reschedule within the day, then a cancellation", async () => {
    await moves(async () => {
      const res = await app.call("POST", `/api/appointments/${appointmentId}/reschedule`, {
        token: lim,
        headers: key(),
        body: { start: sgt(day, "09:30") },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      appointmentId = res.body.appointment.id;
    });
    const body = await moves(async () => {
      const res = await app.call("POST", `/api/appointments/${appointmentId}/cancel`, {
        token: lim,
        body: { reason: "Better" },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });
    assert.ok(body.slots.some((s) => s.doctor_id === DOCTORS.tan && s.start === sgt(day, "09:30")));
  });

  await t.step(
    "a status change that frees nothing still moves (the daily cap counts)",
    async () => {
      const res = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: key(),
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.lee, start: sgt(day, "09:00") },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await moves(async () => {
        await app.sql`update public.appointments set status = 'confirmed'
        where id = ${res.body.appointment.id}`;
      });
      // A change of what no slot depends on leaves the version alone.
      const before = await etagOf(app, path);
      await app.sql`update public.appointments set internal_notes = 'VIP'
      where id = ${res.body.appointment.id}`;
      assert.equal((await revalidate(app, path, before)).status, 304);
    },
  );

  await t.step(
    "schedule changes: hours, settings, blocked dates, doctors, the clinic",
    async () => {
      await moves(async () => {
        await app.sql`update public.doctor_schedule_hours set ends = ends - interval '15 minutes'
        where doctor_id = ${DOCTORS.tan} and kind = 'work'`;
      });
      await moves(async () => {
        await app.sql`update public.doctor_schedules set min_notice_minutes = 30
        where doctor_id = ${DOCTORS.tan}`;
      });
      const body = await moves(async () => {
        await app.sql`insert into public.doctor_blocked_dates (doctor_id, clinic_id, day)
        select id, clinic_id, ${day}::date from public.doctors where id = ${DOCTORS.tan}`;
      });
      assert.ok(body.slots.every((s) => s.doctor_id !== DOCTORS.tan));
      await moves(async () => {
        await app.sql`delete from public.doctor_blocked_dates where doctor_id = ${DOCTORS.tan}`;
      });
      await moves(async () => {
        await app.sql`update public.doctors set display_name = 'Dr Tan Wei'
        where id = ${DOCTORS.tan}`;
      });
      await moves(async () => {
        await app.sql`update public.clinics set phone = '+65 6000 0000' where code = 'GFC-TP'`;
      });
    },
  );

  await t.step("in the writing transaction: seen inside it, undone with it", async () => {
    const before = await etagOf(app, path);
    const version = async (sql: typeof app.sql) =>
      (await sql`select api.slots_version('GFC-TP', ${day}::date) as v`)[0].v as string;
    const outside = await version(app.sql);
    await app.sql.begin(async (tx) => {
      await tx`insert into public.doctor_blocked_dates (doctor_id, clinic_id, day)
        select id, clinic_id, ${day}::date from public.doctors where id = ${DOCTORS.lee}`;
      assert.notEqual(await version(tx as unknown as typeof app.sql), outside);
      await tx`select 1 / 0`;
    }).catch((e) => assert.equal(e.code, "22012"));
    assert.equal(await version(app.sql), outside);
    assert.equal((await revalidate(app, path, before)).status, 304);
  });

  await t.step("a hold that lapses unreleased changes the key without a write", async () => {
    const res = await app.call("POST", "/api/holds", {
      token: lim,
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.lee, start: sgt(day, "10:00") },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const before = await etagOf(app, path);
    // Time passing, without a trigger: the expiry moves into the past unseen by the version.
    await app.sql.begin(async (tx) => {
      await tx`alter table public.appointments disable trigger availability_update`;
      await tx`update public.appointments set hold_expires_at = now() - interval '1 second'
        where id = ${res.body.hold.id}`;
      await tx`alter table public.appointments enable trigger availability_update`;
    });
    const after = await revalidate(app, path, before);
    assert.equal(after.status, 200);
    assert.ok(
      after.body.slots.some((s: Slot) =>
        s.doctor_id === DOCTORS.lee && s.start === sgt(day, "10:00")
      ),
    );
  });
});

Deno.test("slots: the key follows the clock while the notice or the window can change the day", async () => {
  await using app = await testApp();
  const [row] = await app.sql`
    select api.slots_version('GFC-TP', (now() at time zone 'Asia/Singapore')::date) as today,
      api.slots_version('GFC-TP', (now() at time zone 'Asia/Singapore')::date + 5) as later,
      api.slots_version('NOPE-1', current_date) as unknown`;
  // day version . schedule version . lapsed holds . local date [. minute]
  assert.equal(row.today.split(".").length, 5, row.today);
  assert.equal(row.later.split(".").length, 4, row.later);
  assert.equal(row.unknown, null);
});

Deno.test("deleting a clinic is not stopped by its availability triggers", async () => {
  await using app = await testApp();
  const [c] = await app.sql`insert into public.clinics (code, name) values ('DEL-1', 'Gone')
    returning id`;
  const [d] = await app.sql`insert into public.doctors (clinic_id, display_name)
    values (${c.id}, 'Dr Gone') returning id`;
  await app.sql`insert into public.doctor_schedules (doctor_id, clinic_id)
    values (${d.id}, ${c.id})`;
  await app.sql`delete from public.clinics where id = ${c.id}`;
  const left = await app.sql`select 1 from public.availability_versions
    where clinic_id = ${c.id}`;
  assert.equal(left.length, 0);
});

Deno.test("an appointment past local midnight moves both days it touches", async () => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const [next] = await app.sql`select to_char(${day}::date + 1, 'YYYY-MM-DD') as d`;
  const version = async (d: string) =>
    (await app.sql`select api.slots_version('GFC-TP', ${d}::date) as v`)[0].v as string;
  const before = [await version(day), await version(next.d)];
  await app.sql`insert into public.appointments (clinic_id, patient_id, doctor_id, period)
    select d.clinic_id, p.id, d.id,
      tstzrange(${sgt(day, "23:50")}::timestamptz, ${sgt(next.d, "00:05")}::timestamptz)
    from public.doctors d, public.patients p
    where d.id = ${DOCTORS.tan} and p.clinic_id = d.clinic_id limit 1`;
  assert.notEqual(await version(day), before[0]);
  assert.notEqual(await version(next.d), before[1]);
});
