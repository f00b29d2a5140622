/**
 * `realtime/main.ts` as its own process for multi-process tests (feeder, nodes, or one process):
 * started with the given environment on a free loopback port, its /health polled with a bounded
 * wait, stopped with SIGTERM or killed with SIGKILL. Its output is kept for failure messages.
 */
import { freePort } from "../../edge/db/cluster.ts";

const MAIN = new URL("../../realtime/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface RealtimeProcess {
  readonly port: number;
  readonly pid: number;
  /** `http://127.0.0.1:<port>`: a supabase-js client's URL (it appends /realtime/v1). */
  readonly origin: string;
  /** `GET /realtime/v1/health`, parsed. */
  health(): Promise<{ status: string } & Record<string, unknown>>;
  /** Polls /health until `ok` holds (at most `timeoutMs`); throws with the output otherwise. */
  waitForHealth(
    ok: (health: { status: string } & Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (its clean shutdown); SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** What it printed (stdout and stderr, the last 16 KiB). */
  output(): string;
}

/**
 * Starts `realtime/main.ts` with `env` (plus REALTIME_PORT, unless `env` names one) and waits
 * until it listens (≤ 60 s).
 */
export async function startRealtimeProcess(env: Record<string, string>): Promise<RealtimeProcess> {
  const port = Number(env.REALTIME_PORT ?? freePort());
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, MAIN],
    env: { REALTIME_SWEEP_MS: "100", ...env, REALTIME_PORT: String(port) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text = (text + decoder.decode(chunk, { stream: true })).slice(-16_384);
    }
  };
  const drained = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const end = async (signal: Deno.Signal) => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), 10_000));
    if (await Promise.race([status, late]) === "late") {
      child.kill("SIGKILL");
      await status;
    }
    clearTimeout(timer);
    await drained;
  };
  const origin = `http://127.0.0.1:${port}`;
  const health = async () => {
    const res = await fetch(`${origin}/realtime/v1/health`);
    return await res.json();
  };
  const waitForHealth: RealtimeProcess["waitForHealth"] = async (ok, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown = "no answer";
    while (Date.now() < deadline) {
      if (exited) break;
      try {
        const h = await health();
        if (ok(h)) return;
        last = h;
      } catch (error) {
        last = String(error);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `realtime on ${port}${exited ? " exited" : ""}: health ${JSON.stringify(last)}\n${text}`,
    );
  };
  const started = { port, pid: child.pid, origin, health, waitForHealth, output: () => text };
  const process: RealtimeProcess = {
    ...started,
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
  };
  const deadline = Date.now() + 60_000;
  while (!text.includes("listening")) {
    if (exited || Date.now() > deadline) {
      await process.kill();
      throw new Error(`realtime did not start:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return process;
}
