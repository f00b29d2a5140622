/**
 * The nats-server harness and the NATS clients under Deno: a stream deduplicates a re-publish
 * with the same Nats-Msg-Id, keeps its messages across a SIGKILL and restart (file storage), and
 * an R3 stream on the 3-server cluster keeps taking writes with one member killed.
 */
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startNats, startNatsCluster } from "./nats.ts";

async function withConnection<T>(
  servers: string[],
  fn: (nc: Awaited<ReturnType<typeof connect>>) => Promise<T>,
): Promise<T> {
  const nc = await connect({ servers, timeout: 5_000, maxReconnectAttempts: -1 });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

Deno.test("nats harness: one server, Nats-Msg-Id dedupe, store survives kill -9", async () => {
  const server = await startNats();
  try {
    await withConnection([server.url], async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "t", subjects: ["t.>"] });
      const js = jetstream(nc);
      const first = await js.publish("t.x", "one", { msgID: "0/16B3748" });
      const again = await js.publish("t.x", "one", { msgID: "0/16B3748" });
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      assert.equal(again.seq, first.seq);
      assert.equal((await jsm.streams.info("t")).state.messages, 1);
    });
    await server.kill();
    assert.equal(server.running, false);
    await server.restart();
    await withConnection([server.url], async (nc) => {
      const jsm = await jetstreamManager(nc);
      assert.equal((await jsm.streams.info("t")).state.messages, 1);
      const msg = await jsm.streams.getMessage("t", { seq: 1 });
      assert.equal(msg?.string(), "one");
      assert.equal(msg?.header.get("Nats-Msg-Id"), "0/16B3748");
    });
  } finally {
    await server.close();
  }
});

Deno.test("nats harness: 3-server cluster, R3 stream takes writes with one member killed", async () => {
  const cluster = await startNatsCluster();
  try {
    await withConnection(cluster.urls, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "r3", subjects: ["r3.>"], num_replicas: 3 });
      const js = jetstream(nc);
      await js.publish("r3.a", "1", { msgID: "1" });
      await cluster.servers[0].kill();
      // Publish until the stream's group has a leader among the two left (bounded retries).
      let acked = false;
      for (let attempt = 0; attempt < 100 && !acked; attempt++) {
        try {
          await js.publish("r3.a", "2", { msgID: "2", timeout: 2_000 });
          acked = true;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assert.ok(acked, "no ack from the two remaining servers");
      await cluster.servers[0].restart();
      const info = await jsm.streams.info("r3");
      assert.equal(info.state.messages, 2);
      assert.equal(info.config.num_replicas, 3);
    });
  } finally {
    await cluster.close();
  }
});
