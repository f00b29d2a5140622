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
  return new JoinedChannel(ctx, conn, init);
}

/**
 * A class, not an object literal of closures: tens of thousands of idle channels share its
 * methods and getters (a literal with getters would also be a dictionary-mode object).
 */
class JoinedChannel implements Channel {
  readonly topic: string;
  readonly topicJson: string;
  readonly subTopic: string;
  readonly joinRef: string | null;
  readonly vsn: Vsn;
  readonly self: boolean;
  readonly private: boolean;
  readonly config: ChannelConfig;
  readonly bindings: Binding[];
  token: string;
  claims: Claims;
  access: TopicAccess;
  tables: TableBinding[];
  pausedCursor: bigint | undefined = undefined;
  #open = true;
  #expiry: ReturnType<typeof setTimeout> | undefined = undefined;
  #cursorKey: string | undefined;
  #ctx: Context;
  #conn: Connection;

  constructor(ctx: Context, conn: Connection, init: ChannelInit) {
    this.#ctx = ctx;
    this.#conn = conn;
    this.topic = init.topic;
    this.topicJson = JSON.stringify(init.topic);
    this.subTopic = init.topic.slice("realtime:".length);
    this.joinRef = init.joinRef;
    this.vsn = conn.vsn;
    this.self = init.config.self;
    this.private = init.config.private;
    this.config = init.config;
    this.bindings = init.bindings;
    this.token = init.token;
    this.claims = init.claims;
    this.access = init.access;
    this.tables = init.tables;
    this.#cursorKey = init.cursorKey;
  }

  get presenceEnabled(): boolean {
    return this.config.presenceEnabled && this.access.presence.read;
  }

  get receivesBroadcasts(): boolean {
    return this.access.broadcast.read;
  }

  get cursorKey(): string | undefined {
    return this.#cursorKey;
  }

  sendFrame(frame: string | Uint8Array): void {
    if (this.#open) this.#conn.sendFrame(frame);
  }

  push(event: string, payload: unknown, ref: string | null = null): void {
    const { joinRef, topic } = this;
    this.#conn.push({ joinRef, ref, topic, event, payload });
  }

  system(extension: string, status: string, message: string): void {
    this.push("system", { extension, status, message, channel: this.subTopic });
  }

  fail(message: string, extension = "system"): void {
    if (!this.#open) return;
    this.system(extension, "error", message);
    // phx_error (ref = join_ref) makes the client mark the channel errored and rejoin.
    this.push("phx_error", {}, this.joinRef);
    this.close("error");
  }

  isOpen(): boolean {
    return this.#open && this.#conn.isOpen();
  }

  armExpiry(): void {
    clearTimeout(this.#expiry);
    const left = secondsLeft(this.claims);
    if (!Number.isFinite(left)) return;
    this.#expiry = setTimeout(
      this.#conn.guard(() => {
        this.#expiry = undefined;
        this.#ctx.counters.tokenExpiries++;
        const ago = Math.max(0, Math.floor(-secondsLeft(this.claims)));
        this.fail(`Token has expired ${ago} seconds ago`);
      }),
      Math.min(MAX_TIMER_MS, Math.max(0, left * 1000)),
    );
  }

  rekey(key: string | undefined, cursor: bigint | undefined): void {
    if (key === this.#cursorKey) return;
    if (this.#cursorKey && cursor !== undefined) this.#wentAway(this.#cursorKey, cursor);
    this.#cursorKey = key;
    if (key) this.#ctx.cursors.set(key, { lsn: cursor ?? this.#ctx.fanout.position, at: null });
  }

  close(reason: CloseReason): void {
    if (!this.#open) return;
    this.#open = false;
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    const ctx = this.#ctx;
    // Plain bookkeeping first, then the fan-out, then the topic (which tells the others).
    if (this.#conn.channels.get(this.topic) === this) this.#conn.channels.delete(this.topic);
    ctx.privateRooms.release(this);
    ctx.channels.delete(this);
    const cursor = ctx.fanout.unsubscribe(this) ?? this.pausedCursor;
    const key = this.#cursorKey;
    if (key && cursor !== undefined) {
      if (reason === "leave") ctx.cursors.delete(key);
      else this.#wentAway(key, cursor);
    }
    ctx.topics.leave(this);
  }

  subscription() {
    return {
      subscriber: this as Channel,
      claims: this.claims,
      principalKey: principalKey(this.claims),
      tables: this.tables,
    };
  }

  /** Records that this channel's subscriber went away at `cursor` (catch-up on rejoin). */
  #wentAway(key: string, cursor: bigint): void {
    const earlier = this.#ctx.cursors.get(key);
    // With several channels on one key (tabs of one user), keep the oldest cursor.
    if (!earlier?.at || earlier.lsn > cursor) {
      this.#ctx.cursors.set(key, { lsn: cursor, at: Date.now() });
    }
  }
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
