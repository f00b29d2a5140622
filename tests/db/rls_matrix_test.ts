/**
 * Row-level security, enumerated from the catalog so a new table cannot slip through:
 * RLS enabled and forced everywhere; clinic A's members can neither read nor write clinic B's
 * rows; patients see exactly their own rows; anon sees public clinic information and, with a
 * live board token, its own clinic's board — nothing else; no privilege escalation.
 */
import assert from "node:assert/strict";
import { claimsFor, freshDatabase, type Sql } from "../support/db.ts";
import {
  addFixtures,
  attempt,
  boardClaims,
  catalogTables,
  CLINIC_A,
  CLINIC_A_ACTORS,
  CLINIC_B,
  deniedOrEmpty,
  describe,
  type Fixtures,
  isError,
  type Outcome,
  quoteIdent,
  unsettableColumns,
  userClaims,
  USERS,
} from "./_helpers.ts";

Deno.test("RLS is enabled and forced on every table, partitions included", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const tables = await catalogTables(db.sql);
    const names = tables.map((table) => table.qualified);
    // The enumeration really covers every schema we own (guards the query itself).
    for (
      const expected of [
        "public.appointments",
        "public.queue_board",
        "private.credentials",
        "private.day_counters",
        "audit.logs",
        "audit.logs_default",
        "supabase_migrations.schema_migrations",
      ]
    ) {
      assert.ok(names.includes(expected), `catalog enumeration misses ${expected}`);
    }
    assert.ok(
      tables.filter((table) => table.schema === "audit" && table.isPartition).length >= 3,
      "audit.logs partitions are enumerated",
    );
    for (const table of tables) {
      await t.step(`${table.qualified} (relkind ${table.kind})`, () => {
        assert.ok(table.rls, `${table.qualified}: row level security is not enabled`);
        assert.ok(table.forced, `${table.qualified}: row level security is not forced`);
      });
    }
  } finally {
    await db.drop();
  }
});

// ---------------------------------------------------------------------------------------
// Tenant isolation
// ---------------------------------------------------------------------------------------

/**
 * Tables whose rows any client may read by design (public clinic information, the PII-free
 * availability versions the booking page follows, and the appointment types it offers).
 */
const PUBLIC_READ = new Set([
  "clinics",
  "doctors",
  "availability_versions",
  "appointment_types",
  "appointment_type_doctors",
  "clinic_opening_hours",
]);
/** Tables no client role reads at all (service_role only). */
const SERVICE_ONLY = new Set(["jobs"]);

interface ScopedTable {
  name: string;
  qualified: string;
  hasClinicId: boolean;
  hasUserId: boolean;
  /** Predicate selecting the rows of a clinic. */
  scope(clinic: string): string;
  /** Column to use in a no-op `update … set c = c` (one the client may update, if any). */
  updateColumn: string;
  /** Columns to copy in an insert probe (no identity columns, no defaulted `id`). */
  insertColumns: string[];
}

async function clinicScopedTables(sql: Sql): Promise<ScopedTable[]> {
  const members = await sql<{ clinic_id: string; ids: string[] }[]>`
    select clinic_id, array_agg(distinct user_id::text) as ids from public.clinic_members
    group by clinic_id`;
  const usersOf = (clinic: string) => {
    const mine = members.find((m) => m.clinic_id === clinic)?.ids ?? [];
    const others = members.filter((m) => m.clinic_id !== clinic).flatMap((m) => m.ids);
    return mine.filter((id) => !others.includes(id));
  };
  const tables = (await catalogTables(sql)).filter((table) =>
    table.schema === "public" &&
    (table.columns.includes("clinic_id") || table.name === "clinics" || table.name === "users")
  );
  const result: ScopedTable[] = [];
  for (const table of tables) {
    const [{ updatable }] = await sql<{ updatable: string[] }[]>`
      select coalesce(array_agg(a.attname::text order by a.attnum), '{}') as updatable
      from pg_attribute a
      where a.attrelid = ${table.qualified}::regclass and a.attnum > 0 and not a.attisdropped
        and has_column_privilege('authenticated', a.attrelid, a.attnum, 'UPDATE')`;
    const unsettable = await unsettableColumns(sql, table.qualified);
    const [{ id_has_default }] = await sql<{ id_has_default: boolean }[]>`
      select exists (
        select 1 from pg_attribute a
        where a.attrelid = ${table.qualified}::regclass and a.attname = 'id' and a.atthasdef
      ) as id_has_default`;
    const scope = table.name === "clinics"
      ? (clinic: string) => `id = '${clinic}'`
      : table.name === "users"
      ? (clinic: string) => `id = any('{${usersOf(clinic).join(",")}}'::uuid[])`
      : (clinic: string) => `clinic_id = '${clinic}'`;
    result.push({
      name: table.name,
      qualified: table.qualified,
      hasClinicId: table.columns.includes("clinic_id"),
      hasUserId: table.columns.includes("user_id"),
      scope,
      updateColumn: updatable.includes("clinic_id") ? "clinic_id" : updatable[0] ?? "clinic_id",
      insertColumns: table.columns.filter((c) =>
        !unsettable.includes(c) && !(c === "id" && id_has_default)
      ),
    });
  }
  return result;
}

