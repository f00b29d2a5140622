/**
 * One way from a route to the database: every SQL statement a route sends is one call of an
 * `api.*` function (which answers the response JSON and decides who may), never SQL on tables
 * or a `private.*` function mapped in TypeScript. Single-statement entry points go through
 * `callAs` / `serviceCall` (caller-first functions); the health check sends `select 1`.
 */
import assert from "node:assert/strict";

const dir = new URL("../../edge/routes/", import.meta.url);

Deno.test("routes reach the database only through api.* functions", async () => {
  let statements = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, dir));
    // A tagged template sent to the database: tx`…`, sql`…`, sp`…`.
    for (const match of source.matchAll(/\b(?:tx|sql|sp)`([^`]*)`/g)) {
      statements++;
      const text = match[1].replace(/\$\{[^}]*\}/g, "$").replace(/\s+/g, " ").trim();
      const ok = /^select api\.[a-z_]+\(/.test(text) || (entry.name === "health.ts" &&
        text === "select 1");
      assert.ok(ok, `${entry.name}: ${text.slice(0, 120)}`);
    }
  }
  assert.ok(statements > 20, `found ${statements} statements`);
});
