/**
 * One websocket: decoding, heartbeats, backpressure, and routing of channel
 * events. Events of one topic are handled one after another (a join may await the token
 * check and the change feed); heartbeats are answered at once. Every callback the runtime
 * makes into a connection — socket listeners, queued handlers, its channels' timers — goes
 * through `guard`: an error closes this socket, never the process.
 */
import type { Context } from "../context.ts";
import {
  decodeFrame,
  encodeText,
  type Message,
  ProtocolError,
  type Vsn,
} from "../protocol/serializer.ts";
import { type Guarded, guarded } from "../guard.ts";
import { type Channel, replyTo } from "./channel.ts";
import { handleAccessToken, handleBroadcast, handleLeave, handlePresence } from "./handlers.ts";
import { handleJoin } from "./join.ts";

export interface Connection {
  /** The id of the upgrade request, in every log line about this socket. */
  readonly id: string;
  readonly vsn: Vsn;
  /** The token from the connection URL (`apikey`), used when a join carries none. */
  readonly apikey: string;
  readonly channels: Map<string, Channel>;
  push(message: Message): void;
  sendFrame(frame: string | Uint8Array): void;
  isOpen(): boolean;
  close(code: number, reason: string): void;
  /** When the client last sent a frame (epoch ms). */
  lastSeen(): number;
  /** Wraps a callback the runtime makes into this connection (see `guarded`). */
  guard<A extends unknown[]>(callback: (...args: A) => unknown): Guarded<A>;
}

export interface ConnectionInit {
  /** The upgrade request's id (see `requestIdOf`). */
  id: string;
  vsn: Vsn;
  apikey: string;
  /** The client's address, counted against `maxSocketsPerAddress` while the socket lives. */
  address: string | undefined;
}

const BUFFER_CHECK_BYTES = 64 * 1024;

export function attachConnection(
  ctx: Context,
  socket: WebSocket,
  { id, vsn, apikey, address }: ConnectionInit,
): Connection {
  const channels = new Map<string, Channel>();
  const queues = new Map<string, Promise<void>>();
  let open = socket.readyState === WebSocket.OPEN;
  let closed = false; // a socket may close before it ever opened (handshake dropped)
  let lastSeen = Date.now();
  let sinceCheck = BUFFER_CHECK_BYTES; // the first frame checks

  const conn: Connection = {
    id,
    vsn,
    apikey,
    channels,
    push(message) {
      conn.sendFrame(encodeText(vsn, message));
    },
    sendFrame(frame) {
      if (!open || socket.readyState !== WebSocket.OPEN) return;
      // Reading bufferedAmount is a call into the runtime: look every 64 KiB sent, which
      // bounds the overshoot of the limit by as much.
      sinceCheck += typeof frame === "string" ? frame.length : frame.byteLength;
      if (sinceCheck >= BUFFER_CHECK_BYTES) {
        sinceCheck = 0;
        if (socket.bufferedAmount > ctx.limits.maxBufferedBytes) {
          ctx.counters.slowConsumersClosed++;
          conn.close(1008, "slow consumer");
          return;
        }
      }
      socket.send(frame);
    },
    isOpen: () => open,
    lastSeen: () => lastSeen,
    close(code, reason) {
      if (open && socket.readyState === WebSocket.OPEN) {
        try {
          socket.close(code, reason);
        } catch { /* already closing */ }
      }
      teardown();
    },
    guard: (callback) => guarded(id, callback, failed),
  };

  /** After an unexpected error (logged by the guard): this socket goes, nothing else. */
  function failed(): void {
    ctx.counters.handlerErrors++;
    conn.close(1011, "internal error");
  }

  /** Leaves every structure the socket is in; one failing channel does not keep the others. */
  function teardown(): void {
    if (closed) return;
    closed = true;
    open = false;
    ctx.sockets.delete(conn);
    if (address !== undefined) {
      const left = (ctx.addresses.get(address) ?? 1) - 1;
      if (left > 0) ctx.addresses.set(address, left);
      else ctx.addresses.delete(address);
    }
    for (const channel of [...channels.values()]) {
      guarded(id, () => channel.close("disconnect"), failed)();
    }
  }

  function enqueue(topic: string, task: () => void | Promise<void>): void {
    const previous = queues.get(topic) ?? Promise.resolve();
    const next = previous.then(conn.guard(task));
    queues.set(topic, next);
    next.then(() => {
      if (queues.get(topic) === next) queues.delete(topic);
    });
  }

  function route(message: Message): void {
    const { topic, event } = message;
    if (topic === "phoenix" && event === "heartbeat") {
      return conn.push(replyTo(message, "ok", {}));
    }
    if (event === "phx_join") return enqueue(topic, () => handleJoin(ctx, conn, message));
    enqueue(topic, () => {
      if (!open) return;
      const channel = channels.get(topic);
      if (!channel) {
        return conn.push(replyTo(message, "error", { reason: "unmatched topic" }));
      }
      switch (event) {
        case "phx_leave":
          return handleLeave(ctx, conn, channel, message);
        case "access_token":
          return handleAccessToken(ctx, conn, channel, message);
        case "broadcast":
          return handleBroadcast(ctx, conn, channel, message);
        case "presence":
          return handlePresence(ctx, conn, channel, message);
        default:
          // Unknown channel events are ignored, as by Supabase Realtime.
          return;
      }
    });
  }

  function receive(event: MessageEvent): void {
    lastSeen = Date.now();
    const data = event.data as string | ArrayBuffer;
    const size = typeof data === "string" ? data.length : data.byteLength;
    if (size > ctx.limits.maxFrameBytes) return conn.close(1009, "frame too large");
    let message: Message;
    try {
      message = decodeFrame(vsn, data);
    } catch (error) {
      ctx.counters.protocolErrors++;
      if (error instanceof ProtocolError) return conn.close(1003, "malformed frame");
      throw error;
    }
    route(message);
  }

  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", () => {
    open = !closed;
  });
  socket.addEventListener("message", conn.guard(receive));
  socket.addEventListener("close", conn.guard(teardown));
  socket.addEventListener("error", conn.guard(teardown));
  ctx.sockets.add(conn);
  if (address !== undefined) ctx.addresses.set(address, (ctx.addresses.get(address) ?? 0) + 1);
  return conn;
}
