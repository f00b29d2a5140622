/**
 * Rows of the demo clinics inserted directly (as the superuser): patients without accounts,
 * appointments near now; a clinic whose local time is around noon (so appointments near now
 * fall on today's clinic day whenever the tests run); and the caller-claims runner for a demo
 * user.
 */
import { middayZone } from "./clock.ts";
import { asUser, claimsFor, type Sql } from "./db.ts";
import { CLINIC_A, DOCTORS, PATIENTS } from "./demo.ts";

/** Gives the clinic the midday zone (see support/clock.ts). Returns the zone name. */
export async function middayClinic(sql: Sql, clinicId: string = CLINIC_A): Promise<string> {
  const zone = await middayZone(sql);
  await sql`update public.clinics set timezone = ${zone} where id = ${clinicId}`;
  return zone;
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
