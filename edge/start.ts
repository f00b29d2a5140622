/**
 * `deno task start` — the main job. Without DATABASE_URL it creates (first run) or reuses an
 * embedded PostgreSQL cluster under `.data/`, applies migrations, loads the demo seed in
 * development, and serves the API, realtime and the PWA on one port. Ctrl-C stops the server
 * and the cluster cleanly.
 */
import postgres from "postgres";
import { startCluster } from "./db/cluster.ts";
import { migrate } from "./db/migrate.ts";
import { isSeeded, seed } from "./db/seed.ts";
import { configOrExit, loadStartConfig } from "./config.ts";
import { createApp } from "./app.ts";
import { compose } from "./server.ts";
import { createWeb } from "../web/mod.ts";
import { startServiceWorker } from "./jobs/service.ts";
import { createRealtime } from "../realtime/mod.ts";

const config = configOrExit("start", () => loadStartConfig());
const { dataDir } = config;

const stops: (() => Promise<void>)[] = [];
let databaseUrl = config.databaseUrl;
let socket = config.databaseSocket;
if (!databaseUrl) {
  const cluster = await startCluster({ dir: dataDir, port: config.pgPort });
  stops.push(() => cluster.stop());
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  const [found] = await admin`select 1 from pg_database where datname = 'clinic'`;
  if (!found) await admin.unsafe("create database clinic");
  await admin.end();
  databaseUrl = cluster.urlFor("clinic");
  socket = cluster.socket;
  console.log(
    `PostgreSQL: embedded cluster in ${dataDir}/pg on 127.0.0.1:${cluster.port}` +
      (socket ? ` and ${socket}` : ""),
  );
}

// The app's pools: over the Unix socket when the server is local (path: undefined → TCP).
const sql = postgres(databaseUrl, {
  max: config.databasePoolSize,
  path: socket,
  onnotice: () => {},
});
stops.unshift(() => sql.end({ timeout: 5 }));
const applied = await migrate(sql);
console.log(`Migrations: ${applied.length ? `applied ${applied.join(", ")}` : "up to date"}`);
if (config.env === "development" && !(await isSeeded(sql))) {
  await seed(sql);
  console.log("Seed: demo data loaded (GFC-TP, GFC-BD; password Demo123!)");
}

// The job worker (reminders, notification deliveries, webhooks, housekeeping) on its own pool
// so background work never starves HTTP requests. Scale out with `edge/jobs/main.ts`.
const jobsSql = postgres(databaseUrl, { max: 12, path: socket, onnotice: () => {} });
const worker = startServiceWorker(jobsSql, config);
stops.unshift(async () => {
  await worker.stop();
  await jobsSql.end({ timeout: 5 });
});

// Realtime: logical replication from the same database, the same token secret as the API.
const realtime = createRealtime({
  jwtSecret: config.jwtSecret,
  issuer: config.jwtIssuer,
  audience: ["authenticated", "anon", "board"],
  jwksUrl: config.jwksUrl,
  jwksIssuer: config.jwksIssuer,
  jwksAudience: config.jwksAudience,
  supabaseAuth: config.supabaseAuth,
  databaseUrl,
  trustedProxies: config.trustedProxies,
  limits: { maxSocketsPerAddress: config.realtimeMaxSocketsPerAddress },
});
await realtime.start();

const api = createApp({ config: { ...config, notify: worker.channels }, sql });
const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ port }) => console.log(`Serving on http://localhost:${port} (${config.env})`),
}, compose({ api, realtime, web: createWeb({ warm: true }) }));

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  // Websockets first: the HTTP server's shutdown waits for open connections.
  await realtime.stop().catch((error) => console.error(`realtime stop failed: ${error.message}`));
  await server.shutdown();
  for (const stop of stops) {
    await stop().catch((error) => console.error(`stop failed: ${error.message}`));
  }
  console.log("Stopped.");
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
