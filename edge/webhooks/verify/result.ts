/**
 * The result shape shared by all webhook verifiers: bad input is a value,
 * never an exception.
 *
 * @module
 */

/**
 * Why a request failed verification.
 *
 * - `missing_signature`: no signature header, or no signature of a supported version in it.
 * - `missing_header`: another required header (id, timestamp) is absent.
 * - `malformed_header`: a header is present but cannot be parsed.
 * - `timestamp_out_of_range`: the signed timestamp is stale or in the future.
 * - `invalid_signature`: no signature matches any configured secret.
 * - `body_hash_mismatch`: the body does not match its signed hash (Twilio `bodySHA256`).
 * - `unsigned_body`: a body is present that the scheme would not authenticate.
 * - `invalid_config`: our side is misconfigured (no secret, undecodable secret, bad URL);
 *   answer 5xx so the provider retries once it is fixed.
 */
export type VerifyFailureCode =
  | "missing_signature"
  | "missing_header"
  | "malformed_header"
  | "timestamp_out_of_range"
  | "invalid_signature"
  | "body_hash_mismatch"
  | "unsigned_body"
  | "invalid_config";

/** A failed verification. */
export interface VerifyFailure {
  readonly ok: false;
  readonly code: VerifyFailureCode;
}

/** Success carrying scheme-specific details `T`, or a failure with its code. */
export type VerifyResult<T> = ({ readonly ok: true } & T) | VerifyFailure;

/** Builds a failure result. */
export function fail(code: VerifyFailureCode): VerifyFailure {
  return { ok: false, code };
}
