/**
 * Shared helpers of the database tests: the demo data's fixed ids, a roll-back-always runner
 * for "may this actor do that?" probes, empty databases, catalog queries and the fixture rows
 * that give every clinic-scoped table a row in both demo clinics.
 */
import postgres from "postgres";
import type { Claims } from "../../edge/db/claims.ts";
import { asUser, claimsFor, type Sql } from "../support/db.ts";
import { CLINIC_A, CLINIC_B, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";

export { CLINIC_A, CLINIC_B, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";
export { emptyDatabase } from "../support/db.ts";

/** Clinic A's members by role, as the matrix's actors. */
export const CLINIC_A_ACTORS = [
  { name: "admin@demo.com (admin A)", id: USERS.admin },
  { name: "staff.koh@demo.com (staff A)", id: USERS.staffKoh },
  { name: "doctor.tan@demo.com (doctor A)", id: USERS.doctorTan },
  { name: "nurse.ong@demo.com (nurse A)", id: USERS.nurseOng },
  { name: "patient.lim@demo.com (patient A)", id: USERS.patientLim },
] as const;

export function userClaims(id: string): Claims {
  return claimsFor(id, "authenticated");
}

// ---------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------

export type Outcome =
  | { ok: true; rows: postgres.Row[]; count: number }
  | { ok: false; code: string; message: string };

class Rollback extends Error {}

/**
 * Runs one statement under `claims` (as the edge would) and always rolls back, so a probe that
 * unexpectedly succeeds leaves nothing behind. Database errors come back as an outcome.
 */
export async function attempt(
  sql: Sql,
  claims: Claims,
  text: string,
  params: unknown[] = [],
): Promise<Outcome> {
  let outcome: Outcome | undefined;
  try {
    await asUser(sql, claims, async (tx) => {
      const result = await tx.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
      outcome = { ok: true, rows: [...result], count: result.count };
      throw new Rollback();
    });
  } catch (error) {
    if (error instanceof Rollback && outcome) return outcome;
    if (error instanceof postgres.PostgresError) {
      return { ok: false, code: error.code, message: error.message };
    }
    throw error;
  }
  throw new Error("unreachable: the probe neither returned nor failed");
}

export function describe(outcome: Outcome): string {
  return outcome.ok
    ? `succeeded (${outcome.count} rows: ${JSON.stringify(outcome.rows).slice(0, 300)})`
    : `failed ${outcome.code}: ${outcome.message}`;
}

/** The probe failed with exactly `code`. */
export function isError(outcome: Outcome, code: string): boolean {
  return !outcome.ok && outcome.code === code;
}

/** The probe was refused (insufficient privilege / RLS violation) or touched no row. */
export function deniedOrEmpty(outcome: Outcome): boolean {
  return isError(outcome, "42501") || (outcome.ok && outcome.count === 0);
}

/** Awaits `promise` and returns the PostgreSQL error code it failed with (or throws). */
export async function pgErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof postgres.PostgresError) return error.code;
    throw error;
  }
  throw new Error("expected a PostgreSQL error, but the statement succeeded");
}

// ---------------------------------------------------------------------------------------
// Databases and catalog
// ---------------------------------------------------------------------------------------

/** Schemas the application owns: every table in them must have RLS enabled and forced. */
export const SYSTEM_SCHEMAS = ["pg_catalog", "information_schema", "extensions"];

export interface CatalogTable {
  schema: string;
  name: string;
  /** `schema.name`, quoted where needed. */
  qualified: string;
  kind: "r" | "p";
  rls: boolean;
  forced: boolean;
  isPartition: boolean;
  columns: string[];
}

/** Every ordinary and partitioned table (partitions included) outside the system schemas. */
export async function catalogTables(sql: Sql): Promise<CatalogTable[]> {
  const rows = await sql<
    {
      schema: string;
      name: string;
      qualified: string;
      kind: "r" | "p";
      rls: boolean;
      forced: boolean;
      is_partition: boolean;
      columns: string[];
    }[]
  >`
    select n.nspname as schema, c.relname as name, c.oid::regclass::text as qualified,
      c.relkind::text as kind, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
      c.relispartition as is_partition,
      array(
        select a.attname::text from pg_attribute a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum
      ) as columns
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p')
      and n.nspname <> all (${SYSTEM_SCHEMAS})
      and n.nspname not like 'pg\\_%'
    order by 1, 2`;
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    qualified: r.qualified.includes(".") ? r.qualified : `public.${r.qualified}`,
    kind: r.kind,
    rls: r.rls,
    forced: r.forced,
    isPartition: r.is_partition,
    columns: r.columns,
  }));
}

