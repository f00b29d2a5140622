/**
 * The real service for browser tests: `deno run -A edge/start.ts` (what `deno task start`
 * runs) as a subprocess on a free port, against a fresh seeded database cloned on the run's
 * ephemeral cluster, with `DATA_DIR` in a temp dir. `restart()` stops it (SIGTERM) and starts it
 * again on the same port — API, realtime and all — as a crash/redeploy would.
 */
import type { Browser } from "playwright-core";
import { middayZone } from "../support/clock.ts";
import { freshDatabase, type TestDatabase } from "../support/db.ts";
import { launch } from "./browser.ts";

const root = new URL("../../", import.meta.url).pathname;

export interface Service {
  url: string;
  port: number;
  db: TestDatabase;
  /** Server output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Opens every doctor of the demo clinics all day, every day, without minimum notice, lets
 * patients check in all day, and puts the clinics in the midday zone — so "book now, check in
 * now" works whenever the test runs (in Asia/Singapore the first free slot is tomorrow's from
 * 23:30 local).
 */
async function openAllDay(db: TestDatabase): Promise<void> {
  const zone = await middayZone(db.sql);
  await db.sql.begin(async (sql) => {
    await sql`update public.doctor_schedules
              set min_notice_minutes = 0, max_per_day = null, buffer_minutes = 0`;
    await sql`delete from public.doctor_schedule_hours`;
    await sql`delete from public.doctor_blocked_dates`;
    await sql`
      insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind, starts, ends)
      select d.id, d.clinic_id, w, 'work', time '00:00', time '23:59'
      from public.doctors d cross join generate_series(0, 6) as w`;
    await sql`
      update public.clinics
      set settings = settings || '{"queue": {"check_in_window_minutes": 1440}}'::jsonb,
          timezone = ${zone}`;
  });
}

async function dropSlots(db: TestDatabase): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const slots = await db.sql<{ slot_name: string; active: boolean }[]>`
      select slot_name, active from pg_replication_slots where database = current_database()`;
    if (!slots.length) return;
    for (const s of slots.filter((s) => !s.active)) {
      await db.sql`select pg_drop_replication_slot(${s.slot_name})`.catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startService(): Promise<Service> {
  const db = await freshDatabase({ seed: true });
  await openAllDay(db);
  const dataDir = await Deno.makeTempDir({ prefix: "clinic-e2e-" });
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  let child: Deno.ChildProcess | null = null;
  let pump: Promise<void> | null = null;

  async function start(): Promise<void> {
    child = new Deno.Command(Deno.execPath(), {
      // E2E_ENTRY: another entry with the same contract (for debugging only).
      args: [
        "run",
        "-A",
        "--config",
        `${root}deno.json`,
        Deno.env.get("E2E_ENTRY") ?? `${root}edge/start.ts`,
      ],
      cwd: root,
      env: {
        DATABASE_URL: db.url,
        PORT: String(port),
        HOST: "127.0.0.1",
        DATA_DIR: dataDir,
        APP_ENV: "test",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let ready!: () => void;
    const listening = new Promise<void>((r) => (ready = r));
    const decoder = new TextDecoder();
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        log = (log + decoder.decode(chunk, { stream: true })).slice(-20_000);
        if (log.includes("Serving on")) ready();
      }
    };
    const proc = child;
    pump = Promise.all([read(proc.stdout), read(proc.stderr)]).then(() => {});
    const exited = proc.status.then((s) => {
      throw new Error(`edge/start.ts exited (${s.code}) before serving:\n${log}`);
    });
    await Promise.race([listening, exited]);
    exited.catch(() => {});
    // The web build happens at startup (warm); wait until the PWA answers.
    for (let i = 0; i < 600; i++) {
      const res = await fetch(url + "/").catch(() => null);
      await res?.body?.cancel();
      if (res?.ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the PWA did not come up:\n${log}`);
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    child = null;
    try {
      proc.kill("SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        proc.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 10_000);
    await proc.status;
    clearTimeout(timer);
    await pump;
  }

  await start();
  return {
    url,
    port,
    db,
    output: () => log,
    start,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      await dropSlots(db);
      await db.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Runs `fn` against a fresh service and a headless browser: on failure prints the server's last
 * output (and runs `onFailure`, for more evidence); closes both either way.
 */
export async function withServiceAndBrowser(
  fn: (service: Service, browser: Browser) => Promise<void>,
  onFailure?: () => Promise<void>,
): Promise<void> {
  const service = await startService();
  let browser: Browser | undefined;
  try {
    browser = await launch();
    await fn(service, browser);
  } catch (error) {
    console.error(`--- server output ---\n${service.output().slice(-4000)}`);
    await onFailure?.();
    throw error;
  } finally {
    await browser?.close();
    await service.close();
  }
}
