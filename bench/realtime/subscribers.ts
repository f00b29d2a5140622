/**
 * Lightweight protocol-level subscribers (vsn 2.0.0 text frames) for load generation: no
 * client library per socket, and no JSON parse per delivery — the commit timestamp is cut
 * out of the frame, so the load generator stays cheap next to the server it measures.
 *
 * Two transports: the runtime's `WebSocket`, and (`raw: true`) a minimal RFC 6455 client on
 * a TCP connection that parses frames itself and decodes only the head of each message —
 * about a third of the CPU per received message, which matters when 1,000+ sockets share
 * the two cores with the server being measured.
 */

export interface Subscriber {
  /** Sends a text frame. */
  send(text: string): void;
  close(): Promise<void>;
  /** Deliveries received. */
  count: number;
}

export interface SubscriberPool {
  subscribers: Subscriber[];
  /** Latency samples (ms, receipt − commit) since the last `reset()`. */
  samples: number[];
  /** Receipt times per commit timestamp (for fan-out completion), when tracking is on. */
  lastReceipt: Map<string, { count: number; last: number }>;
  track: boolean;
  reset(): void;
  close(): Promise<void>;
}

const MARK = '"commit_timestamp":"';

export interface Spec {
  /** This subscriber's server, when not the pool's (subscribers spread over several nodes). */
  endpoint?: string;
  token: string;
  topic: string;
  binding: Record<string, unknown>;
}

export async function openSubscribers(
  endpoint: string,
  specs: Spec[],
  concurrency = 200,
  options: { raw?: boolean } = {},
): Promise<SubscriberPool> {
  const pool: SubscriberPool = {
    subscribers: [],
    samples: [],
    lastReceipt: new Map(),
    track: false,
    reset() {
      pool.samples = [];
      pool.lastReceipt.clear();
    },
    async close() {
      clearInterval(heartbeat);
      await Promise.all(pool.subscribers.map((s) => s.close()));
    },
  };
  const heartbeat = setInterval(() => {
    for (const s of pool.subscribers) s.send('[null,"hb","phoenix","heartbeat",{}]');
  }, 20_000);

  /** A received text message (or its head: enough for the join reply and the timestamp). */
  function received(sub: Subscriber, data: string): void {
    const at = data.indexOf(MARK);
    if (at < 0) return;
    const now = Date.now();
    const ts = data.slice(at + MARK.length, data.indexOf('"', at + MARK.length));
    sub.count++;
    pool.samples.push(now - Date.parse(ts));
    if (pool.track) {
      const entry = pool.lastReceipt.get(ts);
      if (entry) {
        entry.count++;
        entry.last = now;
      } else pool.lastReceipt.set(ts, { count: 1, last: now });
    }
  }

  const join = (spec: Spec) =>
    JSON.stringify(["1", "1", spec.topic, "phx_join", {
      config: { postgres_changes: [spec.binding] },
    }]);

  async function open(spec: Spec): Promise<void> {
    const url = `${spec.endpoint ?? endpoint}/websocket?apikey=${spec.token}&vsn=2.0.0`;
    const sub = options.raw
      ? await openRaw(url, join(spec), (s, text) => received(s, text))
      : await openWebSocket(url, join(spec), (s, text) => received(s, text));
    pool.subscribers.push(sub);
  }

  for (let i = 0; i < specs.length; i += concurrency) {
    await Promise.all(specs.slice(i, i + concurrency).map(open));
  }
  return pool;
}

type OnText = (sub: Subscriber, text: string) => void;

function openWebSocket(url: string, joinFrame: string, onText: OnText): Promise<Subscriber> {
  const socket = new WebSocket(url);
  const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
  const sub: Subscriber = {
    count: 0,
    send(text) {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    },
    close() {
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
      return closed;
    },
  };
  return new Promise<Subscriber>((resolve, reject) => {
    socket.onerror = () => reject(new Error("socket failed"));
    socket.onopen = () => socket.send(joinFrame);
    socket.onmessage = (event) => {
      const data = event.data as string;
      if (data.startsWith('["1","1"')) {
        if (!data.includes('"status":"ok"')) reject(new Error(`join failed: ${data}`));
        else resolve(sub);
        return;
      }
      onText(sub, data);
    };
  });
}

// ---- a minimal RFC 6455 client ---------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Bytes of a message decoded for the timestamp: the frame head (topic, ids, commit time). */
const HEAD = 320;

/** A masked (zero key: the payload stays as is) client frame. */
function clientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = new Uint8Array(head + 4 + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) frame[1] = 0x80 | n;
  else if (n < 65536) {
    frame[1] = 0x80 | 126;
    frame[2] = n >> 8;
    frame[3] = n & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(n));
  }
  frame.set(payload, head + 4);
  return frame;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

