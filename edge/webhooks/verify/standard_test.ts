import assert from "node:assert/strict";
import { utf8 } from "../encoding.ts";
import { sign } from "../sign.ts";
import { parseStandardSignatures, verifyStandard } from "./standard.ts";
import type { VerifyFailureCode } from "./result.ts";

/** Vectors from webhook-signatures.md. */
const VECTORS = [
  {
    name: "vector 1 (spec libraries)",
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  },
  {
    name: "vector 2 (Svix docs, 18-byte secret)",
    secret: "whsec_plJ3nmyCDGBKInavdOK15jsl",
    id: "msg_loFOjxBNrRLzqYUf",
    timestamp: 1731705121,
    body: '{"event_type":"ping","data":{"success":true}}',
    signature: "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=",
  },
] as const;

const [V1, V2] = VECTORS;
const atV1 = new Date(V1.timestamp * 1000);

function v1Headers(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    "webhook-id": V1.id,
    "webhook-timestamp": String(V1.timestamp),
    "webhook-signature": V1.signature,
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

Deno.test("verifyStandard accepts every reference vector", async (t) => {
  for (const vector of VECTORS) {
    await t.step(vector.name, async () => {
      const result = await verifyStandard({
        rawBody: utf8(vector.body),
        headers: new Headers({
          "webhook-id": vector.id,
          "webhook-timestamp": String(vector.timestamp),
          "webhook-signature": vector.signature,
        }),
        secrets: [vector.secret],
        now: new Date(vector.timestamp * 1000),
      });
      assert.deepEqual(result, {
        ok: true,
        id: vector.id,
        timestamp: vector.timestamp,
        secretIndex: 0,
      });
    });
  }
});

Deno.test("verifyStandard accepts", async (t) => {
  const cases: {
    name: string;
    headers: Record<string, string>;
    secrets: string[];
    now?: Date;
    secretIndex: number;
  }[] = [
    {
      name: "svix-* header aliases",
      headers: {
        "svix-id": V2.id,
        "svix-timestamp": String(V2.timestamp),
        "svix-signature": V2.signature,
      },
      secrets: [V2.secret],
      now: new Date(V2.timestamp * 1000),
      secretIndex: 0,
    },
    {
      name: "mixed-case header names in a plain record",
      headers: {
        "Webhook-Id": V1.id,
        "WEBHOOK-TIMESTAMP": String(V1.timestamp),
        "Webhook-Signature": V1.signature,
      },
      secrets: [V1.secret],
      secretIndex: 0,
    },
    {
      name: "the matching signature among several (v1a and garbage ignored)",
      headers: v1Headers({
        "webhook-signature":
          `v1a,aGVsbG8= v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,!!! nonsense ${V1.signature}`,
      }),
      secrets: [V1.secret],
      secretIndex: 0,
    },
    {
      name: "key rotation: the old secret still configured second",
      headers: v1Headers(),
      secrets: [V2.secret, V1.secret],
      secretIndex: 1,
    },
    {
      name: "secret without whsec_ prefix",
      headers: v1Headers(),
      secrets: [V1.secret.slice("whsec_".length)],
      secretIndex: 0,
    },
    {
      name: "timestamp exactly 5 minutes old",
      headers: v1Headers(),
      secrets: [V1.secret],
      now: new Date((V1.timestamp + 300) * 1000),
      secretIndex: 0,
    },
    {
      name: "timestamp exactly 5 minutes ahead",
      headers: v1Headers(),
      secrets: [V1.secret],
      now: new Date((V1.timestamp - 300) * 1000),
      secretIndex: 0,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const result = await verifyStandard({
        rawBody: utf8(c.headers["svix-id"] ? V2.body : V1.body),
        headers: c.headers,
        secrets: c.secrets,
        now: c.now ?? atV1,
      });
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.ok && result.secretIndex, c.secretIndex);
    });
  }
});

