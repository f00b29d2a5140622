/**
 * The realtime benchmarks' workload, shared by bench/realtime (in process) and
 * bench/realtime_nats (over NATS JetStream): the server process, writes at a fixed rate,
 * the fixed-load run and the saturation steps.
 */
import type postgres from "postgres";
import { latencySummary } from "../support.ts";
import { cpuMeter } from "./cpu.ts";
import type { RemotePool, Spec } from "./subscribers.ts";
import { type BenchWorld, signer, writeAppointments } from "./world.ts";

export const CLINICS = 50;
export const STAFF_PER_CLINIC = 20;
export const FIXED_RATE = 200;
export const FIXED_SECONDS = 10;
export const STEP_SECONDS = 5;
export const RATES = [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000];

export interface Server {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `main` (`realtime/main.ts`, or $REALTIME_BENCH_SERVER) on a free port with `env`
 * added, and waits until it prints `marker`.
 */
export async function startServer(
  databaseUrl: string,
  secret: string,
  env: Record<string, string> = {},
  marker = "listening",
  // REALTIME_BENCH_SERVER: another build of realtime/main.ts (before/after comparisons).
  main = Deno.env.get("REALTIME_BENCH_SERVER") ??
    new URL("../../realtime/main.ts", import.meta.url).pathname,
): Promise<Server> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, main],
    // Every simulated client shares the loopback address: lift the per-address socket cap.
    env: {
      JWT_SECRET: secret,
      DATABASE_URL: databaseUrl,
      REALTIME_PORT: String(port),
      REALTIME_MAX_SOCKETS_PER_ADDRESS: "1000000",
      ...env,
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
      if (text.includes(marker)) listening();
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
export async function writeAtRate(
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
export async function settle(pool: RemotePool, expected: number, timeoutMs = 10_000) {
  const start = Date.now();
  let count = await pool.count();
  while (count < expected && Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 20));
    count = await pool.count();
  }
  return count;
}

export type Meter = ReturnType<typeof cpuMeter>;
export type Cores = ReturnType<Meter["stop"]>;

export const load = () => Deno.loadavg()[0];

export async function fixedLoad(
  sql: postgres.Sql,
  world: BenchWorld,
  pool: RemotePool,
  meter: Meter,
) {
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

export interface Step {
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
export const otherWork = (c: Cores) => c.machine - c.server - c.clients - c.writer - c.postgres;

export async function saturation(
  sql: postgres.Sql,
  world: BenchWorld,
  pool: RemotePool,
  meter: Meter,
) {
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

/** One staff subscriber per staff user: their clinic's appointment INSERTs (RLS-authorized). */
export async function staffSpecs(
  world: BenchWorld,
  sign: ReturnType<typeof signer>,
): Promise<Spec[]> {
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
  return specs;
}
