/**
 * Database-free building blocks of webhooks: inbound verifiers (Stripe,
 * Standard Webhooks, Twilio), the outbound Standard Webhooks signer, and the
 * SSRF guard with `safeFetch` for outbound deliveries.
 *
 * @module
 */

export type { HeadersLike } from "./verify/headers.ts";
export type { VerifyFailure, VerifyFailureCode, VerifyResult } from "./verify/result.ts";
export {
  type StandardVerified,
  type StandardVerifyInput,
  verifyStandard,
} from "./verify/standard.ts";
export {
  stripeSignatureHeader,
  type StripeVerified,
  type StripeVerifyInput,
  verifyStripe,
} from "./verify/stripe.ts";
export {
  twilioSignature,
  type TwilioVerified,
  type TwilioVerifyInput,
  verifyTwilio,
} from "./verify/twilio.ts";
export { DEFAULT_TOLERANCE_SECONDS } from "./timestamp.ts";
export { generateSecret, MIN_SECRET_BYTES, sign, signatureHeaders } from "./sign.ts";
export type { SignatureHeaders } from "./sign.ts";
export * from "./ssrf.ts";
