/**
 * Wire formats of the Supabase Realtime (Phoenix) protocol.
 *
 * - vsn 1.0.0: text frames holding JSON objects `{topic, event, payload, ref, join_ref}`;
 *   server frames carry `topic, event, payload, ref`.
 * - vsn 2.0.0: text frames holding JSON arrays `[join_ref, ref, topic, event, payload]`,
 *   plus binary broadcasts: kind 3 (client → server "user broadcast push") and kind 4
 *   (server → client "user broadcast").
 */

export type Vsn = "1.0.0" | "2.0.0";

export const VSN_1: Vsn = "1.0.0";
export const VSN_2: Vsn = "2.0.0";

/** A protocol message in either direction. */
export interface Message {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** The decoded body of a user broadcast (kind 3 frames and JSON `broadcast` pushes). */
export interface UserBroadcast {
  event: string;
  /** JSON payload, or raw bytes (Uint8Array) when the frame said encoding 0. */
  payload: unknown;
  /** Arrived in a binary frame (kind 3): goes out as kind 4 to vsn 2.0.0 sockets. */
  binary: boolean;
  meta?: Record<string, unknown>;
}

export const KIND_USER_BROADCAST_PUSH = 3;
export const KIND_USER_BROADCAST = 4;
export const ENCODING_BINARY = 0;
export const ENCODING_JSON = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class ProtocolError extends Error {}

/** Parses the `vsn` query parameter; absent means 1.0.0 as in Phoenix. */
export function parseVsn(value: string | null): Vsn | undefined {
  if (value === null || value === "" || value === VSN_1) return VSN_1;
  if (value === VSN_2) return VSN_2;
  return undefined;
}

/** Deepest nesting of arrays and objects accepted in JSON from a client. */
export const MAX_JSON_DEPTH = 64;

/**
 * JSON from a client (frames, payloads, REST bodies). Throws ProtocolError when `text` is not
 * JSON or nests deeper than MAX_JSON_DEPTH: what is parsed here is serialized again (replies,
 * broadcasts, presence) and JSON.stringify recurses, so a deep value would overflow the stack
 * in whichever handler serializes it next — possibly another client's.
 */
export function parseClientJson(text: string, what: string): unknown {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new ProtocolError(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(`${what} is not JSON`);
  }
}

/** Decodes one inbound frame. Throws ProtocolError on malformed input. */
export function decodeFrame(vsn: Vsn, data: string | ArrayBuffer | Uint8Array): Message {
  if (typeof data !== "string") {
    if (vsn !== VSN_2) throw new ProtocolError("binary frames need vsn 2.0.0");
    return decodeUserBroadcastPush(data instanceof Uint8Array ? data : new Uint8Array(data));
  }
  const parsed = parseClientJson(data, "frame");
  return vsn === VSN_2 ? fromArray(parsed) : fromObject(parsed);
}

function refOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  throw new ProtocolError("ref must be a string");
}

function checked(joinRef: unknown, ref: unknown, topic: unknown, event: unknown, payload: unknown) {
  if (typeof topic !== "string" || typeof event !== "string") {
    throw new ProtocolError("topic and event must be strings");
  }
  return { joinRef: refOf(joinRef), ref: refOf(ref), topic, event, payload: payload ?? {} };
}

function fromArray(parsed: unknown): Message {
  if (!Array.isArray(parsed) || parsed.length !== 5) {
    throw new ProtocolError("vsn 2.0.0 frames are 5-element arrays");
  }
  const [joinRef, ref, topic, event, payload] = parsed;
  return checked(joinRef, ref, topic, event, payload);
}

function fromObject(parsed: unknown): Message {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ProtocolError("vsn 1.0.0 frames are JSON objects");
  }
  const m = parsed as Record<string, unknown>;
  return checked(m.join_ref, m.ref, m.topic, m.event, m.payload);
}

/**
 * Decodes a kind 3 frame: header `u8 kind, u8 joinRefLen, u8 refLen, u8 topicLen,
 * u8 eventLen, u8 metaLen, u8 encoding`, then joinRef, ref, topic, event, meta, payload.
 */
