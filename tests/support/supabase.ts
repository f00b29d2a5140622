/**
 * A Supabase-shaped PostgreSQL for the tests: its own ephemeral cluster whose bootstrap
 * superuser is `supabase_admin`, so that `postgres` can be what it is on Supabase — a role
 * without superuser (roles are the cluster's, so the run's cluster, whose superuser is
 * `postgres`, cannot hold both). Each database gets Supabase's setup
 * (tests/supabase/platform.sql, then GoTrue's part tests/supabase/gotrue.sql as
 * supabase_auth_admin), then our migrations and seed as `postgres`.
 */
import postgres from "postgres";
import { type Cluster, destroyCluster, startCluster } from "../../edge/db/cluster.ts";
import { migrate } from "../../edge/db/migrate.ts";
import { seed } from "../../edge/db/seed.ts";
import type { Sql } from "./db.ts";

const platformSql = new URL("../supabase/platform.sql", import.meta.url);
const gotrueSql = new URL("../supabase/gotrue.sql", import.meta.url);

export type SupabaseRole = "supabase_admin" | "postgres" | "supabase_auth_admin";

export interface SupabaseDatabase {
  name: string;
  /** A connection URL as `role` (each role logs in with the cluster's password). */
  url(role?: SupabaseRole): string;
  /** A pool as `role` (default `postgres`), one per role, closed with the cluster. */
  sql(role?: SupabaseRole): Sql;
}

export interface SupabaseCluster {
  /**
   * A new Supabase-shaped database. `gotrue: false` stops before GoTrue's migrations;
   * `migrate` (default true) applies ours as `postgres`, `seed` the demo data.
   */
  database(options?: { gotrue?: boolean; migrate?: boolean; seed?: boolean }): Promise<
    SupabaseDatabase
  >;
  /** Applies tests/supabase/gotrue.sql as supabase_auth_admin. */
  runGotrue(db: SupabaseDatabase): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function supabaseCluster(): Promise<SupabaseCluster> {
  const dir = await Deno.makeTempDir({ prefix: "clinic-test-supabase-" });
  let cluster: Cluster;
  try {
    cluster = await startCluster({ dir, fast: true, superuser: "supabase_admin" });
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  const pools: Sql[] = [];
  let counter = 0;
  const urlAs = (database: string, role: SupabaseRole) => {
    const url = new URL(cluster.urlFor(database));
    url.username = role;
    return url.toString();
  };
  const once = async (database: string, role: SupabaseRole, fn: (sql: Sql) => Promise<unknown>) => {
    const sql = postgres(urlAs(database, role), { max: 1, onnotice: () => {} });
    try {
      await fn(sql);
    } finally {
      await sql.end();
    }
  };
  const runGotrue = async (db: SupabaseDatabase) => {
    const text = await Deno.readTextFile(gotrueSql);
    await once(db.name, "supabase_auth_admin", (sql) => sql.begin((tx) => tx.unsafe(text)));
  };

  return {
    async database(options = {}) {
      const name = `sb_${counter++}`;
      await once("postgres", "supabase_admin", async (sql) => {
        await sql.unsafe(`create database ${name}`);
      });
      await once(name, "supabase_admin", async (sql) => {
        await sql.begin((tx) => tx.unsafe(Deno.readTextFileSync(platformSql)));
        const password = cluster.password.replaceAll("'", "''");
        for (const role of ["postgres", "supabase_auth_admin"]) {
          await sql.unsafe(`alter role ${role} password '${password}'`);
        }
      });
      const byRole = new Map<SupabaseRole, Sql>();
      const db: SupabaseDatabase = {
        name,
        url: (role = "postgres") => urlAs(name, role),
        sql(role = "postgres") {
          let sql = byRole.get(role);
          if (!sql) {
            sql = postgres(urlAs(name, role), { max: 4, onnotice: () => {} });
            byRole.set(role, sql);
            pools.push(sql);
          }
          return sql;
        },
      };
      if (options.gotrue ?? true) await runGotrue(db);
      if (options.migrate ?? true) {
        await once(name, "postgres", async (sql) => {
          await migrate(sql);
          if (options.seed) await seed(sql);
        });
      }
      return db;
    },
    runGotrue,
    async [Symbol.asyncDispose]() {
      await Promise.all(pools.map((sql) => sql.end()));
      await destroyCluster(cluster, dir);
    },
  };
}

/** An insert into auth.users as GoTrue makes it, as supabase_auth_admin. */
export async function signUp(
  db: SupabaseDatabase,
  user: {
    email?: string;
    phone?: string;
    meta?: Record<string, unknown>;
    confirmed?: boolean;
    anonymous?: boolean;
  },
): Promise<string> {
  const id = crypto.randomUUID();
  const gotrue = db.sql("supabase_auth_admin");
  await gotrue`
    insert into auth.users (instance_id, id, aud, role, email, phone, raw_app_meta_data,
      raw_user_meta_data, email_confirmed_at, is_anonymous, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated',
      ${user.email ?? null}, ${user.phone ?? null},
      ${gotrue.json({ provider: user.email ? "email" : user.phone ? "phone" : "anonymous" })},
      ${gotrue.json((user.meta ?? {}) as Record<string, string>)},
      ${user.confirmed ? new Date() : null}, ${user.anonymous ?? false}, now(), now())`;
  return id;
}
