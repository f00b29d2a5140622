/**
 * REST broadcast: `POST /api/broadcast` with `{messages: [{topic, event, payload, private}]}`
 * (realtime-js falls back to it when a channel is not joined) and
 * `POST /api/broadcast/<topic>/events/<event>` (realtime-js `httpSend`). Both answer 202.
 */
import type { Context } from "./context.ts";
import { parseClientJson } from "./protocol/serializer.ts";

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_MESSAGES = 100;

/** A JSON error in the project's shape. */
export function jsonError(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/** The bearer token of a REST call: `Authorization` first, then `apikey`. */
export function requestToken(req: Request): string | undefined {
  const auth = req.headers.get("authorization");
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, "").trim();
  return req.headers.get("apikey") ?? new URL(req.url).searchParams.get("apikey") ?? undefined;
}

/**
 * The body, read chunk by chunk and abandoned as soon as it passes the cap: a chunked body
 * (no Content-Length) of any size costs at most the cap.
 */
async function readBody(req: Request): Promise<Uint8Array | Response> {
  const tooLarge = () =>
    jsonError(413, "payload_too_large", `The body exceeds ${MAX_BODY_BYTES} bytes`);
  if (Number(req.headers.get("content-length") ?? "0") > MAX_BODY_BYTES) return tooLarge();
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    // Leaving the loop cancels the stream: the rest is never read.
    if (size > MAX_BODY_BYTES) return tooLarge();
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/** A percent-decoded path segment, or undefined when its encoding is malformed. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

interface Outgoing {
  topic: string;
  event: string;
  payload: unknown;
  private: boolean;
}

function parseBatch(body: Uint8Array): Outgoing[] | undefined {
  let parsed: unknown;
  try {
    parsed = parseClientJson(new TextDecoder().decode(body), "body");
  } catch {
    return undefined;
  }
  const messages = (parsed as { messages?: unknown })?.messages;
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_MESSAGES) {
    return undefined;
  }
  const out: Outgoing[] = [];
  for (const m of messages) {
    if (typeof m !== "object" || m === null) return undefined;
    const { topic, event, payload } = m as Record<string, unknown>;
    if (typeof topic !== "string" || topic === "" || typeof event !== "string") return undefined;
    out.push({
      topic,
      event,
      payload: payload ?? {},
      private: (m as { private?: unknown }).private === true,
    });
  }
  return out;
}

/** Handles a REST broadcast request; `rest` is the path after `/api/broadcast`. */
export async function handleRestBroadcast(
  ctx: Context,
  req: Request,
  rest: string,
): Promise<Response> {
  if (req.method !== "POST") return jsonError(405, "method_not_allowed", "Use POST");
  const token = requestToken(req);
  if (!token) return jsonError(401, "unauthorized", "Missing API key or token");
  const verified = await ctx.verifier.verify(token);
  if (!verified.ok) return jsonError(401, "unauthorized", verified.message);
  const body = await readBody(req);
  if (body instanceof Response) return body;

  let messages: Outgoing[];
  if (rest === "" || rest === "/") {
    const batch = parseBatch(body);
    if (!batch) {
      return jsonError(400, "invalid_request", "Expected {messages: [{topic, event, payload}]}");
    }
    messages = batch;
  } else {
    const match = rest.match(/^\/([^/]+)\/events\/([^/]+)$/);
    if (!match) return jsonError(404, "not_found", "Unknown broadcast route");
    const binary = (req.headers.get("content-type") ?? "").startsWith("application/octet-stream");
    let payload: unknown = body;
    if (!binary) {
      try {
        payload = parseClientJson(new TextDecoder().decode(body), "body");
      } catch (error) {
        return jsonError(400, "invalid_request", (error as Error).message);
      }
    }
    const [topic, event] = [decodeSegment(match[1]), decodeSegment(match[2])];
    if (topic === undefined || event === undefined) {
      return jsonError(400, "invalid_request", "Malformed percent-encoding in the topic or event");
    }
    messages = [{
      topic,
      event,
      payload,
      private: new URL(req.url).searchParams.get("private") === "true",
    }];
  }
  // Private topics: send (broadcast write) permission from the database's policies.
  for (const topic of new Set(messages.filter((m) => m.private).map((m) => m.topic))) {
    const grant = await ctx.privateRooms.authorize(verified.claims, topic);
    if (!grant) return jsonError(503, "unavailable", "Could not check access to private topics");
    if (!grant.access.broadcast.write) {
      return jsonError(403, "forbidden", `Not allowed to broadcast to ${topic}`);
    }
  }
  for (const m of messages) {
    ctx.counters.broadcasts++;
    ctx.counters.broadcastDeliveries += ctx.topics.broadcast(`realtime:${m.topic}`, m.private, {
      event: m.event,
      payload: m.payload,
      binary: m.payload instanceof Uint8Array,
    });
  }
  return new Response(null, { status: 202 });
}
