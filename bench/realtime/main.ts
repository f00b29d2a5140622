/**
 * Realtime benchmark (issue 4): the realtime server runs as its own process (realtime/main.ts)
 * on the bench database; writes go through PostgreSQL and logical replication; subscribers
 * are protocol-level websocket clients (bench/realtime/subscribers.ts, a minimal RFC 6455
 * client) in a Worker of the benchmark process — their own thread and event loop, apart from
 * the writer.
 *
 * 1. Fixed load: 1,000 staff subscribers across 50 clinics (appointments of their clinic,
 *    RLS-authorized per clinic) while 200 appointments/s are committed → commit-to-client
 *    latency p50/p95/p99 (commit timestamp from the WAL vs receipt time, same clock).
 * 2. Saturation: the same subscribers, rising write rates → the highest sustained
 *    authorized deliveries/s with p99 ≤ 50 ms.
 * 3. Board fan-out: 5,000 sockets on one TV board token; one board row changes → time until
 *    the last socket has it.
 *
 * Every step records the cores used by the server process, the subscribers (the Worker),
 * the writer (the benchmark's main thread), PostgreSQL (the bench cluster) and the whole
 * machine (which includes other work), and the load average. Figures are measured, never
 * asserted. `bench/realtime/hotpath.ts` measures the fan-out's JavaScript alone.
 */
import type { Bench, BenchContext, BenchResult } from "../support.ts";
import { latencySummary, ms, table } from "../support.ts";
import { cpuMeter, postgresSeconds, processSeconds, threadSeconds } from "./cpu.ts";
import { openSubscriberWorker, type RemotePool, type Spec } from "./subscribers.ts";
import { type BenchWorld, buildWorld, signer, writeAppointments } from "./world.ts";
import type postgres from "postgres";

const CLINICS = 50;
const STAFF_PER_CLINIC = 20;
const FIXED_RATE = 200;
const FIXED_SECONDS = 10;
const STEP_SECONDS = 5;
const RATES = [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000];
const BOARD_SOCKETS = 5_000;

interface Server {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

async function startServer(databaseUrl: string, secret: string): Promise<Server> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  // REALTIME_BENCH_SERVER: another build of realtime/main.ts (before/after comparisons).
  const main = Deno.env.get("REALTIME_BENCH_SERVER") ??
    new URL("../../realtime/main.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, main],
    // Every simulated client shares the loopback address: lift the per-address socket cap.
    env: {
      JWT_SECRET: secret,
      DATABASE_URL: databaseUrl,
      REALTIME_PORT: String(port),
      REALTIME_MAX_SOCKETS_PER_ADDRESS: "1000000",
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  let listening!: () => void;
  const ready = new Promise<void>((r) => listening = r);
  const drained = (async () => {
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk);
      if (text.includes("listening")) listening();
    }
  })();
  await Promise.race([ready, drained]);
  return {
    endpoint: `ws://127.0.0.1:${port}/realtime/v1`,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

/** Commits `rate` appointments per second for `seconds`, in 5 ms batches. */
async function writeAtRate(
  sql: postgres.Sql,
  world: BenchWorld,
  rate: number,
  seconds: number,
): Promise<number> {
  const started = performance.now();
  let sent = 0;
  while (true) {
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed >= seconds) break;
    const due = Math.floor(rate * elapsed) - sent;
    if (due > 0) {
      await writeAppointments(sql, world, due, sent);
      sent += due;
    } else {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return sent;
}

/** Waits until `expected` deliveries arrived (or the timeout); returns the count. */
async function settle(pool: RemotePool, expected: number, timeoutMs = 10_000) {
  const start = Date.now();
  let count = await pool.count();
  while (count < expected && Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 20));
    count = await pool.count();
  }
  return count;
}

type Meter = ReturnType<typeof cpuMeter>;
type Cores = ReturnType<Meter["stop"]>;

const load = () => Deno.loadavg()[0];

async function fixedLoad(sql: postgres.Sql, world: BenchWorld, pool: RemotePool, meter: Meter) {
  await writeAtRate(sql, world, 50, 1); // warm-up
  await settle(pool, 50 * STAFF_PER_CLINIC, 3000);
  await pool.reset();
  const loadBefore = load();
  meter.start();
  const sent = await writeAtRate(sql, world, FIXED_RATE, FIXED_SECONDS);
  await settle(pool, sent * STAFF_PER_CLINIC);
  const cores = meter.stop();
  const samples = await pool.samples();
  return {
    sent,
    delivered: samples.length,
    loadBefore,
    loadAfter: load(),
    cores,
    ...latencySummary(samples),
  };
}

interface Step {
  rate: number;
  perSecond: number;
  delivered: number;
  expected: number;
  p50: number;
  p95: number;
  p99: number;
  load: number;
  cores: Cores;
  /** Missed while other work used ≥ 0.3 cores: run again (the next row). */
  disturbed: boolean;
}

/** Cores used by work other than the benchmark's own processes. */
const otherWork = (c: Cores) => c.machine - c.server - c.clients - c.writer - c.postgres;

async function saturation(sql: postgres.Sql, world: BenchWorld, pool: RemotePool, meter: Meter) {
  const rows: Step[] = [];
  for (const rate of RATES) {
    let step: Step | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      await pool.reset();
      const loadBefore = load();
      meter.start();
      const t0 = performance.now();
      const sent = await writeAtRate(sql, world, rate, STEP_SECONDS);
      const expected = sent * STAFF_PER_CLINIC;
      await settle(pool, expected, 15_000);
      const seconds = (performance.now() - t0) / 1000;
      const cores = meter.stop();
      const samples = await pool.samples();
      step = {
        rate: sent / STEP_SECONDS,
        perSecond: samples.length / seconds,
        delivered: samples.length,
        expected,
        load: loadBefore,
        cores,
        disturbed: false,
        ...latencySummary(samples),
      };
      rows.push(step);
      await new Promise((r) => setTimeout(r, 500));
      // A step that missed while other work took a sizeable share of the cores is run once
      // more (both are shown).
      const missed = step.p99 > 50 || step.delivered < step.expected * 0.99;
      if (!missed || attempt > 0 || otherWork(cores) < 0.3) break;
      step.disturbed = true;
    }
    // Past saturation: deliveries fall behind the writes or latency runs away.
    if (step!.p99 > 500 || step!.delivered < step!.expected * 0.99) break;
  }
  const sustained = rows.filter((r) => r.p99 <= 50 && r.delivered >= r.expected * 0.99);
  const best = sustained.length
    ? sustained.reduce((a, b) => (b.perSecond > a.perSecond ? b : a))
    : undefined;
  const peak = Math.max(...rows.map((r) => r.perSecond));
  return { rows, best, peak };
}

