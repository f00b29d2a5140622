/**
 * phx_join: verify the token, validate the config, resolve and authorize the bindings, wait
 * for the change feed, then — in one synchronous step — reply, announce the subscription and
 * register with the fan-out (replaying missed changes first when the subscriber has a
 * catch-up cursor). Nothing committed after the reply can be missed.
 *
 * Row-level access never fails a join that carries an `access_token`: a binding whose claims
 * see no row of its table is accepted and delivers nothing until an `access_token` push whose
 * claims may (as Supabase, where RLS filters every row out; the client is told with a
 * `system` message). A join *without* an `access_token` is authorized with the connection's
 * `apikey`; if that key may read no row of a bound table the join is refused, because
 * realtime-js sends its first join before its `accessToken` callback has resolved and never
 * re-sends a token it already holds: accepting would leave it subscribed to nothing, while
 * the refusal makes it rejoin with its token a second later.
 */
import { canReceive, FULL_ACCESS } from "../auth/channel_policy.ts";
import { principalKey } from "../auth/claims.ts";
import { cursorKey } from "../catchup/cursors.ts";
import type { Context } from "../context.ts";
import { type Binding, parseBindings, replyEntry } from "../changes/bindings.ts";
import { FilterError } from "../changes/filter.ts";
import type { Message } from "../protocol/serializer.ts";
import { blindMessage, resolveTables } from "./authorize.ts";
import { type ChannelConfig, createChannel, replyTo } from "./channel.ts";
import type { Connection } from "./connection.ts";

type JoinPayload = {
  config?: {
    broadcast?: { self?: unknown; ack?: unknown; replication_ready?: unknown };
    presence?: { key?: unknown; enabled?: unknown };
    postgres_changes?: unknown;
    private?: unknown;
  };
  access_token?: unknown;
  /** Older clients' name for access_token. */
  user_token?: unknown;
};

