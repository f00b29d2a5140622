/**
 * Runs the realtime service alone: `JWT_SECRET=… DATABASE_URL=… deno run -A realtime/main.ts`.
 * Its variables: README "Environment", column `realtime` (edge/config/realtime.ts).
 */
import { configOrExit, loadRealtimeConfig } from "../edge/config.ts";
import { createRealtime } from "./server.ts";

const config = configOrExit("realtime", () => loadRealtimeConfig());
const realtime = createRealtime({
  jwtSecret: config.jwtSecret,
  jwksUrl: config.jwksUrl,
  jwksIssuer: config.jwksIssuer,
  jwksAudience: config.jwksAudience,
  supabaseAuth: config.supabaseAuth,
  issuer: config.jwtIssuer,
  databaseUrl: config.databaseUrl,
  slotName: config.slotName,
  publication: config.publication,
  sweepIntervalMs: config.sweepIntervalMs,
  limits: {
    catchUpWindowMs: config.catchUpWindowMs,
    maxSocketsPerAddress: config.maxSocketsPerAddress,
  },
  trustedProxies: config.trustedProxies,
});
await realtime.start();
const { port, host: hostname } = config;
const server = Deno.serve({ port, hostname, onListen: () => {} }, realtime.fetch);
console.log(`realtime: listening on http://${hostname}:${port}/realtime/v1`);

const shutdown = async () => {
  await realtime.stop();
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
