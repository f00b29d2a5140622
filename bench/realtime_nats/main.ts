/**
 * Realtime over NATS JetStream (issue 18) against the single process, in one run on one machine:
 * the workload of bench/realtime (1,000 staff subscribers across 50 clinics; the fixed load of
 * 200 appointments/s and the rising saturation steps) served by
 *
 * - the single process (`realtime/main.ts` without `NATS_URL`),
 * - 1 feeder + 1 node, and 1 feeder + 2 nodes (subscribers spread over the nodes), with one
 *   nats-server (JetStream, file storage) — every process on this machine.
 *
 * Figures: commit → client p50/p99 and server CPU per delivery (the bus: feeder + nodes +
 * nats-server), each stated against the single process measured in the same run; then the
 * memory of one node per idle subscribed socket. Measured, never asserted.
 */
import type postgres from "postgres";
import type { Bench, BenchContext, BenchResult } from "../support.ts";
import { ms, table } from "../support.ts";
import { cpuMeter, postgresSeconds, processSeconds, threadSeconds } from "../realtime/cpu.ts";
import {
  CLINICS,
  type Cores,
  FIXED_RATE,
  FIXED_SECONDS,
  fixedLoad,
  type Meter,
  saturation,
  type Server,
  STAFF_PER_CLINIC,
  staffSpecs,
  startServer,
  STEP_SECONDS,
} from "../realtime/load.ts";
import { openSubscriberWorker, type RemotePool, type Spec } from "../realtime/subscribers.ts";
import { buildWorld, signer } from "../realtime/world.ts";
import { type NatsServer, startNats } from "../../tests/support/nats.ts";

/** Idle sockets on one node for the memory figure (capped by the open-file limit). */
const IDLE_SOCKETS = Number(Deno.env.get("BENCH_IDLE_SOCKETS") ?? 20_000);

interface Deployment {
  name: string;
  /** Websocket endpoints; subscribers are spread over them. */
  endpoints: string[];
  /** CPU seconds of each server-side part (feeder, nodes, nats-server; or the one process). */
  parts: Record<string, () => number>;
  /** The node processes (for memory). */
  nodes: Server[];
  stop(): Promise<void>;
}

async function health(server: Server): Promise<{ status?: string }> {
  const url = server.endpoint.replace(/^ws/, "http") + "/health";
  try {
    const res = await fetch(url);
    return await res.json();
  } catch {
    return {};
  }
}

