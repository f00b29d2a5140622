import assert from "node:assert/strict";
import { parseFilter } from "../postgres/filter.ts";
import type { Change } from "../postgres/types.ts";
import { createRegistry, type Group } from "./registry.ts";

const columns = [{ name: "id", type: "int4" }, { name: "code", type: "text" }];

function insert(record: Record<string, unknown>): Change {
  return { schema: "public", table: "t", type: "INSERT", columns, record } as Change;
}

function groupFor(registry: ReturnType<typeof createRegistry>, filter: string): Group {
  const principal = registry.principal({ role: "authenticated" }, "p");
  return registry.group({
    principal,
    schema: "public",
    table: "t",
    event: "*",
    conditions: parseFilter(filter),
    select: undefined,
    access: { allowed: true } as Group["access"],
    matchKey: filter,
  }, filter);
}

Deno.test("registry: every spelling the filter takes as equal finds its group", () => {
  const registry = createRegistry((_s, _t, column) => columns.find((c) => c.name === column)?.type);
  for (const filter of ["id=eq.5", "id=eq.+005", "id=eq.5.0", "id=eq.0x5", "id=eq.5e0"]) {
    const group = groupFor(registry, filter);
    assert.ok([...registry.candidates(insert({ id: 5, code: "x" }))].includes(group), filter);
  }
  const text = groupFor(registry, "code=eq.a\0b");
  assert.ok([...registry.candidates(insert({ id: 1, code: "a\0b" }))].includes(text));
});
