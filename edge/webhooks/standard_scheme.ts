/**
 * The Standard Webhooks symmetric scheme (`v1`), shared by our signer and
 * our verifier: HMAC-SHA256 over `${id}.${timestamp}.${body}` keyed with the
 * base64-decoded secret that follows `whsec_`.
 *
 * @module
 */

import { hmac } from "./crypto.ts";
import { type Bytes, concatBytes, decodeBase64, utf8 } from "./encoding.ts";

/** Prefix of Standard Webhooks symmetric secrets. */
export const SECRET_PREFIX = "whsec_";

/** Version tag of the symmetric signature scheme. */
export const SIGNATURE_VERSION = "v1";

/**
 * The HMAC key of a `whsec_…` secret (the prefix is optional, as in the
 * reference libraries); `null` when the rest is not base64 or is empty.
 * Short keys (Svix issued 18-byte ones) are accepted.
 */
export function decodeSecret(secret: string): Bytes | null {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = decodeBase64(encoded);
  return key && key.byteLength > 0 ? key : null;
}

/** The exact bytes that are signed: `${id}.${timestamp}.` followed by the raw body. */
export function signedContent(id: string, timestamp: number, body: Uint8Array): Bytes {
  return concatBytes(utf8(`${id}.${timestamp}.`), body);
}

/** The raw HMAC-SHA256 of a message under `key`. */
export function computeMac(
  key: Uint8Array,
  id: string,
  timestamp: number,
  body: Uint8Array,
): Promise<Bytes> {
  return hmac("SHA-256", key, signedContent(id, timestamp, body));
}