function insertProbe(table: ScopedTable): string {
  const cols = table.insertColumns.map(quoteIdent).join(", ");
  return `insert into ${table.qualified} (${cols})
    select ${cols} from jsonb_populate_record(null::${table.qualified}, $1::jsonb)`;
}

function readNone(outcome: Outcome): boolean {
  return isError(outcome, "42501") || (outcome.ok && outcome.rows[0].n === 0);
}

Deno.test("tenant isolation: clinic A's members can neither read nor write clinic B's rows", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    await addFixtures(db.sql);
    const tables = await clinicScopedTables(db.sql);
    assert.ok(tables.length >= 30, `expected the clinic-scoped tables, got ${tables.length}`);

    for (const table of tables) {
      // A clinic-B row to aim at; a new clinic-scoped table needs one in addFixtures.
      const sample = await db.sql.unsafe(
        `select to_jsonb(t) as row from ${table.qualified} t where ${table.scope(CLINIC_B)}
         limit 1`,
      );
      await t.step(`${table.name}: fixtures have rows of both clinics`, async () => {
        assert.equal(sample.length, 1, `no clinic B row in ${table.name}: add one in addFixtures`);
        const [a] = await db.sql.unsafe(
          `select count(*)::int as n from ${table.qualified} where ${table.scope(CLINIC_A)}`,
        );
        assert.ok(a.n > 0, `no clinic A row in ${table.name}: add one in addFixtures`);
      });
      if (sample.length === 0) continue;
      const bRow = sample[0].row as Record<string, unknown>;

      // Positive control: the probes below are not vacuous — some member of A reads A's rows.
      await t.step(`${table.name}: some member of clinic A reads clinic A's rows`, async () => {
        let readers = 0;
        for (const actor of CLINIC_A_ACTORS) {
          const outcome = await attempt(
            db.sql,
            userClaims(actor.id),
            `select count(*)::int as n from ${table.qualified} where ${table.scope(CLINIC_A)}`,
          );
          if (outcome.ok && outcome.rows[0].n > 0) readers++;
        }
        if (SERVICE_ONLY.has(table.name)) assert.equal(readers, 0);
        else assert.ok(readers > 0, `no member of clinic A can read ${table.name} at all`);
      });

      for (const actor of CLINIC_A_ACTORS) {
        await t.step(`${table.name} × ${actor.name}`, async () => {
          const claims = userClaims(actor.id);
          const b = table.scope(CLINIC_B);

          const read = await attempt(
            db.sql,
            claims,
            `select count(*)::int as n from ${table.qualified} where ${b}`,
          );
          if (PUBLIC_READ.has(table.name)) {
            assert.ok(read.ok, `public ${table.name} unreadable: ${describe(read)}`);
          } else {
            assert.ok(readNone(read), `read of clinic B's rows: ${describe(read)}`);
          }

          const col = quoteIdent(table.updateColumn);
          const update = await attempt(
            db.sql,
            claims,
            `update ${table.qualified} set ${col} = ${col} where ${b}`,
          );
          assert.ok(deniedOrEmpty(update), `update of clinic B's rows: ${describe(update)}`);

          const del = await attempt(db.sql, claims, `delete from ${table.qualified} where ${b}`);
          assert.ok(deniedOrEmpty(del), `delete of clinic B's rows: ${describe(del)}`);

          const copy = await attempt(db.sql, claims, insertProbe(table), [bRow]);
          assert.ok(isError(copy, "42501"), `insert of a clinic B row: ${describe(copy)}`);

          if (table.hasUserId) {
            const own = { ...bRow, user_id: actor.id };
            const mine = await attempt(db.sql, claims, insertProbe(table), [own]);
            assert.ok(
              isError(mine, "42501"),
              `insert of a clinic B row carrying the actor's own user_id: ${describe(mine)}`,
            );
          }

          if (table.hasClinicId) {
            // Moving one of clinic A's rows into clinic B is writing clinic B's data too.
            const move = await attempt(
              db.sql,
              claims,
              `update ${table.qualified} set clinic_id = '${CLINIC_B}'
               where ${table.scope(CLINIC_A)}`,
            );
            assert.ok(
              deniedOrEmpty(move) || isError(move, "23503"),
              `move of a clinic A row into clinic B: ${describe(move)}`,
            );
          }
        });
      }
    }
  } finally {
    await db.drop();
  }
});

