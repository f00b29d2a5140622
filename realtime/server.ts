/**
 * createRealtime: the realtime service as a `fetch` handler plus lifecycle.
 *
 * Routes (under `basePath`, default `/realtime/v1`):
 * - `GET  /websocket`                         Supabase Realtime protocol (vsn 1.0.0 and 2.0.0)
 * - `POST /api/broadcast`                     REST broadcast (batch)
 * - `POST /api/broadcast/<topic>/events/<e>`  REST broadcast (realtime-js httpSend)
 * - `GET  /health`                            feed status and slot lag (no secrets, no PHI)
 * - `GET  /metrics`                           counters (service_role token required)
 */
import { serviceRoleOnly, type TopicPolicy } from "./auth/channel_policy.ts";
import { createVerifier, type JwtOptions, type TokenVerifier } from "./auth/jwt.ts";
import { createMemoryCursorStore, type CursorStore } from "./catchup/cursors.ts";
import { createRetentionLog, type RetentionOptions } from "./catchup/retention.ts";
import { type Context, type Limits, newCounters } from "./context.ts";
import { clientAddress, type TrustedProxies } from "../edge/net/client_address.ts";
import { type Authorizer, createRuleAuthorizer } from "./fanout/authorizer.ts";
import { createFanout } from "./fanout/fanout.ts";
import { connectDatabase, type RealtimeDatabase } from "./db/setup.ts";
import type { ChangeFeed } from "./feed/feed.ts";
import { parseVsn } from "./protocol/serializer.ts";
import { describeError, guarded, report, requestIdOf } from "./guard.ts";
import { handleRestBroadcast, jsonError, requestToken } from "./rest.ts";
import { attachConnection } from "./session/connection.ts";
import { createPrivateRooms } from "./session/private.ts";
import { createTopics } from "./topics.ts";

export interface RealtimeOptions {
  /** HS256 secret (the edge's `JWT_SECRET`). */
  jwtSecret?: string;
  /** JWKS URL for RS256/ES256 tokens. */
  jwksUrl?: string;
  /** Expected token audience(s), if any (the edge uses authenticated, anon, board). */
  audience?: string | string[];
  /** Expected token issuer, if any (the edge's `jwtIssuer`). */
  issuer?: string;
  /** Expected issuer / audience of JWKS tokens (the edge's `jwksIssuer`/`jwksAudience`). */
  jwksIssuer?: string;
  jwksAudience?: string | string[];
  /** A ready verifier instead of secret/JWKS. */
  verifier?: TokenVerifier;
  /** Row and table authorization (see fanout/authorizer.ts). */
  authorizer?: Authorizer;
  /** Source of committed transactions; without one, postgres_changes never fire. */
  feed?: ChangeFeed;
  /**
   * PostgreSQL connection URL (a role with REPLICATION, e.g. the embedded cluster's
   * superuser). Enables logical replication, database-backed authorization and durable
   * catch-up cursors, unless `feed`/`authorizer`/`cursorStore` are given explicitly.
   */
  databaseUrl?: string;
  /** Replication slot name (default `realtime_<database>`). */
  slotName?: string;
  /**
   * With `databaseUrl`: committed transactions come from this feed (a realtime node reading
   * the feeder's stream, bus/node_feed.ts) instead of this process's own replication slot;
   * the database still serves the directory, authorization and cursors.
   */
  sourceFeed?: ChangeFeed;
  /** Liveness tick of the replication feed (default 5 s). */
  tickIntervalMs?: number;
  /** Catch-up cursors (default: in memory). */
  cursorStore?: CursorStore;
  retention?: RetentionOptions;
  /**
   * Who may receive and send on private channels. Default: the RLS policies on
   * `realtime.messages` when `databaseUrl` is set, else `service_role` only.
   */
  topicPolicy?: TopicPolicy;
  limits?: Partial<Limits>;
  /** Mount point (default `/realtime/v1`). */
  basePath?: string;
  /** Period of the housekeeping sweep (idle sockets, retention, cursors); default 5 s. */
  sweepIntervalMs?: number;
  /**
   * Reverse proxies in front of the server (the edge's `TRUSTED_PROXIES`): behind one, the
   * client address counted per socket comes from `X-Forwarded-For`.
   */
  trustedProxies?: TrustedProxies;
}

