/**
 * SSRF protection for outbound webhook deliveries: address classification,
 * the connect-time guard, and `safeFetch`.
 *
 * @module
 */

export {
  type AddressClass,
  classifyAddress,
  classifyIp,
  isPublicAddress,
} from "./ssrf/classify.ts";
export {
  type AllowList,
  checkDestination,
  type Destination,
  type GuardFailure,
  type GuardFailureCode,
  type GuardOptions,
  type GuardResult,
  isAddressAllowed,
  parseAllowList,
} from "./ssrf/guard.ts";
export { cidrContains, formatIp, type IpAddress, parseCidr, parseIp } from "../net/ip.ts";
export { resolveHost, type Resolver } from "./ssrf/resolve.ts";
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TIMEOUT_MS,
  safeFetch,
  type SafeFetchFailure,
  type SafeFetchFailureCode,
  type SafeFetchInit,
  type SafeFetchOptions,
  type SafeFetchResponse,
  type SafeFetchResult,
} from "./ssrf/safe_fetch.ts";
