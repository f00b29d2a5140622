/**
 * Applies `supabase/migrations/*.sql` in file-name order, each in its own transaction, and
 * records them in `supabase_migrations.schema_migrations` (the Supabase CLI's table), so a
 * re-run is a no-op and a failed migration leaves nothing half-applied.
 */
import type { Sql } from "postgres";

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

const migrationsDir = new URL("../../supabase/migrations/", import.meta.url);

/** The migration files, ordered by their timestamp prefix. */
export async function readMigrations(dir: URL = migrationsDir): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = /^(\d{14})_(.+)\.sql$/.exec(entry.name);
    if (!entry.isFile || !match) continue;
    const sql = await Deno.readTextFile(new URL(entry.name, dir));
    migrations.push({ version: match[1], name: match[2], sql });
  }
  return migrations.sort((a, b) => a.version.localeCompare(b.version));
}

const bookkeeping = `
  create schema if not exists supabase_migrations;
  create table if not exists supabase_migrations.schema_migrations (
    version text primary key,
    statements text[],
    name text
  );
  alter table supabase_migrations.schema_migrations enable row level security;
  alter table supabase_migrations.schema_migrations force row level security;
`;

/** Applies the pending migrations; returns the versions applied by this call. */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? await readMigrations();
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    // One migrator at a time per database.
    await tx`select pg_advisory_xact_lock(hashtext('supabase_migrations'))`;
    await tx.unsafe(bookkeeping);
    const recorded = await tx<{ version: string; name: string }[]>`
      select version, name from supabase_migrations.schema_migrations order by version`;
    const known = new Set(all.map((m) => `${m.version}_${m.name}`));
    const foreign = recorded.find((r) => !known.has(`${r.version}_${r.name}`));
    // Applying on top of another history would fail half-way on objects that already exist.
    if (foreign) {
      throw new Error(
        `the database was migrated by ${foreign.version}_${foreign.name}.sql, which these ` +
          "migrations do not have: recreate the database (the embedded cluster: remove its " +
          "DATA_DIR, .data/ by default)",
      );
    }
  });
  for (const migration of all) {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext('supabase_migrations'))`;
      const [done] = await tx`
        select 1 from supabase_migrations.schema_migrations where version = ${migration.version}`;
      if (done) return;
      await tx.unsafe(migration.sql);
      await tx`
        insert into supabase_migrations.schema_migrations (version, name, statements)
        values (${migration.version}, ${migration.name}, ${[migration.sql]})`;
      applied.push(migration.version);
    });
  }
  return applied;
}
