import assert from "node:assert/strict";
import { type Change, type ChannelLike, type ClientLike, openFeed } from "./live.ts";

/** A fake realtime client: the test plays the server (statuses, changes). */
function fakeClient() {
  const channels: FakeChannel[] = [];
  let connected = true;
  class FakeChannel implements ChannelLike {
    bindings: { table: string; filter?: string }[] = [];
    handlers: ((c: Change) => void)[] = [];
    status?: (s: string) => void;
    removed = false;
    constructor(readonly topic: string) {}
    on(
      _type: "postgres_changes",
      filter: { table: string; filter?: string },
      cb: (c: Change) => void,
    ) {
      this.bindings.push({ table: filter.table, filter: filter.filter });
      this.handlers.push(cb);
      return this;
    }
    subscribe(cb: (s: string) => void) {
      this.status = cb;
      return this;
    }
    emit(change: Change) {
      for (const h of this.handlers) h(change);
    }
  }
  const client: ClientLike = {
    channel(topic) {
      const c = new FakeChannel(topic);
      channels.push(c);
      return c;
    },
    removeChannel(c) {
      (c as FakeChannel).removed = true;
      return Promise.resolve("ok");
    },
    connect() {
      connected = true;
    },
    isConnected: () => connected,
    sendHeartbeat() {},
    setAuth: () => Promise.resolve(),
  };
  return { client, channels, last: () => channels[channels.length - 1] };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const change = (n: number): Change => ({
  table: "queue_board",
  eventType: "UPDATE",
  new: { n },
  old: {},
});

Deno.test("live feed: snapshot + stream", async (t) => {
  await t.step("loads at once, is live only once joined and synced", async () => {
    const fake = fakeClient();
    let snapshots = 0;
    const feed = openFeed({
      client: fake.client,
      topic: "board:X",
      changes: [{ table: "queue_board", filter: "clinic_id=eq.1" }],
      onChange: () => {},
      snapshot: () => {
        snapshots++;
        return Promise.resolve();
      },
    });
    try {
      await tick();
      assert.equal(snapshots, 1, "data is shown before the socket joins");
      assert.equal(feed.state.value, "connecting");
      assert.ok(feed.staleSince.value !== null);
      assert.deepEqual(fake.last().bindings, [{ table: "queue_board", filter: "clinic_id=eq.1" }]);
      fake.last().status!("SUBSCRIBED");
      await tick();
      assert.equal(snapshots, 2, "resynced on join");
      assert.equal(feed.state.value, "live");
      assert.equal(feed.staleSince.value, null);
    } finally {
      await feed.close();
    }
  });

  await t.step("changes during a snapshot are replayed after it, in order", async () => {
    const fake = fakeClient();
    const seen: number[] = [];
    let release!: () => void;
    let snapshots = 0;
    const feed = openFeed({
      client: fake.client,
      topic: "t",
      changes: [{ table: "queue_board" }],
      onChange: (c) => seen.push(c.new.n as number),
      snapshot: () => {
        snapshots++;
        if (snapshots === 1) return Promise.resolve();
        seen.push(0); // the snapshot itself
        return new Promise<void>((r) => (release = r));
      },
    });
    try {
      await tick();
      fake.last().status!("SUBSCRIBED");
      await tick();
      fake.last().emit(change(1));
      fake.last().emit(change(2));
      assert.deepEqual(seen, [0], "held back while the snapshot loads");
      release();
      await tick();
      assert.deepEqual(seen, [0, 1, 2]);
      fake.last().emit(change(3));
      assert.deepEqual(seen, [0, 1, 2, 3], "then delivered directly");
      assert.equal(feed.state.value, "live");
    } finally {
      await feed.close();
    }
  });

  await t.step("an error shows 'reconnecting' until rejoined and resynced", async () => {
    const fake = fakeClient();
    let fail = false;
    const feed = openFeed({
      client: fake.client,
      topic: "t",
      changes: [{ table: "queue_board" }],
      onChange: () => {},
      snapshot: () => (fail ? Promise.reject(new Error("offline")) : Promise.resolve()),
      retryMs: [10],
    });
    try {
      await tick();
      fake.last().status!("SUBSCRIBED");
      await tick();
      assert.equal(feed.state.value, "live");
      fake.last().status!("CHANNEL_ERROR");
      assert.equal(feed.state.value, "reconnecting");
      const since = feed.staleSince.value;
      assert.ok(since !== null);
      fail = true;
      fake.last().status!("SUBSCRIBED"); // rejoined, but the snapshot fails: still not live
      await tick();
      assert.equal(feed.state.value, "reconnecting");
      assert.equal(feed.staleSince.value, since, "stale since the first failure");
      fail = false;
      await tick(30); // the retry succeeds
      assert.equal(feed.state.value, "live");
      assert.equal(feed.staleSince.value, null);
    } finally {
      await feed.close();
    }
  });

  await t.step("a channel the server closed is replaced", async () => {
    const fake = fakeClient();
    const seen: number[] = [];
    const feed = openFeed({
      client: fake.client,
      topic: "t",
      changes: [{ table: "queue_board" }],
      onChange: (c) => seen.push(c.new.n as number),
      snapshot: () => Promise.resolve(),
      reopenMs: 5,
    });
    try {
      await tick();
      const first = fake.last();
      first.status!("SUBSCRIBED");
      await tick();
      first.status!("CLOSED");
      assert.equal(feed.state.value, "reconnecting");
      await tick(20);
      assert.equal(first.removed, true);
      assert.equal(fake.channels.length, 2, "a new channel was opened");
      fake.last().status!("SUBSCRIBED");
      await tick();
      assert.equal(feed.state.value, "live");
      // Late events from the old channel are ignored; the new one delivers.
      first.emit(change(9));
      fake.last().emit(change(10));
      assert.deepEqual(seen, [10]);
    } finally {
      await feed.close();
    }
  });

  await t.step("after the device slept, it re-verifies before claiming to be live", async () => {
    const fake = fakeClient();
    let clock = 1_000_000;
    let snapshots = 0;
    let release!: () => void;
    const heartbeats: number[] = [];
    fake.client.sendHeartbeat = () => void heartbeats.push(clock);
    const feed = openFeed({
      client: fake.client,
      topic: "t",
      changes: [{ table: "queue_board" }],
      onChange: () => {},
      snapshot: () => {
        snapshots++;
        return snapshots < 3 ? Promise.resolve() : new Promise<void>((r) => (release = r));
      },
      watchdogMs: 10,
      now: () => clock,
    });
    try {
      await tick();
      fake.last().status!("SUBSCRIBED");
      await tick();
      assert.equal(feed.state.value, "live");
      clock += 60_000; // timers were frozen for a minute
      await tick(25);
      assert.equal(feed.state.value, "reconnecting", "not live until re-verified");
      assert.ok(heartbeats.length >= 1, "the socket is probed");
      assert.equal(snapshots, 3, "and the snapshot reloaded");
      release();
      await tick();
      assert.equal(feed.state.value, "live");
      assert.equal(fake.channels.length, 1, "the same channel, verified");
    } finally {
      await feed.close();
    }
  });
});
