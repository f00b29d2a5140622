/** Channel events after the join: leave, token refresh, broadcast and presence. */
import type { Context } from "../context.ts";
import type { Message, UserBroadcast } from "../protocol/serializer.ts";
import { cursorKey } from "../catchup/cursors.ts";
import { blindMessage, resolveTables } from "./authorize.ts";
import { type Channel, replyTo } from "./channel.ts";
import type { Connection } from "./connection.ts";

export function handleLeave(ctx: Context, conn: Connection, channel: Channel, message: Message) {
  ctx.counters.leaves++;
  conn.push(replyTo(message, "ok", {}));
  channel.push("phx_close", {}, channel.joinRef);
  channel.close("leave");
}

/**
 * access_token: re-verify and re-authorize under the new claims, as Supabase does. A different
 * valid token — a refresh, another user, a downgrade to the anon key, an upgrade from it —
 * moves the channel to the new claims: bindings the new claims may read no row of stay on the
 * channel but deliver nothing (`system` message) until a later token may. Only an invalid or
 * expired token, or a private topic where the new claims lose a read permission, ends the
 * channel (system error and phx_error; the client rejoins with its newest token and catches up).
 *
 * The channel leaves the fan-out as soon as the push is handled and rejoins it from the same
 * position once the new claims are known: nothing committed meanwhile is delivered under the
 * old claims, nothing is lost (it is replayed, authorized under the new ones).
 */
export async function handleAccessToken(
  ctx: Context,
  conn: Connection,
  channel: Channel,
  message: Message,
): Promise<void> {
  const token = (message.payload as { access_token?: unknown })?.access_token;
  conn.push(replyTo(message, "ok", {}));
  if (typeof token !== "string" || token === "" || token === channel.token) return;
  ctx.counters.tokenRefreshes++;
  const subscribed = channel.bindings.length > 0;
  if (subscribed) channel.pausedCursor = ctx.fanout.unsubscribe(channel);
  const verified = await ctx.verifier.verify(token);
  if (!channel.isOpen()) return;
  if (!verified.ok) return channel.fail(verified.message);
  const claims = verified.claims;
  const grant = channel.private
    ? await ctx.privateRooms.authorize(claims, channel.subTopic)
    : undefined;
  if (!channel.isOpen()) return;
  if (channel.private && !grant) {
    return channel.fail("Realtime was unable to connect to the project database");
  }
  const resolved = await resolveTables(ctx, claims, channel.bindings, true);
  if (!channel.isOpen()) return;
  if (typeof resolved === "string") return channel.fail(resolved); // not with lenient
  const previous = channel.claims;
  channel.token = token;
  channel.claims = claims;
  channel.tables = resolved.tables;
  if (grant) {
    ctx.privateRooms.hold(channel, grant); // ends the channel if a read permission is lost
    if (!channel.isOpen()) return;
  }
  channel.armExpiry();
  if (!subscribed) return;
  const cursor = channel.pausedCursor;
  channel.pausedCursor = undefined;
  if (claims.sub !== previous.sub) {
    channel.rekey(
      typeof claims.sub === "string"
        ? cursorKey(claims.sub, channel.topic, channel.bindings.map((b) => b.canonical))
        : undefined,
      cursor,
    );
  }
  const outcome = ctx.fanout.subscribe(channel.subscription(), cursor);
  if (outcome.kind === "gap") {
    channel.system(
      "postgres_changes",
      "refetch",
      "Changes made while the token changed can no longer be replayed; refetch",
    );
  }
  if (resolved.blind.length > 0) {
    channel.system("postgres_changes", "error", blindMessage(claims, resolved.blind));
  }
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
  if (!channel.access.broadcast.write) {
    if (channel.config.ack) conn.push(replyTo(message, "error", { reason: cannotWrite(channel) }));
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
    if (!channel.access.presence.write) {
      return conn.push(replyTo(message, "error", { reason: cannotWrite(channel) }));
    }
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

function cannotWrite(channel: Channel): string {
  return `Unauthorized: You do not have permissions to write to this Channel topic: ${channel.subTopic}`;
}
