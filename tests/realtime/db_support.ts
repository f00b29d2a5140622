/**
 * Database support for realtime tests: a fresh database (tests/support/db.ts) populated
 * with two clinics, their staff, patients and a TV board, and a realtime server streaming
 * from it. Replication slots are dropped before the database is.
 */
import type postgres from "postgres";
import { freshDatabase, type TestDatabase } from "../support/db.ts";
import type { RealtimeOptions } from "../../realtime/mod.ts";
import { sign, startServer, type TestServer } from "./support.ts";

export interface World {
  clinicA: string;
  clinicB: string;
  doctorA: string;
  doctorB: string;
  /** Staff user of clinic A / clinic B. */
  staffA: string;
  staffB: string;
  /** A patient user of clinic A, and their patient record. */
  patientUser: string;
  patientA: string;
  /** Another patient of clinic A. */
  otherPatientUser: string;
  otherPatientA: string;
  /** A patient of clinic B. */
  patientB: string;
  /** A live board token of clinic A. */
  boardA: string;
}

const id = () => crypto.randomUUID();

export async function populate(sql: postgres.Sql): Promise<World> {
  const w: World = {
    clinicA: id(),
    clinicB: id(),
    doctorA: id(),
    doctorB: id(),
    staffA: id(),
    staffB: id(),
    patientUser: id(),
    patientA: id(),
    otherPatientUser: id(),
    otherPatientA: id(),
    patientB: id(),
    boardA: id(),
  };
  const tag = w.clinicA.slice(0, 6).toUpperCase();
  await sql`insert into public.clinics (id, code, name) values
    (${w.clinicA}, ${`RA-${tag}`}, 'Realtime A'), (${w.clinicB}, ${`RB-${tag}`}, 'Realtime B')`;
  const users = [w.staffA, w.staffB, w.patientUser, w.otherPatientUser];
  for (const u of users) {
    await sql`insert into public.users (id, email, full_name)
      values (${u}, ${`${u}@realtime.test`}, 'Realtime Test')`;
  }
  await sql`insert into public.clinic_members (user_id, clinic_id, role) values
    (${w.staffA}, ${w.clinicA}, 'staff'), (${w.staffB}, ${w.clinicB}, 'staff'),
    (${w.patientUser}, ${w.clinicA}, 'patient'), (${w.otherPatientUser}, ${w.clinicA}, 'patient')`;
  await sql`insert into public.doctors (id, clinic_id, display_name) values
    (${w.doctorA}, ${w.clinicA}, 'Dr A'), (${w.doctorB}, ${w.clinicB}, 'Dr B')`;
  await sql`insert into public.patients
      (id, clinic_id, user_id, patient_number, full_name, date_of_birth, gender) values
    (${w.patientA}, ${w.clinicA}, ${w.patientUser}, 'P-1', 'Pat A', '1980-01-01', 'female'),
    (${w.otherPatientA}, ${w.clinicA}, ${w.otherPatientUser}, 'P-2', 'Pat O', '1981-01-01', 'male'),
    (${w.patientB}, ${w.clinicB}, null, 'P-3', 'Pat B', '1982-01-01', 'other')`;
  await sql`insert into public.board_tokens (id, clinic_id) values (${w.boardA}, ${w.clinicA})`;
  return w;
}

/** Access tokens for the world's principals. */
export function tokens(w: World) {
  return {
    staffA: () => sign({ sub: w.staffA, app_metadata: { role: "staff", clinic_ids: [w.clinicA] } }),
    staffB: () => sign({ sub: w.staffB, app_metadata: { role: "staff", clinic_ids: [w.clinicB] } }),
    patient: (expiresIn?: number) =>
      sign({
        sub: w.patientUser,
        app_metadata: { role: "patient", clinic_id: w.clinicA, clinic_ids: [w.clinicA] },
        expiresIn,
      }),
    otherPatient: () =>
      sign({ sub: w.otherPatientUser, app_metadata: { role: "patient", clinic_ids: [w.clinicA] } }),
    board: () =>
      sign({ role: "anon", sub: w.boardA, app_metadata: { board: true, clinic_id: w.clinicA } }),
    anon: () => sign({ role: "anon" }),
  };
}

let appointmentHour = 0;

/** Inserts an appointment (one hour slot, unique per call) and returns its id. */
export async function insertAppointment(
  sql: postgres.Sql,
  clinic: string,
  patient: string,
  doctor: string,
  status = "scheduled",
): Promise<string> {
  const hour = appointmentHour++;
  const start = new Date(Date.UTC(2030, 0, 1) + hour * 3600_000).toISOString();
  const end = new Date(Date.UTC(2030, 0, 1) + hour * 3600_000 + 1800_000).toISOString();
  const [row] = await sql<{ id: string }[]>`
    insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
    values (${clinic}, ${patient}, ${doctor}, tstzrange(${start}::timestamptz, ${end}::timestamptz, '[)'), ${status})
    returning id`;
  return row.id;
}

export interface DbHarness {
  db: TestDatabase;
  world: World;
  server: TestServer;
  options: Partial<RealtimeOptions>;
  /** Restarts the realtime server on a new port (same slot). */
  restart(): Promise<TestServer>;
  close(): Promise<void>;
}

export async function dbHarness(options: Partial<RealtimeOptions> = {}): Promise<DbHarness> {
  const db = await freshDatabase();
  const world = await populate(db.sql);
  const opts: Partial<RealtimeOptions> = {
    databaseUrl: db.url,
    tickIntervalMs: 200,
    sweepIntervalMs: 200,
    ...options,
  };
  const harness: DbHarness = {
    db,
    world,
    options: opts,
    server: await startServer(opts),
    async restart() {
      await harness.server.close().catch(() => {}); // may already be closed
      harness.server = await startServer(opts);
      return harness.server;
    },
    async close() {
      await harness.server.close();
      await dropSlots(db.sql);
      await db.drop();
    },
  };
  return harness;
}

export async function dropSlots(sql: postgres.Sql): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const slots = await sql<{ slot_name: string; active: boolean }[]>`
      select slot_name, active from pg_replication_slots where database = current_database()`;
    if (slots.length === 0) return;
    for (const s of slots.filter((s) => !s.active)) {
      await sql`select pg_drop_replication_slot(${s.slot_name})`.catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
