/**
 * A joined channel: one topic on one socket. It is a topic member (broadcast, presence)
 * and a fan-out subscriber (postgres_changes), owns its token-expiry timer, and records a
 * catch-up cursor when it ends for any reason other than an explicit leave.
 */
import type { TopicAccess } from "../auth/channel_policy.ts";
import { type Claims, principalKey } from "../auth/claims.ts";
import { secondsLeft } from "../auth/jwt.ts";
import type { Binding } from "../changes/bindings.ts";
import type { TableBinding } from "../fanout/subscriber.ts";
import type { Message, Vsn } from "../protocol/serializer.ts";
import type { Context } from "../context.ts";
import type { Connection } from "./connection.ts";

export interface ChannelConfig {
  self: boolean;
  ack: boolean;
  presenceEnabled: boolean;
  presenceKey: string;
  private: boolean;
}

export type CloseReason = "leave" | "disconnect" | "error" | "replaced";

export interface Channel {
  readonly topic: string;
  readonly topicJson: string;
  readonly subTopic: string;
  readonly joinRef: string | null;
  readonly vsn: Vsn;
  readonly self: boolean;
  readonly private: boolean;
  /** Presence asked for in the join and, on a private channel, readable. */
  readonly presenceEnabled: boolean;
  readonly receivesBroadcasts: boolean;
  readonly config: ChannelConfig;
  readonly bindings: Binding[];
  /** Catch-up key (token subject + topic + bindings); follows the subject of the claims. */
  readonly cursorKey: string | undefined;
  /** The token the channel is authorized with (a push of the same token changes nothing). */
  token: string;
  claims: Claims;
  /** What the claims may receive and send here (everything on a public channel). */
  access: TopicAccess;
  tables: TableBinding[];
  /**
   * Set while the channel is off the fan-out during a token change: the position up to
   * which it was served (it is re-registered from there).
   */
  pausedCursor: bigint | undefined;
  sendFrame(frame: string | Uint8Array): void;
  /** Pushes a message carrying this channel's join_ref. */
  push(event: string, payload: unknown, ref?: string | null): void;
  /** Pushes a `system` message. */
  system(extension: string, status: string, message: string): void;
  fail(message: string, extension?: string): void;
  isOpen(): boolean;
  /** (Re)arms the expiry timer for the current claims. */
  armExpiry(): void;
  /**
   * Moves the catch-up cursor to a new key (the token's subject changed): the previous key
   * is left as if its subscriber went away at `cursor`, the new one starts live.
   */
  rekey(key: string | undefined, cursor: bigint | undefined): void;
  close(reason: CloseReason): void;
  /** The fan-out registration for the current claims. */
  subscription(): {
    subscriber: Channel;
    claims: Claims;
    principalKey: string;
    tables: TableBinding[];
  };
}

export interface ChannelInit {
  topic: string;
  joinRef: string | null;
  config: ChannelConfig;
  token: string;
  claims: Claims;
  access: TopicAccess;
  bindings: Binding[];
  tables: TableBinding[];
  cursorKey: string | undefined;
}

/** Longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createChannel(ctx: Context, conn: Connection, init: ChannelInit): Channel {
  let open = true;
  let expiry: ReturnType<typeof setTimeout> | undefined;
  let cursorKey = init.cursorKey;
  const subTopic = init.topic.slice("realtime:".length);

  const channel: Channel = {
    topic: init.topic,
    topicJson: JSON.stringify(init.topic),
    subTopic,
    joinRef: init.joinRef,
    vsn: conn.vsn,
    self: init.config.self,
    private: init.config.private,
    get presenceEnabled() {
      return init.config.presenceEnabled && channel.access.presence.read;
    },
    get receivesBroadcasts() {
      return channel.access.broadcast.read;
    },
    config: init.config,
    bindings: init.bindings,
    get cursorKey() {
      return cursorKey;
    },
    token: init.token,
    claims: init.claims,
    access: init.access,
    tables: init.tables,
    pausedCursor: undefined,
    sendFrame(frame) {
      if (open) conn.sendFrame(frame);
    },
    push(event, payload, ref = null) {
      conn.push({ joinRef: init.joinRef, ref, topic: init.topic, event, payload });
    },
    system(extension, status, message) {
      channel.push("system", { extension, status, message, channel: subTopic });
    },
    fail(message, extension = "system") {
      if (!open) return;
      channel.system(extension, "error", message);
      // phx_error (ref = join_ref) makes the client mark the channel errored and rejoin.
      channel.push("phx_error", {}, init.joinRef);
      channel.close("error");
    },
    isOpen: () => open && conn.isOpen(),
    armExpiry() {
      clearTimeout(expiry);
      const left = secondsLeft(channel.claims);
      if (!Number.isFinite(left)) return;
      expiry = setTimeout(
        conn.guard(() => {
          expiry = undefined;
          ctx.counters.tokenExpiries++;
          const ago = Math.max(0, Math.floor(-secondsLeft(channel.claims)));
          channel.fail(`Token has expired ${ago} seconds ago`);
        }),
        Math.min(MAX_TIMER_MS, Math.max(0, left * 1000)),
      );
    },
    rekey(key, cursor) {
      if (key === cursorKey) return;
      if (cursorKey && cursor !== undefined) wentAway(cursorKey, cursor);
      cursorKey = key;
      if (key) ctx.cursors.set(key, { lsn: cursor ?? ctx.fanout.position, at: null });
    },
    close(reason) {
      if (!open) return;
      open = false;
      clearTimeout(expiry);
      expiry = undefined;
      // Plain bookkeeping first, then the fan-out, then the topic (which tells the others).
      if (conn.channels.get(init.topic) === channel) conn.channels.delete(init.topic);
      ctx.privateRooms.release(channel);
      ctx.channels.delete(channel);
      const cursor = ctx.fanout.unsubscribe(channel) ?? channel.pausedCursor;
      if (cursorKey && cursor !== undefined) {
        if (reason === "leave") ctx.cursors.delete(cursorKey);
        else wentAway(cursorKey, cursor);
      }
      ctx.topics.leave(channel);
    },
    subscription() {
      return {
        subscriber: channel,
        claims: channel.claims,
        principalKey: principalKey(channel.claims),
        tables: channel.tables,
      };
    },
  };
  /** Records that this channel's subscriber went away at `cursor` (catch-up on rejoin). */
  function wentAway(key: string, cursor: bigint): void {
    const earlier = ctx.cursors.get(key);
    // With several channels on one key (tabs of one user), keep the oldest cursor.
    if (!earlier?.at || earlier.lsn > cursor) ctx.cursors.set(key, { lsn: cursor, at: Date.now() });
  }

  return channel;
}

/** A reply to a client push. */
export function replyTo(
  message: Message,
  status: "ok" | "error",
  response: Record<string, unknown>,
): Message {
  return {
    joinRef: message.joinRef,
    ref: message.ref,
    topic: message.topic,
    event: "phx_reply",
    payload: { status, response },
  };
}
