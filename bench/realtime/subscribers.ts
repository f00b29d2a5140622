/**
 * Lightweight protocol-level subscribers (vsn 2.0.0 text frames) for load generation: no
 * client library per socket, and no JSON parse per delivery — the commit timestamp is cut
 * out of the frame, so the load generator stays cheap next to the server it measures.
 */

export interface Subscriber {
  socket: WebSocket;
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

export async function openSubscribers(
  endpoint: string,
  specs: Array<{ token: string; topic: string; binding: Record<string, unknown> }>,
  concurrency = 200,
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
      await Promise.all(pool.subscribers.map((s) =>
        new Promise<void>((resolve) => {
          if (s.socket.readyState === WebSocket.CLOSED) return resolve();
          s.socket.addEventListener("close", () => resolve());
          s.socket.close();
        })
      ));
    },
  };
  const heartbeat = setInterval(() => {
    for (const s of pool.subscribers) {
      if (s.socket.readyState === WebSocket.OPEN) {
        s.socket.send('[null,"hb","phoenix","heartbeat",{}]');
      }
    }
  }, 20_000);

  async function open(spec: (typeof specs)[number]): Promise<void> {
    const socket = new WebSocket(`${endpoint}/websocket?apikey=${spec.token}&vsn=2.0.0`);
    const sub: Subscriber = { socket, count: 0 };
    pool.subscribers.push(sub);
    await new Promise<void>((resolve, reject) => {
      socket.onerror = () => reject(new Error("socket failed"));
      socket.onopen = () => {
        socket.send(JSON.stringify(["1", "1", spec.topic, "phx_join", {
          config: { postgres_changes: [spec.binding] },
        }]));
      };
      socket.onmessage = (event) => {
        const data = event.data as string;
        if (data.startsWith('["1","1"')) {
          if (!data.includes('"status":"ok"')) reject(new Error(`join failed: ${data}`));
          else resolve();
          return;
        }
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
      };
    });
  }

  for (let i = 0; i < specs.length; i += concurrency) {
    await Promise.all(specs.slice(i, i + concurrency).map(open));
  }
  return pool;
}
