/**
 * The API over a fresh database clone, and JSON requests through `app.request` (no server),
 * for the handler tests of every suite.
 */
import { freshDatabase, type Sql, type TestDatabase } from "./db.ts";
import { type Config, loadConfig } from "../../edge/config.ts";
import { createApp } from "../../edge/app.ts";
import { createTokenService, type TokenService } from "../../edge/auth/tokens.ts";
import type { ExternalResolver } from "../../edge/middleware/auth.ts";

export type App = ReturnType<typeof createApp>;

export interface CallOptions {
  token?: string;
  /** JSON-encoded, or sent as it is when a string (to test malformed bodies). */
  body?: unknown;
  headers?: Record<string, string>;
  /** The connection's remote address (default 192.0.2.1). */
  ip?: string;
}

// deno-lint-ignore no-explicit-any
export type Answer = { status: number; body: any; headers: Headers };

/** One request; the answer's body parsed as JSON (text when it is not JSON, else undefined). */
export async function call(
  app: App,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  }
  const res = await app.request(
    path,
    { method, headers, body },
    { remoteAddr: { hostname: opts.ip ?? "192.0.2.1", port: 1, transport: "tcp" } },
  );
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export interface AppOverDatabase {
  app: App;
  db: TestDatabase;
  sql: Sql;
  config: Config;
  tokens: TokenService;
}

/** A fresh database clone (seeded by default) and the app over it. */
export async function appOverFreshDatabase(
  env: Record<string, string>,
  options: { seed?: boolean; resolveExternal?: ExternalResolver } = {},
): Promise<AppOverDatabase> {
  const db = await freshDatabase({ seed: options.seed ?? true });
  const config = loadConfig({ APP_ENV: "test", ...env });
  const tokens = createTokenService(config);
  const app = createApp({ config, sql: db.sql, tokens, resolveExternal: options.resolveExternal });
  return { app, db, sql: db.sql, config, tokens };
}
