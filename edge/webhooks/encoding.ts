/**
 * Byte and text encodings used by the webhook signature schemes.
 *
 * Decoders return `null` instead of throwing so verifiers can treat
 * malformed input as a plain verification failure.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Bytes backed by a plain `ArrayBuffer`, as Web Crypto requires. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Bytes {
  return encoder.encode(text);
}

/** One buffer holding `parts` back to back. */
export function concatBytes(...parts: readonly Uint8Array[]): Bytes {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Standard base64 (RFC 4648 §4) with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Decodes standard base64; `null` when `text` is not valid base64. */
export function decodeBase64(text: string): Bytes | null {
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return null;
  }
}

/** Lower-case hexadecimal. */
export function encodeHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** Decodes hexadecimal (either case); `null` when `text` is not valid hex. */
export function decodeHex(text: string): Bytes | null {
  try {
    return Uint8Array.fromHex(text);
  } catch {
    return null;
  }
}
