/**
 * The benchmark's providers on this machine: an SMTP server (npm smtp-server, in this process)
 * and a push service (npm web-push-testing, ./push_service.ts in a child process). Each notes
 * when every message arrived, by delivery id: the Message-ID our SMTP transport derives from it,
 * the `tag` of a push payload.
 */
import { SMTPServer } from "smtp-server";
import { now } from "../jobs/measure.ts";

const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);
/** The root that signed the push service's certificate. */
export const PUSH_SERVICE_CA = Deno.readTextFileSync(new URL("ca.pem", testdata));

export interface Provider {
  /** Delivery id → when its request arrived (epoch ms). */
  arrivals(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/**
 * An SMTP server that accepts every message and keeps only its arrival: the time the client
 * began the transaction (MAIL FROM), by the delivery id in its Message-ID.
 */
export async function startSmtpReceiver(): Promise<Provider & { url: string }> {
  const started = new Map<string, number>();
  const arrived = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onMailFrom(_address, session, callback) {
      started.set(session.id, now());
      callback();
    },
    onData(stream, session, callback) {
      let head = "";
      const decoder = new TextDecoder();
      stream.on("data", (chunk: Uint8Array) => {
        if (head.length < 4096) head += decoder.decode(chunk, { stream: true });
      });
      stream.on("end", () => {
        const id = /^message-id:\s*<([^@>]+)@/im.exec(head)?.[1];
        if (id) arrived.set(id, started.get(session.id) ?? now());
        callback();
      });
    },
  });
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    arrivals: () => Promise.resolve(new Map(arrived)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
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
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      new URL("./push_service.ts", import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/port (\d+)/.test(out)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`push service exited: ${out}`);
    out += value;
  }
  const origin = `https://127.0.0.1:${/port (\d+)/.exec(out)![1]}`;
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
    async close() {
      client.close();
      await child.stdin.close().catch(() => {});
      await lines.cancel().catch(() => {});
      await child.status;
    },
  };
}