Deno.test("verifyStandard rejects", async (t) => {
  const cases: {
    name: string;
    body?: string;
    headers?: Record<string, string>;
    secrets?: string[];
    now?: Date;
    code: VerifyFailureCode;
  }[] = [
    { name: "tampered body", body: '{"test": 2432232315}', code: "invalid_signature" },
    {
      name: "body with extra whitespace",
      body: '{"test":  2432232314}',
      code: "invalid_signature",
    },
    { name: "wrong secret", secrets: [V2.secret], code: "invalid_signature" },
    {
      name: "tampered id",
      headers: v1Headers({ "webhook-id": "msg_other" }),
      code: "invalid_signature",
    },
    {
      name: "signature of another message",
      headers: v1Headers({ "webhook-signature": V2.signature }),
      code: "invalid_signature",
    },
    {
      name: "stale timestamp (5 min + 1 s old)",
      now: new Date((V1.timestamp + 301) * 1000),
      code: "timestamp_out_of_range",
    },
    {
      name: "future timestamp (5 min + 1 s ahead)",
      now: new Date((V1.timestamp - 301) * 1000),
      code: "timestamp_out_of_range",
    },
    {
      name: "missing signature header",
      headers: v1Headers({ "webhook-signature": undefined }),
      code: "missing_signature",
    },
    {
      name: "empty signature header",
      headers: v1Headers({ "webhook-signature": "  " }),
      code: "missing_signature",
    },
    {
      name: "only unsupported versions",
      headers: v1Headers({ "webhook-signature": "v2,abc= v1a,def=" }),
      code: "missing_signature",
    },
    {
      name: "missing id header",
      headers: v1Headers({ "webhook-id": undefined }),
      code: "missing_header",
    },
    {
      name: "missing timestamp header",
      headers: v1Headers({ "webhook-timestamp": undefined }),
      code: "missing_header",
    },
    {
      name: "timestamp not in seconds",
      headers: v1Headers({ "webhook-timestamp": "2021-02-25T15:02:10Z" }),
      code: "malformed_header",
    },
    {
      name: "negative timestamp",
      headers: v1Headers({ "webhook-timestamp": "-1614265330" }),
      code: "malformed_header",
    },
    {
      name: "headers split across webhook-* and svix-*",
      headers: {
        "svix-id": V1.id,
        "svix-timestamp": String(V1.timestamp),
        "webhook-signature": V1.signature,
      },
      code: "missing_header",
    },
    { name: "no secret configured", secrets: [], code: "invalid_config" },
    { name: "secret is not base64", secrets: ["whsec_***"], code: "invalid_config" },
    { name: "empty secret", secrets: ["whsec_"], code: "invalid_config" },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const result = await verifyStandard({
        rawBody: utf8(c.body ?? V1.body),
        headers: c.headers ?? v1Headers(),
        secrets: c.secrets ?? [V1.secret],
        now: c.now ?? atV1,
      });
      assert.deepEqual(result, { ok: false, code: c.code });
    });
  }
});

Deno.test("verifyStandard works on raw bytes that are not UTF-8", async () => {
  const body = new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x80]);
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const headers = {
    "webhook-id": "msg_1",
    "webhook-timestamp": "1700000000",
    "webhook-signature": await sign([secret], "msg_1", 1700000000, body),
  };
  const now = new Date(1700000000 * 1000);
  assert.equal((await verifyStandard({ rawBody: body, headers, secrets: [secret], now })).ok, true);
  const decodedAndReencoded = utf8(new TextDecoder().decode(body));
  const reencoded = await verifyStandard({
    rawBody: decodedAndReencoded,
    headers,
    secrets: [secret],
    now,
  });
  assert.deepEqual(reencoded, { ok: false, code: "invalid_signature" });
});

Deno.test("parseStandardSignatures keeps only decodable v1 entries", () => {
  const macs = parseStandardSignatures("v1,AQID v1a,AQID v1,%%% v1,BAUG  v2,AQID");
  assert.deepEqual(macs, [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])]);
});
