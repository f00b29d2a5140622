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

/** SQL functions written to take the caller first and set it themselves (see `callAs`). */
export type CallerFunction =
  | "private.book_as"
  | "private.webhook_ingest_as"
  | "private.slots_version_as";

/** An argument of a `callAs` function: text, or anything else as jsonb. */
export type CallArg = string | postgres.JSONValue;

/** `callAs` as `service_role` over `sql` (`Db.serviceCall`): privileged work in one statement. */
export function serviceCall(sql: postgres.Sql, requestId?: string) {
  return <T>(fn: CallerFunction, ...args: CallArg[]): Promise<T> =>
    callAs<T>(sql, { role: "service_role" }, fn, args, requestId);
}

/**
 * Calls `fn(role, claims, request_id, ...args)` as a single statement and returns its value:
 * one implicit transaction, one round trip. The function sets the role (SET LOCAL ROLE),
 * `request.jwt.claims` and `request.id` exactly as `withClaims` does before it runs anything
 * else (private.book_as), so the work inside is under the caller's RLS as with `withClaims` —
 * without a BEGIN/COMMIT exchange, during which the connection would sit idle in transaction,
 * holding its locks, until this process got round to sending the next message. Strings are
 * passed as text, everything else as jsonb.
 */
export async function callAs<T>(
  sql: postgres.Sql,
  claims: Claims,
  fn: CallerFunction,
  args: CallArg[],
  requestId?: string,
): Promise<T> {
  const params = [
    claims.role,
    JSON.stringify(claims),
    requestId ?? "",
    ...args.map((a) => typeof a === "string" ? a : sql.json(a)),
  ];
  const placeholders = params.map((_, i) => `$${i + 1}`).join(", ");
  const [row] = await sql.unsafe(`select ${fn}(${placeholders}) as r`, params, {
    prepare: true,
  });
  return row.r as T;
}
