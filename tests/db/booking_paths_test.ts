/**
 * The booking path (supabase/migrations/20261122000800_scheduling_booking.sql):
 *
 * - private.booking_slot decides exactly as private.booking_target + private.check_slot +
 *   private.free_for one after another, for every combination of caller, patient, clinic,
 *   doctor and time below (each case in its own transaction, rolled back);
 * - private.enqueue_job wakes the workers (NOTIFY jobs) only for a job it inserted that is due;
 * - private.book_as (POST /api/bookings as one statement) acts under the caller's claims for
 *   that statement only, and client roles cannot call it (nor private.webhook_ingest_as, the
 *   webhook ingest's statement, nor private.slots_version_as, the slots' revalidation, nor
 *   private.act_as, which they use).
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { claimsFor, freshDatabase, type Sql } from "../support/db.ts";
import { CLINIC_A, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";
import { callAs, type Claims, withClaims } from "../../edge/db/claims.ts";

class Rollback {
  constructor(readonly value: unknown) {}
}

/** Runs `fn` as `claims` in a transaction that is always rolled back; its answer or error. */
async function attempt(
  sql: Sql,
  claims: Claims,
  fn: (tx: postgres.TransactionSql) => Promise<unknown>,
): Promise<string> {
  try {
    await sql.begin(async (tx) => {
      await tx`select set_config('role', ${claims.role}, true),
        set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      throw new Rollback(await fn(tx));
    });
    throw new Error("not rolled back");
  } catch (error) {
    if (error instanceof Rollback) return JSON.stringify(error.value);
    const e = error as { code?: string; message?: string; detail?: string };
    return `${e.code}: ${e.message}: ${e.detail ?? ""}`;
  }
}

/** The checks one after another: target, then slot, then free. */
function separateChecks(request: Record<string, unknown>) {
  return async (tx: postgres.TransactionSql) => {
    const [t] = await tx`
      select t.clinic_id, t.patient_id, t.doctor_id, t.starts,
        private.check_slot(t.doctor_id, t.starts) as ends
      from private.booking_target(${tx.json(request as postgres.JSONValue)}) t`;
    const [f] = await tx`
      select private.free_for(${t.doctor_id}, tstzrange(${t.starts}, ${t.ends})) as free`;
    if (!f.free) {
      await tx`select private.raise_api(409, 'slot_unavailable',
        'That time slot is no longer available')`;
    }
    return [t.clinic_id, t.patient_id, t.doctor_id, t.starts.toISOString(), t.ends.toISOString()];
  };
}

function onePass(request: Record<string, unknown>) {
  return async (tx: postgres.TransactionSql) => {
    const [s] = await tx`
      select s.clinic_id, s.patient_id, s.doctor_id, s.starts, s.ends
      from private.booking_slot(${tx.json(request as postgres.JSONValue)}) s`;
    return [s.clinic_id, s.patient_id, s.doctor_id, s.starts.toISOString(), s.ends.toISOString()];
  };
}

Deno.test("private.booking_slot decides like booking_target + check_slot + free_for", async () => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  // A Singapore weekday 3 days ahead (Dr Tan: 09:00–13:00 with a 10:30–10:45 break, 14:00–18:00,
  // 15-minute slots, 30 minutes notice, 30 days ahead, 28 a day).
  const [{ day, blocked, sunday }] = await sql`
    with d as (
      select d from generate_series((now() at time zone 'Asia/Singapore')::date + 3,
        (now() at time zone 'Asia/Singapore')::date + 12, interval '1 day') d
      where extract(dow from d) between 1 and 5 order by d limit 2
    )
    select to_char(min(d), 'YYYY-MM-DD') as day, to_char(max(d), 'YYYY-MM-DD') as blocked,
      to_char((select d from generate_series((now() at time zone 'Asia/Singapore')::date + 1,
        (now() at time zone 'Asia/Singapore')::date + 7, interval '1 day') d
        where extract(dow from d) = 0 limit 1), 'YYYY-MM-DD') as sunday
    from d`;
  await sql`insert into public.doctor_blocked_dates (doctor_id, clinic_id, day, reason)
    values (${DOCTORS.lee}, ${CLINIC_A}, ${blocked}, 'leave')`;
  // Dr Lee at most 2 a day; both taken on `day`.
  await sql`update public.doctor_schedules set max_per_day = 2 where doctor_id = ${DOCTORS.lee}`;
  const [tay] = await sql`
    with u as (insert into public.users (id, email, full_name)
      values (${USERS.patientTay}, 'tay@example.com', 'Tay') returning id),
    m as (insert into public.clinic_members (user_id, clinic_id, role)
      select id, ${CLINIC_A}, 'patient' from u)
    insert into public.patients (id, clinic_id, user_id, patient_number, full_name,
      date_of_birth, gender)
    select ${PATIENTS.tay}, ${CLINIC_A}, id, 'T-1', 'Tay', '1990-01-01', 'other' from u
    returning id`;
  assert.ok(tay);
  const taken = (doctor: string, time: string, status = "scheduled", expired = false) =>
    sql`insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
        hold_expires_at)
      values (${CLINIC_A}, ${PATIENTS.lim}, ${doctor},
        tstzrange(${`${day}T${time}:00+08:00`}::timestamptz,
          ${`${day}T${time}:00+08:00`}::timestamptz + interval '15 minutes'), ${status},
        case when ${status} = 'held' then now() + case when ${expired} then interval '-1 minute'
          else interval '5 minutes' end end)`;
  await taken(DOCTORS.lee, "09:00");
  await taken(DOCTORS.lee, "09:15");
  await taken(DOCTORS.tan, "11:00");
  await taken(DOCTORS.tan, "11:15", "held");
  await taken(DOCTORS.tan, "11:30", "held", true);
  await taken(DOCTORS.tan, "11:45", "cancelled");

  const callers: Record<string, Claims> = {
    patientLim: claimsFor(USERS.patientLim),
    patientTay: claimsFor(USERS.patientTay),
    staffKoh: claimsFor(USERS.staffKoh),
    doctorNg: claimsFor(USERS.doctorNg), // staff of clinic B only
    admin: claimsFor(USERS.admin),
    anonymous: claimsFor(null),
  };
  const patients = [undefined, PATIENTS.lim, PATIENTS.tay, PATIENTS.chan, crypto.randomUUID()];
  const clinics = ["GFC-TP", "gfc-tp", "GFC-BD", "NOPE"];
  const doctors = [DOCTORS.tan, DOCTORS.lee, DOCTORS.ng, crypto.randomUUID()];
  const at = (date: string, time: string) => `${date}T${time}:00+08:00`;
  const starts = [
    at(day, "09:00"), // Lee: taken; Tan: free
    at(day, "09:30"), // Lee: day full
    at(day, "10:30"), // break
    at(day, "10:40"), // off the grid, in the break
    at(day, "09:05"), // off the grid
    at(day, "11:00"), // Tan: booked
    at(day, "11:15"), // Tan: live hold
    at(day, "11:30"), // Tan: expired hold (cleared, then free)
    at(day, "11:45"), // Tan: cancelled (free)
    at(day, "12:45"), // last slot of the morning
    at(day, "13:00"), // lunch
    at(day, "17:45"), // last slot of the day
    at(day, "18:00"), // after hours
    `${day}T01:00:00Z`, // 09:00 written in UTC
    at(blocked, "09:00"), // Lee: blocked date
    at(sunday, "09:00"), // no hours on Sundays
    new Date(Date.now() + 10 * 60_000).toISOString(), // too soon
    at(day, "09:00").replace(day, "2020-01-06"), // in the past
    new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10) + "T09:00:00+08:00",
  ];

  let cases = 0;
  let booked = 0;
  const outcomes = new Set<string>();
  for (const [who, claims] of Object.entries(callers)) {
    for (const clinic_code of clinics) {
      for (const patient_id of patients) {
        for (const doctor_id of doctors) {
          // The full cross product for the main clinic and caller kinds; a sample elsewhere.
          const starts_ = clinic_code === "GFC-TP" && doctor_id !== doctors[3]
            ? starts
            : starts.slice(0, 2);
          for (const start of starts_) {
            const request = { clinic_code, doctor_id, start, patient_id };
            const expected = await attempt(sql, claims, separateChecks(request));
            const actual = await attempt(sql, claims, onePass(request));
            assert.equal(actual, expected, `${who} ${JSON.stringify(request)}`);
            cases++;
            if (!expected.includes(": ")) booked++;
            outcomes.add(expected.includes(": ") ? expected.split(": ")[1] : "ok");
            if (expected.includes("fully booked")) outcomes.add("fully booked");
          }
        }
      }
    }
  }
  // The cases reach every answer, not just one.
  for (
    const code of [
      "ok",
      "auth_required",
      "clinic_not_found",
      "patient_required",
      "not_a_patient",
      "patient_not_found",
      "forbidden",
      "doctor_not_found",
      "outside_schedule",
      "too_soon",
      "too_far_ahead",
      "slot_unavailable",
      "fully booked",
    ]
  ) assert.ok(outcomes.has(code), `no case answered ${code}: ${[...outcomes].join(", ")}`);
  assert.ok(cases > 1000 && booked > 50, `${cases} cases, ${booked} bookable`);

  // A doctor without a schedule.
  await sql`delete from public.doctor_schedules where doctor_id = ${DOCTORS.tan}`;
  const request = { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: at(day, "09:00") };
  const expected = await attempt(sql, callers.patientLim, separateChecks(request));
  assert.match(expected, /The doctor takes no appointments|outside_schedule/);
  assert.equal(await attempt(sql, callers.patientLim, onePass(request)), expected);
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
