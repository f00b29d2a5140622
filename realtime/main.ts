/**
 * Runs the realtime service alone: `deno run -A realtime/main.ts`.
 *
 * Environment:
 * - `JWT_SECRET` (required): the HS256 secret shared with the edge API
 * - `JWKS_URL` (optional): accept RS256/ES256 tokens from this key set too
 * - `JWT_ISSUER` (optional): require this `iss`
 * - `DATABASE_URL` (optional): PostgreSQL with a role that has REPLICATION; enables
 *   postgres_changes (logical replication), DB-backed authorization and durable catch-up
 * - `REALTIME_SLOT` (optional): replication slot name (default `realtime_<database>`)
 * - `REALTIME_PORT` or `PORT` (default 4000), `REALTIME_HOST` (default 127.0.0.1)
 * - `REALTIME_CATCHUP_WINDOW_MS` (default 300000), `REALTIME_SWEEP_MS` (default 5000)
 * - `REALTIME_MAX_SOCKETS_PER_ADDRESS` (default 100): open sockets per client address
 * - `TRUSTED_PROXIES` (optional): IPs and CIDRs of reverse proxies whose `X-Forwarded-For`
 *   gives the client address
 */
import { parseTrustedProxies } from "../edge/net/client_address.ts";
import { createRealtime } from "./server.ts";

const env = (name: string) => Deno.env.get(name) || undefined;
const secret = env("JWT_SECRET");
if (!secret && !env("JWKS_URL")) {
  console.error("realtime: JWT_SECRET (or JWKS_URL) is required");
  Deno.exit(1);
}
const port = Number(env("REALTIME_PORT") ?? env("PORT") ?? "4000");
const hostname = env("REALTIME_HOST") ?? "127.0.0.1";
const number = (name: string) => env(name) === undefined ? undefined : Number(env(name));

const realtime = createRealtime({
  jwtSecret: secret,
  jwksUrl: env("JWKS_URL"),
  issuer: env("JWT_ISSUER"),
  databaseUrl: env("DATABASE_URL"),
  slotName: env("REALTIME_SLOT"),
  sweepIntervalMs: number("REALTIME_SWEEP_MS"),
  limits: {
    catchUpWindowMs: number("REALTIME_CATCHUP_WINDOW_MS"),
    maxSocketsPerAddress: number("REALTIME_MAX_SOCKETS_PER_ADDRESS"),
  },
  trustedProxies: parseTrustedProxies((env("TRUSTED_PROXIES") ?? "").split(",").filter(Boolean)),
});
await realtime.start();
const server = Deno.serve({ port, hostname, onListen: () => {} }, realtime.fetch);
console.log(`realtime: listening on http://${hostname}:${port}/realtime/v1`);

const shutdown = async () => {
  await realtime.stop();
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
