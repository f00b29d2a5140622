import assert from "node:assert/strict";
import { parseBindings } from "./bindings.ts";

Deno.test("bindings: ids are stable, unique, and echo the input", () => {
  const input = [
    { event: "*", schema: "public", table: "a", extra: 1 },
    { event: "INSERT", schema: "public", table: "a", filter: "id=eq.1" },
  ];
  const a = parseBindings(input);
  const b = parseBindings(input);
  assert.deepEqual(a.map((x) => x.id), b.map((x) => x.id));
  assert.notEqual(a[0].id, a[1].id);
  assert.equal(a[0].raw, input[0]);
  assert.throws(() => parseBindings([{ event: "*", schema: "public", filter: "id=eq.1" }]));
  assert.throws(() => parseBindings([{ event: "TRUNCATE", schema: "public", table: "a" }]));
});
