/** The shared state of one realtime server instance, passed to the session handlers. */
import type { TokenVerifier } from "./auth/jwt.ts";
import type { CursorStore } from "./catchup/cursors.ts";
import type { RetentionLog } from "./catchup/retention.ts";
import type { Authorizer } from "./fanout/authorizer.ts";
import type { Fanout } from "./fanout/fanout.ts";
import type { Subscriber } from "./fanout/subscriber.ts";
import type { ChangeFeed } from "./feed/feed.ts";
import type { PrivateRooms } from "./session/private.ts";
import type { Topics } from "./topics.ts";

export interface SocketHandle {
  close(code: number, reason: string): void;
  lastSeen(): number;
}

export interface Limits {
  /** Close a socket that sent nothing for this long (heartbeats count). */
  idleTimeoutMs: number;
  maxChannelsPerSocket: number;
  maxFrameBytes: number;
  /** Close a socket whose unsent output exceeds this (it reconnects and catches up). */
  maxBufferedBytes: number;
  /** How long a postgres_changes join waits for the change feed to be ready. */
  joinReadyTimeoutMs: number;
  /** Catch-up window: cursors older than this are forgotten. */
  catchUpWindowMs: number;
  /** Open sockets per client address; an upgrade beyond it is answered 429. */
  maxSocketsPerAddress: number;
}

export interface Counters {
  connections: number;
  rejectedConnections: number;
  joins: number;
  joinErrors: number;
  leaves: number;
  tokenRefreshes: number;
  tokenExpiries: number;
  broadcasts: number;
  broadcastDeliveries: number;
  presenceEvents: number;
  slowConsumersClosed: number;
  protocolErrors: number;
  /** Unexpected errors in a socket's handlers or timers (each closed that socket). */
  handlerErrors: number;
  catchUpReplays: number;
  catchUpGaps: number;
}

export interface Context {
  limits: Limits;
  verifier: TokenVerifier;
  authorizer: Authorizer;
  fanout: Fanout;
  retention: RetentionLog;
  cursors: CursorStore;
  topics: Topics;
  feed: ChangeFeed | undefined;
  /** Private channels: their authorization and its re-check. */
  privateRooms: PrivateRooms;
  counters: Counters;
  /** Live sockets (for the idle sweep, shutdown and metrics). */
  sockets: Set<SocketHandle>;
  /** Live sockets per client address (see `Limits.maxSocketsPerAddress`). */
  addresses: Map<string, number>;
  /** Joined channels with postgres_changes (for cursor checkpoints). */
  channels: Set<Subscriber & { readonly cursorKey: string | undefined }>;
}

export function newCounters(): Counters {
  return {
    connections: 0,
    rejectedConnections: 0,
    joins: 0,
    joinErrors: 0,
    leaves: 0,
    tokenRefreshes: 0,
    tokenExpiries: 0,
    broadcasts: 0,
    broadcastDeliveries: 0,
    presenceEvents: 0,
    slowConsumersClosed: 0,
    protocolErrors: 0,
    handlerErrors: 0,
    catchUpReplays: 0,
    catchUpGaps: 0,
  };
}
