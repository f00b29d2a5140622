/**
 * The benchmark's providers on this machine, each in its own process: an SMTP server (npm
 * smtp-server, ./smtp_service.ts), a push service (npm web-push-testing, ./push_service.ts)
 * and a push service that does nothing (./push_sink.ts). The first two note when every message arrived, by delivery id: the Message-ID our SMTP transport
 * derives from it, the `tag` of a push payload.
 */

const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);
/** The root that signed the push service's certificate. */
export const PUSH_SERVICE_CA = Deno.readTextFileSync(new URL("ca.pem", testdata));

export interface Provider {
  /** Delivery id → when its request arrived (epoch ms). */
  arrivals(): Promise<Map<string, number>>;
  /** How many messages have arrived. */
  count(): Promise<number>;
  /** Its process (CPU accounting). */
  readonly pid: number;
  close(): Promise<void>;
}

/** Runs `script` (deno.json's config) with stdin open; resolves with its first output line. */
async function child(
  script: string,
): Promise<{ line: string; pid: number; close(): Promise<void> }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      new URL(script, import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`${script} exited: ${out}`);
    out += value;
  }
  return {
    line: out.slice(0, out.indexOf("\n")),
    pid: process.pid,
    async close() {
      await process.stdin.close().catch(() => {});
      await lines.cancel().catch(() => {});
      await process.status;
    },
  };
}

/** The SMTP server (./smtp_service.ts) in a child process. */
export async function startSmtpReceiver(): Promise<Provider & { url: string }> {
  const service = await child("./smtp_service.ts");
  const [, smtpPort, httpPort] = /smtp (\d+) http (\d+)/.exec(service.line)!;
  return {
    url: `smtp://127.0.0.1:${smtpPort}`,
    async arrivals() {
      const res = await fetch(`http://127.0.0.1:${httpPort}/arrivals`);
      return new Map(await res.json() as [string, number][]);
    },
    async count() {
      return Number(await (await fetch(`http://127.0.0.1:${httpPort}/count`)).text());
    },
    pid: service.pid,
    close: service.close,
  };
}

/** web-push-testing in a child process; `subscribe` makes a browser's subscription. */
export async function startPushReceiver(): Promise<
  Provider & {
    subscribe(applicationServerKey: string): Promise<{
      endpoint: string;
      keys: { p256dh: string; auth: string };
    }>;
  }
> {
  const service = await child("./push_service.ts");
  const origin = `https://127.0.0.1:${/port (\d+)/.exec(service.line)![1]}`;
  const client = Deno.createHttpClient({ caCerts: [PUSH_SERVICE_CA] });
  return {
    async subscribe(applicationServerKey) {
      const res = await fetch(`${origin}/subscribe`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ applicationServerKey, userVisibleOnly: "true" }),
        client,
      });
      if (!res.ok) throw new Error(`push service: ${res.status} ${await res.text()}`);
      return (await res.json()).data;
    },
    async arrivals() {
      const res = await fetch(`${origin}/bench/arrivals`, { client });
      return new Map(await res.json() as [string, number][]);
    },
    async count() {
      return Number(await (await fetch(`${origin}/bench/count`, { client })).text());
    },
    pid: service.pid,
    async close() {
      client.close();
      await service.close();
    },
  };
}

/** The no-op push service (./push_sink.ts) in a child process. */
export async function startPushSink(): Promise<
  { origin: string; pid: number; close(): Promise<void> }
> {
  const service = await child("./push_sink.ts");
  return {
    origin: `https://127.0.0.1:${/port (\d+)/.exec(service.line)![1]}`,
    pid: service.pid,
    close: service.close,
  };
}
