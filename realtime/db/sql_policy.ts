/**
 * Batched SQL evaluation of a table's SELECT policies on decoded rows, under a subscriber's
 * claims (`set_config('role')` + `set_config('request.jwt.claims')`, transaction-local).
 *
 * The row is rebuilt with `jsonb_populate_record` and the policies' USING expressions (from
 * pg_policies) are evaluated on it, so deleted rows and old versions can be checked too —
 * something a `SELECT … WHERE id = …` against the table cannot do. One statement per table
 * and principal per transaction, whatever the number of rows and subscribers.
 */
import type { Sql } from "postgres";
import type { Claims } from "../auth/claims.ts";
import type { RowCheck } from "../fanout/authorizer.ts";
import type { Catalog } from "./catalog.ts";

interface PolicyRow {
  permissive: string;
  roles: string[];
  qual: string | null;
}

export interface SqlPolicy {
  evaluate(claims: Claims, checks: RowCheck[]): Promise<boolean[]>;
  /** The predicate for a role on a table (for tests and diagnostics). */
  predicate(role: string, schema: string, table: string): Promise<string>;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function createSqlPolicy(sql: Sql, catalog: Catalog): SqlPolicy {
  const cache = new Map<string, Promise<string>>();

  async function buildPredicate(role: string, schema: string, table: string): Promise<string> {
    const info = catalog.table(schema, table);
    if (!info || !info.rls || catalog.bypassesRls(role)) return "true";
    const policies = await sql<PolicyRow[]>`
      select permissive, roles::text[] as roles, qual from pg_policies
      where schemaname = ${schema} and tablename = ${table} and cmd in ('SELECT', 'ALL')`;
    const applies = policies.filter((p) => p.roles.includes(role) || p.roles.includes("public"));
    const permissive = applies.filter((p) => p.permissive === "PERMISSIVE");
    const restrictive = applies.filter((p) => p.permissive !== "PERMISSIVE");
    if (permissive.length === 0) return "false";
    const any = permissive.map((p) => `coalesce((${p.qual ?? "true"}), false)`).join(" or ");
    const all = restrictive.map((p) => `coalesce((${p.qual ?? "true"}), false)`);
    return [`(${any})`, ...all].join(" and ");
  }

  function predicate(role: string, schema: string, table: string): Promise<string> {
    const key = `${role}\0${schema}\0${table}`;
    let p = cache.get(key);
    if (!p) {
      p = buildPredicate(role, schema, table);
      p.catch(() => cache.delete(key));
      cache.set(key, p);
    }
    return p;
  }

  return {
    predicate,
    async evaluate(claims, checks) {
      const role = claims.role;
      const byTable = new Map<string, number[]>();
      checks.forEach((c, i) => {
        const key = `${c.schema}.${c.table}`;
        byTable.set(key, [...(byTable.get(key) ?? []), i]);
      });
      const out = checks.map(() => false);
      const predicates = new Map<string, string>();
      for (const key of byTable.keys()) {
        const [schema, table] = key.split(".");
        predicates.set(key, await predicate(role, schema, table));
      }
      await sql.begin(async (tx) => {
        await tx`select set_config('role', ${role}, true),
                        set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
        for (const [key, indexes] of byTable) {
          const [schema, table] = key.split(".");
          const rows = indexes.map((i) => checks[i].row);
          const result = await tx.unsafe<{ ok: boolean }[]>(
            `select (select ${predicates.get(key)}
                     from jsonb_populate_record(null::${ident(schema)}.${ident(table)}, x.r)
                       as ${ident(table)}) as ok
             from jsonb_array_elements($1::text::jsonb) with ordinality as x(r, i) order by x.i`,
            [JSON.stringify(rows)],
          );
          result.forEach((r, j) => out[indexes[j]] = r.ok === true);
        }
      });
      return out;
    },
  };
}
