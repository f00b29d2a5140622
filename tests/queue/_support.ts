/**
 * Helpers of the queue tests: demo ids, a clinic time zone that puts "now" around local noon
 * (so appointments near now fall on today's clinic day whenever the tests run), appointments
 * and patients inserted directly (as the superuser), an app over a fresh database with access
 * tokens for the demo users, and the caller-claims runner.
 */
import { middayZone } from "../support/clock.ts";
import { asUser, claimsFor, type Sql } from "../support/db.ts";
import { type Answer, type AppOverDatabase, appOverFreshDatabase, call } from "../support/app.ts";
import { CLINIC_A, DOCTORS, PATIENTS } from "../support/demo.ts";

export { CLINIC_A, CLINIC_B, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";

/** Gives the clinic the midday zone (see support/clock.ts). Returns the zone name. */
export async function middayClinic(sql: Sql, clinicId: string = CLINIC_A): Promise<string> {
  const zone = await middayZone(sql);
  await sql`update public.clinics set timezone = ${zone} where id = ${clinicId}`;
  return zone;
}

/** The clinic-local HH:MI of an instant, as the database renders it. */
export async function localTime(sql: Sql, at: Date, clinicId: string = CLINIC_A) {
  const [row] = await sql`
    select to_char(${at}::timestamptz at time zone c.timezone, 'HH24:MI') as t
    from public.clinics c where c.id = ${clinicId}`;
  return row.t as string;
}

/** Patients without accounts (no notifications) for load tests. */
export async function addPatients(sql: Sql, count: number, clinicId = CLINIC_A) {
  const rows = await sql`
    insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender)
    select ${clinicId}, 'QT-' || g || '-' || substr(md5(random()::text), 1, 6),
           'Queue Test Patient ' || g, date '1980-01-01', 'other'
    from generate_series(1, ${count}) g
    returning id`;
  return rows.map((r) => r.id as string);
}

/**
 * A booked appointment starting `startMin` minutes from now (negative: in the past), lasting
 * `lengthSec` seconds, inserted as the superuser.
 */
export async function addAppointment(
  sql: Sql,
  options: {
    patient?: string;
    doctor?: string;
    clinic?: string;
    startMin?: number;
    lengthSec?: number;
    status?: string;
  } = {},
): Promise<string> {
  const startMs = Math.round((options.startMin ?? 10) * 60_000);
  const lengthMs = (options.lengthSec ?? 60) * 1000;
  const [row] = await sql`
    insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
      hold_expires_at)
    values (${options.clinic ?? CLINIC_A}, ${options.patient ?? PATIENTS.lim},
      ${options.doctor ?? DOCTORS.tan},
      tstzrange(now() + ${startMs} * interval '1 ms',
                now() + ${startMs + lengthMs} * interval '1 ms'),
      ${options.status ?? "confirmed"},
      ${options.status === "held" ? sql`now() + interval '5 minutes'` : null})
    returning id`;
  return row.id as string;
}

/** Runs `fn` as a demo user (authenticated, their claims), in one transaction. */
export function asDemoUser<T>(
  sql: Sql,
  userId: string,
  fn: Parameters<typeof asUser<T>>[2],
): Promise<T> {
  return asUser(sql, claimsFor(userId), fn);
}

export interface QueueApp extends AppOverDatabase {
  tokenFor(userId: string): Promise<string>;
  boardToken(clinicId?: string, options?: { revoked?: boolean }): Promise<string>;
  /** A JSON request to `/api` + `path`. */
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<Answer>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A fresh seeded database (clinic A at local noon) and the app over it. */
export async function queueApp(): Promise<QueueApp> {
  const base = await appOverFreshDatabase({
    JWT_SECRET: "queue-tests-secret-0123456789abcdef0123456789",
  });
  const { db, tokens } = base;
  await middayClinic(db.sql);
  const cache = new Map<string, string>();
  async function tokenFor(userId: string) {
    const known = cache.get(userId);
    if (known) return known;
    const [user] = await db.sql`
      select u.email::text as email,
             (select m.clinic_id from public.clinic_members m
              where m.user_id = u.id and m.revoked_at is null order by m.is_primary desc limit 1)
               as clinic_id,
             (select m.role::text from public.clinic_members m
              where m.user_id = u.id and m.revoked_at is null order by m.is_primary desc limit 1)
               as role,
             array(select m.clinic_id from public.clinic_members m
                   where m.user_id = u.id and m.revoked_at is null) as clinic_ids
      from public.users u where u.id = ${userId}`;
    const { token } = await tokens.signAccess({
      userId,
      email: user.email,
      sessionId: crypto.randomUUID(),
      appMetadata: { clinic_id: user.clinic_id, clinic_ids: user.clinic_ids, role: user.role },
    });
    cache.set(userId, token);
    return token;
  }
  async function boardToken(clinicId = CLINIC_A, options: { revoked?: boolean } = {}) {
    const [row] = await db.sql`
      insert into public.board_tokens (clinic_id, revoked_at)
      values (${clinicId}, ${options.revoked ? new Date() : null}) returning id`;
    return await tokens.signBoard(row.id, clinicId);
  }
  return {
    ...base,
    tokenFor,
    boardToken,
    call: (method, path, options) => call(base.app, method, `/api${path}`, options),
    [Symbol.asyncDispose]: () => db.drop(),
  };
}
