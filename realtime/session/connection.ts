/**
 * One websocket: decoding, heartbeats, backpressure, and routing of channel
 * events. Events of one topic are handled one after another (a join may await the token
 * check and the change feed); heartbeats are answered at once.
 */
import type { Context } from "../context.ts";
import {
  decodeFrame,
  encodeText,
  type Message,
  ProtocolError,
  type Vsn,
} from "../protocol/serializer.ts";
import { describeError } from "../fanout/fanout.ts";
import { type Channel, replyTo } from "./channel.ts";
import { handleAccessToken, handleBroadcast, handleLeave, handlePresence } from "./handlers.ts";
import { handleJoin } from "./join.ts";

export interface Connection {
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
}

const BUFFER_CHECK_BYTES = 64 * 1024;

export function attachConnection(
  ctx: Context,
  socket: WebSocket,
  vsn: Vsn,
  apikey: string,
): Connection {
  const channels = new Map<string, Channel>();
  const queues = new Map<string, Promise<void>>();
  let open = socket.readyState === WebSocket.OPEN;
  let lastSeen = Date.now();
  let sinceCheck = BUFFER_CHECK_BYTES; // the first frame checks

  const conn: Connection = {
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
  };

  function teardown(): void {
    if (!open) return;
    open = false;
    for (const channel of [...channels.values()]) channel.close("disconnect");
    ctx.sockets.delete(conn);
  }

  function enqueue(topic: string, task: () => void | Promise<void>): void {
    const previous = queues.get(topic) ?? Promise.resolve();
    const next = previous.then(task).catch((error) => {
      console.error(`realtime: handler failed: ${describeError(error)}`);
    });
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

  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", () => {
    open = true;
  });
  socket.addEventListener("message", (event: MessageEvent) => {
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
  });
  socket.addEventListener("close", teardown);
  socket.addEventListener("error", teardown);
  ctx.sockets.add(conn);
  return conn;
}
