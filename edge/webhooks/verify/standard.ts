/**
 * Verifies Standard Webhooks deliveries (Svix, Clerk, any compliant sender).
 *
 * Headers `webhook-id`, `webhook-timestamp`, `webhook-signature`, or their
 * `svix-*` aliases. The signature header is a space-separated list such as
 * `v1,<base64> v1,<base64> v1a,<base64>`; the request is accepted when any
 * `v1` entry matches any configured secret (key rotation = several secrets).
 * Asymmetric `v1a` entries are ignored.
 *
 * @module
 */

import { timingSafeEqual } from "../crypto.ts";
import { type Bytes, decodeBase64 } from "../encoding.ts";
import { computeMac, decodeSecret, SIGNATURE_VERSION } from "../standard_scheme.ts";
import { DEFAULT_TOLERANCE_SECONDS, isTimestampInRange, parseUnixSeconds } from "../timestamp.ts";
import { type HeadersLike, headerValue } from "./headers.ts";
import { fail, type VerifyResult } from "./result.ts";

/** Input of {@linkcode verifyStandard}. */
export interface StandardVerifyInput {
  /** The exact request body bytes, as received. */
  readonly rawBody: Uint8Array;
  readonly headers: HeadersLike;
  /** Accepted secrets (`whsec_…`), newest first during a rotation. */
  readonly secrets: readonly string[];
  /** Current time; injectable for tests. */
  readonly now?: Date;
  readonly toleranceSeconds?: number;
}

/** Details of a verified Standard Webhooks delivery. */
export interface StandardVerified {
  /** `webhook-id`: stable across retries, the idempotency key. */
  readonly id: string;
  /** `webhook-timestamp` in Unix seconds. */
  readonly timestamp: number;
  /** Index in `secrets` of the secret that matched. */
  readonly secretIndex: number;
}

/** The signature, id and timestamp headers, from the `webhook-*` set or the `svix-*` set. */
export function readStandardHeaders(
  headers: HeadersLike,
): { id?: string; timestamp?: string; signature?: string } {
  const prefix = headerValue(headers, "webhook-signature") === undefined &&
      headerValue(headers, "svix-signature") !== undefined
    ? "svix-"
    : "webhook-";
  return {
    id: headerValue(headers, `${prefix}id`),
    timestamp: headerValue(headers, `${prefix}timestamp`),
    signature: headerValue(headers, `${prefix}signature`),
  };
}

/** The decoded MACs of the `v1` entries in a signature header; malformed entries are skipped. */
export function parseStandardSignatures(header: string): Bytes[] {
  const macs: Bytes[] = [];
  for (const entry of header.split(/\s+/)) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== SIGNATURE_VERSION) continue;
    const mac = decodeBase64(entry.slice(comma + 1));
    if (mac) macs.push(mac);
  }
  return macs;
}

/** Verifies a Standard Webhooks request on its raw body. Never throws for bad input. */
export async function verifyStandard(
  input: StandardVerifyInput,
): Promise<VerifyResult<StandardVerified>> {
  const { id, timestamp: timestampText, signature } = readStandardHeaders(input.headers);
  if (signature === undefined) return fail("missing_signature");
  if (id === undefined || timestampText === undefined) return fail("missing_header");

  const timestamp = parseUnixSeconds(timestampText);
  if (timestamp === null) return fail("malformed_header");
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!isTimestampInRange(timestamp, input.now, tolerance)) return fail("timestamp_out_of_range");

  const candidates = parseStandardSignatures(signature);
  if (candidates.length === 0) return fail("missing_signature");

  const keys = input.secrets.map(decodeSecret);
  if (keys.length === 0 || keys.some((key) => key === null)) return fail("invalid_config");

  for (const [secretIndex, key] of keys.entries()) {
    const expected = await computeMac(key!, id, timestamp, input.rawBody);
    if (candidates.some((candidate) => timingSafeEqual(candidate, expected))) {
      return { ok: true, id, timestamp, secretIndex };
    }
  }
  return fail("invalid_signature");
}
