/**
 * Our migrations on a Supabase-shaped database (tests/support/supabase.ts: Supabase's default
 * privileges on public, `postgres` without superuser, GoTrue's auth schema) leave the API roles
 * exactly what they have on a plain cluster — every schema, table, column, sequence and
 * function of ours, from the catalog — the row-level answers unchanged, and GoTrue's functions
 * untouched.
 */
import assert from "node:assert/strict";
import { migrate } from "../../edge/db/migrate.ts";
import { seed } from "../../edge/db/seed.ts";
import { freshDatabase, type Sql } from "../support/db.ts";
import { supabaseCluster } from "../support/supabase.ts";
import {
  addFixtures,
  attempt,
  boardClaims,
  catalogTables,
  CLINIC_A_ACTORS,
  type Outcome,
  quoteIdent,
  userClaims,
  USERS,
} from "../db/_helpers.ts";
import { claimsFor } from "../support/db.ts";

/** The schemas our migrations create objects in (auth's functions are GoTrue's there). */
const OUR_SCHEMAS = ["public", "private", "api", "audit", "realtime", "supabase_migrations"];
const API_ROLES = ["anon", "authenticated", "service_role"];

/** `object role → privileges` for every object of ours, as has_*_privilege answers. */
async function privileges(sql: Sql): Promise<Map<string, string>> {
  const rows = await sql<{ object: string; role: string; privileges: string }[]>`
    with roles(role) as (select unnest(string_to_array(${API_ROLES.join(",")}, ','))),
    ours as (select oid, nspname from pg_namespace
      where nspname = any(string_to_array(${OUR_SCHEMAS.join(",")}, ',')))
    select 'schema ' || n.nspname as object, r.role, concat_ws(',',
        case when has_schema_privilege(r.role, n.oid, 'USAGE') then 'USAGE' end,
        case when has_schema_privilege(r.role, n.oid, 'CREATE') then 'CREATE' end) as privileges
      from ours n cross join roles r
    union all
    select case c.relkind when 'S' then 'sequence ' else 'table ' end || n.nspname || '.'
        || c.relname, r.role,
      array_to_string(array(
        select p from unnest(case c.relkind when 'S' then array['USAGE', 'SELECT', 'UPDATE']
          else array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
            'TRIGGER'] end) p
        where case c.relkind when 'S' then has_sequence_privilege(r.role, c.oid, p)
          else has_table_privilege(r.role, c.oid, p) end), ',')
      from pg_class c join ours n on n.oid = c.relnamespace cross join roles r
      where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    union all
    select 'column ' || n.nspname || '.' || c.relname || '.' || a.attname, r.role,
      array_to_string(array(
        select p from unnest(array['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p
        where has_column_privilege(r.role, c.oid, a.attnum, p)), ',')
      from pg_class c join ours n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      cross join roles r
      where c.relkind in ('r', 'p', 'v', 'm', 'f')
    union all
    select 'function ' || p.oid::regprocedure::text, r.role,
      case when has_function_privilege(r.role, p.oid, 'EXECUTE') then 'EXECUTE' else '' end
      from pg_proc p join ours n on n.oid = p.pronamespace cross join roles r`;
  return new Map(rows.map((r) => [`${r.object} ${r.role}`, r.privileges]));
}

/** GoTrue's functions in auth: owner, ACL and definition. */
async function authFunctions(sql: Sql) {
  return await sql<{ name: string; owner: string; acl: string | null; def: string }[]>`
    select p.oid::regprocedure::text as name, pg_get_userbyid(p.proowner) as owner,
      p.proacl::text as acl, pg_get_functiondef(p.oid) as def
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' order by 1`;
}

