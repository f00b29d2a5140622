/**
 * The database-backed authorizer: table and column access from the catalog (publication,
 * column privileges), row decisions from the in-process clinic rules where a table has one,
 * and batched SQL evaluation of the table's policies otherwise.
 */
import { type Claims, principalKey } from "../auth/claims.ts";
import type { Authorizer, TableRule } from "../fanout/authorizer.ts";
import type { Catalog } from "./catalog.ts";
import type { SqlPolicy } from "./sql_policy.ts";

export interface DbAuthorizerOptions {
  catalog: Catalog;
  rules: Record<string, TableRule>;
  sqlPolicy: SqlPolicy;
  /** Changes whenever the rules' answers may change (the directory's stamp). */
  stamp?: () => number;
}

export function createDbAuthorizer(options: DbAuthorizerOptions): Authorizer {
  const { catalog, rules, sqlPolicy, stamp } = options;

  function bypass(claims: Claims, schema: string, table: string): boolean {
    const info = catalog.table(schema, table);
    return !info?.rls || catalog.bypassesRls(claims.role);
  }

  return {
    tables: (schema) => catalog.tables(schema),
    columnType: (schema, table, column) =>
      catalog.table(schema, table)?.columns.find((c) => c.name === column)?.type,
    tableAccess(claims, schema, table) {
      const info = catalog.table(schema, table);
      if (!info) {
        return Promise.resolve({ allowed: false, reason: `${schema}.${table} is not published` });
      }
      const columns = info.selectable.get(claims.role);
      if (!columns || columns.size === 0) {
        return Promise.resolve({ allowed: false, reason: "permission denied" });
      }
      const rule = rules[`${schema}.${table}`];
      if (rule && !bypass(claims, schema, table) && rule.principal(claims) === null) {
        return Promise.resolve({ allowed: false, reason: "permission denied" });
      }
      return Promise.resolve({ allowed: true, columns });
    },
    ...(stamp ? { stamp } : {}),
    policyKey(claims, schema, table) {
      if (bypass(claims, schema, table)) return `${schema}.${table}|all|${claims.role}`;
      const rule = rules[`${schema}.${table}`];
      if (rule) return `${schema}.${table}|${rule.principal(claims) ?? "\0none"}`;
      return `${schema}.${table}|sql|${principalKey(claims)}`;
    },
    decide(claims, _access, schema, table, row) {
      if (bypass(claims, schema, table)) return true;
      const rule = rules[`${schema}.${table}`];
      if (!rule) return "defer";
      return rule.principal(claims) !== null && rule.allows(claims, row);
    },
    evaluate: (claims, checks) => sqlPolicy.evaluate(claims, checks),
  };
}
