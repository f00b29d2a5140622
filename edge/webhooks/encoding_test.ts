import assert from "node:assert/strict";
import { timingSafeEqual } from "./crypto.ts";
import { concatBytes, decodeBase64, decodeHex, encodeBase64, encodeHex, utf8 } from "./encoding.ts";
import { isTimestampInRange, parseUnixSeconds } from "./timestamp.ts";

Deno.test("base64 and hex decoders return null for bad input", async (t) => {
  const cases: { name: string; input: string; base64: number[] | null; hex: number[] | null }[] = [
    { name: "empty", input: "", base64: [], hex: [] },
    { name: "valid both", input: "abcd", base64: [105, 183, 29], hex: [0xab, 0xcd] },
    { name: "padded base64", input: "AQI=", base64: [1, 2], hex: null },
    { name: "unpadded short base64", input: "AQI", base64: null, hex: null },
    { name: "odd hex", input: "abc", base64: null, hex: null },
    { name: "garbage", input: "%%%%", base64: null, hex: null },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const base64 = decodeBase64(c.input);
      const hex = decodeHex(c.input);
      assert.deepEqual(base64 && [...base64], c.base64);
      assert.deepEqual(hex && [...hex], c.hex);
    });
  }
});

Deno.test("encoders round-trip", () => {
  const bytes = concatBytes(utf8("héllo"), new Uint8Array([0, 255]));
  assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
  assert.deepEqual(decodeHex(encodeHex(bytes)), bytes);
});

Deno.test("timingSafeEqual", () => {
  assert.equal(timingSafeEqual(utf8("abc"), utf8("abc")), true);
  assert.equal(timingSafeEqual(utf8("abc"), utf8("abd")), false);
  assert.equal(timingSafeEqual(utf8("abc"), utf8("ab")), false);
  assert.equal(timingSafeEqual(new Uint8Array(), new Uint8Array()), true);
});

Deno.test("timestamps", async (t) => {
  const now = new Date(1_000_000 * 1000);
  const cases: { name: string; text: string; inRange: boolean | null }[] = [
    { name: "now", text: "1000000", inRange: true },
    { name: "300 s old", text: "999700", inRange: true },
    { name: "301 s old", text: "999699", inRange: false },
    { name: "300 s ahead", text: "1000300", inRange: true },
    { name: "301 s ahead", text: "1000301", inRange: false },
    { name: "milliseconds", text: "1000000000", inRange: false },
    { name: "decimal", text: "1000000.5", inRange: null },
    { name: "signed", text: "+1000000", inRange: null },
    { name: "empty", text: "", inRange: null },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const timestamp = parseUnixSeconds(c.text);
      assert.equal(timestamp === null ? null : isTimestampInRange(timestamp, now), c.inRange);
    });
  }
});
