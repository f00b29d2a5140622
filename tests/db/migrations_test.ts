/**
 * Migrations: apply to an empty database, re-run as a no-op, one transaction each (a failure
 * leaves nothing behind, not even bookkeeping), safe when two migrators race, and the files
 * also apply unchanged with `psql -1 -f` (as the Supabase CLI would) to the same catalog.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { migrate, type Migration, readMigrations } from "../../edge/db/migrate.ts";
import { type Sql } from "../support/db.ts";
import { emptyDatabase, pgErrorCode } from "./_helpers.ts";
import { catalogFingerprint, fingerprintDifference } from "./catalog.ts";

const migrationsDir = new URL("../../supabase/migrations/", import.meta.url);

async function recorded(sql: Sql): Promise<{ version: string; name: string }[]> {
  return [
    ...await sql<{ version: string; name: string }[]>`
      select version, name from supabase_migrations.schema_migrations order by version`,
  ].map((r) => ({ ...r }));
}

async function exists(sql: Sql, name: string): Promise<boolean> {
  const [row] = await sql`select to_regclass(${name}) is not null as present`;
  return row.present;
}

Deno.test("migrations apply to an empty database; a second run is a no-op", async () => {
  const db = await emptyDatabase("mig");
  try {
    const files = await readMigrations();
    assert.ok(files.length >= 8, "the migration files are found");
    const applied = await migrate(db.sql);
    assert.deepEqual(applied, files.map((m) => m.version));
    assert.deepEqual(
      await recorded(db.sql),
      files.map((m) => ({ version: m.version, name: m.name })),
    );
    assert.ok(await exists(db.sql, "public.appointments"));
    assert.ok(await exists(db.sql, "audit.logs"));

    assert.deepEqual(await migrate(db.sql), [], "second run applies nothing");
    assert.deepEqual(await migrate(db.sql), [], "third run applies nothing");
    assert.equal((await recorded(db.sql)).length, files.length);
  } finally {
    await db.drop();
  }
});

Deno.test("a database migrated by another history is refused before anything is applied", async () => {
  const db = await emptyDatabase("mig");
  try {
    const files = await readMigrations();
    await migrate(db.sql, files.slice(0, 1));
    await db.sql`update supabase_migrations.schema_migrations set name = 'renamed'`;
    await assert.rejects(migrate(db.sql), /migrated by \d{14}_renamed\.sql.*recreate the database/);
    assert.equal((await recorded(db.sql)).length, 1, "nothing more was applied");
  } finally {
    await db.drop();
  }
});

Deno.test("two migrators racing on one empty database apply each migration once", async () => {
  const db = await emptyDatabase("mig");
  const other = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const files = await readMigrations();
    const [a, b] = await Promise.all([migrate(db.sql), migrate(other)]);
    assert.deepEqual([...a, ...b].sort(), files.map((m) => m.version), "each applied once");
    assert.equal((await recorded(db.sql)).length, files.length);
  } finally {
    await other.end();
    await db.drop();
  }
});

Deno.test("each migration is one transaction: a failure leaves nothing of it", async (t) => {
  const db = await emptyDatabase("mig");
  try {
    const real = await readMigrations();
    await migrate(db.sql, real);
    const valid: Migration = {
      version: "29990101000001",
      name: "valid",
      sql: `create table public.t_valid (id int primary key);
            alter table public.t_valid enable row level security;`,
    };
    const failing: Migration = {
      version: "29990101000002",
      name: "failing",
      sql: `create table public.t_half (id int primary key);
            insert into public.t_half values (1);
            alter table public.clinics add column half_done text;
            create index t_half_idx on public.t_half (id);
            create policy half on public.clinics for select to anon using (true);
            select 1 / 0;`,
    };
    const after: Migration = {
      version: "29990101000003",
      name: "after",
      sql: "create table public.t_after (id int);",
    };

    await t.step("the valid one commits, the failing one rolls back entirely", async () => {
      const code = await pgErrorCode(migrate(db.sql, [...real, valid, failing, after]));
      assert.equal(code, "22012", "division_by_zero surfaces");
      assert.ok(await exists(db.sql, "public.t_valid"), "the valid migration stays applied");
      assert.ok(!await exists(db.sql, "public.t_half"), "no table of the failing one");
      assert.ok(!await exists(db.sql, "public.t_half_idx"), "no index of the failing one");
      const [{ column }] = await db.sql`
        select count(*)::int as column from pg_attribute
        where attrelid = 'public.clinics'::regclass and attname = 'half_done'`;
      assert.equal(column, 0, "no column of the failing one");
      const [{ policies }] = await db.sql`
        select count(*)::int as policies from pg_policies where policyname = 'half'`;
      assert.equal(policies, 0, "no policy of the failing one");
      assert.ok(!await exists(db.sql, "public.t_after"), "later migrations are not attempted");
      const versions = (await recorded(db.sql)).map((r) => r.version);
      assert.ok(versions.includes(valid.version), "bookkeeping row of the valid one");
      assert.ok(!versions.includes(failing.version), "no bookkeeping row of the failing one");
      assert.ok(!versions.includes(after.version));
    });

    await t.step("a syntax error fails the same way", async () => {
      const broken: Migration = {
        version: "29990101000002",
        name: "broken",
        sql: "create table public.t_half (id int); create tabel oops;",
      };
      assert.equal(await pgErrorCode(migrate(db.sql, [...real, valid, broken])), "42601");
      assert.ok(!await exists(db.sql, "public.t_half"));
      assert.ok(!(await recorded(db.sql)).some((r) => r.version === broken.version));
    });

    await t.step("once fixed, the re-run applies only what is pending", async () => {
      const fixed = { ...failing, sql: failing.sql.replace("select 1 / 0;", "") };
      assert.deepEqual(await migrate(db.sql, [...real, valid, fixed, after]), [
        fixed.version,
        after.version,
      ]);
      assert.ok(await exists(db.sql, "public.t_half"));
      assert.deepEqual(await migrate(db.sql, [...real, valid, fixed, after]), []);
    });
  } finally {
    await db.drop();
  }
});

// ---------------------------------------------------------------------------------------
// psql -1 -f
// ---------------------------------------------------------------------------------------

Deno.test("the files apply unchanged with `psql -1 -f`, in file-name order, to the same schema", async (t) => {
  const viaMigrator = await emptyDatabase("mig");
  const viaPsql = await emptyDatabase("psql");
  try {
    const files: string[] = [];
    for await (const entry of Deno.readDir(migrationsDir)) {
      if (entry.isFile && entry.name.endsWith(".sql")) files.push(entry.name);
    }
    files.sort();
    assert.deepEqual(
      files.map((f) => f.slice(0, 14)),
      (await readMigrations()).map((m) => m.version),
      "file-name order is the migrator's order",
    );

    await migrate(viaMigrator.sql);

    // The session time zone of psql's connection must not matter either (the clinic's zone).
    for (const file of files) {
      await t.step(`psql -1 -f ${file}`, async () => {
        const out = await new Deno.Command("psql", {
          args: [
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-1",
            "-f",
            new URL(file, migrationsDir).pathname,
            viaPsql.url,
          ],
          env: { PGTZ: "Asia/Singapore", PGAPPNAME: "migrations_test" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.ok(out.success, `psql failed (${out.code}):\n${stderr}`);
        assert.doesNotMatch(stderr, /ERROR/);
      });
    }

    await t.step("the same catalog (tests/db/catalog.ts)", async () => {
      const difference = fingerprintDifference(
        await catalogFingerprint(viaMigrator.url),
        await catalogFingerprint(viaPsql.url),
      );
      assert.equal(difference, null, `psql built another catalog:\n${difference}`);
    });
    await t.step("the psql database has no migrator bookkeeping, the other does", async () => {
      assert.ok(!await exists(viaPsql.sql, "supabase_migrations.schema_migrations"));
      assert.ok(await exists(viaMigrator.sql, "supabase_migrations.schema_migrations"));
    });
  } finally {
    await viaMigrator.drop();
    await viaPsql.drop();
  }
});
