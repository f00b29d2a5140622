/**
 * edge/errors.ts: what `onError` makes of a database error a request can cause. Every data
 * exception (SQLSTATE class 22: a NUL in text, an offset beyond ±15:59, a number out of
 * range…) is a 400 `invalid_request`, never a 500 — real PostgreSQL errors, through a Hono app
 * whose only error path is `onError`.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { isDataException, onError } from "../../edge/errors.ts";
import { freshDatabase, type Sql } from "../support/db.ts";

const dataExceptions: [string, (sql: Sql) => Promise<unknown>][] = [
  ["22009", (sql) => sql`select '2026-12-01T09:00:00+16:00'::timestamptz`],
  ["22021", (sql) => sql`select ${"a\u0000b"}::text`],
  ["22P05", (sql) => sql`select ${sql.json({ a: "\u0000" })}::jsonb ->> 'a'`],
  ["22003", (sql) => sql`select ${"9999999999999999999"}::bigint`],
  ["22012", (sql) => sql`select 1 / ${0}::int`],
  ["22008", (sql) => sql`select '0000-01-01'::date`],
  ["22P02", (sql) => sql`select ${"x"}::int`],
];

Deno.test("onError: a data exception from SQL (class 22) is a 400 invalid_request", async (t) => {
  await using db = await freshDatabase();
  const app = new Hono();
  app.get("/:code", async (c) => {
    const [, query] = dataExceptions.find(([code]) => code === c.req.param("code"))!;
    await query(db.sql);
    return c.text("no error");
  });
  app.onError(onError);

  for (const [code, query] of dataExceptions) {
    await t.step(code, async () => {
      await assert.rejects(query(db.sql), (e: { code?: string }) => e.code === code);
      const res = await app.request(`/${code}`);
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), {
        error: { code: "invalid_request", message: "The request contains an invalid value" },
      });
    });
  }
});

Deno.test("isDataException: SQLSTATE class 22 and nothing else", () => {
  for (const code of ["22000", "22009", "2200G", "22P05", "22021"]) {
    assert.equal(isDataException({ code }), true, code);
  }
  for (const code of ["23505", "23514", "40001", "42501", "PT400", "22", "220001", "ENOENT"]) {
    assert.equal(isDataException({ code }), false, code);
  }
  assert.equal(isDataException(new Error("no code")), false);
  assert.equal(isDataException(null), false);
});