export interface Realtime {
  /** `info` (from `Deno.serve`) gives the client's address; without it none is counted. */
  fetch(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response>;
  start(): Promise<void>;
  stop(): Promise<void>;
  metrics(): Record<string, unknown>;
}

/** How far back a rejoining client catches up, unless `limits.catchUpWindowMs` says otherwise. */
export const DEFAULT_CATCHUP_WINDOW_MS = 5 * 60_000;

const DEFAULT_LIMITS: Limits = {
  idleTimeoutMs: 120_000,
  maxChannelsPerSocket: 100,
  maxFrameBytes: 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  joinReadyTimeoutMs: 8_000,
  catchUpWindowMs: DEFAULT_CATCHUP_WINDOW_MS,
  // Tabs of one browser share one socket; a clinic behind one NAT has its staff PCs, TVs and
  // the waiting room's phones on guest Wi-Fi.
  maxSocketsPerAddress: 500,
};

export function createRealtime(options: RealtimeOptions): Realtime {
  const basePath = (options.basePath ?? "/realtime/v1").replace(/\/+$/, "");
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    // A limit given as undefined (an unset environment variable) keeps its default.
    ...Object.fromEntries(Object.entries(options.limits ?? {}).filter(([, v]) => v !== undefined)),
  };
  const retention = createRetentionLog({ windowMs: limits.catchUpWindowMs, ...options.retention });
  const delegate = createDelegatingAuthorizer(
    options.authorizer ?? createRuleAuthorizer({ rules: {} }),
  );
  const authorizer = delegate.authorizer;
  let database: RealtimeDatabase | undefined;
  const topics = createTopics();
  const fallbackPolicy = options.topicPolicy ?? serviceRoleOnly;
  const ctx: Context = {
    limits,
    verifier: options.verifier ?? createVerifier(jwtOptions(options)),
    authorizer,
    fanout: createFanout({ authorizer, retention }),
    retention,
    cursors: options.cursorStore ?? createMemoryCursorStore(),
    topics,
    feed: options.feed,
    privateRooms: createPrivateRooms(fallbackPolicy, topics),
    counters: newCounters(),
    sockets: new Set(),
    addresses: new Map(),
    channels: new Set(),
  };
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let started = false;

  /** Records where every connected subscriber stands (durable stores survive a crash). */
  function checkpoint(): void {
    for (const channel of ctx.channels) {
      const lsn = ctx.fanout.cursorOf(channel);
      if (!channel.cursorKey || lsn === undefined) continue;
      // Another tab with the same key that went away keeps its (older) cursor.
      if (ctx.cursors.get(channel.cursorKey)?.at) continue;
      ctx.cursors.set(channel.cursorKey, { lsn, at: null });
    }
  }

  /**
   * Ends every postgres_changes channel (system error, phx_error); each leaves its cursor. The
   * feed went quiet: clients show they are offline instead of a silently frozen view, and their
   * rejoins wait for the feed and catch up. Or the stream restarted past a hole: their rejoins
   * are told to refetch instead of silently missing what fell in it.
   */
  function endChangeChannels(message: string): void {
    for (const channel of [...ctx.channels]) channel.fail(message);
  }

  function sweep(): void {
    const now = Date.now();
    for (const socket of [...ctx.sockets]) {
      if (now - socket.lastSeen() > limits.idleTimeoutMs) socket.close(1000, "idle timeout");
    }
    checkpoint();
    ctx.privateRooms.revalidate(); // a board token may have expired
    retention.evict(now);
    ctx.cursors.prune(now - limits.catchUpWindowMs);
    ctx.cursors.flush().catch((error) => {
      // A database error's message can quote the values written: log the kind only.
      console.error(`realtime: cursor flush failed: ${describeError(error)}`);
    });
  }