Deno.test("on a Supabase-shaped database the API roles hold exactly the plain cluster's privileges", async (t) => {
  await using supabase = await supabaseCluster();
  const db = await supabase.database({ seed: true });
  await using plain = await freshDatabase({ seed: true });
  const expected = await privileges(plain.sql);
  const actual = await privileges(db.sql("supabase_admin"));

  await t.step("the enumeration covers our schemas, tables, columns, sequences, functions", () => {
    for (
      const key of [
        "schema public anon",
        "table public.clinics anon",
        "column public.clinics.registration_number anon",
        "column public.doctors.medical_registration_number anon",
        "sequence public.jobs_id_seq authenticated",
        "function api.me() authenticated",
        "table private.credentials service_role",
      ]
    ) {
      assert.ok(expected.has(key), `the plain cluster's enumeration misses ${key}`);
    }
    assert.ok(expected.size > 2000, `only ${expected.size} privileges enumerated`);
  });

  await t.step("every object of ours: the same privileges, no more and no less", () => {
    const differences: string[] = [];
    for (const [key, privs] of actual) {
      if (!expected.has(key)) differences.push(`${key}: only on Supabase, ${privs || "none"}`);
      else if (expected.get(key) !== privs) {
        differences.push(`${key}: ${privs || "none"} on Supabase, ${expected.get(key) || "none"}`);
      }
    }
    for (const key of expected.keys()) {
      if (!actual.has(key)) differences.push(`${key}: missing on Supabase`);
    }
    assert.deepEqual(differences, []);
  });

  await t.step("anon cannot read withheld clinic and doctor columns", async () => {
    const sql = db.sql();
    for (
      const query of [
        "select registration_number, settings, external_org_id from public.clinics",
        "select medical_registration_number, user_id from public.doctors",
        "truncate public.clinics",
      ]
    ) {
      const outcome = await attempt(sql, claimsFor(null, "anon"), query);
      assert.ok(!outcome.ok && outcome.code === "42501", `${query}: ${JSON.stringify(outcome)}`);
    }
  });
});

/** What each actor may read and update in every public table (row counts or the error). */
async function rowMatrix(sql: Sql, boardA: string, clinicA: string): Promise<string[]> {
  const actors = [
    ...CLINIC_A_ACTORS.map((a) => ({ name: a.name, claims: userClaims(a.id) })),
    { name: "patient.chan (clinic B)", claims: userClaims(USERS.patientChan) },
    { name: "anon", claims: claimsFor(null, "anon") },
    { name: "board A", claims: boardClaims(boardA, clinicA) },
  ];
  const show = (o: Outcome) => o.ok ? `${o.count}:${JSON.stringify(o.rows)}` : o.code;
  const lines: string[] = [];
  const tables = (await catalogTables(sql)).filter((t) => t.schema === "public");
  for (const table of tables) {
    const column = quoteIdent(table.columns[0]);
    for (const actor of actors) {
      const read = await attempt(
        sql,
        actor.claims,
        `select count(*)::int as n from ${table.qualified}`,
      );
      const write = await attempt(
        sql,
        actor.claims,
        `update ${table.qualified} set ${column} = ${column}`,
      );
      lines.push(`${table.qualified} ${actor.name}: read ${show(read)}, update ${show(write)}`);
    }
  }
  return lines;
}

Deno.test("on a Supabase-shaped database every actor reads and writes the same rows", async () => {
  await using supabase = await supabaseCluster();
  const db = await supabase.database({ seed: true });
  await using plain = await freshDatabase({ seed: true });
  const sb = db.sql();
  const sbFixtures = await addFixtures(sb);
  const plainFixtures = await addFixtures(plain.sql);
  const clinicA = sbFixtures.patients[0].clinicId;
  const expected = await rowMatrix(plain.sql, plainFixtures.boards.liveA, clinicA);
  const actual = await rowMatrix(sb, sbFixtures.boards.liveA, clinicA);
  assert.ok(expected.length > 300, `only ${expected.length} probes`);
  assert.deepEqual(actual, expected);
});

Deno.test("our migrations leave GoTrue's auth functions as they were", async () => {
  await using supabase = await supabaseCluster();
  const db = await supabase.database({ migrate: false });
  const admin = db.sql("supabase_admin");
  const before = await authFunctions(admin);
  assert.deepEqual(before.map((f) => f.name), [
    "auth.email()",
    "auth.jwt()",
    "auth.role()",
    "auth.uid()",
  ]);
  const sql = db.sql();
  await migrate(sql);
  await seed(sql);
  assert.deepEqual(await authFunctions(admin), before);
});
