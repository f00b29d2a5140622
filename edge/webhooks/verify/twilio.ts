/**
 * Verifies Twilio webhook requests (`X-Twilio-Signature`).
 *
 * Signature = base64(HMAC-SHA1(authToken, url + key+value of every POST
 * parameter sorted by key)). `url` is the public URL configured at Twilio,
 * never one rebuilt from `X-Forwarded-*`. As Twilio's own library does, the
 * URL is tried with and without its default port (`:443`/`:80`).
 *
 * JSON bodies: the URL carries `bodySHA256=<hex sha256 of body>`; the URL is
 * signed with no parameters and the body hash is checked separately.
 *
 * Twilio signs no timestamp, so there is no replay window to check here.
 *
 * @module
 */

import { hmac, sha256, timingSafeEqual } from "../crypto.ts";
import { type Bytes, decodeBase64, decodeHex, encodeBase64, utf8 } from "../encoding.ts";
import { type HeadersLike, headerValue } from "./headers.ts";
import { fail, type VerifyResult } from "./result.ts";

/** Name of the header Twilio signs with. */
export const TWILIO_SIGNATURE_HEADER = "x-twilio-signature";

const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";
const DEFAULT_PORTS: Readonly<Record<string, string>> = { "https:": "443", "http:": "80" };

/** Input of {@linkcode verifyTwilio}. */
export interface TwilioVerifyInput {
  /** The public URL configured at Twilio, query string included. */
  readonly url: string;
  /** The exact request body bytes, as received. */
  readonly rawBody: Uint8Array;
  readonly headers: HeadersLike;
  /** Accepted auth tokens (primary, then secondary during a rotation). */
  readonly authTokens: readonly string[];
}

/** Details of a verified Twilio request. */
export interface TwilioVerified {
  /** The form parameters of the body (empty for the `bodySHA256` JSON variant). */
  readonly params: URLSearchParams;
  /** Index in `authTokens` of the token that matched. */
  readonly secretIndex: number;
}

/** The string Twilio signs: `url` followed by key+value of each parameter, sorted by key. */
export function twilioSignedString(url: string, params: URLSearchParams): string {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of params) {
    const values = grouped.get(key);
    if (values) values.push(value);
    else grouped.set(key, [value]);
  }
  let data = url;
  for (const key of [...grouped.keys()].sort()) {
    for (const value of [...new Set(grouped.get(key))].sort()) data += key + value;
  }
  return data;
}

/** The expected `X-Twilio-Signature` for `url` and `params` under `authToken`. */
export async function twilioSignature(
  authToken: string,
  url: string,
  params: URLSearchParams = new URLSearchParams(),
): Promise<string> {
  return encodeBase64(await twilioMac(authToken, url, params));
}

function twilioMac(authToken: string, url: string, params: URLSearchParams): Promise<Bytes> {
  return hmac("SHA-1", utf8(authToken), utf8(twilioSignedString(url, params)));
}

/**
 * The spellings of `url` Twilio may have signed: as normalized, and, when its
 * port is the scheme's default, with that port written out.
 */
export function twilioUrlVariants(url: URL): string[] {
  const variants = [url.href];
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort !== undefined && url.port === "") {
    const credentials = url.username || url.password
      ? `${url.username}${url.password ? `:${url.password}` : ""}@`
      : "";
    variants.push(
      `${url.protocol}//${credentials}${url.host}:${defaultPort}${url.pathname}${url.search}${url.hash}`,
    );
  }
  return variants;
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function isForm(headers: HeadersLike): boolean {
  const contentType = headerValue(headers, "content-type") ?? "";
  return contentType.split(";")[0].trim().toLowerCase() === FORM_CONTENT_TYPE;
}

async function matchingToken(
  tokens: readonly string[],
  urls: readonly string[],
  params: URLSearchParams,
  signature: Uint8Array,
): Promise<number> {
  for (const [index, token] of tokens.entries()) {
    for (const url of urls) {
      if (timingSafeEqual(signature, await twilioMac(token, url, params))) return index;
    }
  }
  return -1;
}

/** Verifies a Twilio request on its raw body. Never throws for bad input. */
export async function verifyTwilio(
  input: TwilioVerifyInput,
): Promise<VerifyResult<TwilioVerified>> {
  const header = headerValue(input.headers, TWILIO_SIGNATURE_HEADER);
  if (header === undefined) return fail("missing_signature");
  const signature = decodeBase64(header);
  if (signature === null) return fail("malformed_header");

  const url = parseUrl(input.url);
  if (url === null || input.authTokens.length === 0 || input.authTokens.includes("")) {
    return fail("invalid_config");
  }

  const bodyHash = url.searchParams.get("bodySHA256");
  let params = new URLSearchParams();
  if (bodyHash === null) {
    if (isForm(input.headers)) {
      params = new URLSearchParams(new TextDecoder().decode(input.rawBody));
    } else if (input.rawBody.byteLength > 0) {
      return fail("unsigned_body");
    }
  }

  const secretIndex = await matchingToken(
    input.authTokens,
    twilioUrlVariants(url),
    params,
    signature,
  );
  if (secretIndex < 0) return fail("invalid_signature");

  if (bodyHash !== null) {
    const expected = decodeHex(bodyHash);
    if (expected === null || !timingSafeEqual(expected, await sha256(input.rawBody))) {
      return fail("body_hash_mismatch");
    }
  }
  return { ok: true, params, secretIndex };
}