// ---------------------------------------------------------------------------------------
// Patients: exactly their own rows
// ---------------------------------------------------------------------------------------

/** Superuser predicates selecting the rows that belong to the user `$1`. */
const DEPENDANTS = "select g.patient_id from public.guardianships g where g.guardian_id = $1";
const OWNERSHIP: Record<string, string> = {
  users: "id = $1",
  // A guardian's dependants' records, appointments and queue tickets are theirs to see too
  // (20261207000500_families); nothing clinical is.
  patients: `user_id = $1 or id in (${DEPENDANTS})`,
  guardianships: "guardian_id = $1",
  appointments: `patient_id in (select x.id from public.patients x where x.user_id = $1)
    or patient_id in (${DEPENDANTS})`,
  queue_tickets: `patient_id in (select x.id from public.patients x where x.user_id = $1)
    or patient_id in (${DEPENDANTS})`,
  clinic_members: "user_id = $1",
  notifications: "user_id = $1",
  push_subscriptions: "user_id = $1",
  notification_deliveries:
    "notification_id in (select n.id from public.notifications n where n.user_id = $1)",
  payment_items: `payment_id in (select p.id from public.payments p
    where p.patient_id in (select x.id from public.patients x where x.user_id = $1))`,
};
const BY_PATIENT_ID = "patient_id in (select x.id from public.patients x where x.user_id = $1)";

Deno.test("patients see exactly their own clinical rows, appointments and notifications", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const fixtures = await addFixtures(db.sql);
    const tables = (await catalogTables(db.sql)).filter((table) =>
      table.schema === "public" &&
      (table.columns.includes("patient_id") || Object.hasOwn(OWNERSHIP, table.name))
    );
    for (
      const expected of [
        "medical_records",
        "prescriptions",
        "prescription_items",
        "lab_results",
        "imaging_results",
        "vaccination_records",
        "telemedicine_sessions",
        "appointments",
        "queue_tickets",
        "payments",
        "notifications",
      ]
    ) {
      assert.ok(tables.some((table) => table.name === expected), `${expected} not enumerated`);
    }
    for (const patient of fixtures.patients) {
      for (const table of tables) {
        await t.step(`${table.name} × patient ${patient.key}`, async () => {
          const predicate = OWNERSHIP[table.name] ?? BY_PATIENT_ID;
          const own = (await db.sql.unsafe(
            `select id::text from ${table.qualified} where ${predicate} order by 1`,
            [patient.userId],
          )).map((r) => r.id);
          assert.ok(own.length > 0, `fixtures give ${patient.key} no ${table.name} row`);
          const seen = await attempt(
            db.sql,
            userClaims(patient.userId),
            `select id::text from ${table.qualified} order by 1`,
          );
          assert.ok(seen.ok, `patient cannot read own ${table.name}: ${describe(seen)}`);
          assert.deepEqual(seen.rows.map((r) => r.id), own);
        });
      }
    }
  } finally {
    await db.drop();
  }
});

Deno.test("clinical rows: nurses of the clinic and treating doctors only", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const fixtures = await addFixtures(db.sql);
    const clinical = (await db.sql<{ tablename: string }[]>`
      select tablename::text from pg_policies
      where schemaname = 'public' and policyname = 'clinical_care_team_read' order by 1`)
      .map((r) => r.tablename);
    assert.ok(clinical.includes("medical_records") && clinical.length >= 7);
    const patientOf = (key: string) => fixtures.patients.find((p) => p.key === key)!.patientId;
    const cases = [
      { actor: "doctor.tan (treats Lim)", id: USERS.doctorTan, sees: ["lim"] },
      { actor: "doctor.lee (treats Tay)", id: USERS.doctorLee, sees: ["tay"] },
      { actor: "nurse.ong (clinic A)", id: USERS.nurseOng, sees: ["lim", "tay"] },
      { actor: "doctor.ng (clinic B)", id: USERS.doctorNg, sees: ["chan"] },
      { actor: "admin (clinic A, not a clinician)", id: USERS.admin, sees: [] },
      { actor: "staff.koh (clinic A, not a clinician)", id: USERS.staffKoh, sees: [] },
    ];
    for (const table of clinical) {
      for (const c of cases) {
        await t.step(`${table} × ${c.actor}`, async () => {
          const seen = await attempt(
            db.sql,
            userClaims(c.id),
            `select distinct patient_id::text from public.${table} order by 1`,
          );
          assert.ok(seen.ok, describe(seen));
          assert.deepEqual(seen.rows.map((r) => r.patient_id), c.sees.map(patientOf).sort());
        });
      }
    }
  } finally {
    await db.drop();
  }
});