/** Columns of a table a client may not set explicitly (identity, generated). */
export async function unsettableColumns(sql: Sql, qualified: string): Promise<string[]> {
  const rows = await sql<{ attname: string }[]>`
    select a.attname::text as attname from pg_attribute a
    where a.attrelid = ${qualified}::regclass and a.attnum > 0 and not a.attisdropped
      and (a.attidentity <> '' or a.attgenerated <> '')`;
  return rows.map((r) => r.attname);
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

export interface PatientFixture {
  key: "lim" | "tay" | "chan";
  userId: string;
  patientId: string;
  clinicId: string;
  doctorId: string;
  appointmentId: string;
  medicalRecordId: string;
  paymentId: string;
  notificationId: string;
}

export interface Fixtures {
  patients: PatientFixture[];
  /** Board tokens: a live one per clinic, plus revoked and expired ones of clinic A. */
  boards: { liveA: string; liveB: string; revokedA: string; expiredA: string };
}

/**
 * Adds, as superuser, rows for both clinics in every clinic-scoped table the seed leaves empty
 * (appointments, queue, clinical, money, notifications, webhooks, jobs, settings, feedback),
 * a push subscription of each patient,
 * and a second patient of clinic A (Tay) so "own rows only" is tested within one clinic too.
 * Lim is treated by Dr Tan, Tay by Dr Lee, Chan (clinic B) by Dr Ng.
 */
export async function addFixtures(sql: Sql): Promise<Fixtures> {
  return await sql.begin(async (tx) => {
    await tx`
      insert into public.users (id, email, full_name)
      values (${USERS.patientTay}, 'patient.tay@demo.com', 'Tay Boon Keng')`;
    await tx`
      insert into public.clinic_members (user_id, clinic_id, role, is_primary)
      values (${USERS.patientTay}, ${CLINIC_A}, 'patient', true)`;
    await tx`
      insert into public.patients (id, clinic_id, user_id, patient_number, full_name,
        date_of_birth, gender)
      values (${PATIENTS.tay}, ${CLINIC_A}, ${USERS.patientTay}, 'TP-P-000002', 'Tay Boon Keng',
        '1990-01-01', 'male')`;

    const plan = [
      { key: "lim", userId: USERS.patientLim, patientId: PATIENTS.lim, doctorId: DOCTORS.tan },
      { key: "tay", userId: USERS.patientTay, patientId: PATIENTS.tay, doctorId: DOCTORS.lee },
      { key: "chan", userId: USERS.patientChan, patientId: PATIENTS.chan, doctorId: DOCTORS.ng },
    ] as const;
    const patients: PatientFixture[] = [];
    for (const [i, p] of plan.entries()) {
      const clinicId = p.key === "chan" ? CLINIC_B : CLINIC_A;
      const code = String(i + 1).padStart(3, "0");
      const [appt] = await tx`
        insert into public.appointments (clinic_id, patient_id, doctor_id, period, visit_reason,
          internal_notes, booked_by)
        values (${clinicId}, ${p.patientId}, ${p.doctorId},
          tstzrange(timestamptz '2030-07-01 09:00+08' + make_interval(hours => ${i}::int),
                    timestamptz '2030-07-01 09:15+08' + make_interval(hours => ${i}::int)),
          'Cough', 'internal note', ${p.userId})
        returning id`;
      await tx`
        insert into public.queue_tickets (clinic_id, service_date, code, kind, patient_id,
          appointment_id, doctor_id, scheduled_at)
        values (${clinicId}, '2030-07-01', ${"A" + code}, 'appointment', ${p.patientId},
          ${appt.id}, ${p.doctorId},
          timestamptz '2030-07-01 09:00+08' + make_interval(hours => ${i}::int))`;
      const [record] = await tx`
        insert into public.medical_records (clinic_id, patient_id, doctor_id, appointment_id,
          chief_complaint, primary_diagnosis)
        values (${clinicId}, ${p.patientId}, ${p.doctorId}, ${appt.id}, 'Cough', 'URTI')
        returning id`;
      const [rx] = await tx`
        insert into public.prescriptions (clinic_id, patient_id, doctor_id, medical_record_id)
        values (${clinicId}, ${p.patientId}, ${p.doctorId}, ${record.id})
        returning id`;
      await tx`
        insert into public.prescription_items (prescription_id, clinic_id, patient_id,
          medication_name, dosage, frequency, quantity)
        values (${rx.id}, ${clinicId}, ${p.patientId}, 'Paracetamol', '500mg', 'tds', 10)`;
      await tx`
        insert into public.lab_results (clinic_id, patient_id, doctor_id, medical_record_id,
          lab_name, test_date)
        values (${clinicId}, ${p.patientId}, ${p.doctorId}, ${record.id}, 'Lab', '2030-07-01')`;
      await tx`
        insert into public.imaging_results (clinic_id, patient_id, doctor_id, medical_record_id,
          imaging_type, imaging_date)
        values (${clinicId}, ${p.patientId}, ${p.doctorId}, ${record.id}, 'X-ray', '2030-07-01')`;
      await tx`
        insert into public.vaccination_records (clinic_id, patient_id, vaccine_name,
          administered_date)
        values (${clinicId}, ${p.patientId}, 'Influenza', '2030-07-01')`;
      await tx`
        insert into public.telemedicine_sessions (clinic_id, patient_id, doctor_id,
          scheduled_start, scheduled_end)
        values (${clinicId}, ${p.patientId}, ${p.doctorId}, '2030-08-01 10:00+08',
          '2030-08-01 10:15+08')`;
      const [payment] = await tx`
        insert into public.payments (clinic_id, patient_id, appointment_id, amount,
          provider_payment_id)
        values (${clinicId}, ${p.patientId}, ${appt.id}, 35, ${"pi_" + p.key})
        returning id`;
      await tx`
        insert into public.payment_items (payment_id, clinic_id, description, unit_price,
          total_price)
        values (${payment.id}, ${clinicId}, 'Consultation', 35, 35)`;
      await tx`
        insert into public.insurance_claims (clinic_id, patient_id, payment_id, claim_number,
          insurance_provider, claimed_amount)
        values (${clinicId}, ${p.patientId}, ${payment.id}, ${"CLM-" + code}, 'AIA', 35)`;
      const [notification] = await tx`
        insert into public.notifications (clinic_id, user_id, kind, title, body)
        values (${clinicId}, ${p.userId}, 'booking_confirmed', 'Booked', 'See you')
        returning id`;
      await tx`
        insert into public.notification_deliveries (notification_id, clinic_id, channel,
          recipient)
        values (${notification.id}, ${clinicId}, 'sms', '+65 9000 0000')`;
      // Written the only way consent history is: through private.set_consent.
      await tx`select private.set_consent(${p.patientId}, 'push', true, 'front_desk')`;
      await tx`
        insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
        values (${p.userId}, ${"https://push.example/send/" + p.key},
          ${"B" + "A".repeat(86)}, ${"A".repeat(22)})`;
      // Each patient looks after a dependant (a child without an account) of their clinic.
      const [ward] = await tx`
        insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender)
        values (${clinicId}, ${"W-" + code}, ${"Child of " + p.key}, '2020-01-01', 'other')
        returning id`;
      await tx`
        insert into public.guardianships (guardian_id, patient_id, clinic_id, relationship,
          created_by)
        values (${p.userId}, ${ward.id}, ${clinicId}, 'child', ${p.userId})`;
      patients.push({
        key: p.key,
        userId: p.userId,
        patientId: p.patientId,
        clinicId,
        doctorId: p.doctorId,
        appointmentId: appt.id,
        medicalRecordId: record.id,
        paymentId: payment.id,
        notificationId: notification.id,
      });
    }

    for (
      const c of [
        { id: CLINIC_A, key: "a", admin: USERS.admin, doctor: DOCTORS.tan },
        { id: CLINIC_B, key: "b", admin: USERS.adminBedok, doctor: DOCTORS.ng },
      ]
    ) {
      await tx`
        insert into public.clinic_invitations (clinic_id, email, role, token_hash, invited_by)
        values (${c.id}, ${"invitee." + c.key + "@demo.com"}, 'staff', ${"hash-" + c.key},
          ${c.admin})`;
      await tx`
        insert into public.doctor_blocked_dates (doctor_id, clinic_id, day, reason)
        values (${c.doctor}, ${c.id}, '2030-12-25', 'Leave')`;
      await tx`
        insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason)
        values (${c.id}, '2030-12-31', '2031-01-01', 'New Year')`;
      // Open around the clock: binds no doctor's hours.
      await tx`
        insert into public.clinic_opening_hours (clinic_id, weekday, opens, closes)
        select ${c.id}, d, '00:00', '24:00' from generate_series(0, 6) d`;
      await tx`
        with t as (
          insert into public.appointment_types (clinic_id, code, name, duration_minutes)
          values (${c.id}, 'screening', 'Health screening', 45) returning id)
        insert into public.appointment_type_doctors (clinic_id, type_id, doctor_id)
        select ${c.id}, t.id, ${c.doctor} from t`;
      await tx`
        insert into public.queue_tickets (clinic_id, service_date, code, kind, priority)
        values (${c.id}, '2030-07-01', 'W001', 'walk_in', 1)`;
      await tx`
        insert into public.webhook_inbox (source, event_id, event_type, clinic_id, body)
        values ('stripe', ${"evt_" + c.key}, 'payment_intent.succeeded', ${c.id}, '{}')`;
      const [endpoint] = await tx`
        insert into public.webhook_endpoints (clinic_id, url, events, secret, created_by)
        values (${c.id}, ${"https://hooks.example.com/" + c.key}, '{appointment.created}',
          ${"whsec_fixture_" + c.key}, ${c.admin})
        returning id`;
      const [event] = await tx`
        insert into public.webhook_outbox (clinic_id, event_type, payload)
        values (${c.id}, 'appointment.created', '{}')
        returning id`;
      const [delivery] = await tx`
        insert into public.webhook_deliveries (event_id, endpoint_id, clinic_id)
        values (${event.id}, ${endpoint.id}, ${c.id})
        returning id`;
      await tx`
        insert into public.webhook_delivery_attempts (delivery_id, clinic_id, status_code)
        values (${delivery.id}, ${c.id}, 500)`;
      await tx`
        insert into public.jobs (kind, clinic_id, payload) values ('reminder', ${c.id}, '{}')`;
      await tx`
        insert into public.system_settings (clinic_id, category, key, value, is_public)
        values (${c.id}, 'billing', 'gst_number', '"M90000000X"', false)`;
      await tx`
        insert into public.notification_templates (clinic_id, kind, channel, language, body)
        values (${c.id}, 'queue_near', 'sms', 'en', 'Ticket {{code}}: nearly there')`;
      await tx`
        insert into public.user_feedback (user_id, clinic_id, rating, feedback_text)
        values (${c.admin}, ${c.id}, 5, 'Great')`;
    }

    const [boards] = await tx`
      with t as (
        insert into public.board_tokens (clinic_id, label, revoked_at, expires_at)
        values (${CLINIC_A}, 'live A', null, null),
               (${CLINIC_B}, 'live B', null, null),
               (${CLINIC_A}, 'revoked A', now() - interval '1 minute', null),
               (${CLINIC_A}, 'expired A', null, now() - interval '1 minute')
        returning id, label
      )
      select
        (select id from t where label = 'live A') as "liveA",
        (select id from t where label = 'live B') as "liveB",
        (select id from t where label = 'revoked A') as "revokedA",
        (select id from t where label = 'expired A') as "expiredA"`;

    return {
      patients,
      boards: {
        liveA: boards.liveA,
        liveB: boards.liveB,
        revokedA: boards.revokedA,
        expiredA: boards.expiredA,
      },
    };
  });
}

/** Anon claims of a TV board token (`sub` = the board_tokens row). */
export function boardClaims(tokenId: string, clinicId: string): Claims {
  return claimsFor(tokenId, "anon", { board: true, clinic_id: clinicId });
}
