/**
 * Helpers of the queue tests: demo ids, a clinic time zone that puts "now" around local noon
 * (so appointments near now fall on today's clinic day whenever the tests run), appointments
 * and patients inserted directly (as the superuser), an app over a fresh database with access
 * tokens for the demo users, and the caller-claims runner.
 */
import { asUser, claimsFor, freshDatabase, type Sql, type TestDatabase } from "../support/db.ts";
import { type Config, loadConfig } from "../../edge/config.ts";
import { createApp } from "../../edge/app.ts";
import { createTokenService, type TokenService } from "../../edge/auth/tokens.ts";

export const CLINIC_A = "11111111-1111-4111-8111-111111111111"; // GFC-TP
export const CLINIC_B = "22222222-2222-4222-8222-222222222222"; // GFC-BD

export const USERS = {
  admin: "a0000000-0000-4000-8000-000000000001",
  doctorTan: "a0000000-0000-4000-8000-000000000002",
  patientLim: "a0000000-0000-4000-8000-000000000003",
  nurseOng: "a0000000-0000-4000-8000-000000000004",
  staffKoh: "a0000000-0000-4000-8000-000000000005",
  doctorLee: "a0000000-0000-4000-8000-000000000006",
  adminBedok: "b0000000-0000-4000-8000-000000000001",
  patientChan: "b0000000-0000-4000-8000-000000000003",
} as const;

export const DOCTORS = {
  tan: "d0000000-0000-4000-8000-000000000001",
  lee: "d0000000-0000-4000-8000-000000000002",
  ng: "d0000000-0000-4000-8000-000000000003",
} as const;

export const PATIENTS = {
  lim: "e0000000-0000-4000-8000-000000000001",
  chan: "e0000000-0000-4000-8000-000000000002",
} as const;

/**
 * Gives the clinic a fixed-offset time zone in which it is now between 12:00 and 12:59, so
 * "today" has at least 11 hours on either side. Returns the zone name.
 */
export async function middayClinic(sql: Sql, clinicId: string = CLINIC_A): Promise<string> {
  const offset = 12 - new Date().getUTCHours(); // -11 … +12
  const zone = offset === 0 ? "Etc/GMT" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
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

export interface QueueApp {
  app: ReturnType<typeof createApp>;
  db: TestDatabase;
  sql: Sql;
  config: Config;
  tokens: TokenService;
  tokenFor(userId: string): Promise<string>;
  boardToken(clinicId?: string, options?: { revoked?: boolean }): Promise<string>;
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<
    // deno-lint-ignore no-explicit-any
    { status: number; body: any }
  >;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A fresh seeded database (clinic A at local noon) and the app over it. */
export async function queueApp(): Promise<QueueApp> {
  const db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  const config = loadConfig({
    APP_ENV: "test",
    JWT_SECRET: "queue-tests-secret-0123456789abcdef0123456789",
  });
  const tokens = createTokenService(config);
  const app = createApp({ config, sql: db.sql, tokens });
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
  async function call(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ) {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const res = await app.request(`/api${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    return { status: res.status, body };
  }
  return {
    app,
    db,
    sql: db.sql,
    config,
    tokens,
    tokenFor,
    boardToken,
    call,
    [Symbol.asyncDispose]: () => db.drop(),
  };
}
