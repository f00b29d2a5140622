/**
 * Authorization of postgres_changes deliveries.
 *
 * Decisions are made per *policy principal*: the part of the claims a table's policy reads
 * (for example "staff of clinics A and B"). Subscribers whose claims map to the same policy
 * principal share every decision, so the cost grows with distinct principals, not with
 * subscribers. Rules that are plain membership/equality checks run in process; anything
 * else is deferred and evaluated in one batched SQL statement per principal and transaction.
 */
import type { Claims } from "../auth/claims.ts";
import type { Row } from "../changes/types.ts";

/** What a principal may see of a table. */
export interface TableAccess {
  /** False: the principal may not subscribe to this table at all. */
  allowed: boolean;
  /** Columns the principal may SELECT; undefined means all. */
  columns?: ReadonlySet<string>;
  /** Why access was refused (client-safe). */
  reason?: string;
}

export type RowDecision = boolean | "defer";

export interface RowCheck {
  schema: string;
  table: string;
  row: Row;
}

export interface Authorizer {
  /** Tables that can be subscribed to in a schema; undefined means "not known". */
  tables(schema: string): readonly string[] | undefined;
  /** Column type, when the catalog knows it (used to index equality filters). */
  columnType(schema: string, table: string, column: string): string | undefined;
  /** Table-level access for claims (called at join and token refresh). */
  tableAccess(claims: Claims, schema: string, table: string): Promise<TableAccess>;
  /**
   * Decision-sharing key for the claims on a table, as of now: claims with equal keys get
   * equal row decisions (it may change when memberships change).
   */
  policyKey(claims: Claims, schema: string, table: string): string;
  /**
   * Optional: a number (≥ 0) that changes whenever any policy key may change (memberships,
   * board tokens, their expiry). While it holds, the fan-out reuses policy keys across
   * transactions; without it they are recomputed for every transaction.
   */
  stamp?(): number;
  /** Row-level decision in process, or "defer" to evaluate in SQL. */
  decide(claims: Claims, access: TableAccess, schema: string, table: string, row: Row): RowDecision;
  /** Batched evaluation of deferred rows under the claims; one decision per check. */
  evaluate(claims: Claims, checks: RowCheck[]): Promise<boolean[]>;
}

/** An in-process rule for one table. */
export interface TableRule {
  /**
   * The policy principal for these claims, or null when the claims may see no row of the
   * table. Equal keys must imply equal `allows` results for every row.
   */
  principal(claims: Claims): string | null;
  /** Row visibility for claims whose principal is not null. */
  allows(claims: Claims, row: Row): RowDecision;
  /** Visible columns for the claims; undefined means all. */
  columns?(claims: Claims): ReadonlySet<string> | undefined;
}

export interface RuleAuthorizerOptions {
  /** Rules by `schema.table`. Tables without a rule are refused. */
  rules: Record<string, TableRule>;
  /** Column types by `schema.table` → column → type (optional, for filter indexing). */
  columnTypes?: Record<string, Record<string, string>>;
  /** SQL fallback for rules that answer "defer". Without it, deferred rows are refused. */
  evaluate?(claims: Claims, checks: RowCheck[]): Promise<boolean[]>;
}

/** An authorizer made of in-process table rules (plus an optional SQL fallback). */
export function createRuleAuthorizer(options: RuleAuthorizerOptions): Authorizer {
  const bySchema = new Map<string, string[]>();
  for (const name of Object.keys(options.rules)) {
    const [schema, table] = name.split(".");
    bySchema.set(schema, [...(bySchema.get(schema) ?? []), table]);
  }
  return {
    tables: (schema) => bySchema.get(schema) ?? [],
    columnType: (schema, table, column) => options.columnTypes?.[`${schema}.${table}`]?.[column],
    tableAccess(claims, schema, table) {
      const rule = options.rules[`${schema}.${table}`];
      if (!rule) {
        return Promise.resolve({
          allowed: false,
          reason: `${schema}.${table} is not a realtime table`,
        });
      }
      const principal = rule.principal(claims);
      if (principal === null) {
        return Promise.resolve({ allowed: false, reason: "permission denied" });
      }
      return Promise.resolve({ allowed: true, columns: rule.columns?.(claims) });
    },
    policyKey(claims, schema, table) {
      const rule = options.rules[`${schema}.${table}`];
      return `${schema}.${table}|${rule?.principal(claims) ?? "\0none"}`;
    },
    decide(claims, _access, schema, table, row) {
      const rule = options.rules[`${schema}.${table}`];
      if (!rule || rule.principal(claims) === null) return false;
      return rule.allows(claims, row);
    },
    evaluate(claims, checks) {
      if (!options.evaluate) return Promise.resolve(checks.map(() => false));
      return options.evaluate(claims, checks);
    },
  };
}
