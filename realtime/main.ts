/**
 * Runs the realtime service alone: `JWT_SECRET=… DATABASE_URL=… deno run -A realtime/main.ts`.
 * Its variables: README "Environment", column `realtime` (edge/config/realtime.ts).
 *
 * With `NATS_URL` it runs as `REALTIME_ROLE`: the feeder (slot → JetStream stream, one leader
 * and standbys), a node (stream → websockets), or both (realtime/README.md "Several machines").
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { configOrExit, loadRealtimeConfig, type RealtimeConfig } from "../edge/config.ts";
import { createFeeder, type Feeder } from "./bus/feeder.ts";
import { createStreamFeed } from "./bus/node_feed.ts";
import { jsonError } from "./rest.ts";
import { createRealtime, DEFAULT_CATCHUP_WINDOW_MS, type Realtime } from "./server.ts";
import type { ChangeFeed } from "./feed/feed.ts";

const config = configOrExit("realtime", () => loadRealtimeConfig());
const bus = config.natsServers.length > 0;
const nats = bus ? await connectNats(config) : undefined;
const feeder = nats && config.role !== "node" ? startFeeder(config, nats) : undefined;
const realtime = !nats || config.role !== "feeder"
  ? serverOf(
    config,
    nats && createStreamFeed({
      nats,
      stream: config.stream,
      staleAfterMs: 3 * config.heartbeatMs,
    }),
  )
  : undefined;
await realtime?.start();
const { port, host: hostname } = config;
const server = Deno.serve(
  { port, hostname, onListen: () => {} },
  realtime?.fetch ?? ((req) => feederHealth(req, feeder!)),
);
console.log(`realtime: listening on http://${hostname}:${port}/realtime/v1`);

const shutdown = async () => {
  await realtime?.stop();
  await feeder?.stop();
  await nats?.drain().catch(() => {});
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);

function serverOf(config: RealtimeConfig, sourceFeed: ChangeFeed | undefined): Realtime {
  return createRealtime({
    jwtSecret: config.jwtSecret,
    jwksUrl: config.jwksUrl,
    jwksIssuer: config.jwksIssuer,
    jwksAudience: config.jwksAudience,
    issuer: config.jwtIssuer,
    databaseUrl: config.databaseUrl,
    slotName: config.slotName,
    sourceFeed,
    sweepIntervalMs: config.sweepIntervalMs,
    limits: {
      catchUpWindowMs: config.catchUpWindowMs,
      maxSocketsPerAddress: config.maxSocketsPerAddress,
    },
    trustedProxies: config.trustedProxies,
  });
}

function connectNats(config: RealtimeConfig): Promise<NatsConnection> {
  return connect({
    servers: config.natsServers,
    name: `realtime-${config.role}`,
    maxReconnectAttempts: -1, // NATS away: keep trying; the nodes report the feed stale
    reconnectTimeWait: 250,
  });
}

function startFeeder(config: RealtimeConfig, nats: NatsConnection): Feeder {
  const feeder = createFeeder({
    databaseUrl: config.databaseUrl!,
    slot: config.slotName,
    nats,
    stream: {
      name: config.stream,
      maxAgeMs: config.catchUpWindowMs ?? DEFAULT_CATCHUP_WINDOW_MS,
      maxBytes: config.streamMaxBytes,
      replicas: config.streamReplicas,
    },
    tickIntervalMs: config.heartbeatMs,
    maxQueued: config.feederMaxQueued,
  });
  feeder.start();
  return feeder;
}

/** A feeder alone answers only its health: leader or standby, what it has published. */
function feederHealth(req: Request, feeder: Feeder): Response {
  const path = new URL(req.url).pathname;
  if (req.method !== "GET" || path !== "/realtime/v1/health") {
    return jsonError(404, "not_found", "Not found");
  }
  return Response.json({
    status: feeder.isLeader() ? "leader" : "standby",
    feeder: feeder.metrics(),
  });
}
