/**
 * A node's stream feed against a real nats-server: transactions in stream order, large ones
 * rebuilt from their parts, the window started after a hole (expired or deleted messages), and
 * staleness when nothing arrives.
 */
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { Change, Transaction } from "../../../realtime/changes/types.ts";
import { createStreamFeed } from "../../../realtime/bus/node_feed.ts";
import {
  encodeTransaction,
  ensureStream,
  msgIdOf,
  subjectOf,
} from "../../../realtime/bus/stream.ts";
import type { FeedSink } from "../../../realtime/feed/feed.ts";
import { startNats } from "../../support/nats.ts";
import { eventually } from "../support.ts";

const STREAM = "feedtest";

const change = (id: number, note = ""): Change => ({
  schema: "public",
  table: "appointments",
  type: "INSERT",
  columns: [{ name: "id", type: "int8" }, { name: "note", type: "text" }],
  record: { id, note },
});

const txn = (lsn: bigint, changes: Change[] = [change(Number(lsn))]): Transaction => ({
  lsn,
  commitTimestamp: new Date().toISOString(),
  changes,
});

/** What the fan-out would see. */
function recorder() {
  const log: string[] = [];
  let stale = 0;
  const sink: FeedSink = {
    begin: (lsn) => void log.push(`begin ${lsn}`),
    publish: (t) => void log.push(`${t.lsn}:${t.changes.length}`),
    confirmableLsn: () => 0n,
    stale: () => void stale++,
  };
  return { log, sink, stale: () => stale };
}

Deno.test("stream feed: order, parts, holes, staleness", async (t) => {
  const server = await startNats();
  const nc = await connect({ servers: server.url });
  const feeds: ReturnType<typeof createStreamFeed>[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: STREAM, maxAgeMs: 60_000, maxBytes: 1 << 24, replicas: 1 });
    const js = jetstream(nc);
    const publish = async (t: Transaction, maxBytes = 1 << 20) => {
      const bodies = encodeTransaction(t, maxBytes);
      for (let part = 0; part < bodies.length; part++) {
        await js.publish(subjectOf(STREAM), bodies[part], { msgID: msgIdOf(t.lsn, part) });
      }
    };
    const big = txn(300n, Array.from({ length: 40 }, (_, i) => change(i, "x".repeat(200))));
    await publish(txn(100n)); // seq 1
    await publish(txn(200n)); // seq 2
    await publish(big, 2048); // seq 3…
    const afterBig = (await jsm.streams.info(STREAM)).state.last_seq;
    assert.ok(afterBig > 3, "the large transaction is in parts");
    await publish(txn(400n));

    await t.step("in stream order from the first message; parts handed on whole", async () => {
      const r = recorder();
      const feed = createStreamFeed({ nats: nc, stream: STREAM, staleAfterMs: 60_000 });
      feeds.push(feed);
      await feed.start(r.sink);
      await feed.ready();
      assert.deepEqual(r.log, ["begin 99", "100:1", "200:1", "300:40", "400:1"]);
      await feed.stop();
    });

    await t.step(
      "a hole restarts the window after it; a transaction without its first part is skipped",
      async () => {
        await jsm.streams.deleteMessage(STREAM, 2); // lsn 200
        await jsm.streams.deleteMessage(STREAM, 3); // the first part of lsn 300
        const r = recorder();
        const feed = createStreamFeed({ nats: nc, stream: STREAM, staleAfterMs: 60_000 });
        feeds.push(feed);
        await feed.start(r.sink);
        await feed.ready();
        // 100, then a hole: the window restarts at 300 (whose first part is gone), then 400.
        assert.deepEqual(r.log, ["begin 99", "100:1", "begin 300", "400:1"]);
        await feed.stop();
      },
    );

    await t.step("stale when nothing arrives; ready again with the next message", async () => {
      const r = recorder();
      const feed = createStreamFeed({ nats: nc, stream: STREAM, staleAfterMs: 200 });
      feeds.push(feed);
      await feed.start(r.sink);
      await feed.ready();
      await eventually(() => r.stale() === 1, 10_000, "stale");
      assert.equal(feed.isReady(), false);
      assert.equal(feed.isStale?.(), true);
      const ready = feed.ready();
      await publish(txn(500n));
      await ready;
      assert.equal(feed.isReady(), true);
      assert.equal(r.log.at(-1), "500:1");
      await feed.stop();
    });
  } finally {
    for (const feed of feeds) await feed.stop();
    await nc.close();
    await server.close();
  }
});
