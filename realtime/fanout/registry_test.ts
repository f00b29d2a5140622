import assert from "node:assert/strict";
import { parseFilter } from "../changes/filter.ts";
import type { Change } from "../changes/types.ts";
import { createRegistry } from "./registry.ts";
import type { Subscription, TableBinding } from "./subscriber.ts";

const columns = [{ name: "id", type: "int4" }, { name: "code", type: "text" }];

function insert(record: Record<string, unknown>): Change {
  return { schema: "public", table: "t", type: "INSERT", columns, record } as Change;
}

function subscription(filter: string): Subscription {
  const binding = {
    id: 1,
    raw: {},
    event: "*",
    schema: "public",
    table: "t",
    filterText: filter,
    conditions: parseFilter(filter),
    select: undefined,
  } as unknown as TableBinding["binding"];
  return {
    subscriber: { vsn: "1.0.0", topicJson: `"realtime:${filter}"` } as Subscription["subscriber"],
    claims: { role: "authenticated" },
    principalKey: "p",
    tables: [{ binding, schema: "public", table: "t", access: { allowed: true } as never }],
  };
}

Deno.test("registry: every spelling the filter takes as equal finds its group", () => {
  const registry = createRegistry((_s, _t, column) => columns.find((c) => c.name === column)?.type);
  for (const filter of ["id=eq.5", "id=eq.+005", "id=eq.5.0", "id=eq.0x5", "id=eq.5e0"]) {
    const [group] = registry.join(subscription(filter), 0n).groups;
    assert.ok([...registry.candidates(insert({ id: 5, code: "x" }))].includes(group), filter);
  }
  const [text] = registry.join(subscription("code=eq.a\0b"), 0n).groups;
  assert.ok([...registry.candidates(insert({ id: 1, code: "a\0b" }))].includes(text));
});