  async function upgrade(
    req: Request,
    id: string,
    info: Deno.ServeHandlerInfo | undefined,
  ): Promise<Response> {
    if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return jsonError(426, "upgrade_required", "Expected a websocket upgrade");
    }
    const url = new URL(req.url);
    const vsn = parseVsn(url.searchParams.get("vsn"));
    if (!vsn) return jsonError(400, "invalid_request", "Unsupported vsn");
    const apikey = url.searchParams.get("apikey") ?? req.headers.get("x-api-key") ??
      req.headers.get("apikey");
    if (!apikey) {
      ctx.counters.rejectedConnections++;
      return jsonError(401, "unauthorized", "Missing apikey");
    }
    const verified = await ctx.verifier.verify(apikey);
    if (!verified.ok) {
      ctx.counters.rejectedConnections++;
      return jsonError(403, "forbidden", verified.message);
    }
    // Counted where the socket is made: nothing can slip in between (no await).
    const address = clientAddress(
      (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname,
      req.headers.get("x-forwarded-for") ?? undefined,
      options.trustedProxies ?? [],
    );
    if (address !== undefined && (ctx.addresses.get(address) ?? 0) >= limits.maxSocketsPerAddress) {
      ctx.counters.rejectedConnections++;
      return jsonError(429, "too_many_connections", "Too many open sockets from this address");
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    ctx.counters.connections++;
    attachConnection(ctx, socket, { id, vsn, apikey, address });
    return response;
  }

  function health(): Response {
    const feed = ctx.feed;
    return Response.json({
      status: !feed || feed.isReady() ? "healthy" : feed.isStale?.() ? "stale" : "starting",
      feed: feed ? feed.metrics() : null,
      sockets: ctx.sockets.size,
    });
  }

  async function metricsResponse(req: Request): Promise<Response> {
    const token = requestToken(req);
    const verified = token ? await ctx.verifier.verify(token) : undefined;
    if (!verified?.ok || verified.claims.role !== "service_role") {
      return jsonError(401, "unauthorized", "service_role token required");
    }
    return Response.json(metrics());
  }

  function metrics(): Record<string, unknown> {
    return {
      sockets: ctx.sockets.size,
      topics: ctx.topics.size,
      counters: { ...ctx.counters },
      fanout: ctx.fanout.metrics(),
      retention: { transactions: retention.size, floor: retention.floor.toString() },
      feed: ctx.feed ? ctx.feed.metrics() : null,
    };
  }

  /** The HTTP boundary: an unexpected error is a logged 500 in the JSON error shape. */
  async function fetch(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const id = requestIdOf(req);
    try {
      return await route(req, id, info);
    } catch (error) {
      report(id, error);
      return jsonError(500, "internal_error", "Internal error");
    }
  }

  function route(
    req: Request,
    id: string,
    info: Deno.ServeHandlerInfo | undefined,
  ): Response | Promise<Response> {
    const path = new URL(req.url).pathname;
    if (!path.startsWith(basePath)) return jsonError(404, "not_found", "Not found");
    const rest = path.slice(basePath.length);
    if (rest === "/websocket" || rest === "/websocket/") {
      if (req.method !== "GET") return jsonError(405, "method_not_allowed", "Use GET");
      return upgrade(req, id, info);
    }
    if (rest === "/api/broadcast" || rest.startsWith("/api/broadcast/")) {
      return handleRestBroadcast(ctx, req, rest.slice("/api/broadcast".length));
    }
    if (rest === "/health" && req.method === "GET") return health();
    if (rest === "/metrics" && req.method === "GET") return metricsResponse(req);
    return jsonError(404, "not_found", "Not found");
  }

  return {
    fetch,
    async start() {
      if (started) return;
      started = true;
      if (options.databaseUrl && !options.feed) {
        database = await connectDatabase({
          url: options.databaseUrl,
          slot: options.slotName,
          windowMs: limits.catchUpWindowMs,
          tickIntervalMs: options.tickIntervalMs,
          feed: options.sourceFeed,
        });
        ctx.feed = database.feed;
        if (!options.authorizer) delegate.set(database.authorizer);
        if (!options.cursorStore) ctx.cursors = database.cursors;
        if (!options.topicPolicy) ctx.privateRooms.use(database.topicPolicy);
      }
      try {
        await ctx.cursors.load();
        if (ctx.feed) {
          await ctx.feed.start({
            begin(lsn) {
              endChangeChannels("The change stream restarted; rejoin");
              ctx.fanout.begin(lsn);
            },
            publish(txn) {
              ctx.fanout.publish(txn);
              ctx.privateRooms.revalidate(); // the transaction may have revoked a membership
            },
            // Keep the catch-up window in the slot, so a restart can rebuild it.
            confirmableLsn: () => retention.size === 0 ? ctx.fanout.position : retention.floor,
            stale: () => endChangeChannels("The change feed is stale; rejoin once it moves again"),
          });
        }
      } catch (error) {
        started = false;
        await ctx.feed?.stop().catch(() => {});
        await database?.close().catch(() => {});
        database = undefined;
        ctx.feed = options.feed;
        ctx.privateRooms.use(fallbackPolicy);
        throw error;
      }
      sweeper = setInterval(guarded("sweep", sweep), options.sweepIntervalMs ?? 5_000);
    },
    async stop() {
      if (!started) return;
      started = false;
      clearInterval(sweeper);
      checkpoint();
      for (const socket of [...ctx.sockets]) socket.close(1001, "server shutting down");
      await ctx.fanout.idle();
      await ctx.privateRooms.idle();
      await ctx.cursors.flush().catch(() => {});
      if (ctx.feed) await ctx.feed.stop();
      if (database) {
        await database.close();
        database = undefined;
        ctx.feed = options.feed;
        ctx.privateRooms.use(fallbackPolicy);
      }
    },
    metrics,
  };
}

/** An authorizer whose implementation is set once the database is connected. */
function createDelegatingAuthorizer(initial: Authorizer) {
  let inner = initial;
  const authorizer: Authorizer = {
    tables: (schema) => inner.tables(schema),
    columnType: (schema, table, column) => inner.columnType(schema, table, column),
    tableAccess: (claims, schema, table) => inner.tableAccess(claims, schema, table),
    policyKey: (claims, schema, table) => inner.policyKey(claims, schema, table),
    stamp: () => inner.stamp?.() ?? -1,
    decide: (claims, access, schema, table, row) =>
      inner.decide(claims, access, schema, table, row),
    evaluate: (claims, checks) => inner.evaluate(claims, checks),
  };
  return { authorizer, set: (next: Authorizer) => inner = next };
}

function jwtOptions(options: RealtimeOptions): JwtOptions {
  return {
    secret: options.jwtSecret,
    jwksUrl: options.jwksUrl,
    audience: options.audience,
    issuer: options.issuer,
    jwksIssuer: options.jwksIssuer,
    jwksAudience: options.jwksAudience,
  };
}
