/** Unit tests: filters, value decoding, the retention log, JWT verification. */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { FilterError, matches, parseFilter } from "../../realtime/changes/filter.ts";
import { parseBindings } from "../../realtime/changes/bindings.ts";
import { parseArray, toJson } from "../../realtime/feed/decode.ts";
import { createRetentionLog } from "../../realtime/catchup/retention.ts";
import { createVerifier } from "../../realtime/auth/jwt.ts";
import { formatLsn, parseLsn } from "../../realtime/changes/types.ts";
import { SECRET, sign } from "./support.ts";

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
  await t.step("bindings: ids are stable, unique, and echo the input", () => {
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
});

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
  assert.equal(formatLsn(parseLsn("16/B374D848")), "16/B374D848");
});

Deno.test("retention log: window, cap, gaps", () => {
  const log = createRetentionLog({ windowMs: 60_000, maxTransactions: 3 });
  log.reset(10n);
  const now = Date.now();
  const txn = (lsn: bigint, ago: number) => ({
    lsn,
    commitTimestamp: new Date(now - ago).toISOString(),
    changes: [],
  });
  log.append(txn(20n, 120_000));
  log.append(txn(30n, 1000));
  log.append(txn(40n, 500));
  assert.deepEqual(log.after(10n, 40n)!.map((t) => t.lsn), [20n, 30n, 40n]);
  assert.deepEqual(log.after(30n, 40n)!.map((t) => t.lsn), [40n]);
  assert.equal(log.after(5n, 40n), undefined); // before the stream start
  log.evict(now);
  assert.equal(log.floor, 20n);
  assert.equal(log.after(10n, 40n), undefined); // 20 is gone: cannot fill the gap
  assert.deepEqual(log.after(20n, 40n)!.map((t) => t.lsn), [30n, 40n]);
  log.append(txn(50n, 0));
  log.append(txn(60n, 0)); // cap 3: 30 drops
  assert.equal(log.floor, 30n);
  assert.equal(log.size, 3);
});

Deno.test("JWT verification", async () => {
  const verifier = createVerifier({ secret: SECRET });
  const good = await verifier.verify(await sign({ sub: "u1" }));
  assert.ok(good.ok && good.claims.sub === "u1");
  const expired = await verifier.verify(await sign({ expiresIn: -100 }));
  assert.ok(!expired.ok && expired.code === "ExpiredJWTToken");
  assert.match(expired.ok ? "" : expired.message, /^Token has expired 1\d\d seconds ago$/);
  const forged = await verifier.verify(await sign({}, "another-secret-another-secret-xx"));
  assert.ok(!forged.ok && forged.code === "InvalidJWTToken");
  const noRole = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h").sign(new TextEncoder().encode(SECRET));
  assert.ok(!(await verifier.verify(noRole)).ok);
  const none = "eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYW5vbiJ9.";
  assert.ok(!(await verifier.verify(none)).ok);
  assert.ok(!(await verifier.verify("garbage")).ok);
});
