/**
 * Self-hosted first boot, our migrations before Supabase Auth's (GoTrue's): our stand-ins for
 * auth.jwt() & co. never keep GoTrue from starting — created as supabase_auth_admin when the
 * migrator may act as it (GoTrue's `create or replace` then takes them over), refused before
 * anything is created when it may not.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { migrate } from "../../edge/db/migrate.ts";
import { supabaseCluster, type SupabaseDatabase } from "../support/supabase.ts";

async function authFunctions(db: SupabaseDatabase) {
  return await db.sql("supabase_admin")<{ name: string; owner: string; def: string }[]>`
    select p.proname as name, pg_get_userbyid(p.proowner) as owner, p.prosrc as def
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' order by 1`;
}

Deno.test("our migrations first, then GoTrue's: GoTrue replaces our claim helpers", async (t) => {
  await using supabase = await supabaseCluster();

  await t.step("a migrator that may act as supabase_auth_admin (the superuser)", async () => {
    const db = await supabase.database({ gotrue: false, migrate: false });
    await migrate(db.sql("supabase_admin"));
    const ours = await authFunctions(db);
    assert.deepEqual(
      ours.map((f) => `${f.name} ${f.owner}`),
      [
        "email supabase_auth_admin",
        "jwt supabase_auth_admin",
        "role supabase_auth_admin",
        "uid supabase_auth_admin",
      ],
    );
    await supabase.runGotrue(db);
    const after = await authFunctions(db);
    for (const f of after) {
      assert.equal(f.owner, "supabase_auth_admin", f.name);
      assert.match(f.def, /request\.jwt\.claims/, `${f.name} is GoTrue's now`);
    }
    const [{ config }] = await db.sql("supabase_admin")`
      select array_to_string(proconfig, ',') as config from pg_proc
      where oid = 'auth.jwt()'::regprocedure`;
    assert.equal(config, 'search_path=""', "auth.jwt() is GoTrue's definition");
  });

  await t.step(
    "`postgres`, not a member of supabase_auth_admin: refused, GoTrue unharmed",
    async () => {
      const db = await supabase.database({ gotrue: false, migrate: false });
      const sql = db.sql();
      await assert.rejects(
        () => migrate(sql),
        (error: unknown) =>
          error instanceof postgres.PostgresError &&
          /Supabase Auth has not run its migrations yet/.test(error.message),
      );
      assert.deepEqual((await authFunctions(db)).map((f) => f.name), ["email", "role", "uid"]);
      await supabase.runGotrue(db);
      await migrate(sql);
      const [{ n }] =
        await sql`select count(*)::int as n from supabase_migrations.schema_migrations`;
      assert.ok(n >= 11, `${n} migrations applied after GoTrue`);
    },
  );
});
