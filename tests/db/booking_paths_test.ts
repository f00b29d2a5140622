/**
 * The booking path:
 *
 * - one decision (private.slot_decisions, supabase/migrations/20261206001000_booking_decision.sql,
 *   with closures since 20261206001700_clinic_closures.sql) for every path: over generated
 *   schedules (slot length, buffer, minimum notice, advance window, daily cap, breaks, blocked
 *   dates, clinic closures, time zones, bookings and live, expired and cancelled holds in the
 *   way, appointment types of their own length offered by the doctor or not — since
 *   20261207000300_appointment_types.sql), a start the slot listing offers is exactly one that
 *   a hold, a booking and a reschedule (of an appointment of that type) accept, and the three
 *   refuse every other start with one answer;
 * - private.enqueue_job wakes the workers (NOTIFY jobs) only for a job it inserted that is due;
 * - private.book_as (POST /api/bookings as one statement) acts under the caller's claims for
 *   that statement only, and client roles cannot call it (nor private.webhook_ingest_as, the
 *   webhook ingest's statement, nor private.slots_version_as, the slots' revalidation, nor
 *   private.act_as, which they use).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import postgres from "postgres";
import { claimsFor, freshDatabase } from "../support/db.ts";
import { CLINIC_A, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";
import { callAs, withClaims } from "../../edge/db/claims.ts";

class Rollback {}

/** Minutes of the local day: [from, to), to at most 24:00. */
type Period = { kind: "work" | "break"; from: number; to: number };
type Taken = {
  day: number;
  period: number;
  at: number;
  status: "scheduled" | "held" | "expired" | "cancelled";
};

const period = (kind: Period["kind"]) =>
  fc.record({ from: fc.integer({ min: 0, max: 95 }), quarters: fc.integer({ min: 1, max: 16 }) })
    .map(({ from, quarters }): Period => ({
      kind,
      from: from * 15,
      to: Math.min(1440, (from + quarters) * 15),
    }));

const schedule = fc.record({
  zone: fc.constantFrom("Asia/Singapore", "Asia/Kathmandu", "America/Los_Angeles"),
  slot: fc.constantFrom(10, 15, 20, 30),
  buffer: fc.constantFrom(0, 5, 10),
  notice: fc.constantFrom(0, 20, 30, 90, 1440),
  advance: fc.integer({ min: 0, max: 3 }),
  cap: fc.constantFrom(null, 1, 2, 4),
  work: fc.array(period("work"), { minLength: 1, maxLength: 2 }),
  breaks: fc.array(period("break"), { maxLength: 1 }),
  blocked: fc.subarray([0, 1, 2, 3, 4]),
  // Clinic closures: [first day, days] from today.
  closed: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 1 })), {
    maxLength: 1,
  }),
  // The visit's type: the consultation (the doctor's slot), or one of its own length that the
  // doctor may not offer.
  type: fc.option(
    fc.record({
      minutes: fc.constantFrom(null, 10, 30, 45),
      offered: fc.boolean(),
      allDoctors: fc.boolean(),
    }),
    { nil: null },
  ),
  taken: fc.array(
    fc.record({
      day: fc.integer({ min: 0, max: 2 }),
      period: fc.nat(), // in or near which work period of that day
      at: fc.integer({ min: -2, max: 24 }).map((n) => n * 5),
      status: fc.constantFrom("scheduled", "held", "expired", "cancelled"),
    }) as fc.Arbitrary<Taken>,
    { maxLength: 6 },
  ),
});

/**
 * Tries each start on every path as the caller, each attempt undone (its subtransaction rolled
 * back): a hold, a booking (api.book, as POST /api/bookings) and moving `p_appt` to it.
 */
