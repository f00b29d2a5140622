/**
 * The realtime server's configuration when it runs alone (realtime/main.ts); the one inside
 * `deno task start` takes `StartConfig`'s.
 */
import type { TrustedProxies } from "../net/client_address.ts";
import {
  appEnv,
  databaseUrl,
  type Env,
  int,
  jwtSecret,
  list,
  realtimeMaxSocketsPerAddress,
  text,
  type TokenSources,
  tokenSources,
  trustedProxies,
} from "./env.ts";

export interface RealtimeConfig extends TokenSources {
  /** `JWT_SECRET`: the HS256 secret shared with the API (this or `JWKS_URL` is required). */
  jwtSecret?: string;
  /**
   * `DATABASE_URL`: a role with REPLICATION; enables postgres_changes (logical replication),
   * database-backed authorization and durable catch-up.
   */
  databaseUrl?: string;
  /** `REALTIME_SLOT`: the replication slot (default `realtime_<database>`). */
  slotName?: string;
  /** `REALTIME_PORT`, else `PORT` (default 4000). */
  port: number;
  /** `REALTIME_HOST` (default 127.0.0.1). */
  host: string;
  /** `REALTIME_CATCHUP_WINDOW_MS` (unset: the server's default, 5 minutes). */
  catchUpWindowMs?: number;
  /** `REALTIME_SWEEP_MS` (unset: the server's default, 5 s). */
  sweepIntervalMs?: number;
  /** `REALTIME_MAX_SOCKETS_PER_ADDRESS` (unset: the server's default, 500). */
  maxSocketsPerAddress?: number;
  trustedProxies: TrustedProxies;
  /**
   * `NATS_URL` (comma-separated `host:port` or `nats://` URLs): scale out over NATS JetStream
   * (realtime/bus/); unset, one process reads the slot and serves the sockets.
   */
  natsServers: string[];
  /** `REALTIME_ROLE` with `NATS_URL`: `feeder`, `node` or `both` (default). */
  role: RealtimeRole;
  /** `REALTIME_STREAM`: the JetStream stream (default `realtime`, subject `<name>.txn`). */
  stream: string;
  /** `REALTIME_STREAM_MAX_BYTES`: the stream's size bound (default 1 GiB). */
  streamMaxBytes: number;
  /** `REALTIME_STREAM_REPLICAS`: 1, or 3 on a NATS cluster (default 1). */
  streamReplicas: number;
  /** `REALTIME_HEARTBEAT_MS`: the feeder's heartbeat; nodes are stale after 3 of them (5000). */
  heartbeatMs: number;
  /** `REALTIME_FEEDER_MAX_QUEUED`: transactions the feeder holds for JetStream (20000). */
  feederMaxQueued: number;
}

export type RealtimeRole = "feeder" | "node" | "both";
const ROLES: readonly RealtimeRole[] = ["feeder", "node", "both"];

/** The variables {@linkcode loadRealtimeConfig} reads (README "Environment", column `realtime`). */
export const realtimeVariables = [
  "APP_ENV",
  "JWT_SECRET",
  "JWT_ISSUER",
  "JWKS_URL",
  "JWKS_ISSUER",
  "JWKS_AUDIENCE",
  "DATABASE_URL",
  "REALTIME_SLOT",
  "REALTIME_PORT",
  "PORT",
  "REALTIME_HOST",
  "REALTIME_CATCHUP_WINDOW_MS",
  "REALTIME_SWEEP_MS",
  "REALTIME_MAX_SOCKETS_PER_ADDRESS",
  "TRUSTED_PROXIES",
  "NATS_URL",
  "REALTIME_ROLE",
  "REALTIME_STREAM",
  "REALTIME_STREAM_MAX_BYTES",
  "REALTIME_STREAM_REPLICAS",
  "REALTIME_HEARTBEAT_MS",
  "REALTIME_FEEDER_MAX_QUEUED",
] as const;

/** Reads the realtime server's configuration; throws, naming the variable, when one is bad. */
export function loadRealtimeConfig(env: Env = Deno.env.toObject()): RealtimeConfig {
  const secret = jwtSecret(env, appEnv(env));
  const tokens = tokenSources(env);
  if (!secret && !tokens.jwksUrl) throw new Error("JWT_SECRET (or JWKS_URL) is required");
  const role = text(env, "REALTIME_ROLE") ?? "both";
  if (!ROLES.includes(role as RealtimeRole)) {
    throw new Error(`REALTIME_ROLE must be one of ${ROLES.join(", ")}`);
  }
  const natsServers = list(env, "NATS_URL");
  if (natsServers.length > 0 && !databaseUrl(env)) {
    throw new Error("DATABASE_URL is required with NATS_URL");
  }
  const stream = text(env, "REALTIME_STREAM") ?? "realtime";
  if (!/^[A-Za-z0-9_-]+$/.test(stream)) {
    throw new Error("REALTIME_STREAM may contain only letters, digits, _ and -");
  }
  return {
    ...tokens,
    jwtSecret: secret,
    databaseUrl: databaseUrl(env),
    slotName: text(env, "REALTIME_SLOT"),
    port: int(env, "REALTIME_PORT", int(env, "PORT", 4000)),
    host: text(env, "REALTIME_HOST") ?? "127.0.0.1",
    catchUpWindowMs: int(env, "REALTIME_CATCHUP_WINDOW_MS"),
    sweepIntervalMs: int(env, "REALTIME_SWEEP_MS", undefined, 1),
    maxSocketsPerAddress: realtimeMaxSocketsPerAddress(env),
    trustedProxies: trustedProxies(env),
    natsServers,
    role: role as RealtimeRole,
    stream,
    streamMaxBytes: int(env, "REALTIME_STREAM_MAX_BYTES", 1024 ** 3, 1),
    streamReplicas: int(env, "REALTIME_STREAM_REPLICAS", 1, 1),
    heartbeatMs: int(env, "REALTIME_HEARTBEAT_MS", 5_000, 10),
    feederMaxQueued: int(env, "REALTIME_FEEDER_MAX_QUEUED", 20_000, 1),
  };
}
