/**
 * What the inbox stores of a verified delivery: the provider's event id (the idempotency
 * key), its type, the clinic when the payload names one, and the few headers worth keeping.
 * Pure functions over the raw body; `null` when a verified body is still unusable.
 *
 * @module
 */

import { hasControlCharacters } from "../../text.ts";
import { sha256 } from "../crypto.ts";
import { encodeHex, utf8 } from "../encoding.ts";
import { type HeadersLike, headerValue } from "../verify/headers.ts";

/** One delivery as the inbox stores it. */
export interface InboundRecord {
  readonly source: string;
  readonly eventId: string;
  readonly eventType: string | null;
  /** A clinic id named by the payload (kept only if the clinic exists). */
  readonly clinicId: string | null;
  /** A clinic code (per-clinic provider endpoints). */
  readonly clinicCode: string | null;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ID = 255;

/** A uuid string, or null. */
export function uuidOrNull(value: unknown): string | null {
  return typeof value === "string" && UUID.test(value) ? value.toLowerCase() : null;
}

/** A non-empty id or type of at most `max` characters that the inbox can store and show. A
 * NUL (`\u0000` in the JSON) would fail the insert on every retry of the provider. */
function shortString(value: unknown, max = MAX_ID): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= max &&
      !hasControlCharacters(value)
    ? value
    : null;
}

function record(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : null;
}

/** Parses JSON into an object; null for anything else. */
export function jsonObject(body: string): Record<string, unknown> | null {
  try {
    return record(JSON.parse(body));
  } catch {
    return null;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The body as text: strict UTF-8 without NUL (PostgreSQL text cannot hold it), else null. */
export function bodyText(raw: Uint8Array): string | null {
  try {
    const text = strictUtf8.decode(raw);
    return text.includes("\u0000") ? null : text;
  } catch {
    return null;
  }
}

function keep(headers: HeadersLike, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headerValue(headers, name);
    if (value !== undefined) out[name] = value.slice(0, 500);
  }
  return out;
}

const COMMON = ["content-type", "user-agent"];

/** A Stripe event: `id` (evt_…), `type`, and `data.object.metadata.clinic_id` if present. */
export function parseStripe(
  body: string,
  headers: HeadersLike,
  timestamp: number,
  clinicCode: string | null,
): InboundRecord | null {
  const event = jsonObject(body);
  const eventId = shortString(event?.id);
  if (!event || !eventId) return null;
  const object = record(record(event.data)?.object);
  return {
    source: "stripe",
    eventId,
    eventType: shortString(event.type),
    clinicId: uuidOrNull(record(object?.metadata)?.clinic_id),
    clinicCode,
    headers: { ...keep(headers, COMMON), "signature-timestamp": String(timestamp) },
    body,
  };
}

/** A Standard Webhooks event: the verified `webhook-id`, and `type` (or `event_type`). */
export function parseStandard(
  source: string,
  body: string,
  headers: HeadersLike,
  id: string,
  timestamp: number,
): InboundRecord | null {
  const event = jsonObject(body);
  const eventId = shortString(id);
  if (!event || !eventId) return null;
  return {
    source,
    eventId,
    eventType: shortString(event.type) ?? shortString(event.event_type) ??
      shortString(event.eventType),
    clinicId: null,
    clinicCode: null,
    headers: {
      ...keep(headers, COMMON),
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
    },
    body,
  };
}

/**
 * A Twilio callback. A status transition happens once per message, so the event id is
 * `<MessageSid>:<MessageStatus>` (calls: `<CallSid>:<CallStatus>`); otherwise Twilio's
 * `I-Twilio-Idempotency-Token`, else the body's SHA-256.
 */
export async function parseTwilio(
  body: string,
  params: URLSearchParams,
  headers: HeadersLike,
  clinicCode: string | null,
): Promise<InboundRecord> {
  const messageSid = params.get("MessageSid") ?? params.get("SmsSid");
  const messageStatus = params.get("MessageStatus") ?? params.get("SmsStatus");
  const callSid = params.get("CallSid");
  const callStatus = params.get("CallStatus");
  let eventId: string | null = null;
  let eventType: string | null = null;
  if (messageSid && messageStatus) {
    eventId = `${messageSid}:${messageStatus}`;
    eventType = `message.${messageStatus}`;
  } else if (callSid && callStatus) {
    eventId = `${callSid}:${callStatus}`;
    eventType = `call.${callStatus}`;
  }
  eventId = shortString(eventId) ??
    shortString(headerValue(headers, "i-twilio-idempotency-token")) ??
    `sha256:${encodeHex(await sha256(utf8(body)))}`;
  return {
    source: "twilio",
    eventId,
    eventType: shortString(eventType),
    clinicId: null,
    clinicCode,
    headers: keep(headers, [...COMMON, "i-twilio-idempotency-token", "x-home-region"]),
    body,
  };
}
