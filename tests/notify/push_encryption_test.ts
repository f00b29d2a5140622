/**
 * RFC 8291 encryption with kept subscriber keys (edge/notify/push_encryption.ts): RFC 8291's
 * Appendix A message, the same bytes as the library's `encryptNotification` for the same salt
 * and sender key pair, and unusable subscription keys refused.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { encryptNotification } from "@block65/webcrypto-web-push";
import { encryptPush, subscriberKeys } from "../../edge/notify/push_encryption.ts";
import { b64url, RFC8291, rfc8291SenderKeys, toB64url, withLibraryRandomness } from "./_rfc8291.ts";

const P256 = { name: "ECDH", namedCurve: "P-256" } as const;

Deno.test("RFC 8291 Appendix A: kept subscriber keys give the RFC's message", async () => {
  const keyPair = await rfc8291SenderKeys();
  const to = await subscriberKeys(RFC8291.uaPublic, RFC8291.authSecret);
  const plaintext = new TextEncoder().encode(RFC8291.plaintext);
  const fixed = { salt: b64url(RFC8291.salt), keyPair, pad: false };
  assert.equal(toB64url(await encryptPush(to, plaintext, fixed)), RFC8291.body);
  assert.equal(toB64url(await encryptPush(to, plaintext, fixed)), RFC8291.body, "keys reused");
});

Deno.test("the library's bytes for the same salt and sender key, padded to one 4 KB record", async () => {
  const browser = await crypto.subtle.generateKey(P256, true, ["deriveBits"]) as CryptoKeyPair;
  const p256dh = toB64url(new Uint8Array(await crypto.subtle.exportKey("raw", browser.publicKey)));
  const auth = toB64url(crypto.getRandomValues(new Uint8Array(16)));
  const to = await subscriberKeys(p256dh, auth);
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 600 }), async (text) => {
      const plaintext = new TextEncoder().encode(text);
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const keyPair = await crypto.subtle.generateKey(P256, true, ["deriveBits"]) as CryptoKeyPair;
      const ours = await encryptPush(to, plaintext, { salt, keyPair });
      const theirs = await withLibraryRandomness(salt, keyPair, () =>
        encryptNotification(
          { endpoint: "https://push.example/1", expirationTime: null, keys: { p256dh, auth } },
          plaintext,
        ));
      assert.equal(ours.length, 4096);
      assert.deepEqual(ours, theirs);
    }),
    { numRuns: 25 },
  );
  const a = await encryptPush(to, new Uint8Array(1));
  const b = await encryptPush(to, new Uint8Array(1));
  assert.notDeepEqual(a.slice(0, 86), b.slice(0, 86), "a fresh salt and key pair per message");
});

Deno.test("unusable subscription keys are refused", async () => {
  const auth = toB64url(new Uint8Array(16));
  const point = new Uint8Array(65);
  point[0] = 0x04;
  await assert.rejects(subscriberKeys(toB64url(new Uint8Array(33)), auth), /uncompressed/);
  await assert.rejects(subscriberKeys(toB64url(point), toB64url(new Uint8Array(8))), /16 bytes/);
  // Not on the curve: WebCrypto imports it, the agreement refuses it.
  await assert.rejects(
    subscriberKeys(toB64url(point), auth).then((to) => encryptPush(to, new Uint8Array(1))),
  );
  await assert.rejects(subscriberKeys("not base64!", auth));
});
