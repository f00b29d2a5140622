/**
 * Helpers of the edge API tests: an app over a fresh database clone with access tokens for the
 * demo users, extra patients and clinics, clinic-local dates.
 */
import assert from "node:assert/strict";
import type { Sql } from "../support/db.ts";
import {
  type Answer,
  type AppOverDatabase,
  appOverFreshDatabase,
  call,
  type CallOptions,
} from "../support/app.ts";
import type { ExternalResolver } from "../../edge/middleware/auth.ts";
import { defaultHandlers, startWorker } from "../../edge/jobs/mod.ts";
import { developmentTransports, type Transports } from "../../edge/notify/transport.ts";

export { CLINIC_A, CLINIC_B, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";

export interface TestApp extends AppOverDatabase {
  /** An access token for a user id (as login would issue). */
  tokenFor(userId: string): Promise<string>;
  /** JSON request; returns status, parsed body and headers. */
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function testApp(
  options: {
    seed?: boolean;
    config?: Record<string, string>;
    resolveExternal?: ExternalResolver;
  } = {},
): Promise<TestApp> {
  const base = await appOverFreshDatabase({
    JWT_SECRET: "test-secret-for-the-edge-api-tests-0123456789",
    ...options.config,
  }, options);
  const close = () => base.db.drop();
  return {
    ...base,
    async tokenFor(userId) {
      const [u] = await base.sql`select email from public.users where id = ${userId}`;
      const { token } = await base.tokens.signAccess({
        userId,
        email: u?.email ?? "someone@example.com",
        sessionId: crypto.randomUUID(),
        appMetadata: {},
      });
      return token;
    },
    call: (method, path, opts) => call(base.app, method, path, opts),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Adds `count` patients (users with a patient membership) to a clinic; returns their ids. */
export async function addPatients(
  sql: Sql,
  clinicId: string,
  count: number,
  prefix = "p",
): Promise<{ userId: string; patientId: string }[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  const rows = await sql`
    with u as (
      insert into public.users (email, full_name)
      select ${prefix} || '-' || ${tag} || '-' || g || '@example.com', 'Patient ' || g
      from generate_series(1, ${count}) g
      returning id, full_name
    ),
    m as (
      insert into public.clinic_members (user_id, clinic_id, role)
      select id, ${clinicId}, 'patient' from u
    )
    insert into public.patients (clinic_id, user_id, patient_number, full_name, date_of_birth,
      gender)
    select ${clinicId}, u.id, ${tag} || '-' || row_number() over (), u.full_name, '1990-01-01',
      'other'
    from u
    returning user_id, id`;
  return rows.map((r) => ({ userId: r.user_id as string, patientId: r.id as string }));
}

/** A clinic in `timezone` with one doctor and the given weekly hours (weekday 0 = Sunday). */
export async function addClinic(
  sql: Sql,
  options: {
    code: string;
    timezone: string;
    hours: { weekday: number; kind?: "work" | "break"; starts: string; ends: string }[];
    slotMinutes?: number;
    bufferMinutes?: number;
    maxPerDay?: number | null;
    advanceDays?: number;
    minNoticeMinutes?: number;
  },
): Promise<{ clinicId: string; doctorId: string }> {
  const [clinic] = await sql`
    insert into public.clinics (code, name, timezone)
    values (${options.code}, ${"Clinic " + options.code}, ${options.timezone})
    returning id`;
  const [doctor] = await sql`
    insert into public.doctors (clinic_id, display_name)
    values (${clinic.id}, 'Dr Test') returning id`;
  await sql`
    insert into public.doctor_schedules (doctor_id, clinic_id, slot_minutes, buffer_minutes,
      max_per_day, advance_days, min_notice_minutes)
    values (${doctor.id}, ${clinic.id}, ${options.slotMinutes ?? 15},
      ${options.bufferMinutes ?? 0}, ${options.maxPerDay ?? null}, ${options.advanceDays ?? 30},
      ${options.minNoticeMinutes ?? 0})`;
  for (const h of options.hours) {
    await sql`
      insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind, starts, ends)
      values (${doctor.id}, ${clinic.id}, ${h.weekday}, ${h.kind ?? "work"}, ${h.starts}::time,
        ${h.ends}::time)`;
  }
  return { clinicId: clinic.id, doctorId: doctor.id };
}

/** The clinic-local date `days` days from today, in `timezone` (YYYY-MM-DD). */
export async function localDate(sql: Sql, timezone: string, days: number): Promise<string> {
  const [row] = await sql`select to_char((now() at time zone ${timezone})::date + ${days}::int,
    'YYYY-MM-DD') as d`;
  return row.d;
}

/** The next Monday–Friday in Singapore at least `minDays` ahead (the demo doctors work then). */
export async function nextWeekday(sql: Sql, minDays = 2): Promise<string> {
  const [row] = await sql`
    select to_char(d, 'YYYY-MM-DD') as d from generate_series(
      (now() at time zone 'Asia/Singapore')::date + ${minDays}::int,
      (now() at time zone 'Asia/Singapore')::date + ${minDays + 7}::int, interval '1 day') d
    where extract(dow from d) between 1 and 5 order by d limit 1`;
  return row.d;
}

/** `date` + local `time` in Singapore (+08:00), as the API expects. */
export function sgt(date: string, time: string): string {
  return `${date}T${time}:00+08:00`;
}

/**
 * Runs the job worker until no job of `kinds` is left queued or running; by default with the
 * recording (development) transport, whose messages are then in `private.outbound_messages`.
 */
export async function runJobs(
  sql: Sql,
  kinds: string[],
  transports: Transports = developmentTransports(sql),
): Promise<void> {
  const worker = startWorker({
    sql,
    handlers: defaultHandlers({ transports }),
    schedules: [],
    pollMs: 20,
    log: () => {},
  });
  await worker.ready;
  try {
    for (let i = 0; i < 400; i++) {
      const [r] = await sql`select count(*)::int as n from public.jobs
        where kind = any(${kinds}) and status in ('queued', 'running')`;
      if (r.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await worker.stop();
  }
}

/** Sends the queued invitation mails; answers the token of the newest link to `to`. */
export async function inviteLink(app: TestApp, to: string): Promise<string> {
  await runJobs(app.sql, ["auth.account_email"]);
  const [mail] = await app.sql`select body from private.outbound_messages
    where recipient = ${to} and channel = 'email' order by id desc limit 1`;
  assert.ok(mail, `no mail to ${to}`);
  const match = new RegExp(`${app.config.publicUrl}/accept-invite#([A-Za-z0-9_-]{43})`)
    .exec(mail.body);
  assert.ok(match, `no invitation link in: ${mail.body}`);
  return match[1];
}

/** Everything a client sees of an answer (the request id aside): to compare two answers. */
export function seen(res: Answer) {
  return {
    status: res.status,
    body: res.body,
    contentType: res.headers.get("content-type"),
    retryAfter: res.headers.get("retry-after"),
    cookie: res.headers.get("set-cookie"),
  };
}

/** How many answers had each status. */
export function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/**
 * Racing bookings of one slot (`doctorId` at `start`) ended with exactly one 201 and the rest
 * 409 slot_unavailable, and the one scheduled appointment is the winner's.
 */
export async function assertOneWinner(
  sql: Sql,
  results: { status: number; body: Answer["body"] }[],
  doctorId: string,
  start: string,
): Promise<void> {
  const counts = tally(results.map((r) => r.status));
  assert.deepEqual(counts, { 201: 1, 409: results.length - 1 }, JSON.stringify(counts));
  for (const r of results.filter((r) => r.status === 409)) {
    assert.equal(r.body.error.code, "slot_unavailable");
  }
  const rows = await sql`select patient_id from public.appointments
    where doctor_id = ${doctorId} and lower(period) = ${start}::timestamptz
      and status = 'scheduled'`;
  assert.equal(rows.length, 1);
  const winner = results.find((r) => r.status === 201)!;
  assert.equal(rows[0].patient_id, winner.body.appointment.patient_id);
}
