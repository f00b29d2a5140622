/**
 * Standard Webhooks signer for our outbound deliveries.
 *
 * @module
 */

import { encodeBase64, utf8 } from "./encoding.ts";
import { computeMac, decodeSecret, SECRET_PREFIX, SIGNATURE_VERSION } from "./standard_scheme.ts";

/** Smallest secret we generate, in random bytes. */
export const MIN_SECRET_BYTES = 24;

/** Headers that carry a Standard Webhooks signature. */
export interface SignatureHeaders {
  readonly "webhook-id": string;
  readonly "webhook-timestamp": string;
  readonly "webhook-signature": string;
}

/** A new endpoint secret: `whsec_` + base64 of `byteLength` (≥ 24, default 32) random bytes. */
export function generateSecret(byteLength = 32): string {
  if (!Number.isInteger(byteLength) || byteLength < MIN_SECRET_BYTES) {
    throw new RangeError(`secret must have at least ${MIN_SECRET_BYTES} bytes`);
  }
  return SECRET_PREFIX + encodeBase64(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/**
 * The `webhook-signature` value for one delivery attempt: one `v1,<base64>`
 * entry per secret, space-separated (two during a secret rotation).
 *
 * Throws on our own misconfiguration: no secret, an undecodable secret, or a
 * timestamp that is not whole Unix seconds.
 */
export async function sign(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: Uint8Array | string,
): Promise<string> {
  if (secrets.length === 0) throw new TypeError("at least one secret is required");
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError("timestamp must be whole Unix seconds");
  }
  const bytes = typeof body === "string" ? utf8(body) : body;
  const entries: string[] = [];
  for (const secret of secrets) {
    const key = decodeSecret(secret);
    if (key === null) throw new TypeError("secret is not a valid whsec_ secret");
    const mac = await computeMac(key, id, timestamp, bytes);
    entries.push(`${SIGNATURE_VERSION},${encodeBase64(mac)}`);
  }
  return entries.join(" ");
}

/** The three Standard Webhooks headers for one delivery attempt. */
export async function signatureHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: Uint8Array | string,
): Promise<SignatureHeaders> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await sign(secrets, id, timestamp, body),
  };
}
