import assert from "node:assert/strict";
import { parseArray, toJson } from "./decode.ts";

Deno.test("pgoutput text values become JSON like PostgREST's", () => {
  assert.equal(toJson("bool", "t"), true);
  assert.equal(toJson("int4", "7"), 7);
  assert.equal(toJson("int8", "9007199254740993"), "9007199254740993"); // beyond 2^53
  assert.equal(toJson("int8", "12"), 12);
  assert.equal(toJson("numeric", "12.50"), 12.5);
  assert.equal(toJson("numeric", "0.1000000000000000000001"), "0.1000000000000000000001");
  assert.deepEqual(toJson("jsonb", '{"a":[1]}'), { a: [1] });
  assert.equal(
    toJson("timestamptz", "2026-08-20 09:15:02.123+00"),
    "2026-08-20T09:15:02.123+00:00",
  );
  assert.equal(
    toJson("tstzrange", '["2026-01-01 10:00:00+00","2026-01-01 10:30:00+00")'),
    '["2026-01-01 10:00:00+00","2026-01-01 10:30:00+00")',
  );
  assert.deepEqual(parseArray('{English,"Bahasa Melayu",NULL}', "text"), [
    "English",
    "Bahasa Melayu",
    null,
  ]);
  assert.deepEqual(toJson("_int4", "{1,2,3}"), [1, 2, 3]);
  assert.deepEqual(toJson("_text", "{}"), []);
  assert.equal(toJson("_int4", "{{1,2},{3,4}}"), "{{1,2},{3,4}}");
  assert.equal(toJson("text", null), null);
  assert.equal(toJson("text", undefined), undefined); // unchanged TOAST without old value
});