const TRY_PATHS = `
create function pg_temp.try_paths(p_starts timestamptz[], p_doctor uuid, p_appt uuid,
  p_type text)
  returns table (start timestamptz, hold text, book text, reschedule text)
  language plpgsql as $$
declare
  v_req jsonb;
  v_res jsonb;
  v_detail text;
begin
  foreach start in array p_starts loop
    v_req := jsonb_build_object('clinic_code', 'GFC-TP', 'doctor_id', p_doctor, 'start', start)
      || case when p_type is null then '{}' else jsonb_build_object('type', p_type) end;
    begin
      perform api.hold_slot(v_req);
      raise exception using errcode = 'ZZ000';
    exception when others then
      get stacked diagnostics v_detail = pg_exception_detail;
      hold := case when sqlstate = 'ZZ000' then 'ok' else sqlerrm || ': ' || v_detail end;
    end;
    begin
      v_res := api.book(gen_random_uuid()::text, v_req);
      book := case when v_res ->> 'status' = '201' then 'ok'
        else concat_ws(': ', v_res #>> '{body,error,code}', v_res #>> '{body,error,message}') end;
      raise exception using errcode = 'ZZ000';
    exception when sqlstate 'ZZ000' then null;
    end;
    begin
      perform api.reschedule_appointment(p_appt, start, p_doctor);
      raise exception using errcode = 'ZZ000';
    exception when others then
      get stacked diagnostics v_detail = pg_exception_detail;
      reschedule := case when sqlstate = 'ZZ000' then 'ok' else sqlerrm || ': ' || v_detail end;
    end;
    return next;
  end loop;
end
$$`;

/**
 * The week's periods that the schedule's constraints admit, first come first kept: no two of a
 * kind overlap on a weekday, a break lies inside one work period.
 */
function validWeek(hours: (Period & { weekday: number })[]) {
  const kept: (Period & { weekday: number })[] = [];
  const sameDay = (h: Period & { weekday: number }, kind: Period["kind"]) =>
    kept.filter((k) => k.weekday === h.weekday && k.kind === kind);
  for (const h of [...hours].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "work" ? -1 : 1))) {
    if (sameDay(h, h.kind).some((k) => k.from < h.to && h.from < k.to)) continue;
    if (h.kind === "break" && !sameDay(h, "work").some((w) => w.from <= h.from && h.to <= w.to)) {
      continue;
    }
    kept.push(h);
  }
  return kept;
}

const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

