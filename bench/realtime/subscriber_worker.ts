/**
 * The subscriber pool in a Worker: its own thread and event loop, so receipt times are taken
 * as soon as a frame arrives rather than after the writer's turn on the benchmark's event loop
 * (postgres.js writes synchronously through the Node compatibility layer), and the sockets'
 * work can run on the other core. Driven by `openSubscriberWorker` (subscribers.ts).
 */
import { openSubscribers, type Spec, type SubscriberPool } from "./subscribers.ts";

export type Request =
  | { op: "open"; endpoint: string; specs: Spec[]; raw: boolean }
  | { op: "reset" }
  | { op: "track"; on: boolean }
  | { op: "count" }
  | { op: "samples" }
  | { op: "receipts" }
  | { op: "close" };

let pool: SubscriberPool | undefined;
const self = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Request & { id: number }>) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

self.onmessage = async (event) => {
  const { id, ...request } = event.data;
  const reply = (value: unknown) => self.postMessage({ id, value });
  try {
    switch (request.op) {
      case "open":
        pool = await openSubscribers(request.endpoint, request.specs, 200, { raw: request.raw });
        return reply(null);
      case "reset":
        pool!.reset();
        return reply(null);
      case "track":
        pool!.track = request.on;
        return reply(null);
      case "count":
        return reply(pool!.samples.length);
      case "samples":
        return reply(pool!.samples);
      case "receipts":
        return reply([...pool!.lastReceipt.entries()]);
      case "close":
        await pool?.close();
        reply(null);
        return self.close();
    }
  } catch (error) {
    self.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
