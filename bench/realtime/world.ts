/** Benchmark world: clinics with staff, a doctor and a patient each, and a TV board. */
import type postgres from "postgres";
import { SignJWT } from "jose";

export interface BenchWorld {
  clinics: string[];
  /** Staff user ids per clinic. */
  staff: string[][];
  doctors: string[];
  patients: string[];
  boardToken: string;
}

export async function buildWorld(
  sql: postgres.Sql,
  clinicCount: number,
  staffPerClinic: number,
): Promise<BenchWorld> {
  const clinics = Array.from({ length: clinicCount }, () => crypto.randomUUID());
  const staff = clinics.map(() =>
    Array.from({ length: staffPerClinic }, () => crypto.randomUUID())
  );
  const doctors = clinics.map(() => crypto.randomUUID());
  const patients = clinics.map(() => crypto.randomUUID());
  const codes = clinics.map((_, i) => `BR-${String(i).padStart(3, "0")}`);
  await sql`insert into public.clinics (id, code, name)
    select * from unnest(${clinics}::uuid[], ${codes}::text[], ${codes}::text[])`;
  const users = staff.flat();
  await sql`insert into public.users (id, email, full_name)
    select u, u::text || '@bench.test', 'Bench' from unnest(${users}::uuid[]) as u`;
  const memberClinics = staff.flatMap((ids, i) => ids.map(() => clinics[i]));
  await sql`insert into public.clinic_members (user_id, clinic_id, role)
    select u, c, 'staff' from unnest(${users}::uuid[], ${memberClinics}::uuid[]) as t(u, c)`;
  await sql`insert into public.doctors (id, clinic_id, display_name)
    select d, c, 'Dr Bench' from unnest(${doctors}::uuid[], ${clinics}::uuid[]) as t(d, c)`;
  await sql`insert into public.patients
      (id, clinic_id, patient_number, full_name, date_of_birth, gender)
    select p, c, 'B-' || left(p::text, 8), 'Bench Patient', '1990-01-01', 'other'
    from unnest(${patients}::uuid[], ${clinics}::uuid[]) as t(p, c)`;
  const boardToken = crypto.randomUUID();
  await sql`insert into public.board_tokens (id, clinic_id) values (${boardToken}, ${clinics[0]})`;
  return { clinics, staff, doctors, patients, boardToken };
}

export function signer(secret: string) {
  const key = new TextEncoder().encode(secret);
  return (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime("2h")
      .sign(key);
}

let hour = 0;

/** Inserts `n` appointments spread over the clinics in one transaction. */
export async function writeAppointments(
  sql: postgres.Sql,
  world: BenchWorld,
  n: number,
  clinicOffset: number,
): Promise<void> {
  const clinic: string[] = [];
  const patient: string[] = [];
  const doctor: string[] = [];
  const start: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = (clinicOffset + i) % world.clinics.length;
    clinic.push(world.clinics[c]);
    patient.push(world.patients[c]);
    doctor.push(world.doctors[c]);
    start.push(new Date(Date.UTC(2031, 0, 1) + (hour++) * 3600_000).toISOString());
  }
  await sql`
    insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
    select c, p, d, tstzrange(s, s + interval '30 minutes', '[)'), 'scheduled'
    from unnest(${clinic}::uuid[], ${patient}::uuid[], ${doctor}::uuid[], ${start}::timestamptz[])
      as t(c, p, d, s)`;
}