Deno.test("one decision: the listing offers exactly the starts a hold, a booking and a reschedule take", async () => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  // Tay, another patient of the clinic, holds and books what is in the way.
  await sql`
    with u as (insert into public.users (id, email, full_name)
      values (${USERS.patientTay}, 'tay@example.com', 'Tay') returning id),
    m as (insert into public.clinic_members (user_id, clinic_id, role)
      select id, ${CLINIC_A}, 'patient' from u)
    insert into public.patients (id, clinic_id, user_id, patient_number, full_name,
      date_of_birth, gender)
    select ${PATIENTS.tay}, ${CLINIC_A}, id, 'T-1', 'Tay', '1990-01-01', 'other' from u`;
  const doctor = DOCTORS.tan;
  const claims = claimsFor(USERS.patientLim);
  const outcomes = new Set<string>();
  let offered = 0;
  let tried = 0;

  await fc.assert(
    fc.asyncProperty(schedule, async (f) => {
      try {
        await sql.begin(async (tx) => {
          await tx.unsafe(TRY_PATHS);
          const [now] = await tx`
            select (now() at time zone ${f.zone})::date::text as today,
              extract(hour from now() at time zone ${f.zone})::int * 60
                + extract(minute from now() at time zone ${f.zone})::int as minute`;
          const day = (offset: number) =>
            tx`select (${now.today}::date + ${offset}::int)::text as d`.then(([r]) =>
              r.d as string
            );
          // The same hours every weekday, and on today's a period around now (the notice's edge).
          const around = Math.floor(now.minute / 15) * 15;
          const today: Period = {
            kind: "work",
            from: Math.max(0, around - 60),
            to: Math.min(1440, around + 180),
          };
          await tx`update public.clinics set timezone = ${f.zone} where id = ${CLINIC_A}`;
          await tx`update public.doctor_schedules set slot_minutes = ${f.slot},
              buffer_minutes = ${f.buffer}, min_notice_minutes = ${f.notice},
              advance_days = ${f.advance}, max_per_day = ${f.cap}
            where doctor_id = ${doctor}`;
          await tx`delete from public.doctor_schedule_hours where doctor_id = ${doctor}`;
          await tx`delete from public.appointments where doctor_id = ${doctor}`;
          const [{ dow }] = await tx`select extract(dow from ${now.today}::date)::int as dow`;
          const hours = validWeek([
            { ...today, weekday: dow },
            ...[...f.work, ...f.breaks]
              .flatMap((p) => [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ ...p, weekday }))),
          ]);
          for (const h of hours) {
            await tx`insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind,
                starts, ends)
              values (${doctor}, ${CLINIC_A}, ${h.weekday}, ${h.kind}, ${hhmm(h.from)}::time,
                ${h.to === 1440 ? "24:00" : hhmm(h.to)}::time)`;
          }
          for (const offset of f.blocked) {
            await tx`insert into public.doctor_blocked_dates (doctor_id, clinic_id, day)
              values (${doctor}, ${CLINIC_A}, ${await day(offset)}::date)`;
          }
          for (const [from, days] of f.closed) {
            await tx`insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason)
              values (${CLINIC_A}, ${await day(from)}::date, ${await day(from + days)}::date,
                'Closed')`;
          }
          for (const t of f.taken) {
            const work = t.day === 0 ? [today, ...f.work] : f.work;
            const at = Math.min(1435, Math.max(0, work[t.period % work.length].from + t.at));
            await tx`insert into public.appointments (clinic_id, patient_id, doctor_id, period,
                status, hold_expires_at)
              select ${CLINIC_A}, ${PATIENTS.tay}, ${doctor},
                tstzrange(s, s + make_interval(mins => ${f.slot})),
                case when ${t.status} in ('held', 'expired') then 'held'
                  else ${t.status} end::public.appointment_status,
                case ${t.status} when 'held' then now() + interval '5 minutes'
                  when 'expired' then now() - interval '1 minute' end
              from (select (${await day(t.day)}::date + ${hhmm(at)}::time)
                at time zone ${f.zone} as s) x
              on conflict do nothing`;
          }
          // The type: offered by every doctor, by this one, or by another one only.
          const type = f.type && "checkup";
          if (f.type) {
            const [t] = await tx`
              insert into public.appointment_types (clinic_id, code, name, duration_minutes,
                all_doctors)
              values (${CLINIC_A}, 'checkup', 'Check-up', ${f.type.minutes},
                ${f.type.offered && f.type.allDoctors})
              returning id`;
            await tx`insert into public.appointment_type_doctors (clinic_id, type_id, doctor_id)
              values (${CLINIC_A}, ${t.id}, ${f.type.offered ? doctor : DOCTORS.lee})`;
          }
          // Lim's appointment of that type with another doctor, to be moved to each start.
          const [appt] = await tx`
            insert into public.appointments (clinic_id, patient_id, doctor_id, period,
              appointment_type)
            values (${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.lee},
              tstzrange(now() + interval '20 days', now() + interval '20 days 15 minutes'),
              ${type ?? "consultation"})
            returning id`;

          // Today, tomorrow, the window's last day and the first beyond it: every start the
          // listing offers, and every 5 minutes near a period's start or end and the notice's
          // edge, else every half hour, from a quarter before the day's first period to a
          // quarter after its last.
          const offsets = [...new Set([0, 1, f.advance, f.advance + 1])];
          const starts: string[] = [];
          const listed = new Set<number>();
          await tx`select set_config('role', 'authenticated', true),
            set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
          for (const offset of offsets) {
            const date = await day(offset);
            const [{ dow: weekday }] = await tx`select extract(dow from ${date}::date)::int as dow`;
            const periods = hours.filter((h) => h.weekday === weekday);
            const from = Math.max(0, Math.min(...periods.map((p) => p.from)) - 15);
            const to = Math.min(1435, Math.max(...periods.map((p) => p.to)) + 15);
            const edges = periods.flatMap((p) => [p.from, p.to]);
            if (offset === 0) edges.push(now.minute + f.notice);
            for (let m = from; m <= to; m += 5) {
              if (m % 30 === 0 || edges.some((e) => Math.abs(m - e) <= 20)) {
                starts.push(`${date} ${hhmm(m)}`);
              }
            }
            const [{ slots }] = await tx`
              select api.available_slots('GFC-TP', ${date}::date, ${doctor}, ${type})
                -> 'slots' as slots`;
            for (const s of slots as { start: string }[]) listed.add(Date.parse(s.start));
            offered += slots.length;
          }
          const rows = await tx`
            select extract(epoch from p.start) * 1000 as at, p.hold, p.book, p.reschedule
            from pg_temp.try_paths(
              (select array_agg(distinct s) from (
                select s::timestamp at time zone ${f.zone} from unnest(${starts}::text[]) s
                union all
                select to_timestamp(l / 1000.0) from unnest(${[...listed]}::float8[]) l) x (s)),
              ${doctor}, ${appt.id}, ${type}) p`;
          for (const r of rows) {
            const at = Number(r.at);
            const where = `${new Date(at).toISOString()} ${JSON.stringify(f)}`;
            // Offered: every path takes it. Not offered: every path refuses it, with one answer.
            const expected = listed.has(at) ? "ok" : r.hold;
            if (!listed.has(at)) assert.notEqual(r.hold, "ok", `held, not listed: ${where}`);
            assert.equal(r.hold, expected, `hold: ${where}`);
            assert.equal(r.book, expected, `book: ${where}`);
            assert.equal(r.reschedule, expected, `reschedule: ${where}`);
            outcomes.add(expected.split(": ")[0]);
            if (expected.includes("fully booked")) outcomes.add("fully booked");
            tried++;
          }
          throw new Rollback();
        });
      } catch (error) {
        if (!(error instanceof Rollback)) throw error;
      }
    }),
    {
      numRuns: 15,
      // And one that surely reaches every answer: a day made full by a booking and a live hold,
      // a booking and an expired hold near now, a break, a blocked date.
      examples: [[{
        zone: "Asia/Singapore",
        slot: 15,
        buffer: 0,
        notice: 30,
        advance: 3,
        cap: 2,
        work: [{ kind: "work", from: 540, to: 780 }],
        breaks: [{ kind: "break", from: 630, to: 645 }],
        blocked: [2],
        closed: [[3, 0]],
        type: null,
        taken: [
          { day: 1, period: 0, at: 0, status: "scheduled" },
          { day: 1, period: 0, at: 30, status: "held" },
          { day: 0, period: 0, at: 150, status: "scheduled" },
          { day: 0, period: 0, at: 165, status: "expired" },
        ],
      }], [{
        // A 45-minute type across the break, and one the doctor does not offer.
        zone: "Asia/Singapore",
        slot: 15,
        buffer: 0,
        notice: 30,
        advance: 2,
        cap: null,
        work: [{ kind: "work", from: 540, to: 780 }],
        breaks: [{ kind: "break", from: 630, to: 645 }],
        blocked: [],
        closed: [],
        type: { minutes: 45, offered: true, allDoctors: false },
        taken: [{ day: 1, period: 0, at: 60, status: "scheduled" }],
      }], [{
        zone: "Asia/Singapore",
        slot: 15,
        buffer: 5,
        notice: 30,
        advance: 1,
        cap: null,
        work: [{ kind: "work", from: 540, to: 780 }],
        breaks: [],
        blocked: [],
        closed: [],
        type: { minutes: 10, offered: false, allDoctors: true },
        taken: [],
      }]],
    },
  );
  // The runs reach every answer, not just one.
  for (
    const code of [
      "ok",
      "too_soon",
      "too_far_ahead",
      "outside_schedule",
      "slot_unavailable",
      "clinic_closed",
      "appointment_type_not_offered",
      "fully booked",
    ]
  ) assert.ok(outcomes.has(code), `no start answered ${code}: ${[...outcomes].join(", ")}`);
  assert.ok(offered > 20 && tried > 1000, `${tried} starts tried, ${offered} offered`);
});

Deno.test("private.enqueue_job notifies for jobs due now that it inserted, not for later ones", async () => {
  await using db = await freshDatabase();
  const heard: string[] = [];
  const listener = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const { unlisten } = await listener.listen("jobs", (payload) => heard.push(payload));
    const settle = async () => {
      await db.sql`select 1`;
      await new Promise((r) => setTimeout(r, 150));
    };
    await db.sql`select private.enqueue_job('test.later', '{}', now() + interval '1 hour')`;
    await settle();
    assert.deepEqual(heard, [], "a job due later wakes nobody");
    await db.sql`select private.enqueue_job('test.now', '{}', now(), null, 'k1', 'q1')`;
    await settle();
    assert.deepEqual(heard, ["q1"], "a job due now wakes its queue's workers");
    await db.sql`select private.enqueue_job('test.now', '{}', now(), null, 'k1', 'q1')`;
    await settle();
    assert.deepEqual(heard, ["q1"], "a deduplicated job is not news");
    const [{ n }] = await db.sql`select count(*)::int as n from public.jobs`;
    assert.equal(n, 2);
    await unlisten();
  } finally {
    await listener.end();
  }
});

Deno.test("private.book_as: the caller's claims for one statement, and only for the API", async () => {
  await using db = await freshDatabase({ seed: true });
  const one = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const [{ d }] = await one`
      select to_char(d, 'YYYY-MM-DD') as d from generate_series(
        (now() at time zone 'Asia/Singapore')::date + 2,
        (now() at time zone 'Asia/Singapore')::date + 9, interval '1 day') d
      where extract(dow from d) between 1 and 5 order by d limit 1`;
    const request = { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: `${d}T09:00:00+08:00` };
    const answer = await callAs<{ status: number; body: { appointment: { id: string } } }>(
      one,
      claimsFor(USERS.patientLim),
      "private.book_as",
      ["key-1", request],
      "req-1",
    );
    assert.equal(answer.status, 201);
    // Written as the patient, audited with the request id, under RLS.
    const [audit] = await one`
      select actor_id, actor_role, request_id from audit.logs
      where table_name = 'appointments' and record_id = ${answer.body.appointment.id}`;
    assert.deepEqual({ ...audit }, {
      actor_id: USERS.patientLim,
      actor_role: "authenticated",
      request_id: "req-1",
    });
    // Nothing outlives the statement on that connection.
    const [after] = await one`
      select current_user as role, current_setting('request.jwt.claims', true) as claims,
        current_setting('request.id', true) as request_id`;
    assert.equal(after.role, "postgres");
    assert.ok(!after.claims, `claims left behind: ${after.claims}`);
    assert.ok(!after.request_id);
    // A client role cannot call it, nor the other single-statement entry point, nor the
    // helper that sets the caller (each would let it choose its own role) ...
    const entries = [
      "private.book_as('service_role', '{}', '', 'k', '{}')",
      "private.webhook_ingest_as('service_role', '{}', '', 'body', '{}')",
      "private.slots_version_as('service_role', '{}', '', 'GFC-TP', '2030-01-01')",
      "private.act_as('service_role', '{}', '')",
    ];
    for (const role of ["anon", "authenticated", "service_role"] as const) {
      for (const entry of entries) {
        await assert.rejects(
          withClaims(one, claimsFor(USERS.patientLim, role), (tx) => tx.unsafe(`select ${entry}`)),
          (e: { code?: string }) => e.code === "42501",
          `${role}: ${entry}`,
        );
      }
    }
    // ... and they only ever take a client role.
    for (const entry of entries) {
      await assert.rejects(
        one.unsafe(`select ${entry.replace("'service_role'", "'postgres'")}`),
        (e: { code?: string }) => e.code === "22023",
        entry,
      );
    }
  } finally {
    await one.end();
  }
});
