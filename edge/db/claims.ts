/**
 * Runs SQL under a caller's claims, as PostgREST does: one transaction with the database role
 * switched (`SET LOCAL ROLE`) and `request.jwt.claims` set, so RLS policies, column privileges
 * and the audit trigger all see who acts.
 */
import type postgres from "postgres";

export type DbRole = "anon" | "authenticated" | "service_role";

export interface Claims {
  sub?: string | null;
  role: DbRole;
  [claim: string]: unknown;
}

/** Runs `fn` in one transaction as the claims' role; `requestId` lands in the audit log. */
export function withClaims<T>(
  sql: postgres.Sql,
  claims: Claims,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
  requestId?: string,
): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('role', ${claims.role}, true),
      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
      set_config('request.id', ${requestId ?? ""}, true)`;
    return await fn(tx);
  }) as Promise<T>;
}
