/**
 * A real push service for tests and benchmarks: npm web-push-testing (push_service_main.ts) in
 * a child process on 127.0.0.1 over TLS. It hands out subscriptions bound to an application
 * server key, checks each push's VAPID token against that key, decrypts the aes128gcm body with
 * the subscription's private key and keeps the plaintexts; `expire` makes an endpoint answer
 * 410 as a browser's dropped subscription does.
 */

const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);
/** The root that signed the service's certificate (for the client under test). */
export const PUSH_SERVICE_CA = Deno.readTextFileSync(new URL("ca.pem", testdata));

export interface PushServiceSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  clientHash: string;
}

export interface PushService extends AsyncDisposable {
  origin: string;
  /** A browser's subscription for `applicationServerKey` (our VAPID public key). */
  subscribe(applicationServerKey: string): Promise<PushServiceSubscription>;
  /** The decrypted payloads the subscription received, oldest first. */
  messages(clientHash: string): Promise<string[]>;
  /** From now on the endpoint answers 410 Gone. */
  expire(clientHash: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the service; ready when it listens (at most `timeoutMs`). */
export async function startPushService(timeoutMs = 60_000): Promise<PushService> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      new URL("push_service_main.ts", import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const client = Deno.createHttpClient({ caCerts: [PUSH_SERVICE_CA] });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    client.close();
    await child.stdin.close().catch(() => {});
    await lines.cancel().catch(() => {});
    await child.status;
  };
  let origin: string;
  try {
    origin = await listening(lines, timeoutMs);
  } catch (error) {
    child.kill("SIGKILL");
    await close();
    throw error;
  }
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      client,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`push service ${path}: ${res.status} ${text}`);
    return res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  };
  return {
    origin,
    async subscribe(applicationServerKey) {
      return (await post("/subscribe", { applicationServerKey, userVisibleOnly: "true" })).data;
    },
    async messages(clientHash) {
      return (await post("/get-notifications", { clientHash })).data.messages;
    },
    async expire(clientHash) {
      await post(`/expire-subscription/${clientHash}`, {});
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function listening(
  lines: ReadableStreamDefaultReader<string>,
  timeoutMs: number,
): Promise<string> {
  let out = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`push service not up: ${out}`)), timeoutMs);
  });
  try {
    while (true) {
      const port = /port (\d+)/.exec(out)?.[1];
      if (port) return `https://127.0.0.1:${port}`;
      const { value, done } = await Promise.race([lines.read(), timeout]);
      if (done) throw new Error(`push service exited: ${out}`);
      out += value;
    }
  } finally {
    clearTimeout(timer);
  }
}