async function boardFanout(sql: postgres.Sql, world: BenchWorld, endpoint: string, token: string) {
  const [ticket] = await sql<{ id: string }[]>`
    insert into public.queue_tickets (clinic_id, service_date, code, kind)
    values (${world.clinics[0]}, current_date, 'F001', 'walk_in') returning id`;
  const opened = performance.now();
  const pool = await openSubscriberWorker(
    endpoint,
    Array.from({ length: BOARD_SOCKETS }, () => ({
      token,
      topic: "realtime:board",
      binding: { event: "UPDATE", schema: "public", table: "queue_board" },
    })),
    { raw: true },
  );
  const connectSeconds = (performance.now() - opened) / 1000;
  await pool.track(true);
  const times: number[] = [];
  try {
    for (let round = 0; round < 5; round++) {
      await pool.reset();
      await sql`update public.queue_board set room = ${`Room ${round}`} where ticket_id = ${ticket.id}`;
      const start = Date.now();
      while (Date.now() - start < 15_000) {
        const [entry] = [...(await pool.receipts()).entries()];
        if (entry && entry[1].count >= BOARD_SOCKETS) {
          times.push(entry[1].last - Date.parse(entry[0]));
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await pool.close();
  }
  return { connectSeconds, times };
}

const cores = (c: Cores, key: string) => c[key].toFixed(2);

async function run(ctx: BenchContext): Promise<BenchResult> {
  const db = await ctx.freshDatabase({ max: 4 });
  const pgPort = Number(new URL(db.url).port);
  const secret = crypto.randomUUID() + crypto.randomUUID();
  const sign = signer(secret);
  const world = await buildWorld(db.sql, CLINICS, STAFF_PER_CLINIC);
  const server = await startServer(db.url, secret);
  const loadAtStart = Deno.loadavg();
  const meter = cpuMeter({
    server: () => processSeconds(server.pid),
    // The Worker's thread and the runtime threads serving its sockets: everything but the
    // main thread, which runs the writer.
    clients: () => processSeconds(Deno.pid) - threadSeconds(Deno.pid, Deno.pid),
    writer: () => threadSeconds(Deno.pid, Deno.pid),
    postgres: () => postgresSeconds(pgPort),
  });
  let markdown = "";
  try {
    const specs: Spec[] = [];
    for (let c = 0; c < CLINICS; c++) {
      for (const user of world.staff[c]) {
        specs.push({
          token: await sign({
            sub: user,
            role: "authenticated",
            aud: "authenticated",
            app_metadata: { role: "staff", clinic_ids: [world.clinics[c]] },
          }),
          topic: `realtime:clinic-${c}`,
          binding: {
            event: "INSERT",
            schema: "public",
            table: "appointments",
            filter: `clinic_id=eq.${world.clinics[c]}`,
          },
        });
      }
    }
    const pool = await openSubscriberWorker(server.endpoint, specs, { raw: true });
    let fixed, sat;
    try {
      fixed = await fixedLoad(db.sql, world, pool, meter);
      sat = await saturation(db.sql, world, pool, meter);
    } finally {
      await pool.close();
    }
    const boardToken = await sign({
      sub: world.boardToken,
      role: "anon",
      app_metadata: { board: true, clinic_id: world.clinics[0] },
    });
    const board = await boardFanout(db.sql, world, server.endpoint, boardToken);
    const boardSorted = [...board.times].sort((a, b) => a - b);
    const loadAtEnd = Deno.loadavg();
    const best = sat.best;
    const usPer = (step: { cores: Cores; perSecond: number }) =>
      (step.cores.server * 1e6 / step.perSecond).toFixed(1);

    markdown = [
      `Realtime server as its own process (\`realtime/main.ts\`) on logical replication. ` +
      `Subscribers are protocol-level websocket clients (vsn 2.0.0; a minimal RFC 6455 ` +
      `client, \`bench/realtime/subscribers.ts\`) in a Worker of the benchmark process, apart ` +
      `from the writer; everything — server, subscribers, writer, PostgreSQL — shares the same ` +
      `${navigator.hardwareConcurrency} cores. Latency is commit-to-client: the commit ` +
      `timestamp carried in the event (from the WAL, millisecond precision) against the ` +
      `receipt time. Load average (1/5/15 min) at the start: ` +
      `${loadAtStart.map((l) => l.toFixed(2)).join(" / ")}; at the end: ` +
      `${loadAtEnd.map((l) => l.toFixed(2)).join(" / ")}. "Cores" are CPU seconds per second ` +
      `from /proc: server process, subscribers (the Worker), writer (main thread), ` +
      `PostgreSQL (bench cluster), and the whole machine (including other work).`,
      "",
      `**Fixed load** — ${
        CLINICS * STAFF_PER_CLINIC
      } staff subscribers across ${CLINICS} clinics ` +
      `(one \`appointments\` binding each, filtered to their clinic, RLS-authorized), ` +
      `${FIXED_RATE} committed appointments/s for ${FIXED_SECONDS} s ` +
      `(load average ${fixed.loadBefore.toFixed(2)} before):`,
      "",
      table(
        [
          "changes",
          "deliveries",
          "p50",
          "p95",
          "p99",
          "max",
          "server µs/delivery",
          "cores: server / subscribers / PostgreSQL / machine",
        ],
        [[
          fixed.sent,
          fixed.delivered,
          ms(fixed.p50),
          ms(fixed.p95),
          ms(fixed.p99),
          ms(fixed.max),
          usPer({ cores: fixed.cores, perSecond: fixed.delivered / FIXED_SECONDS }),
          ["server", "clients", "postgres", "machine"].map((k) => cores(fixed.cores, k)).join(
            " / ",
          ),
        ]],
      ),
      "",
      `**Saturation** — same subscribers, rising write rates (${STEP_SECONDS} s each, until ` +
      `deliveries fall behind or p99 passes 500 ms; a step that missed while other work on ` +
      `the machine used ≥ 0.3 cores is run once more, both rows shown). Highest sustained ` +
      `rate with p99 ≤ 50 ms: ` +
      `**${best ? Math.round(best.perSecond) : 0} authorized deliveries/s**` +
      (best ? ` (${Math.round(best.rate)} changes/s, p99 ${ms(best.p99)})` : "") +
      `; highest delivered: ${Math.round(sat.peak)}/s.`,
      "",
      table(
        [
          "changes/s",
          "deliveries/s",
          "p50",
          "p95",
          "p99",
          "load avg",
          "server µs/delivery",
          "cores: server / subscribers / writer / PostgreSQL / machine (other work)",
        ],
        sat.rows.map((r) => [
          Math.round(r.rate) + (r.disturbed ? " (disturbed: run again)" : ""),
          Math.round(r.perSecond) + (r.delivered < r.expected * 0.99 ? " (behind)" : ""),
          ms(r.p50),
          ms(r.p95),
          ms(r.p99),
          r.load.toFixed(2),
          usPer(r),
          ["server", "clients", "writer", "postgres", "machine"].map((k) => cores(r.cores, k))
            .join(" / ") + ` (${otherWork(r.cores).toFixed(2)})`,
        ]),
      ),
      "",
      `**Board fan-out** — ${BOARD_SOCKETS} sockets on one TV board token (connected and joined ` +
      `in ${board.connectSeconds.toFixed(1)} s); one board row update; time from commit until ` +
      `the last socket has it, over ${board.times.length} rounds: median ` +
      `${ms(boardSorted[Math.floor(boardSorted.length / 2)] ?? NaN)}, worst ` +
      `${ms(boardSorted[boardSorted.length - 1] ?? NaN)}.`,
    ].join("\n");
  } finally {
    await server.stop();
    await db.sql`select pg_drop_replication_slot(slot_name) from pg_replication_slots
      where database = current_database() and not active`.catch(() => {});
    await db.drop();
  }
  return { title: "Realtime", markdown };
}

const bench: Bench = run;
export default bench;
