/**
 * Web Crypto primitives shared by the webhook verifiers and the signer.
 *
 * @module
 */

import type { Bytes } from "./encoding.ts";

/** Hash functions used by the supported webhook schemes. */
export type HmacHash = "SHA-1" | "SHA-256";

function owned(bytes: Uint8Array): Bytes {
  return bytes.buffer instanceof ArrayBuffer ? bytes as Bytes : new Uint8Array(bytes);
}

/** Imported keys by hash and key bytes: a webhook secret is imported once, not per request. */
const keyCache = new Map<string, Promise<CryptoKey>>();
const KEY_CACHE_LIMIT = 256;

function importHmacKey(hash: HmacHash, key: Uint8Array): Promise<CryptoKey> {
  const id = `${hash}:${key.toBase64()}`;
  let found = keyCache.get(id);
  if (!found) {
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
    found = crypto.subtle.importKey("raw", owned(key), { name: "HMAC", hash }, false, ["sign"]);
    keyCache.set(id, found);
    found.catch(() => keyCache.delete(id));
  }
  return found;
}

/** HMAC of `data` under `key`. `key` must not be empty. */
export async function hmac(hash: HmacHash, key: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const cryptoKey = await importHmacKey(hash, key);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, owned(data)));
}

/** SHA-256 digest of `data`. */
export async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", owned(data)));
}

/**
 * Compares two byte strings in time that depends only on their lengths,
 * never on where they differ. Lengths are public (a MAC's size is known).
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
