/**
 * The in-process clinic rules must decide exactly as PostgreSQL's own policies: for every
 * principal × realtime table × row, the in-process decision equals the SQL evaluation of
 * the table's SELECT policies under the principal's claims (the SQL fallback path); and the
 * directory's staff roles are the database's (private.staff_roles()).
 */
import assert from "node:assert/strict";
import type { Claims, Row } from "../../../realtime/mod.ts";
import { loadCatalog } from "../../../realtime/db/catalog.ts";
import { clinicRules } from "../../../realtime/db/clinic_rules.ts";
import { createDbAuthorizer } from "../../../realtime/db/authorizer.ts";
import { createDirectory, STAFF_ROLES } from "../../../realtime/db/directory.ts";
import { createSqlPolicy } from "../../../realtime/db/sql_policy.ts";
import { freshDatabase } from "../../support/db.ts";
import { insertAppointment, populate } from "../db_support.ts";

Deno.test("in-process rules agree with the database's policies", async () => {
  const db = await freshDatabase();
  try {
    const w = await populate(db.sql);
    const sql = db.sql;
    // More state: a revoked staff member, an expired board, tickets, notifications.
    const revoked = crypto.randomUUID();
    const expiredBoard = crypto.randomUUID();
    await sql`insert into public.users (id, email, full_name)
      values (${revoked}, ${`${revoked}@realtime.test`}, 'Gone')`;
    await sql`insert into public.clinic_members (user_id, clinic_id, role, revoked_at)
      values (${revoked}, ${w.clinicA}, 'staff', now())`;
    await sql`insert into public.board_tokens (id, clinic_id, expires_at)
      values (${expiredBoard}, ${w.clinicA}, now() - interval '1 minute')`;
    await insertAppointment(sql, w.clinicA, w.patientA, w.doctorA);
    await insertAppointment(sql, w.clinicA, w.otherPatientA, w.doctorA);
    await insertAppointment(sql, w.clinicB, w.patientB, w.doctorB);
    await sql`insert into public.queue_tickets (clinic_id, service_date, code, kind, patient_id)
      values (${w.clinicA}, current_date, 'A101', 'walk_in', ${w.patientA}),
             (${w.clinicB}, current_date, 'B101', 'walk_in', null)`;
    // A guardian (the other patient) of a child of clinic A, and of a deleted record.
    const child = crypto.randomUUID();
    const gone = crypto.randomUUID();
    await sql`insert into public.patients (id, clinic_id, patient_number, full_name, date_of_birth,
        gender, deleted_at)
      values (${child}, ${w.clinicA}, 'C-1', 'Child', '2020-01-01', 'other', null),
             (${gone}, ${w.clinicA}, 'C-2', 'Gone', '2020-01-01', 'other', now())`;
    await sql`insert into public.guardianships (guardian_id, patient_id, clinic_id, relationship)
      values (${w.otherPatientUser}, ${child}, ${w.clinicA}, 'child'),
             (${w.otherPatientUser}, ${gone}, ${w.clinicA}, 'child')`;
    await insertAppointment(sql, w.clinicA, child, w.doctorA);
    await insertAppointment(sql, w.clinicA, gone, w.doctorA);
    await sql`insert into public.queue_tickets (clinic_id, service_date, code, kind, patient_id)
      values (${w.clinicA}, current_date, 'A102', 'walk_in', ${child}),
             (${w.clinicA}, current_date, 'A103', 'walk_in', ${gone})`;
    await sql`insert into public.notifications (clinic_id, user_id, kind, title, body)
      values (${w.clinicA}, ${w.patientUser}, 'k', 't', 'b'),
             (${w.clinicB}, ${w.staffB}, 'k', 't', 'b')`;

    const catalog = await loadCatalog(sql, "supabase_realtime");
    const directory = createDirectory();
    await directory.load(sql);
    const sqlPolicy = createSqlPolicy(sql, catalog);
    const authorizer = createDbAuthorizer({ catalog, rules: clinicRules(directory), sqlPolicy });

    const principals: Record<string, Claims> = {
      staffA: { role: "authenticated", sub: w.staffA },
      staffB: { role: "authenticated", sub: w.staffB },
      patient: { role: "authenticated", sub: w.patientUser },
      otherPatient: { role: "authenticated", sub: w.otherPatientUser },
      revokedStaff: { role: "authenticated", sub: revoked },
      stranger: { role: "authenticated", sub: crypto.randomUUID() },
      board: { role: "anon", sub: w.boardA, app_metadata: { board: true, clinic_id: w.clinicA } },
      boardWrongClinic: {
        role: "anon",
        sub: w.boardA,
        app_metadata: { board: true, clinic_id: w.clinicB },
      },
      expiredBoard: {
        role: "anon",
        sub: expiredBoard,
        app_metadata: { board: true, clinic_id: w.clinicA },
      },
      anon: { role: "anon" },
    };

    let compared = 0;
    for (const table of catalog.tables("public")) {
      const rows = (await sql.unsafe(`select to_jsonb(t) as r from public.${table} t`))
        .map((r) => r.r as Row);
      assert.ok(rows.length > 0, `no rows in ${table}`);
      for (const [name, claims] of Object.entries(principals)) {
        const access = await authorizer.tableAccess(claims, "public", table);
        const expected = await sqlPolicy.evaluate(
          claims,
          rows.map((row) => ({ schema: "public", table, row })),
        );
        if (!access.allowed) {
          // No subscription at all: the database must not show this principal any row
          // (or the role lacks the table privilege entirely).
          const selectable = catalog.table("public", table)?.selectable.get(claims.role);
          if (selectable && selectable.size > 0) {
            assert.deepEqual(expected, rows.map(() => false), `${name} on ${table}`);
          }
          continue;
        }
        rows.forEach((row, i) => {
          const decided = authorizer.decide(claims, access, "public", table, row);
          assert.notEqual(decided, "defer", `${table} has an in-process rule`);
          assert.equal(decided, expected[i], `${name} on ${table} row ${i}`);
          compared++;
        });
      }
    }
    assert.ok(compared > 50, `compared ${compared}`);
    // Sanity: the matrix is not trivially all-false.
    const visible = await sqlPolicy.evaluate(principals.staffA, [{
      schema: "public",
      table: "appointments",
      row: (await sql`select to_jsonb(a) as r from public.appointments a
        where clinic_id = ${w.clinicA} limit 1`)[0].r,
    }]);
    assert.deepEqual(visible, [true]);
  } finally {
    await db.drop();
  }
});

Deno.test("the directory's STAFF_ROLES are private.staff_roles()", async () => {
  await using db = await freshDatabase();
  const rows = await db.sql`select unnest(private.staff_roles())::text as role`;
  assert.deepEqual(new Set(rows.map((r) => r.role)), STAFF_ROLES);
});
