import assert from "node:assert/strict";
import fc from "fast-check";
import { smsSegments, toE164 } from "./phone.ts";

Deno.test("toE164 normalises valid numbers and refuses the rest", async (t) => {
  await t.step("Singapore by default, any spelling", () => {
    assert.equal(toE164("9123 4567"), "+6591234567");
    assert.equal(toE164("+65 9123-4567"), "+6591234567");
    assert.equal(toE164("+65 6123 4567"), "+6561234567");
  });
  await t.step("another default region, and an international number kept as written", () => {
    assert.equal(toE164("012-345 6789", "MY"), "+60123456789");
    assert.equal(toE164("+44 20 7946 0018"), "+442079460018");
    assert.equal(toE164("+1 415 555 2671", "MY"), "+14155552671");
  });
  await t.step("invalid numbers are null", () => {
    for (const bad of ["", "abc", "123", "+65 1234 5678", "9123 4567 8901 2345", "+999 1234"]) {
      assert.equal(toE164(bad), null, bad);
    }
  });
  await t.step("never throws, and its output is a fixed point", () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (input) => {
      const e164 = toE164(input);
      if (e164 !== null) {
        assert.match(e164, /^\+[1-9]\d{6,14}$/);
        assert.equal(toE164(e164), e164);
      }
    }));
  });
});

Deno.test("smsSegments counts GSM-7 and UCS-2 segments at the boundaries", async (t) => {
  const cases: [string, string, "GSM-7" | "UCS-2", number][] = [
    ["empty", "", "GSM-7", 1],
    ["GSM 160", "a".repeat(160), "GSM-7", 1],
    ["GSM 161", "a".repeat(161), "GSM-7", 2],
    ["GSM 306", "a".repeat(306), "GSM-7", 2],
    ["GSM 307", "a".repeat(307), "GSM-7", 3],
    ["GSM 459", "a".repeat(459), "GSM-7", 3],
    ["GSM 460", "a".repeat(460), "GSM-7", 4],
    ["GSM extension counts two", "€".repeat(80), "GSM-7", 1],
    ["GSM extension 81", "€".repeat(81), "GSM-7", 2],
    // 306 septets fit two parts of 153, but the escape pair at 153/154 is not split: three.
    ["escape pair not split", "a".repeat(152) + "€" + "a".repeat(152), "GSM-7", 3],
    ["escape pair at a part's start", "a".repeat(153) + "€" + "a".repeat(151), "GSM-7", 2],
    ["Chinese 70", "号".repeat(70), "UCS-2", 1],
    ["Chinese 71", "号".repeat(71), "UCS-2", 2],
    ["Chinese 134", "号".repeat(134), "UCS-2", 2],
    ["Chinese 135", "号".repeat(135), "UCS-2", 3],
    ["Chinese 201", "号".repeat(201), "UCS-2", 3],
    ["Chinese 202", "号".repeat(202), "UCS-2", 4],
    ["Tamil 70", "த".repeat(70), "UCS-2", 1],
    ["Tamil 71", "த".repeat(71), "UCS-2", 2],
    ["Tamil 135", "த".repeat(135), "UCS-2", 3],
    ["one non-GSM char makes it all UCS-2", "a".repeat(69) + "த", "UCS-2", 1],
    ["… and 71 units need two", "a".repeat(70) + "த", "UCS-2", 2],
    ["emoji is two units", "😀".repeat(35), "UCS-2", 1],
    ["emoji 36", "😀".repeat(36), "UCS-2", 2],
    // 134 units fit two parts of 67, but the surrogate pair at 67/68 is not split: three.
    ["surrogate pair not split", "号".repeat(66) + "😀" + "号".repeat(66), "UCS-2", 3],
    ["surrogate pair at a part's start", "号".repeat(67) + "😀" + "号".repeat(65), "UCS-2", 2],
  ];
  for (const [name, text, encoding, segments] of cases) {
    await t.step(name, () => assert.deepEqual(smsSegments(text), { encoding, segments }));
  }
});
