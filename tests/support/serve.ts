/** An API entry (e.g. `edge/main.ts`) served by its own Deno process on a free loopback port. */
import { freePort } from "../../edge/db/cluster.ts";

const root = new URL("../..", import.meta.url).pathname;

export interface ServedEntry {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** The last 8 KiB the process wrote to stderr, for failure messages. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `entry` (relative to the repository) with `env` and waits for /api/health (≤ 30 s). */
export async function serveEntry(entry: string, env: Record<string, string>): Promise<ServedEntry> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}${entry}`],
    env: { ...env, PORT: String(port), DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}` },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Drained as it comes so a chatty process never blocks on a full pipe.
  let tail = "";
  const drained = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-8192);
    }
  })();
  const stop = async () => {
    child.kill("SIGTERM");
    await child.status;
    await drained;
  };
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0;; i++) {
    try {
      const res = await fetch(`${base}/api/health`);
      await res.body?.cancel();
      break;
    } catch (error) {
      if (i > 300) {
        await stop();
        throw new Error(`${entry} did not serve /api/health: ${error}\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { base, stderr: () => tail, stop };
}