export function decodeUserBroadcastPush(bytes: Uint8Array): Message {
  if (bytes.length < 7) throw new ProtocolError("binary frame too short");
  const kind = bytes[0];
  if (kind !== KIND_USER_BROADCAST_PUSH) throw new ProtocolError(`unsupported binary kind ${kind}`);
  const [joinRefLen, refLen, topicLen, eventLen, metaLen, encoding] = bytes.subarray(1, 7);
  if (encoding !== ENCODING_BINARY && encoding !== ENCODING_JSON) {
    throw new ProtocolError(`unsupported payload encoding ${encoding}`);
  }
  let offset = 7;
  const take = (length: number): Uint8Array => {
    if (offset + length > bytes.length) throw new ProtocolError("binary frame truncated");
    const part = bytes.subarray(offset, offset + length);
    offset += length;
    return part;
  };
  const text = (part: Uint8Array): string => {
    try {
      return decoder.decode(part);
    } catch {
      throw new ProtocolError("binary frame header is not UTF-8");
    }
  };
  const joinRef = text(take(joinRefLen));
  const ref = text(take(refLen));
  const topic = text(take(topicLen));
  const event = text(take(eventLen));
  const metaText = text(take(metaLen));
  const body = bytes.slice(offset);
  let meta: Record<string, unknown> | undefined;
  if (metaText !== "") {
    const parsed = parseClientJson(metaText, "binary frame metadata");
    if (typeof parsed === "object" && parsed !== null) meta = parsed as Record<string, unknown>;
  }
  const payload = encoding === ENCODING_JSON
    ? parseClientJson(text(body), "binary frame payload")
    : body;
  const broadcast: UserBroadcast = {
    event,
    payload,
    binary: true,
    ...(meta ? { meta } : {}),
  };
  return {
    joinRef: joinRef === "" ? null : joinRef,
    ref: ref === "" ? null : ref,
    topic,
    event: "broadcast",
    payload: broadcast,
  };
}

/** Encodes a server frame as text for the socket's protocol version. */
export function encodeText(vsn: Vsn, message: Message): string {
  if (vsn === VSN_2) {
    return JSON.stringify([
      message.joinRef,
      message.ref,
      message.topic,
      message.event,
      message.payload,
    ]);
  }
  return JSON.stringify({
    topic: message.topic,
    event: message.event,
    payload: message.payload,
    ref: message.ref,
  });
}

/**
 * Encodes a text frame from a payload that is already JSON text: the fan-out serializes a
 * change once and splices it into every subscriber's frame.
 */
export function encodeTextRaw(
  vsn: Vsn,
  topicJson: string,
  event: string,
  payloadJson: string,
): string {
  if (vsn === VSN_2) return `[null,null,${topicJson},"${event}",${payloadJson}]`;
  return `{"topic":${topicJson},"event":"${event}","payload":${payloadJson},"ref":null}`;
}

/** Whether a kind 4 frame can carry these names (each at most 255 UTF-8 bytes). */
export function fitsUserBroadcast(topic: string, event: string): boolean {
  return encoder.encode(topic).length <= 255 && encoder.encode(event).length <= 255;
}

/**
 * Encodes a kind 4 frame: header `u8 4, u8 topicLen, u8 eventLen, u8 metaLen, u8 encoding`,
 * then topic, event, meta (JSON, may be empty) and payload.
 */
export function encodeUserBroadcast(
  topic: string,
  event: string,
  payload: unknown,
  binary: boolean,
  meta?: Record<string, unknown>,
): Uint8Array {
  const topicBytes = encoder.encode(topic);
  const eventBytes = encoder.encode(event);
  const metaBytes = meta && Object.keys(meta).length > 0
    ? encoder.encode(JSON.stringify(meta))
    : new Uint8Array(0);
  for (const [name, part] of [["topic", topicBytes], ["event", eventBytes], ["meta", metaBytes]]) {
    if ((part as Uint8Array).length > 255) throw new ProtocolError(`${name} longer than 255 bytes`);
  }
  const body = binary ? asBytes(payload) : encoder.encode(JSON.stringify(payload ?? null));
  const frame = new Uint8Array(
    5 + topicBytes.length + eventBytes.length + metaBytes.length + body.length,
  );
  frame[0] = KIND_USER_BROADCAST;
  frame[1] = topicBytes.length;
  frame[2] = eventBytes.length;
  frame[3] = metaBytes.length;
  frame[4] = binary ? ENCODING_BINARY : ENCODING_JSON;
  let offset = 5;
  for (const part of [topicBytes, eventBytes, metaBytes, body]) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}

function asBytes(payload: unknown): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  throw new ProtocolError("binary broadcast payload must be bytes");
}
