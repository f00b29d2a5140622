/**
 * The audit viewer's rules in the database (20261206001600_audit_viewer.sql): the list of
 * health-data tables is the clinical care-team policy's, and an entry about such a record shows
 * only to an admin that record's own RLS lets read it.
 */
import assert from "node:assert/strict";
import { asUser, freshDatabase } from "../support/db.ts";
import { CLINIC_A, PATIENTS, userClaims, USERS } from "./_helpers.ts";

Deno.test("audit viewer: health tables and record visibility follow the records' own RLS", async (t) => {
  await using db = await freshDatabase({ seed: true });

  await t.step(
    "audit.health_tables() is exactly the tables under the care-team policy",
    async () => {
      const [{ listed }] = await db.sql`
      select array(select unnest(audit.health_tables()) order by 1) as listed`;
      const policed = await db.sql`
      select tablename from pg_policies
      where schemaname = 'public' and policyname = 'clinical_care_team_read' order by 1`;
      assert.deepEqual(listed, policed.map((p) => p.tablename));
    },
  );

  await t.step("an entry about a record: visible to whom the record is visible", async () => {
    const [record] = await db.sql`
      insert into public.medical_records (clinic_id, patient_id, primary_diagnosis)
      values (${CLINIC_A}, ${PATIENTS.lim}, 'Influenza') returning id::text`;
    const visible = (user: string) =>
      asUser(db.sql, userClaims(user), async (tx) => {
        const [row] = await tx`select audit.record_visible('medical_records', ${record.id}) as v`;
        return row.v as boolean;
      });
    assert.equal(await visible(USERS.nurseOng), true, "the clinic's nurse reads the record");
    assert.equal(await visible(USERS.admin), false, "an admin outside the care team does not");
    const seen = await asUser(
      db.sql,
      userClaims(USERS.admin),
      (tx) => tx`select 1 from audit.logs where record_id = ${record.id}`,
    );
    assert.equal(seen.length, 0);
    const other = await asUser(
      db.sql,
      userClaims(USERS.admin),
      (tx) => tx`select 1 from audit.logs where table_name = 'clinics' limit 1`,
    );
    assert.equal(other.length, 1, "the clinic's other entries stay readable");
  });
});
