/**
 * JetStream publishes without a request object each: every message carries a reply subject under
 * one inbox, and one subscription settles the acks. nats.js's `js.publish` makes a request per
 * message — a muxed reply, a timer and an Error captured for its stack — which cost the feeder
 * more CPU than the publish itself; here a message costs its headers and one promise, and one
 * sweep times out what JetStream has not acknowledged. A message may also go without a reply
 * subject (`send`): the feeder asks only now and then, an ack proving the chain before it.
 */
import { createInbox, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";

/** JetStream's answer to a stored (or deduplicated) message. */
export interface Acked {
  seq: number;
  duplicate: boolean;
}

export interface Publisher {
  /**
   * Publishes `body` with `Nats-Msg-Id: msgId` and, when given, `Nats-Expected-Last-Msg-Id`,
   * without a reply subject: nothing says whether it was stored (a later ack of its chain does).
   */
  send(subject: string, body: string, msgId: string, expectLastMsgId?: string): void;
  /** The same, asking for JetStream's ack: rejects with its error, or after the timeout. */
  ask(subject: string, body: string, msgId: string, expectLastMsgId?: string): Promise<Acked>;
  /** Rejects what is pending and ends the subscription and the sweep. */
  close(): void;
}

interface Pending {
  resolve(ack: Acked): void;
  reject(error: Error): void;
  at: number;
}

export function createPublisher(nc: NatsConnection, timeoutMs: number): Publisher {
  const inbox = createInbox();
  const pending = new Map<number, Pending>();
  let next = 0;

  function settle(error: Error | null, msg: Msg): void {
    const id = Number(msg.subject.slice(inbox.length + 1));
    const waiting = pending.get(id);
    if (!waiting || error) return;
    pending.delete(id);
    if (msg.headers?.hasError || msg.data.length === 0) {
      // 503 no responders: the stream is not there (yet); the pump publishes again.
      waiting.reject(new Error(`jetstream: ${msg.headers?.code ?? "empty"} response`));
      return;
    }
    try {
      const ack = msg.json<
        { seq?: number; duplicate?: boolean; error?: { description?: string } }
      >();
      if (ack.error || ack.seq === undefined) {
        waiting.reject(new Error(`jetstream: ${ack.error?.description ?? "invalid ack"}`));
      } else waiting.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
    } catch {
      waiting.reject(new Error("jetstream: unreadable ack"));
    }
  }

  const subscription = nc.subscribe(`${inbox}.*`, { callback: settle });
  // Pending is in publish order: the first one young enough ends the sweep.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, waiting] of pending) {
      if (now - waiting.at < timeoutMs) break;
      pending.delete(id);
      waiting.reject(new Error("jetstream: no ack in time"));
    }
  }, Math.max(10, Math.min(500, timeoutMs / 4)));

  function headersOf(msgId: string, expectLastMsgId: string | undefined) {
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    if (expectLastMsgId !== undefined) h.set("Nats-Expected-Last-Msg-Id", expectLastMsgId);
    return h;
  }

  return {
    send(subject, body, msgId, expectLastMsgId) {
      try {
        nc.publish(subject, body, { headers: headersOf(msgId, expectLastMsgId) });
      } catch {
        // A closed connection: the next ask fails, and the pump publishes again from there.
      }
    },
    ask(subject, body, msgId, expectLastMsgId) {
      const id = next++;
      return new Promise<Acked>((resolve, reject) => {
        pending.set(id, { resolve, reject, at: Date.now() });
        try {
          nc.publish(subject, body, {
            headers: headersOf(msgId, expectLastMsgId),
            reply: `${inbox}.${id}`,
          });
        } catch (error) {
          pending.delete(id);
          reject(error as Error); // the connection is closed or draining
        }
      });
    },
    close() {
      clearInterval(sweep);
      subscription.unsubscribe();
      for (const waiting of pending.values()) waiting.reject(new Error("jetstream: closed"));
      pending.clear();
    },
  };
}
