/**
 * Runs the realtime service alone: `deno run -A realtime/main.ts`.
 *
 * Environment: `JWT_SECRET` (required), `REALTIME_PORT` or `PORT` (default 4000),
 * `REALTIME_HOST` (default 127.0.0.1).
 */
import { createRealtime } from "./server.ts";

const secret = Deno.env.get("JWT_SECRET");
if (!secret) {
  console.error("realtime: JWT_SECRET is required");
  Deno.exit(1);
}
const port = Number(Deno.env.get("REALTIME_PORT") ?? Deno.env.get("PORT") ?? "4000");
const hostname = Deno.env.get("REALTIME_HOST") ?? "127.0.0.1";

const realtime = createRealtime({ jwtSecret: secret });
await realtime.start();
const server = Deno.serve({ port, hostname }, realtime.fetch);

const shutdown = async () => {
  await realtime.stop();
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
