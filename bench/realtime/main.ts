/**
 * Realtime benchmark (issue 4): the realtime server runs as its own process (realtime/main.ts)
 * on the bench database; writes go through PostgreSQL and logical replication; subscribers
 * are protocol-level websocket clients in this process.
 *
 * 1. Fixed load: 1,000 staff subscribers across 50 clinics (appointments of their clinic,
 *    RLS-authorized per clinic) while 200 appointments/s are committed → commit-to-client
 *    latency p50/p95/p99 (commit timestamp from the WAL vs receipt time, same clock).
 * 2. Saturation: the same subscribers, rising write rates → the highest sustained
 *    authorized deliveries/s with p99 ≤ 50 ms.
 * 3. Board fan-out: 5,000 sockets on one TV board token; one board row changes → time until
 *    the last socket has it.
 *
 * Figures are measured, never asserted.
 */
import type { Bench, BenchContext, BenchResult } from "../support.ts";
import { latencySummary, ms, table } from "../support.ts";
import { openSubscribers, type SubscriberPool } from "./subscribers.ts";
import { type BenchWorld, buildWorld, signer, writeAppointments } from "./world.ts";
import type postgres from "postgres";

const CLINICS = 50;
const STAFF_PER_CLINIC = 20;
const FIXED_RATE = 200;
const FIXED_SECONDS = 10;
const BOARD_SOCKETS = 5_000;

interface Server {
  endpoint: string;
  stop(): Promise<void>;
}

async function startServer(databaseUrl: string, secret: string): Promise<Server> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../realtime/main.ts", import.meta.url).pathname],
    env: { JWT_SECRET: secret, DATABASE_URL: databaseUrl, REALTIME_PORT: String(port) },
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
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

/** Commits `rate` appointments per second for `seconds`, in 10 ms batches. */
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

async function settle(pool: SubscriberPool, expected: number, timeoutMs = 10_000) {
  const start = Date.now();
  while (pool.samples.length < expected && Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fixedLoad(sql: postgres.Sql, world: BenchWorld, pool: SubscriberPool) {
  await writeAtRate(sql, world, 50, 1); // warm-up
  await settle(pool, 50 * STAFF_PER_CLINIC, 3000);
  pool.reset();
  const sent = await writeAtRate(sql, world, FIXED_RATE, FIXED_SECONDS);
  await settle(pool, sent * STAFF_PER_CLINIC);
  return { sent, delivered: pool.samples.length, ...latencySummary(pool.samples) };
}

async function saturation(sql: postgres.Sql, world: BenchWorld, pool: SubscriberPool) {
  const rows: Array<{ rate: number; perSecond: number; p50: number; p95: number; p99: number }> =
    [];
  for (const rate of [250, 500, 750, 1000, 1500, 2000, 3000]) {
    pool.reset();
    const t0 = performance.now();
    const sent = await writeAtRate(sql, world, rate, 5);
    await settle(pool, sent * STAFF_PER_CLINIC, 15_000);
    const seconds = (performance.now() - t0) / 1000;
    const s = latencySummary(pool.samples);
    rows.push({ rate: sent / 5, perSecond: pool.samples.length / seconds, ...s });
    // Past saturation: deliveries fall behind the writes or latency runs away.
    if (s.p99 > 500 || pool.samples.length < sent * STAFF_PER_CLINIC * 0.99) break;
  }
  const sustained = rows.filter((r) => r.p99 <= 50);
  const best = sustained.length ? Math.max(...sustained.map((r) => r.perSecond)) : 0;
  const peak = Math.max(...rows.map((r) => r.perSecond));
  return { rows, best, peak };
}

async function boardFanout(sql: postgres.Sql, world: BenchWorld, endpoint: string, token: string) {
  const [ticket] = await sql<{ id: string }[]>`
    insert into public.queue_tickets (clinic_id, service_date, code, kind)
    values (${world.clinics[0]}, current_date, 'F001', 'walk_in') returning id`;
  const opened = performance.now();
  const pool = await openSubscribers(
    endpoint,
    Array.from({ length: BOARD_SOCKETS }, () => ({
      token,
      topic: "realtime:board",
      binding: { event: "UPDATE", schema: "public", table: "queue_board" },
    })),
  );
  const connectSeconds = (performance.now() - opened) / 1000;
  pool.track = true;
  const times: number[] = [];
  try {
    for (let round = 0; round < 5; round++) {
      pool.reset();
      await sql`update public.queue_board set room = ${`Room ${round}`} where ticket_id = ${ticket.id}`;
      const start = Date.now();
      while (Date.now() - start < 15_000) {
        const [entry] = [...pool.lastReceipt.entries()];
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

async function run(ctx: BenchContext): Promise<BenchResult> {
  const db = await ctx.freshDatabase({ max: 4 });
  const secret = crypto.randomUUID() + crypto.randomUUID();
  const sign = signer(secret);
  const world = await buildWorld(db.sql, CLINICS, STAFF_PER_CLINIC);
  const server = await startServer(db.url, secret);
  const loadBefore = Deno.loadavg()[0];
  let markdown = "";
  try {
    const specs = [];
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
    const pool = await openSubscribers(server.endpoint, specs);
    let fixed, sat;
    try {
      fixed = await fixedLoad(db.sql, world, pool);
      sat = await saturation(db.sql, world, pool);
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

    markdown = [
      `Realtime server as its own process (\`realtime/main.ts\`) on logical replication; ` +
      `subscribers are protocol-level websocket clients (vsn 2.0.0) in the benchmark process, ` +
      `on the same 2 cores. Latency is commit-to-client: the commit timestamp carried in the ` +
      `event (from the WAL, millisecond precision) against the receipt time. Machine load ` +
      `average when the run started: ${loadBefore.toFixed(1)} (other work shares the cores).`,
      "",
      `**Fixed load** — ${
        CLINICS * STAFF_PER_CLINIC
      } staff subscribers across ${CLINICS} clinics ` +
      `(one \`appointments\` binding each, filtered to their clinic, RLS-authorized), ` +
      `${FIXED_RATE} committed appointments/s for ${FIXED_SECONDS} s:`,
      "",
      table(["changes", "deliveries", "p50", "p95", "p99", "max"], [[
        fixed.sent,
        fixed.delivered,
        ms(fixed.p50),
        ms(fixed.p95),
        ms(fixed.p99),
        ms(fixed.max),
      ]]),
      "",
      `**Saturation** — same subscribers, rising write rates (5 s each, until deliveries fall ` +
      `behind). Highest sustained rate with p99 ≤ 50 ms: **${Math.round(sat.best)} authorized ` +
      `deliveries/s**; highest delivered: ${Math.round(sat.peak)}/s.`,
      "",
      table(
        ["changes/s", "deliveries/s", "p50", "p95", "p99"],
        sat.rows.map((r) => [
          Math.round(r.rate),
          Math.round(r.perSecond),
          ms(r.p50),
          ms(r.p95),
          ms(r.p99),
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