// ---------------------------------------------------------------------------------------
// anon and TV boards
// ---------------------------------------------------------------------------------------

const CLINIC_ANON_COLUMNS =
  "id, code, name, branch_name, timezone, address, postal_code, phone, email, website";
const DOCTOR_ANON_COLUMNS =
  "id, clinic_id, display_name, specializations, languages, bio, consultation_fee";
const BOARD_TABLES = new Set(["queue_board", "queue_board_versions"]);

function anonActors(boards: Fixtures["boards"]) {
  return [
    { name: "plain anon", claims: claimsFor(null, "anon"), board: null },
    { name: "board token A", claims: boardClaims(boards.liveA, CLINIC_A), board: CLINIC_A },
    { name: "board token B", claims: boardClaims(boards.liveB, CLINIC_B), board: CLINIC_B },
    { name: "revoked board token A", claims: boardClaims(boards.revokedA, CLINIC_A), board: null },
    { name: "expired board token A", claims: boardClaims(boards.expiredA, CLINIC_A), board: null },
    {
      name: "board token A claiming clinic B",
      claims: boardClaims(boards.liveA, CLINIC_B),
      board: null,
    },
    {
      name: "anon with board claims but no token",
      claims: boardClaims(crypto.randomUUID(), CLINIC_A),
      board: null,
    },
  ];
}

Deno.test("anon sees public clinic information and its own board only", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const { boards } = await addFixtures(db.sql);
    const tables = await catalogTables(db.sql);
    const [{ clinics, doctors }] = await db.sql`
      select (select count(*)::int from public.clinics where is_active and deleted_at is null)
               as clinics,
             (select count(*)::int from public.doctors where is_active and deleted_at is null)
               as doctors`;
    const boardRows = async (table: string, clinic: string) =>
      (await db.sql.unsafe(
        `select count(*)::int as n from public.${table} where clinic_id = $1`,
        [clinic],
      ))[0].n as number;

    for (const actor of anonActors(boards)) {
      for (const table of tables) {
        await t.step(`${table.qualified} × ${actor.name}`, async () => {
          const foreign = table.columns.includes("clinic_id")
            ? `count(*) filter (where clinic_id is distinct from '${actor.board ?? CLINIC_A}')`
            : "0";
          const read = await attempt(
            db.sql,
            actor.claims,
            `select count(*)::int as n, (${foreign})::int as foreign from ${table.qualified}`,
          );
          if (table.qualified === "public.clinics") {
            assert.ok(read.ok && read.rows[0].n === clinics, describe(read));
          } else if (table.qualified === "public.doctors") {
            assert.ok(read.ok && read.rows[0].n === doctors, describe(read));
          } else if (
            ["availability_versions", "appointment_types", "appointment_type_doctors"]
              .includes(table.name) && table.schema === "public"
          ) {
            const [all] = await db.sql.unsafe(
              `select count(*)::int as n from ${table.qualified}`,
            );
            assert.ok(all.n > 0, "fixtures move some availability");
            assert.ok(read.ok && read.rows[0].n === all.n, describe(read));
          } else if (table.schema === "public" && BOARD_TABLES.has(table.name) && actor.board) {
            const expected = await boardRows(table.name, actor.board);
            assert.ok(expected > 0, "fixtures give the board rows");
            assert.ok(read.ok, describe(read));
            assert.equal(read.rows[0].n, expected, "the board's own clinic rows");
            assert.equal(read.rows[0].foreign, 0, "rows of another clinic");
          } else {
            assert.ok(readNone(read), `anon reads ${table.qualified}: ${describe(read)}`);
          }

          // No writes at all.
          const insert = await attempt(
            db.sql,
            actor.claims,
            `insert into ${table.qualified} default values`,
          );
          assert.ok(isError(insert, "42501"), `insert: ${describe(insert)}`);
          const del = await attempt(db.sql, actor.claims, `delete from ${table.qualified}`);
          assert.ok(deniedOrEmpty(del), `delete: ${describe(del)}`);
        });
      }
    }

    const plain = claimsFor(null, "anon");
    const columnCases: { sql: string; ok: boolean; rows?: number }[] = [
      { sql: `select ${CLINIC_ANON_COLUMNS} from public.clinics`, ok: true, rows: clinics },
      { sql: `select ${DOCTOR_ANON_COLUMNS} from public.doctors`, ok: true, rows: doctors },
      { sql: "select settings from public.clinics", ok: false },
      { sql: "select * from public.clinics", ok: false },
      { sql: "select registration_number from public.clinics", ok: false },
      { sql: "select external_org_id from public.clinics", ok: false },
      { sql: "select * from public.doctors", ok: false },
      { sql: "select user_id from public.doctors", ok: false },
      { sql: "select medical_registration_number from public.doctors", ok: false },
      { sql: "select id from public.clinics where settings is not null", ok: false },
    ];
    for (const c of columnCases) {
      await t.step(`anon column grants: ${c.sql}`, async () => {
        const outcome = await attempt(db.sql, plain, c.sql);
        if (c.ok) {
          assert.ok(outcome.ok, describe(outcome));
          assert.equal(outcome.rows.length, c.rows);
        } else {
          assert.ok(isError(outcome, "42501"), describe(outcome));
          assert.match((outcome as { message: string }).message, /permission denied/);
        }
      });
    }
  } finally {
    await db.drop();
  }
});