/** Polls /health until `status` (≤ 60 s). */
async function until(server: Server, status: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await health(server)).status !== status) {
    if (Date.now() > deadline) throw new Error(`${server.endpoint} never ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function singleProcess(databaseUrl: string, secret: string): Promise<Deployment> {
  const server = await startServer(databaseUrl, secret);
  return {
    name: "single process",
    endpoints: [server.endpoint],
    parts: { process: () => processSeconds(server.pid) },
    nodes: [server],
    stop: () => server.stop(),
  };
}

/** A bare Deno websocket server (bare_ws.ts): the runtime's own per-socket floor. */
export async function bareWebSockets(databaseUrl: string, secret: string): Promise<Deployment> {
  const main = new URL("./bare_ws.ts", import.meta.url).pathname;
  const server = await startServer(databaseUrl, secret, {}, "listening", main);
  return {
    name: "bare Deno websocket",
    endpoints: [server.endpoint],
    parts: { process: () => processSeconds(server.pid) },
    nodes: [server],
    stop: () => server.stop(),
  };
}

export async function overNats(databaseUrl: string, secret: string, nodeCount: number) {
  const nats: NatsServer & { close(): Promise<void> } = await startNats();
  const natsPid = nats.pid!;
  const started: Server[] = [];
  const stop = async () => {
    for (const s of [...started].reverse()) await s.stop();
    await nats.close();
  };
  try {
    const env = { NATS_URL: nats.url };
    const feeder = await startServer(databaseUrl, secret, { ...env, REALTIME_ROLE: "feeder" });
    started.push(feeder);
    await until(feeder, "leader");
    const nodes: Server[] = [];
    for (let i = 0; i < nodeCount; i++) {
      const node = await startServer(databaseUrl, secret, { ...env, REALTIME_ROLE: "node" });
      started.push(node);
      nodes.push(node);
      await until(node, "healthy");
    }
    const deployment: Deployment = {
      name: `1 feeder + ${nodeCount} node${nodeCount > 1 ? "s" : ""}`,
      endpoints: nodes.map((n) => n.endpoint),
      parts: {
        feeder: () => processSeconds(feeder.pid),
        nodes: () => nodes.reduce((sum, n) => sum + processSeconds(n.pid), 0),
        nats: () => processSeconds(natsPid),
      },
      nodes,
      stop,
    };
    return deployment;
  } catch (error) {
    await stop();
    throw error;
  }
}

function meterFor(deployment: Deployment, pgPort: number): Meter {
  const parts = Object.values(deployment.parts);
  return cpuMeter({
    ...deployment.parts,
    server: () => parts.reduce((sum, f) => sum + f(), 0),
    clients: () => processSeconds(Deno.pid) - threadSeconds(Deno.pid, Deno.pid),
    writer: () => threadSeconds(Deno.pid, Deno.pid),
    postgres: () => postgresSeconds(pgPort),
  });
}

interface Measured {
  name: string;
  partNames: string[];
  fixed: Awaited<ReturnType<typeof fixedLoad>>;
  sat: Awaited<ReturnType<typeof saturation>>;
}

/** The bench/realtime workload on one deployment, over its own fresh database. */
async function measure(
  ctx: BenchContext,
  deploy: (databaseUrl: string, secret: string) => Promise<Deployment>,
): Promise<Measured> {
  const db = await ctx.freshDatabase({ max: 4 });
  const secret = crypto.randomUUID() + crypto.randomUUID();
  const world = await buildWorld(db.sql, CLINICS, STAFF_PER_CLINIC);
  const deployment = await deploy(db.url, secret);
  try {
    const specs = spread(await staffSpecs(world, signer(secret)), deployment.endpoints);
    const pool = await openSubscriberWorker(deployment.endpoints[0], specs, { raw: true });
    try {
      const meter = meterFor(deployment, Number(new URL(db.url).port));
      const fixed = await fixedLoad(db.sql, world, pool, meter);
      const sat = await saturation(db.sql, world, pool, meter);
      return { name: deployment.name, partNames: Object.keys(deployment.parts), fixed, sat };
    } finally {
      await pool.close();
    }
  } finally {
    await deployment.stop();
    await dropSlots(db.sql);
    await db.drop();
  }
}

function spread(specs: Spec[], endpoints: string[]): Spec[] {
  return specs.map((spec, i) => ({ ...spec, endpoint: endpoints[i % endpoints.length] }));
}

async function dropSlots(sql: postgres.Sql): Promise<void> {
  await sql`select pg_drop_replication_slot(slot_name) from pg_replication_slots
    where database = current_database() and not active`.catch(() => {});
}

/** Resident memory of a process (bytes). */
function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

/** The per-process open-file limit: each socket is a descriptor on both ends. */
function openFileLimit(): number {
  const limits = Deno.readTextFileSync("/proc/self/limits");
  return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? Infinity);
}

/** The serving process's RSS before and after `count` idle subscribed sockets. */
export async function idleMemory(
  ctx: BenchContext,
  deploy: (databaseUrl: string, secret: string) => Promise<Deployment>,
) {
  const count = Math.min(IDLE_SOCKETS, openFileLimit() - 300);
  const db = await ctx.freshDatabase({ max: 4 });
  const secret = crypto.randomUUID() + crypto.randomUUID();
  const world = await buildWorld(db.sql, CLINICS, STAFF_PER_CLINIC);
  const deployment = await deploy(db.url, secret);
  const node = deployment.nodes[0];
  let pool: RemotePool | undefined;
  try {
    const staff = await staffSpecs(world, signer(secret));
    const specs = Array.from({ length: count }, (_, i) => staff[i % staff.length]);
    await new Promise((r) => setTimeout(r, 2_000));
    const before = rss(node.pid);
    const opened = performance.now();
    pool = await openSubscriberWorker(node.endpoint, specs, { raw: true });
    const connectSeconds = (performance.now() - opened) / 1000;
    // Idle (no change, only heartbeats) for 10 s; the lowest reading, once the connection
    // phase's garbage has been collected.
    let after = Infinity;
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      after = Math.min(after, rss(node.pid));
    }
    return { count, before, after, connectSeconds, principals: staff.length };
  } finally {
    await pool?.close();
    await deployment.stop();
    await dropSlots(db.sql);
    await db.drop();
  }
}

const µs = (cores: number, perSecond: number) => cores * 1e6 / perSecond;

function fixedRow(m: Measured, base: Measured): (string | number)[] {
  const perSecond = m.fixed.delivered / FIXED_SECONDS;
  const cpu = µs(m.fixed.cores.server, perSecond);
  const baseCpu = µs(base.fixed.cores.server, base.fixed.delivered / FIXED_SECONDS);
  const split = m.partNames.length > 1
    ? ` (${
      m.partNames.map((k) => `${k} ${µs(m.fixed.cores[k], perSecond).toFixed(1)}`).join(" · ")
    })`
    : "";
  return [
    m.name,
    m.fixed.sent,
    m.fixed.delivered,
    ms(m.fixed.p50),
    ms(m.fixed.p99),
    m === base ? "—" : `${(m.fixed.p99 - base.fixed.p99).toFixed(1)} ms`,
    `${cpu.toFixed(1)}${split}`,
    m === base ? "1.00" : (cpu / baseCpu).toFixed(2),
  ];
}

function saturationRows(m: Measured): (string | number)[][] {
  return m.sat.rows.map((r) => [
    m.name,
    Math.round(r.rate),
    Math.round(r.perSecond) + (r.delivered < r.expected * 0.99 ? " (behind)" : ""),
    ms(r.p50),
    ms(r.p99),
    µs(r.cores.server, r.perSecond).toFixed(1),
    cores(r.cores),
  ]);
}

const cores = (c: Cores) =>
  `${c.server.toFixed(2)} / ${c.clients.toFixed(2)} / ${c.postgres.toFixed(2)} / ` +
  c.machine.toFixed(2);

async function run(ctx: BenchContext): Promise<BenchResult> {
  const loadAtStart = Deno.loadavg();
  const single = await measure(ctx, singleProcess);
  const one = await measure(ctx, (url, secret) => overNats(url, secret, 1));
  const two = await measure(ctx, (url, secret) => overNats(url, secret, 2));
  const memory = await idleMemory(ctx, (url, secret) => overNats(url, secret, 1));
  const singleMemory = await idleMemory(ctx, singleProcess);
  const floor = await idleMemory(ctx, bareWebSockets);
  const loadAtEnd = Deno.loadavg();
  const all = [single, one, two];
  const best = (m: Measured) => m.sat.best;
  const perSocket = (m: typeof memory) => (m.after - m.before) / m.count;

  const markdown = [
    `The bench/realtime workload (${CLINICS * STAFF_PER_CLINIC} staff subscribers across ` +
    `${CLINICS} clinics, one filtered \`appointments\` binding each) served three ways, one ` +
    `after the other in this run, each over its own fresh database: the single process ` +
    `(\`realtime/main.ts\` without \`NATS_URL\`), 1 feeder + 1 node, and 1 feeder + 2 nodes ` +
    `(subscribers spread evenly), with one nats-server (JetStream, file storage, ` +
    `\`tests/support/nats.ts\`). Everything — feeder, nodes, nats-server, subscribers (a Worker ` +
    `of the benchmark), writer, PostgreSQL — shares the same ${navigator.hardwareConcurrency} ` +
    `cores; the machine is shared with other work, so runs differ. Latency is commit → client ` +
    `(the WAL's commit timestamp against the receipt time). Server CPU is every server-side ` +
    `process: the single process, or feeder + nodes + nats-server. Load average (1/5/15 min) at ` +
    `the start: ${loadAtStart.map((l) => l.toFixed(2)).join(" / ")}; at the end: ` +
    `${loadAtEnd.map((l) => l.toFixed(2)).join(" / ")}.`,
    "",
    `**Fixed load** — ${FIXED_RATE} committed appointments/s for ${FIXED_SECONDS} s. Goal: the ` +
    `bus adds ≤ 5 ms to p99 and ≤ 25 % server CPU per delivery (ratio ≤ 1.25).`,
    "",
    table(
      [
        "served by",
        "changes",
        "deliveries",
        "p50",
        "p99",
        "p99 added",
        "server µs/delivery (feeder · nodes · nats)",
        "CPU ratio to single",
      ],
      all.map((m) => fixedRow(m, single)),
    ),
    "",
    `**Saturation** — the same subscribers, rising write rates (${STEP_SECONDS} s each, until ` +
    `deliveries fall behind or p99 passes 500 ms). Highest sustained with p99 ≤ 50 ms: ` +
    all.map((m) =>
      `${m.name} ${best(m) ? Math.round(best(m)!.perSecond) : 0} deliveries/s` +
      (best(m) && m !== single && best(single)
        ? ` (${(best(m)!.perSecond / best(single)!.perSecond).toFixed(2)} × single)`
        : "")
    ).join("; ") + ".",
    "",
    table(
      [
        "served by",
        "changes/s",
        "deliveries/s",
        "p50",
        "p99",
        "server µs/delivery",
        "cores: server / subscribers / PostgreSQL / machine",
      ],
      all.flatMap(saturationRows),
    ),
    "",
    `**Idle sockets on one node** — 1 feeder + 1 node; ${memory.count} websockets ` +
    `subscribed (one \`appointments\` binding each; ${memory.principals} staff tokens shared ` +
    `among them), connected and joined in ${
      memory.connectSeconds.toFixed(1)
    } s, then idle 10 s (the lowest reading). ` +
    `The node's resident memory ${(memory.before / 2 ** 20).toFixed(0)} MiB before, ` +
    `${(memory.after / 2 ** 20).toFixed(0)} MiB after: **${
      (perSocket(memory) / 1024).toFixed(1)
    } ` +
    `KiB per idle subscribed socket** (goal ≤ 16 KiB). The single process, the same way: ` +
    `${(perSocket(singleMemory) / 1024).toFixed(1)} KiB ` +
    `(node ÷ single ${(perSocket(memory) / perSocket(singleMemory)).toFixed(2)}). ` +
    `A bare \`Deno.upgradeWebSocket\` server holding as many sockets (bare_ws.ts: it only ` +
    `answers the join), the same way: ${(perSocket(floor) / 1024).toFixed(1)} KiB — the ` +
    `runtime's own floor; above it the node holds ` +
    `${((perSocket(memory) - perSocket(floor)) / 1024).toFixed(1)} KiB and the single process ` +
    `${((perSocket(singleMemory) - perSocket(floor)) / 1024).toFixed(1)} KiB per socket.` +
    (memory.count < IDLE_SOCKETS
      ? ` (${memory.count}, not ${IDLE_SOCKETS}: each socket is an open file on both ends ` +
        `and this machine allows ${openFileLimit()} per process.)`
      : ""),
  ].join("\n");
  return { title: "Realtime over NATS", markdown };
}

const bench: Bench = run;
export default bench;
