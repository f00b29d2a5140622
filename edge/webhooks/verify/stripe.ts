/**
 * Verifies Stripe webhook deliveries.
 *
 * `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`; the signed content is
 * `${t}.${rawBody}` and the HMAC-SHA256 key is the UTF-8 bytes of the whole
 * secret, `whsec_` prefix included. Only `v1` entries count.
 *
 * @module
 */

import { hmac, timingSafeEqual } from "../crypto.ts";
import { type Bytes, concatBytes, decodeHex, encodeHex, utf8 } from "../encoding.ts";
import { DEFAULT_TOLERANCE_SECONDS, isTimestampInRange, parseUnixSeconds } from "../timestamp.ts";
import { type HeadersLike, headerValue } from "./headers.ts";
import { fail, type VerifyResult } from "./result.ts";

/** Name of the header Stripe signs with. */
export const STRIPE_SIGNATURE_HEADER = "stripe-signature";

/** Input of {@linkcode verifyStripe}. */
export interface StripeVerifyInput {
  /** The exact request body bytes, as received. */
  readonly rawBody: Uint8Array;
  readonly headers: HeadersLike;
  /** Accepted endpoint secrets (`whsec_…`), newest first during a rotation. */
  readonly secrets: readonly string[];
  /** Current time; injectable for tests. */
  readonly now?: Date;
  readonly toleranceSeconds?: number;
}

/** Details of a verified Stripe delivery. */
export interface StripeVerified {
  /** `t` in Unix seconds. */
  readonly timestamp: number;
  /** Index in `secrets` of the secret that matched. */
  readonly secretIndex: number;
}

/** The parts of a `Stripe-Signature` header that we use. */
export interface StripeSignatureHeader {
  /** `t`, or `null` when absent or not plain digits. */
  readonly timestamp: number | null;
  /** Decoded `v1` signatures; entries that are not hex are skipped. */
  readonly signatures: readonly Bytes[];
}

/** Parses `t=…,v1=…,v0=…`; unknown keys and malformed entries are ignored. */
export function parseStripeSignatureHeader(header: string): StripeSignatureHeader {
  let timestamp: number | null = null;
  const signatures: Bytes[] = [];
  for (const item of header.split(",")) {
    const equals = item.indexOf("=");
    if (equals < 0) continue;
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (key === "t") {
      timestamp = parseUnixSeconds(value);
    } else if (key === "v1") {
      const signature = decodeHex(value);
      if (signature) signatures.push(signature);
    }
  }
  return { timestamp, signatures };
}

/** The raw `v1` HMAC of `${timestamp}.${body}` under `secret`. */
export function stripeMac(secret: string, timestamp: number, body: Uint8Array): Promise<Bytes> {
  return hmac("SHA-256", utf8(secret), concatBytes(utf8(`${timestamp}.`), body));
}

/** A complete `Stripe-Signature` value, for tests and local event replays. */
export async function stripeSignatureHeader(
  secret: string,
  timestamp: number,
  body: Uint8Array,
): Promise<string> {
  return `t=${timestamp},v1=${encodeHex(await stripeMac(secret, timestamp, body))}`;
}

/** Verifies a Stripe request on its raw body. Never throws for bad input. */
export async function verifyStripe(
  input: StripeVerifyInput,
): Promise<VerifyResult<StripeVerified>> {
  const header = headerValue(input.headers, STRIPE_SIGNATURE_HEADER);
  if (header === undefined) return fail("missing_signature");

  const { timestamp, signatures } = parseStripeSignatureHeader(header);
  if (timestamp === null) return fail("malformed_header");
  if (signatures.length === 0) return fail("missing_signature");
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!isTimestampInRange(timestamp, input.now, tolerance)) return fail("timestamp_out_of_range");

  if (input.secrets.length === 0 || input.secrets.some((secret) => secret === "")) {
    return fail("invalid_config");
  }
  for (const [secretIndex, secret] of input.secrets.entries()) {
    const expected = await stripeMac(secret, timestamp, input.rawBody);
    if (signatures.some((signature) => timingSafeEqual(signature, expected))) {
      return { ok: true, timestamp, secretIndex };
    }
  }
  return fail("invalid_signature");
}