// ---------------------------------------------------------------------------------------
// Escalation and private tables
// ---------------------------------------------------------------------------------------

Deno.test("a patient cannot escalate", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const fixtures = await addFixtures(db.sql);
    const lim = fixtures.patients.find((p) => p.key === "lim")!;
    const tay = fixtures.patients.find((p) => p.key === "tay")!;
    const chan = fixtures.patients.find((p) => p.key === "chan")!;
    const claims = userClaims(lim.userId);
    type Expect = "ok1" | "none" | "42501";
    const cases: { name: string; sql: string; expect: Expect }[] = [
      {
        name: "make herself superadmin",
        sql: `update public.users set is_superadmin = true where id = '${lim.userId}'`,
        expect: "42501",
      },
      {
        name: "reactivate / edit a protected users column",
        sql: `update public.users set email_verified_at = now() where id = '${lim.userId}'`,
        expect: "42501",
      },
      {
        name: "edit her own profile fields (control)",
        sql: `update public.users set display_name = 'Mei' where id = '${lim.userId}'`,
        expect: "ok1",
      },
      {
        name: "update another patient's appointment (same clinic)",
        sql: `update public.appointments set visit_reason = 'x' where id = '${tay.appointmentId}'`,
        expect: "none",
      },
      {
        name: "update another patient's appointment (other clinic)",
        sql: `update public.appointments set visit_reason = 'x' where id = '${chan.appointmentId}'`,
        expect: "none",
      },
      {
        name: "cancel another patient's appointment",
        sql: `update public.appointments set status = 'cancelled'
          where patient_id <> '${lim.patientId}'`,
        expect: "none",
      },
      {
        name: "change her appointment's internal_notes",
        sql: `update public.appointments set internal_notes = 'VIP'
          where id = '${lim.appointmentId}'`,
        expect: "42501",
      },
      {
        name: "change her appointment's payment_status",
        sql: `update public.appointments set payment_status = 'paid'
          where id = '${lim.appointmentId}'`,
        expect: "42501",
      },
      {
        name: "mark her appointment completed",
        sql: `update public.appointments set status = 'completed'
          where id = '${lim.appointmentId}'`,
        expect: "42501",
      },
      {
        name: "change her appointment's visit_reason (control)",
        sql: `update public.appointments set visit_reason = 'Fever'
          where id = '${lim.appointmentId}'`,
        expect: "ok1",
      },
      {
        name: "book directly for another patient of her clinic",
        sql: `insert into public.appointments (clinic_id, patient_id, doctor_id, period)
          values ('${tay.clinicId}', '${tay.patientId}', '${tay.doctorId}',
            '[2030-07-02 10:00+08, 2030-07-02 10:15+08)')`,
        expect: "42501",
      },
      {
        name: "book directly at another clinic",
        sql: `insert into public.appointments (clinic_id, patient_id, doctor_id, period)
          values ('${chan.clinicId}', '${lim.patientId}', '${chan.doctorId}',
            '[2030-07-02 10:00+08, 2030-07-02 10:15+08)')`,
        expect: "42501",
      },
      {
        name: "book directly for herself (control)",
        sql: `insert into public.appointments (clinic_id, patient_id, doctor_id, period)
          values ('${lim.clinicId}', '${lim.patientId}', '${lim.doctorId}',
            '[2030-07-03 10:00+08, 2030-07-03 10:15+08)')`,
        expect: "ok1",
      },
      {
        name: "delete her booked (not held) appointment",
        sql: `delete from public.appointments where id = '${lim.appointmentId}'`,
        expect: "none",
      },
      {
        name: "delete another patient's appointment",
        sql: `delete from public.appointments where id = '${tay.appointmentId}'`,
        expect: "none",
      },
      {
        name: "reset her no-show count",
        sql: `update public.patients set no_show_count = 7 where id = '${lim.patientId}'`,
        expect: "42501",
      },
      {
        name: "grant herself the admin role",
        sql: `insert into public.clinic_members (user_id, clinic_id, role)
          values ('${lim.userId}', '${CLINIC_A}', 'admin')`,
        expect: "42501",
      },
      {
        name: "promote her membership to admin",
        sql: `update public.clinic_members set role = 'admin' where user_id = '${lim.userId}'`,
        expect: "none",
      },
      {
        name: "write a medical record",
        sql: `insert into public.medical_records (clinic_id, patient_id)
          values ('${CLINIC_A}', '${lim.patientId}')`,
        expect: "42501",
      },
      {
        name: "write a notification",
        sql: `insert into public.notifications (clinic_id, user_id, kind, title, body)
          values ('${CLINIC_A}', '${lim.userId}', 'x', 'x', 'x')`,
        expect: "42501",
      },
      {
        name: "mark a notification as read (control)",
        sql: `update public.notifications set read_at = now() where id = '${lim.notificationId}'`,
        expect: "ok1",
      },
      {
        name: "rewrite a notification's body",
        sql: `update public.notifications set body = 'x' where id = '${lim.notificationId}'`,
        expect: "42501",
      },
      {
        name: "call a privileged function (next_number)",
        sql: `select private.next_number('${CLINIC_A}', current_date, 'appointment')`,
        expect: "42501",
      },
      {
        name: "call a privileged function (ensure_partitions)",
        sql: "select audit.ensure_partitions(1)",
        expect: "42501",
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const outcome = await attempt(db.sql, claims, c.sql);
        if (c.expect === "42501") assert.ok(isError(outcome, "42501"), describe(outcome));
        else if (c.expect === "none") {
          assert.ok(outcome.ok && outcome.count === 0, describe(outcome));
        } else assert.ok(outcome.ok && outcome.count === 1, describe(outcome));
      });
    }
  } finally {
    await db.drop();
  }
});

