/**
 * One-click unsubscribe links (RFC 8058): the token names a patient and a channel and carries
 * a MAC under a key derived from the service secret (`JWT_SECRET`), so only we can make one and
 * nobody can change its patient or channel. It needs no expiry: it can only ever withdraw the
 * consent of the patient it was sent to. A rotated `JWT_SECRET` invalidates the links already
 * sent (the route then answers 404; the patient can still unsubscribe in the app).
 *
 * Token: base64url of patient uuid (16 bytes) ‖ channel (1 byte) ‖ first 16 bytes of
 * HMAC-SHA256(key, "unsubscribe" ‖ those 17 bytes); key = HMAC-SHA256(secret, KEY_LABEL).
 */
import { hmac, timingSafeEqual } from "../webhooks/crypto.ts";
import { concatBytes, utf8 } from "../webhooks/encoding.ts";
import type { Channel } from "./transport.ts";

/** A token's channel byte: the index here. Links already sent keep theirs, so only append. */
const CHANNEL_BYTES: readonly Channel[] = ["email", "sms", "whatsapp", "push"];
const KEY_LABEL = utf8("clinic unsubscribe link v1");
const PURPOSE = utf8("unsubscribe");
const MAC_BYTES = 16;
/** 33 bytes in base64url without padding. */
export const UNSUBSCRIBE_TOKEN = /^[A-Za-z0-9_-]{44}$/;

export interface UnsubscribeTarget {
  patientId: string;
  channel: Channel;
}

function uuidBytes(uuid: string): Uint8Array {
  return Uint8Array.fromHex(uuid.replaceAll("-", ""));
}

function uuidText(bytes: Uint8Array): string {
  const hex = bytes.toHex();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** The derived key per service secret (there is one; a rotation adds a second). */
const keys = new Map<string, Promise<Uint8Array>>();

async function mac(secret: string, payload: Uint8Array): Promise<Uint8Array> {
  let key = keys.get(secret);
  if (!key) keys.set(secret, key = hmac("SHA-256", utf8(secret), KEY_LABEL));
  return (await hmac("SHA-256", await key, concatBytes(PURPOSE, payload))).subarray(0, MAC_BYTES);
}

/** The token for `target`. */
export async function unsubscribeToken(secret: string, target: UnsubscribeTarget): Promise<string> {
  const payload = concatBytes(
    uuidBytes(target.patientId),
    Uint8Array.of(CHANNEL_BYTES.indexOf(target.channel)),
  );
  return concatBytes(payload, await mac(secret, payload))
    .toBase64({ alphabet: "base64url", omitPadding: true });
}

/** What a token names, or null when it is not one of ours. */
export async function verifyUnsubscribeToken(
  secret: string,
  token: string,
): Promise<UnsubscribeTarget | null> {
  if (!UNSUBSCRIBE_TOKEN.test(token)) return null;
  const bytes = Uint8Array.fromBase64(token, { alphabet: "base64url" });
  const payload = bytes.subarray(0, 17);
  const channel = CHANNEL_BYTES[payload[16]];
  if (!channel || !timingSafeEqual(bytes.subarray(17), await mac(secret, payload))) return null;
  return { patientId: uuidText(payload.subarray(0, 16)), channel };
}

/** The link in an e-mail: `POST` unsubscribes at once, `GET` asks first. */
export function unsubscribeUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/api/unsubscribe/${token}`;
}