async function openRaw(url: string, joinFrame: string, onText: OnText): Promise<Subscriber> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  conn.setNoDelay(true);
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await writeAll(
    conn,
    encoder.encode(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ),
  );
  let buf = new Uint8Array(1 << 16);
  let len = 0;
  const fill = async (): Promise<boolean> => {
    if (len === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(len));
    if (n === null) return false;
    len += n;
    return true;
  };
  // The upgrade response.
  for (;;) {
    const text = decoder.decode(buf.subarray(0, len));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      if (!text.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${text}`);
      const used = encoder.encode(text.slice(0, end + 4)).length;
      buf.copyWithin(0, used, len);
      len -= used;
      break;
    }
    if (!(await fill())) throw new Error("closed during the upgrade");
  }
  let open = true;
  const send = (opcode: number, payload: Uint8Array) => {
    if (!open) return;
    writeAll(conn, clientFrame(opcode, payload)).catch(() => open = false);
  };
  let joined!: (sub: Subscriber) => void;
  let failed!: (error: Error) => void;
  const ready = new Promise<Subscriber>((resolve, reject) => {
    joined = resolve;
    failed = reject;
  });
  const sub: Subscriber = {
    count: 0,
    send: (text) => send(0x1, encoder.encode(text)),
    async close() {
      if (open) {
        send(0x8, new Uint8Array([0x03, 0xe8]));
        open = false;
      }
      await done;
    },
  };
  const done = (async () => {
    let isJoined = false;
    try {
      for (;;) {
        // Parse every complete frame in the buffer.
        let off = 0;
        for (;;) {
          if (len - off < 2) break;
          const b0 = buf[off];
          let n = buf[off + 1] & 0x7f;
          let head = 2;
          if (n === 126) {
            if (len - off < 4) break;
            n = (buf[off + 2] << 8) | buf[off + 3];
            head = 4;
          } else if (n === 127) {
            if (len - off < 10) break;
            n = Number(new DataView(buf.buffer, off + 2, 8).getBigUint64(0));
            head = 10;
          }
          if (len - off < head + n) {
            if (head + n > buf.length) {
              const bigger = new Uint8Array(head + n + (1 << 16));
              bigger.set(buf.subarray(off, len));
              len -= off;
              off = 0;
              buf = bigger;
            }
            break;
          }
          const opcode = b0 & 0x0f;
          const payload = buf.subarray(off + head, off + head + n);
          off += head + n;
          if (opcode === 0x1) {
            if (!isJoined) {
              const text = decoder.decode(payload);
              if (text.startsWith('["1","1"')) {
                isJoined = true;
                if (text.includes('"status":"ok"')) joined(sub);
                else failed(new Error(`join failed: ${text}`));
              }
              continue;
            }
            onText(sub, decoder.decode(payload.subarray(0, HEAD)));
          } else if (opcode === 0x9) send(0xa, payload.slice());
          else if (opcode === 0x8) {
            if (open) send(0x8, payload.slice(0, 2));
            open = false;
          }
        }
        if (off > 0) {
          buf.copyWithin(0, off, len);
          len -= off;
        }
        if (!(await fill())) break;
      }
    } catch {
      // connection reset: the pool is closing
    } finally {
      open = false;
      try {
        conn.close();
      } catch { /* closed */ }
      if (!isJoined) failed(new Error("closed before the join reply"));
    }
  })();
  sub.send(joinFrame);
  return ready;
}

// ---- the pool in a Worker ----------------------------------------------------------------

/** A subscriber pool running in a Worker (see subscriber_worker.ts); every call is a message. */
export interface RemotePool {
  reset(): Promise<void>;
  track(on: boolean): Promise<void>;
  /** Deliveries received since the last reset. */
  count(): Promise<number>;
  /** Latency samples (ms) since the last reset. */
  samples(): Promise<number[]>;
  /** Receipt counts and last receipt time per commit timestamp (when tracking). */
  receipts(): Promise<Map<string, { count: number; last: number }>>;
  close(): Promise<void>;
}

export async function openSubscriberWorker(
  endpoint: string,
  specs: Spec[],
  options: { raw?: boolean } = {},
): Promise<RemotePool> {
  const worker = new Worker(new URL("./subscriber_worker.ts", import.meta.url), {
    type: "module",
  });
  let next = 0;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  worker.onmessage = (event: MessageEvent<{ id: number; value?: unknown; error?: string }>) => {
    const w = waiting.get(event.data.id);
    if (!w) return;
    waiting.delete(event.data.id);
    if (event.data.error !== undefined) w.reject(new Error(event.data.error));
    else w.resolve(event.data.value);
  };
  const call = <T>(request: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, ...request });
    });
  try {
    await call({ op: "open", endpoint, specs, raw: options.raw ?? false });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  return {
    reset: () => call({ op: "reset" }),
    track: (on) => call({ op: "track", on }),
    count: () => call({ op: "count" }),
    samples: () => call({ op: "samples" }),
    receipts: async () =>
      new Map(await call<Array<[string, { count: number; last: number }]>>({ op: "receipts" })),
    async close() {
      await call({ op: "close" });
      worker.terminate();
    },
  };
}
