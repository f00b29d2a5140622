/** Typed context variables shared by every sub-app. */
import type postgres from "postgres";
import type { Config } from "./config.ts";
import type { TokenClaims, TokenService } from "./auth/tokens.ts";
import type { CallArg, CallerFunction } from "./db/claims.ts";

/** Database access for one request: every statement runs under the caller's claims. */
export interface Db {
  /** One transaction as the caller (role + request.jwt.claims), so RLS applies. */
  run<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T>;
  /**
   * One call of a SQL function that takes the caller first and sets it itself (see
   * `callAs` in db/claims.ts), as a single statement: the same claims as `run`, in one round
   * trip. For hot paths written for it; `run` is the general form.
   */
  callAs<T>(fn: CallerFunction, ...args: CallArg[]): Promise<T>;
  /** One transaction as `service_role` — privileged work, explicit and rare. */
  service<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T>;
  /** `callAs` as `service_role`: privileged work in one statement. */
  serviceCall<T>(fn: CallerFunction, ...args: CallArg[]): Promise<T>;
}

/** Read with `c.get("…")`: Hono's `c.var` copies every variable into a new object per access. */
export interface AppVariables {
  requestId: string;
  config: Config;
  tokens: TokenService;
  db: Db;
  /** The verified caller; `{role: "anon"}` when no token was sent. */
  claims: TokenClaims;
}

export type AppEnv = { Variables: AppVariables };