Deno.test("private, audit partitions and migration bookkeeping are unreadable by clients", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const tables = (await catalogTables(db.sql)).filter((table) =>
      table.schema === "private" || table.schema === "supabase_migrations" ||
      (table.schema === "audit" && table.name !== "logs")
    );
    assert.ok(tables.some((table) => table.qualified === "private.credentials"));
    const actors = [
      { name: "anon", claims: claimsFor(null, "anon") },
      { name: "patient", claims: userClaims(USERS.patientLim) },
      { name: "admin A", claims: userClaims(USERS.admin) },
    ];
    for (const table of tables) {
      for (const actor of actors) {
        await t.step(`${table.qualified} × ${actor.name}`, async () => {
          const read = await attempt(
            db.sql,
            actor.claims,
            `select count(*) from ${table.qualified}`,
          );
          assert.ok(isError(read, "42501"), `read: ${describe(read)}`);
          const write = await attempt(
            db.sql,
            actor.claims,
            `insert into ${table.qualified} default values`,
          );
          assert.ok(isError(write, "42501"), `insert: ${describe(write)}`);
        });
      }
    }
    await t.step("audit.logs itself: anon denied", async () => {
      const read = await attempt(
        db.sql,
        claimsFor(null, "anon"),
        "select count(*) from audit.logs",
      );
      assert.ok(isError(read, "42501"), describe(read));
    });
  } finally {
    await db.drop();
  }
});