function tokenOf(payload: JoinPayload): string | undefined {
  for (const value of [payload.access_token, payload.user_token]) {
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

export async function handleJoin(ctx: Context, conn: Connection, message: Message): Promise<void> {
  const fail = (reason: string) => {
    ctx.counters.joinErrors++;
    conn.push(replyTo(message, "error", { reason }));
  };
  const { topic } = message;
  if (!topic.startsWith("realtime:") || topic.length === "realtime:".length) {
    return fail("InvalidTopic: topic must be realtime:<name>");
  }
  if (!conn.channels.has(topic) && conn.channels.size >= ctx.limits.maxChannelsPerSocket) {
    return fail("ChannelRateLimitReached: Too many channels");
  }
  const payload =
    (typeof message.payload === "object" && message.payload !== null
      ? message.payload
      : {}) as JoinPayload;
  const explicit = tokenOf(payload);
  const token = explicit ?? conn.apikey;
  const verified = await ctx.verifier.verify(token);
  if (!verified.ok) return fail(`InvalidJWTToken: ${verified.message}`);
  const claims = verified.claims;

  const config = parseConfig(payload);
  const subTopic = topic.slice("realtime:".length);
  // Private: the database's policies decide (session/private.ts), never the claims alone.
  const grant = config.private ? await ctx.privateRooms.authorize(claims, subTopic) : undefined;
  if (config.private && !grant) {
    return fail("UnableToSetPolicies: Realtime was unable to connect to the project database");
  }
  if (grant && !canReceive(grant.access)) {
    return fail(
      `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`,
    );
  }
  let bindings: Binding[];
  try {
    bindings = parseBindings(payload.config?.postgres_changes);
  } catch (error) {
    if (error instanceof FilterError) return fail(`InvalidPostgresChanges: ${error.message}`);
    throw error;
  }
  const resolved = await resolveTables(ctx, claims, bindings);
  if (typeof resolved === "string") return fail(resolved);
  const { tables, blind } = resolved;
  if (blind.length > 0 && explicit === undefined) {
    return fail(
      `Unauthorized: the join carried no access_token and the connection's apikey ` +
        `(role ${claims.role}) may read no row of ${blind.join(", ")}; join with an access_token`,
    );
  }
  if (bindings.length > 0 && ctx.feed && !ctx.feed.isReady()) {
    const ready = await waitReady(ctx);
    if (!ready) return fail("PostgresChangesUnavailable: the change feed is not ready, retry");
  }
  const key = bindings.length > 0 && typeof claims.sub === "string"
    ? cursorKey(claims.sub, topic, bindings.map((b) => b.canonical))
    : undefined;
  if (key && ctx.cursors.fetch && !ctx.cursors.get(key)) await sharedCursor(ctx, key);
  if (!conn.isOpen()) return;

  // From here on everything is synchronous: no transaction can slip in between.
  const existing = conn.channels.get(topic);
  if (existing) {
    // Duplicate join: close the previous one. vsn 1.0.0 frames carry no join_ref, so a
    // phx_close there would close the new channel on the client as well.
    if (conn.vsn === "2.0.0") existing.push("phx_close", {}, existing.joinRef);
    existing.close("replaced");
  }
  const channel = createChannel(ctx, conn, {
    topic,
    joinRef: message.joinRef ?? message.ref,
    config,
    token,
    claims,
    access: grant?.access ?? FULL_ACCESS,
    bindings,
    tables,
    cursorKey: key,
  });
  conn.channels.set(topic, channel);
  if (grant) ctx.privateRooms.hold(channel, grant);
  ctx.counters.joins++;
  conn.push(replyTo(message, "ok", { postgres_changes: bindings.map(replyEntry) }));
  ctx.topics.join(channel);
  if (bindings.length > 0) {
    channel.system("postgres_changes", "ok", "Subscribed to PostgreSQL");
    if (blind.length > 0) channel.system("postgres_changes", "error", blindMessage(claims, blind));
    const cursor = key ? catchUpCursor(ctx, key) : undefined;
    if (key) ctx.cursors.set(key, { lsn: ctx.fanout.position, at: null });
    ctx.channels.add(channel);
    const outcome = ctx.fanout.subscribe(
      { subscriber: channel, claims, principalKey: principalKey(claims), tables },
      cursor,
    );
    if (outcome.kind === "replay") ctx.counters.catchUpReplays++;
    if (outcome.kind === "gap") {
      ctx.counters.catchUpGaps++;
      channel.system(
        "postgres_changes",
        "refetch",
        "Changes made while you were disconnected can no longer be replayed; refetch",
      );
    }
  }
  if (payload.config?.broadcast?.replication_ready === true) {
    // realtime-js ≥ 2.9x: announce that the replication stream is live.
    if (ctx.feed && !ctx.feed.isReady()) {
      channel.system("system", "error", "Replication connection is not ready");
    } else {
      channel.system("system", "ok", "Replication connection established");
    }
  }
  if (channel.presenceEnabled) {
    channel.push("presence_state", ctx.topics.presenceState(channel));
  }
  channel.armExpiry();
}

function parseConfig(payload: JoinPayload): ChannelConfig {
  const c = payload.config ?? {};
  const key = c.presence?.key;
  return {
    self: c.broadcast?.self === true,
    ack: c.broadcast?.ack === true,
    presenceEnabled: c.presence?.enabled === true,
    presenceKey: typeof key === "string" && key !== "" ? key : crypto.randomUUID(),
    private: c.private === true,
  };
}

/**
 * The cursor of a subscriber that went away, if any. Past the catch-up window the cursor is
 * -1, which no retention log can serve: the client is told to refetch.
 */
function catchUpCursor(ctx: Context, key: string): bigint | undefined {
  const entry = ctx.cursors.get(key);
  if (!entry || entry.at === null) return undefined;
  if (Date.now() - entry.at > ctx.limits.catchUpWindowMs) return -1n;
  return entry.lsn;
}

/**
 * Reads a cursor another realtime node left (shared store); when that node had served the
 * subscriber further than this one has got, waits (bounded) until this node reaches it, so
 * nothing is delivered twice.
 */
async function sharedCursor(ctx: Context, key: string): Promise<void> {
  await ctx.cursors.fetch!(key);
  const cursor = ctx.cursors.get(key);
  const deadline = Date.now() + ctx.limits.joinReadyTimeoutMs;
  while (cursor && ctx.fanout.position < cursor.lsn && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitReady(ctx: Context): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ctx.limits.joinReadyTimeoutMs);
  });
  try {
    return await Promise.race([ctx.feed!.ready().then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
