/**
 * Test support for the realtime server: tokens, a server on a free loopback port, a raw
 * protocol client for byte-level checks, and stock realtime-js clients that close cleanly
 * (the op sanitizer is on).
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { RealtimeClient } from "@supabase/realtime-js";
import { createRealtime, type Realtime, type RealtimeOptions } from "../../realtime/mod.ts";

export const SECRET = "test-secret-for-realtime-0123456789abcdef";

export interface TokenInput {
  sub?: string;
  role?: string;
  app_metadata?: Record<string, unknown>;
  email?: string;
  /** Seconds from now (negative: already expired). Default 3600. */
  expiresIn?: number;
}

export function sign(input: TokenInput = {}, secret = SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    role: input.role ?? "authenticated",
    aud: "authenticated",
    app_metadata: input.app_metadata ?? {},
  };
  if (input.sub !== undefined) claims.sub = input.sub;
  if (input.email) claims.email = input.email;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (input.expiresIn ?? 3600))
    .sign(new TextEncoder().encode(secret));
}

export interface TestServer {
  realtime: Realtime;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `ws://127.0.0.1:<port>/realtime/v1` (what realtime-js takes). */
  endpoint: string;
  close(): Promise<void>;
}

export async function startServer(options: Partial<RealtimeOptions> = {}): Promise<TestServer> {
  const realtime = createRealtime({ jwtSecret: SECRET, ...options });
  await realtime.start();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    realtime.fetch,
  );
  const { port } = server.addr as Deno.NetAddr;
  return {
    realtime,
    origin: `http://127.0.0.1:${port}`,
    endpoint: `ws://127.0.0.1:${port}/realtime/v1`,
    async close() {
      await realtime.stop();
      await server.shutdown();
    },
  };
}

/** What a server holds: sockets, topics, the fan-out's registry, and handler failures. */
export function held(realtime: Realtime) {
  const m = realtime.metrics() as {
    sockets: number;
    topics: number;
    counters: { handlerErrors: number };
    fanout: { groups: number; principals: number; subscribers: number };
  };
  const { groups, principals, subscribers } = m.fanout;
  const { handlerErrors } = m.counters;
  return { sockets: m.sockets, topics: m.topics, groups, principals, subscribers, handlerErrors };
}

/** Waits until the server holds `expected` (a socket is let go when its close arrives). */
export async function holds(realtime: Realtime, expected: ReturnType<typeof held>) {
  const same = () => JSON.stringify(held(realtime)) === JSON.stringify(expected);
  await eventually(same, 5000, "the server to let go").catch(() => {
    assert.deepEqual(held(realtime), expected);
  });
}

/** Resolves when `check` passes, polling; rejects after `ms`. */
export async function eventually(check: () => boolean, ms = 5000, what = "condition") {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- stock realtime-js ------------------------------------------------------------------

export interface ClientOptions {
  vsn?: "1.0.0" | "2.0.0";
  apikey: string;
}

export function client(server: TestServer, options: ClientOptions): RealtimeClient {
  return new RealtimeClient(server.endpoint, {
    params: { apikey: options.apikey },
    vsn: options.vsn ?? "2.0.0",
    heartbeatIntervalMs: 60_000,
    timeout: 5_000,
    logger: () => {},
  });
}

/** Subscribes and resolves on SUBSCRIBED (rejects on error/timeout). */
export function subscribed(
  channel: ReturnType<RealtimeClient["channel"]>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.subscribe((status, error) => {
      if (status === "SUBSCRIBED") resolve();
      else if (status !== "CLOSED") reject(new Error(`${status}: ${error?.message ?? ""}`));
    });
  });
}

type Internals = {
  socketAdapter: { getSocket(): { disconnect(cb: () => void): void } };
  _cancelPendingDisconnect(): void;
  channels: Array<{ teardown(): void }>;
};

/**
 * Disconnects a realtime-js client without leaking its timers: RealtimeClient.disconnect()
 * arms an uncancelled 10 s timeout, so this goes to the Phoenix socket directly.
 */
export async function closeClient(c: RealtimeClient): Promise<void> {
  const internals = c as unknown as Internals;
  internals._cancelPendingDisconnect();
  for (const channel of [...internals.channels]) channel.teardown();
  internals.channels = [];
  await new Promise<void>((resolve) => internals.socketAdapter.getSocket().disconnect(resolve));
  internals._cancelPendingDisconnect();
}

// ---- raw protocol client ----------------------------------------------------------------

export interface RawClient {
  socket: WebSocket;
  /** Frames received so far (text frames parsed as JSON, binary as Uint8Array). */
  frames: Array<unknown>;
  send(frame: unknown): void;
  sendBytes(bytes: Uint8Array): void;
  /** Waits for a frame matching `match` (searching from `from`, default: all so far). */
  next(match: (frame: unknown) => boolean, ms?: number): Promise<unknown>;
  close(): Promise<void>;
}

export async function rawClient(
  server: TestServer,
  apikey: string,
  vsn: "1.0.0" | "2.0.0" | null = "2.0.0",
): Promise<RawClient> {
  const query = vsn === null ? "" : `&vsn=${vsn}`;
  const socket = new WebSocket(`${server.endpoint}/websocket?apikey=${apikey}${query}`);
  socket.binaryType = "arraybuffer";
  const frames: unknown[] = [];
  const waiters = new Set<() => void>();
  socket.onmessage = (event) => {
    frames.push(
      typeof event.data === "string" ? JSON.parse(event.data) : new Uint8Array(event.data),
    );
    for (const w of [...waiters]) w();
  };
  const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("websocket failed to open"));
  });
  return {
    socket,
    frames,
    send: (frame) => socket.send(JSON.stringify(frame)),
    sendBytes: (bytes) => socket.send(bytes),
    next(match, ms = 5000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < frames.length; seen++) {
            if (match(frames[seen])) {
              const frame = frames[seen];
              frames.splice(seen, 1);
              cleanup();
              resolve(frame);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(frames)}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close();
      }
      await closed;
    },
  };
}

/** Matches a vsn 2.0.0 frame by event (and optionally ref). */
export function v2(event: string, ref?: string | null) {
  return (frame: unknown) =>
    Array.isArray(frame) && frame[3] === event && (ref === undefined || frame[1] === ref);
}

/** Matches a vsn 1.0.0 frame by event (and optionally ref). */
export function v1(event: string, ref?: string | null) {
  return (frame: unknown) => {
    const f = frame as { event?: string; ref?: string | null };
    return !Array.isArray(frame) && f?.event === event && (ref === undefined || f.ref === ref);
  };
}
