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

/**
 * Runs `fn` in one transaction as the claims' role; `requestId` lands in the audit log.
 *
 * The statement that sets role, claims and request id is sent without waiting for its answer:
 * postgres.js pipelines the statements of a transaction on its one connection, so the server
 * runs it before the first statement of `fn`, and `fn`'s first statement costs no extra round
 * trip. If it fails, the transaction is aborted (so `fn`'s statements fail too) and its error
 * is the one thrown; `withClaims` waits for it before committing.
 */
export function withClaims<T>(
  sql: postgres.Sql,
  claims: Claims,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
  requestId?: string,
): Promise<T> {
  return sql.begin(async (tx) => {
    const set = tx`select set_config('role', ${claims.role}, true),
      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
      set_config('request.id', ${requestId ?? ""}, true)`.execute();
    const result = await fn(tx);
    await set;
    return result;
  }) as Promise<T>;
}
