import assert from "node:assert/strict";
import { FilterError, matches, parseFilter } from "./filter.ts";

const cols = [
  { name: "id", type: "int8" },
  { name: "status", type: "text" },
  { name: "fee", type: "numeric" },
  { name: "at", type: "timestamptz" },
  { name: "clinic_id", type: "uuid" },
  { name: "ok", type: "bool" },
];
const row = {
  id: 42,
  status: "checked_in",
  fee: 12.5,
  at: "2026-08-20T09:15:02.123+00:00",
  clinic_id: "0A000000-0000-4000-8000-00000000000A".toLowerCase(),
  ok: true,
};
const m = (filter: string) => matches(parseFilter(filter), row, cols);

Deno.test("filters", async (t) => {
  await t.step("classic operators with typed comparison", () => {
    assert.ok(m("id=eq.42"));
    assert.ok(!m("id=neq.42"));
    assert.ok(m("id=gt.9")); // numeric, not text, comparison
    assert.ok(m("id=gte.42") && m("id=lte.42") && !m("id=lt.42"));
    assert.ok(m("fee=lt.100"));
    assert.ok(m("status=in.(scheduled,checked_in)"));
    assert.ok(!m("status=in.(scheduled,cancelled)"));
    assert.ok(m("at=gt.2026-08-20 09:00:00+00"));
    assert.ok(m("at=lt.2026-08-20T17:16:00+08:00"));
    assert.ok(m("clinic_id=eq.0A000000-0000-4000-8000-00000000000A")); // uuid case
    assert.ok(m("ok=eq.true"));
  });
  await t.step("newer forms: not., is, like, ilike, AND, quoting", () => {
    assert.ok(m("status=not.eq.cancelled"));
    assert.ok(m("status=like.check%") && m("status=ilike.CHECK*"));
    assert.ok(m("status=is.null") === false);
    assert.ok(m("id=gt.1,status=eq.checked_in"));
    assert.ok(!m("id=gt.1,status=eq.other"));
    assert.deepEqual(parseFilter('status=in.("a,b",c)')[0].values, ["a,b", "c"]);
    assert.ok(matches(parseFilter("note=is.null"), { note: null }, []));
    assert.ok(!matches(parseFilter("note=eq.x"), { note: null }, [])); // NULL never equals
  });
  await t.step("invalid filters are refused", () => {
    for (const bad of ["id", "id=zz.1", "id=eq", "id=in.()", "1x=eq.1", "a=match.x", "id=in.(1"]) {
      assert.throws(() => parseFilter(bad), FilterError, bad);
    }
    const many = Array.from({ length: 101 }, (_, i) => i).join(",");
    assert.throws(() => parseFilter(`id=in.(${many})`), FilterError);
  });
});
