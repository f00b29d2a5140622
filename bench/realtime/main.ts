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
import { ms, table } from "../support.ts";
import { cpuMeter, postgresSeconds, processSeconds, threadSeconds } from "./cpu.ts";
import {
  CLINICS,
  type Cores,
  FIXED_RATE,
  FIXED_SECONDS,
  fixedLoad,
  otherWork,
  saturation,
  STAFF_PER_CLINIC,
  staffSpecs,
  startServer,
  STEP_SECONDS,
} from "./load.ts";
import { openSubscriberWorker } from "./subscribers.ts";
import { type BenchWorld, buildWorld, signer } from "./world.ts";
import type postgres from "postgres";

const BOARD_SOCKETS = 5_000;

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
    const specs = await staffSpecs(world, sign);
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
