/** Channel events after the join: leave, token refresh, broadcast and presence. */
import type { Context } from "../context.ts";
import type { Message, UserBroadcast } from "../protocol/serializer.ts";
import { resolveTables } from "./authorize.ts";
import { type Channel, replyTo } from "./channel.ts";
import type { Connection } from "./connection.ts";

export function handleLeave(ctx: Context, conn: Connection, channel: Channel, message: Message) {
  ctx.counters.leaves++;
  conn.push(replyTo(message, "ok", {}));
  channel.push("phx_close", {}, channel.joinRef);
  channel.close("leave");
}

/**
 * access_token: re-verify and re-authorize under the new claims. An invalid or expired token,
 * or claims that may no longer read a bound table, end the channel with a system error and
 * phx_error; the client rejoins (with its newest token) and catches up.
 */
export async function handleAccessToken(
  ctx: Context,
  conn: Connection,
  channel: Channel,
  message: Message,
): Promise<void> {
  const token = (message.payload as { access_token?: unknown })?.access_token;
  conn.push(replyTo(message, "ok", {}));
  if (typeof token !== "string" || token === "") return;
  ctx.counters.tokenRefreshes++;
  const verified = await ctx.verifier.verify(token);
  if (!channel.isOpen()) return;
  if (!verified.ok) return channel.fail(verified.message);
  const claims = verified.claims;
  if (channel.config.private && !ctx.channelPolicy(claims, channel.subTopic)) {
    return channel.fail(
      "Unauthorized: You do not have permissions to read from this Channel topic",
    );
  }
  const tables = await resolveTables(ctx, claims, channel.bindings);
  if (!channel.isOpen()) return;
  if (typeof tables === "string") return channel.fail(tables);
  channel.claims = claims;
  channel.tables = tables;
  channel.armExpiry();
  if (channel.bindings.length === 0) return;
  // Move to the new principal without losing or repeating anything: the cursor covers what
  // this channel was served; the rest is replayed from the retention log.
  const cursor = ctx.fanout.unsubscribe(channel);
  ctx.fanout.subscribe(channel.subscription(), cursor);
}

function broadcastBody(payload: unknown): UserBroadcast | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  if (typeof p.event !== "string") return undefined;
  return { event: p.event, payload: p.payload ?? {}, binary: p.binary === true };
}

export function handleBroadcast(
  ctx: Context,
  conn: Connection,
  channel: Channel,
  message: Message,
) {
  const body = broadcastBody(message.payload);
  if (!body) {
    if (channel.config.ack) conn.push(replyTo(message, "error", { reason: "invalid broadcast" }));
    return;
  }
  ctx.counters.broadcasts++;
  ctx.counters.broadcastDeliveries += ctx.topics.broadcast(
    channel.topic,
    channel.private,
    body,
    channel,
  );
  if (channel.config.ack) conn.push(replyTo(message, "ok", {}));
}

export function handlePresence(ctx: Context, conn: Connection, channel: Channel, message: Message) {
  const p = (message.payload ?? {}) as { event?: unknown; payload?: unknown };
  ctx.counters.presenceEvents++;
  if (p.event === "track") {
    const meta = typeof p.payload === "object" && p.payload !== null && !Array.isArray(p.payload)
      ? p.payload as Record<string, unknown>
      : {};
    ctx.topics.track(channel, channel.config.presenceKey, meta);
    return conn.push(replyTo(message, "ok", {}));
  }
  if (p.event === "untrack") {
    ctx.topics.untrack(channel);
    return conn.push(replyTo(message, "ok", {}));
  }
  conn.push(replyTo(message, "error", { reason: "unknown presence event" }));
}
