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

/** HMAC of `data` under `key`. `key` must not be empty. */
export async function hmac(hash: HmacHash, key: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    owned(key),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
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
