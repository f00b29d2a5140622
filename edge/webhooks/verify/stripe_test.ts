import assert from "node:assert/strict";
import { hmac } from "../crypto.ts";
import { encodeHex, utf8 } from "../encoding.ts";
import type { VerifyFailureCode } from "./result.ts";
import {
  parseStripeSignatureHeader,
  stripeMac,
  stripeSignatureHeader,
  verifyStripe,
} from "./stripe.ts";

/** Full-header vector from webhook-signatures.md. */
const SECRET = "whsec_test_secret";
const T = 1614265330;
const BODY = '{"id":"evt_test_webhook","object":"event"}';
const SIGNATURE = "3c5817089d739023dd6190f70a3757e04f7a2fd8b5dab12c2e000f51970dccff";
const HEADER = `t=${T},v1=${SIGNATURE}`;
const AT_T = new Date(T * 1000);

Deno.test("stripeMac matches the raw HMAC vectors (key test_secret)", async (t) => {
  const vectors = [
    {
      body: "",
      hex: "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd",
    },
    {
      body: '{"obj1":"hello","obj2":"world"}',
      hex: "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363",
    },
  ];
  for (const vector of vectors) {
    await t.step(`body ${JSON.stringify(vector.body)}`, async () => {
      // Raw vectors sign the body alone (stripeMac prefixes `${t}.`).
      assert.equal(
        encodeHex(await hmac("SHA-256", utf8("test_secret"), utf8(vector.body))),
        vector.hex,
      );
    });
  }
});

Deno.test("stripeSignatureHeader reproduces the full-header vector", async () => {
  assert.equal(await stripeSignatureHeader(SECRET, T, utf8(BODY)), HEADER);
  assert.equal(encodeHex(await stripeMac(SECRET, T, utf8(BODY))), SIGNATURE);
});

Deno.test("verifyStripe accepts", async (t) => {
  const other = "0".repeat(64);
  const cases: { name: string; header: string; secrets: string[]; now?: Date; index: number }[] = [
    { name: "the reference vector", header: HEADER, secrets: [SECRET], index: 0 },
    {
      name: "several v1 entries, one matching (Stripe rolling secrets)",
      header: `t=${T},v1=${other},v1=${SIGNATURE}`,
      secrets: [SECRET],
      index: 0,
    },
    {
      name: "v0 and unknown entries ignored",
      header: `t=${T},v0=${other},v1=${SIGNATURE},foo=bar`,
      secrets: [SECRET],
      index: 0,
    },
    {
      name: "spaces around entries",
      header: ` t=${T} , v1=${SIGNATURE} `,
      secrets: [SECRET],
      index: 0,
    },
    {
      name: "upper-case hex",
      header: `t=${T},v1=${SIGNATURE.toUpperCase()}`,
      secrets: [SECRET],
      index: 0,
    },
    {
      name: "key rotation: second configured secret",
      header: HEADER,
      secrets: ["whsec_new_secret", SECRET],
      index: 1,
    },
    {
      name: "exactly 300 s old",
      header: HEADER,
      secrets: [SECRET],
      now: new Date((T + 300) * 1000),
      index: 0,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const result = await verifyStripe({
        rawBody: utf8(BODY),
        headers: new Headers({ "Stripe-Signature": c.header }),
        secrets: c.secrets,
        now: c.now ?? AT_T,
      });
      assert.deepEqual(result, { ok: true, timestamp: T, secretIndex: c.index });
    });
  }
});

Deno.test("verifyStripe rejects", async (t) => {
  const cases: {
    name: string;
    body?: string;
    header?: string | null;
    secrets?: string[];
    now?: Date;
    code: VerifyFailureCode;
  }[] = [
    {
      name: "tampered body",
      body: BODY.replace("evt_test", "evt_evil"),
      code: "invalid_signature",
    },
    {
      name: "re-serialized JSON",
      body: JSON.stringify(JSON.parse(BODY), null, 1),
      code: "invalid_signature",
    },
    { name: "wrong secret", secrets: ["whsec_other"], code: "invalid_signature" },
    {
      name: "secret without its whsec_ prefix",
      secrets: ["test_secret"],
      code: "invalid_signature",
    },
    {
      name: "tampered timestamp",
      header: `t=${T + 1},v1=${SIGNATURE}`,
      now: new Date((T + 1) * 1000),
      code: "invalid_signature",
    },
    {
      name: "only a v0 signature",
      header: `t=${T},v0=${SIGNATURE}`,
      code: "missing_signature",
    },
    {
      name: "stale timestamp (301 s)",
      now: new Date((T + 301) * 1000),
      code: "timestamp_out_of_range",
    },
    {
      name: "future timestamp (301 s ahead)",
      now: new Date((T - 301) * 1000),
      code: "timestamp_out_of_range",
    },
    { name: "missing header", header: null, code: "missing_signature" },
    { name: "empty header", header: "", code: "missing_signature" },
    { name: "no t", header: `v1=${SIGNATURE}`, code: "malformed_header" },
    { name: "t not numeric", header: `t=abc,v1=${SIGNATURE}`, code: "malformed_header" },
    { name: "v1 not hex", header: `t=${T},v1=xyz`, code: "missing_signature" },
    { name: "no secret configured", secrets: [], code: "invalid_config" },
    { name: "empty secret configured", secrets: [""], code: "invalid_config" },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const headers = new Headers();
      const header = c.header === undefined ? HEADER : c.header;
      if (header !== null) headers.set("stripe-signature", header);
      const result = await verifyStripe({
        rawBody: utf8(c.body ?? BODY),
        headers,
        secrets: c.secrets ?? [SECRET],
        now: c.now ?? AT_T,
      });
      assert.deepEqual(result, { ok: false, code: c.code });
    });
  }
});

Deno.test("parseStripeSignatureHeader", () => {
  const parsed = parseStripeSignatureHeader("t=12,v1=0a0b,v0=ff,v1=zz,junk,v1=01");
  assert.equal(parsed.timestamp, 12);
  assert.deepEqual(parsed.signatures, [new Uint8Array([10, 11]), new Uint8Array([1])]);
});
