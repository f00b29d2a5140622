/**
 * Test databases: each call clones a migrated template on the run's ephemeral cluster
 * (created by tests/run.ts), so tests are isolated and need no clean-up between them.
 */
import postgres from "postgres";
import type { Claims, DbRole } from "../../edge/db/claims.ts";

export type Sql = postgres.Sql;

export interface TestDatabase {
  /** Superuser URL of the new database (bypasses RLS; use `asUser` for client roles). */
  url: string;
  name: string;
  /** A superuser connection to it. */
  sql: Sql;
  drop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with 'deno task test'`);
  return value;
}

export function clusterUrl(database: string): string {
  const url = new URL(env("TEST_PG_URL"));
  url.pathname = `/${database}`;
  return url.toString();
}

let counter = 0;

/** A new database cloned from the migrated template (`seed: true` adds the demo data). */
export function freshDatabase(options: { seed?: boolean } = {}): Promise<TestDatabase> {
  return createDatabase("t", options.seed ? "app_seeded" : "app_blank");
}

/** A brand-new database (from template1): no migration applied. */
export function emptyDatabase(prefix = "empty"): Promise<TestDatabase> {
  return createDatabase(prefix);
}

async function createDatabase(prefix: string, template?: string): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${Deno.pid}_${counter++}`;
  const admin = postgres(clusterUrl("postgres"), { max: 1, onnotice: () => {} });
  try {
    // Cloning needs the template idle; retry briefly when another test is cloning it too.
    for (let attempt = 0;; attempt++) {
      try {
        await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ""}`);
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end();
  }
  const url = clusterUrl(name);
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  const drop = async () => {
    await sql.end();
    const admin = postgres(clusterUrl("postgres"), { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await admin.end();
    }
  };
  return { url, name, sql, drop, [Symbol.asyncDispose]: drop };
}

/** Claims shaped like our access tokens. */
export function claimsFor(
  sub: string | null,
  role: DbRole = "authenticated",
  appMetadata: Record<string, unknown> = {},
): Claims {
  return { sub, role, aud: role, app_metadata: appMetadata };
}

/** Runs `fn` in a transaction under the given claims, exactly as the edge does per request. */
export { withClaims as asUser } from "../../edge/db/claims.ts";
