import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { decodeBase64, utf8 } from "./encoding.ts";
import { generateSecret, MIN_SECRET_BYTES, sign, signatureHeaders } from "./sign.ts";
import { verifyStandard } from "./verify/standard.ts";

const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

Deno.test("generateSecret", async (t) => {
  await t.step("is whsec_ + base64 of 32 random bytes by default", () => {
    const secret = generateSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(decodeBase64(secret.slice("whsec_".length))?.byteLength, 32);
  });
  await t.step("honours a larger size and refuses fewer than 24 bytes", () => {
    assert.equal(decodeBase64(generateSecret(48).slice(6))?.byteLength, 48);
    assert.equal(decodeBase64(generateSecret(MIN_SECRET_BYTES).slice(6))?.byteLength, 24);
    assert.throws(() => generateSecret(23), RangeError);
    assert.throws(() => generateSecret(24.5), RangeError);
  });
  await t.step("differs every time", () => {
    const secrets = new Set(Array.from({ length: 50 }, () => generateSecret()));
    assert.equal(secrets.size, 50);
  });
});

Deno.test("sign", async (t) => {
  await t.step("reproduces the reference vector", async () => {
    const signature = await sign([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    assert.equal(signature, VECTOR.signature);
    assert.equal(
      await sign([VECTOR.secret], VECTOR.id, VECTOR.timestamp, utf8(VECTOR.body)),
      VECTOR.signature,
    );
  });
  await t.step("emits one v1 entry per secret during a rotation", async () => {
    const signature = await sign(
      [generateSecret(), VECTOR.secret],
      VECTOR.id,
      VECTOR.timestamp,
      VECTOR.body,
    );
    const entries = signature.split(" ");
    assert.equal(entries.length, 2);
    assert.match(entries[0], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.equal(entries[1], VECTOR.signature);
  });
  await t.step("throws on our own misconfiguration", async () => {
    await assert.rejects(() => sign([], "msg", 1, "{}"), TypeError);
    await assert.rejects(() => sign(["whsec_%%%"], "msg", 1, "{}"), TypeError);
    await assert.rejects(() => sign([VECTOR.secret], "msg", 1.5, "{}"), TypeError);
    await assert.rejects(() => sign([VECTOR.secret], "msg", -1, "{}"), TypeError);
  });
});

Deno.test("our signatures verify with the standardwebhooks library", async (t) => {
  const body = JSON.stringify({ type: "appointment.created", data: { id: "apt_1" } });

  await t.step("a fresh secret", async () => {
    const secret = generateSecret();
    const headers = await signatureHeaders([secret], "msg_ours_1", nowSeconds(), body);
    assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
  });

  await t.step("both secrets of a rotation", async () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const headers = await signatureHeaders(
      [newSecret, oldSecret],
      "msg_ours_2",
      nowSeconds(),
      body,
    );
    for (const secret of [oldSecret, newSecret]) {
      assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
    }
  });

  await t.step("the library refuses a tampered body or another secret", async () => {
    const secret = generateSecret();
    const headers = await signatureHeaders([secret], "msg_ours_3", nowSeconds(), body);
    assert.throws(() => new Webhook(secret).verify(body + " ", { ...headers }));
    assert.throws(() => new Webhook(generateSecret()).verify(body, { ...headers }));
  });

  await t.step("the library's signatures verify with ours", async () => {
    const secret = generateSecret();
    const now = new Date(nowSeconds() * 1000);
    const signature = new Webhook(secret).sign("msg_theirs", now, body);
    const result = await verifyStandard({
      rawBody: utf8(body),
      headers: {
        "webhook-id": "msg_theirs",
        "webhook-timestamp": String(now.getTime() / 1000),
        "webhook-signature": signature,
      },
      secrets: [secret],
      now,
    });
    assert.equal(result.ok, true);
  });
});
