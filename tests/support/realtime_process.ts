/**
 * realtime/main.ts in its own process (a feeder, a node, or both, by `REALTIME_ROLE`) on a free
 * loopback port: spawn with an environment, read its /health, stop it or kill it with SIGKILL.
 * Every wait is bounded.
 */
import { freePort } from "../../edge/db/cluster.ts";

const root = new URL("../..", import.meta.url).pathname;
const START_MS = 30_000;

export interface RealtimeProcess {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: supabase-js's URL; realtime lives under /realtime/v1. */
  readonly origin: string;
  /** The body of `GET /realtime/v1/health`. */
  health(): Promise<Record<string, unknown>>;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), after which it has ended. */
  stop(): Promise<void>;
  /** The last 16 KiB it wrote, for failure messages. */
  output(): string;
}

/** Starts realtime/main.ts with `env` and resolves once it listens. */
export async function spawnRealtime(env: Record<string, string>): Promise<RealtimeProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${root}deno.json`, `${root}realtime/main.ts`],
    env: { ...env, REALTIME_PORT: String(port), REALTIME_HOST: "127.0.0.1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tail = "";
  let listening!: () => void;
  const listens = new Promise<void>((resolve) => listening = resolve);
  const drain = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-16_384);
      if (tail.includes("listening on")) listening();
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const ended = child.status.then(async () => {
    await drained;
  });
  let alive = true;
  const end = async (signal: Deno.Signal) => {
    if (alive) {
      alive = false;
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
    await ended;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), START_MS);
  });
  const outcome = await Promise.race([listens, ended.then(() => "ended" as const), timeout]);
  clearTimeout(timer);
  if (outcome !== undefined) {
    await end("SIGKILL");
    throw new Error(`realtime/main.ts did not start (${outcome}):\n${tail}`);
  }
  const origin = `http://127.0.0.1:${port}`;
  return {
    port,
    origin,
    async health() {
      const res = await fetch(`${origin}/realtime/v1/health`);
      return await res.json();
    },
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
    output: () => tail,
  };
}
