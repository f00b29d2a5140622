/**
 * The fan-out core through its own interfaces: commit order per subscriber when some
 * authorization is asynchronous (SQL), isolation of a failing principal, decisions shared
 * per group, and catch-up replay / gap reporting.
 */
import assert from "node:assert/strict";
import type { Claims } from "../../realtime/auth/claims.ts";
import { createRetentionLog } from "../../realtime/catchup/retention.ts";
import type { Authorizer, RowCheck } from "../../realtime/fanout/authorizer.ts";
import { createFanout } from "../../realtime/fanout/fanout.ts";
import type { Subscriber, Subscription } from "../../realtime/fanout/subscriber.ts";
import { parseBindings } from "../../realtime/postgres/bindings.ts";
import type { Change, Transaction } from "../../realtime/postgres/types.ts";

interface Fake extends Subscriber {
  got: Array<{ ids: number[]; data: { record?: { n: number; who: string } } }>;
  failed: string[];
}

function fake(topic = "realtime:t"): Fake {
  let open = true;
  const s: Fake = {
    topic,
    topicJson: JSON.stringify(topic),
    vsn: "2.0.0",
    got: [],
    failed: [],
    send(frame) {
      s.got.push(JSON.parse(frame)[4]);
    },
    fail(message) {
      s.failed.push(message);
      open = false;
    },
    isOpen: () => open,
  };
  return s;
}

/** "who" decides: "sql" rows are deferred to a slow/failing async evaluation. */
function authorizer(evaluate: (claims: Claims, checks: RowCheck[]) => Promise<boolean[]>) {
  const calls = { decide: 0, evaluate: 0 };
  const a: Authorizer = {
    tables: () => ["t"],
    columnType: () => undefined,
    tableAccess: () => Promise.resolve({ allowed: true }),
    policyKey: (claims) => `k:${claims.role}`,
    decide(claims, _access, _schema, _table, row) {
      calls.decide++;
      if (row.who === "sql") return "defer";
      return row.who === "all" || row.who === claims.role;
    },
    evaluate(claims, checks) {
      calls.evaluate++;
      return evaluate(claims, checks);
    },
  };
  return { a, calls };
}

const change = (n: number, who: string): Change => ({
  schema: "public",
  table: "t",
  type: "INSERT",
  columns: [{ name: "n", type: "int4" }, { name: "who", type: "text" }],
  record: { n, who },
});

let lsn = 100n;
const txn = (...changes: Change[]): Transaction => ({
  lsn: lsn += 10n,
  commitTimestamp: new Date().toISOString(),
  changes,
});

function subscription(s: Subscriber, role: string): Subscription {
  const [binding] = parseBindings([{ event: "*", schema: "public", table: "t" }]);
  return {
    subscriber: s,
    claims: { role },
    principalKey: role,
    tables: [{ binding, schema: "public", table: "t", access: { allowed: true } }],
  };
}

Deno.test("fan-out: order, isolation, shared decisions, catch-up", async (t) => {
  await t.step("async SQL checks never reorder a subscriber's stream", async () => {
    const { a } = authorizer(async (_c, checks) => {
      await new Promise((r) => setTimeout(r, 20));
      return checks.map(() => true);
    });
    const fanout = createFanout({ authorizer: a, retention: createRetentionLog() });
    const s = fake();
    fanout.subscribe(subscription(s, "staff"));
    fanout.publish(txn(change(1, "all")));
    fanout.publish(txn(change(2, "sql")));
    fanout.publish(txn(change(3, "all"))); // in-process, but must wait for #2
    fanout.publish(txn(change(4, "sql"), change(5, "all")));
    await fanout.idle();
    assert.deepEqual(s.got.map((g) => g.data.record!.n), [1, 2, 3, 4, 5]);
  });

  await t.step("a failing principal errors its channels only; others flow", async () => {
    const { a } = authorizer((claims, checks) =>
      claims.role === "bad"
        ? Promise.reject(new Error("policy function raised"))
        : Promise.resolve(checks.map(() => true))
    );
    const fanout = createFanout({ authorizer: a, retention: createRetentionLog() });
    const bad = fake();
    const good = fake();
    fanout.subscribe(subscription(bad, "bad"));
    fanout.subscribe(subscription(good, "good"));
    fanout.publish(txn(change(1, "sql")));
    fanout.publish(txn(change(2, "all")));
    await fanout.idle();
    assert.deepEqual(good.got.map((g) => g.data.record!.n), [1, 2]);
    assert.equal(bad.failed.length, 1);
    assert.match(bad.failed[0], /rejoin/);
    assert.deepEqual(bad.got, []);
  });

  await t.step("a hung authorization times out instead of stalling", async () => {
    const { a } = authorizer(() => new Promise<boolean[]>(() => {}));
    const fanout = createFanout({
      authorizer: a,
      retention: createRetentionLog(),
      evaluateTimeoutMs: 50,
    });
    const s = fake();
    fanout.subscribe(subscription(s, "x"));
    fanout.publish(txn(change(1, "sql")));
    await fanout.idle();
    assert.equal(s.failed.length, 1);
  });

  await t.step("one decision per policy principal, however many subscribers", async () => {
    const { a, calls } = authorizer(() => Promise.resolve([]));
    const fanout = createFanout({ authorizer: a, retention: createRetentionLog() });
    const subs = Array.from({ length: 500 }, () => fake());
    for (const s of subs) fanout.subscribe(subscription(s, "staff"));
    fanout.publish(txn(change(1, "staff"), change(2, "patient")));
    await fanout.idle();
    assert.equal(calls.decide, 2);
    assert.ok(subs.every((s) => s.got.length === 1 && s.got[0].data.record!.n === 1));
    assert.equal(fanout.metrics().groups, 1);
  });

  await t.step("catch-up replays after the cursor, then live; gaps are reported", async () => {
    const { a } = authorizer(() => Promise.resolve([]));
    const retention = createRetentionLog({ maxTransactions: 3 });
    const fanout = createFanout({ authorizer: a, retention });
    fanout.begin(lsn);
    const first = fake();
    fanout.subscribe(subscription(first, "staff"));
    fanout.publish(txn(change(1, "all")));
    const cursor = fanout.unsubscribe(first)!;
    fanout.publish(txn(change(2, "all")));
    fanout.publish(txn(change(3, "staff")));
    const again = fake();
    const outcome = fanout.subscribe(subscription(again, "staff"), cursor);
    assert.deepEqual(outcome, { kind: "replay", transactions: 2 });
    fanout.publish(txn(change(4, "all")));
    await fanout.idle();
    assert.deepEqual(again.got.map((g) => g.data.record!.n), [2, 3, 4]);
    // The log holds 3 transactions: a cursor from before them cannot be served.
    fanout.publish(txn(change(5, "all")));
    assert.deepEqual(fanout.subscribe(subscription(fake(), "staff"), cursor), { kind: "gap" });
  });
});
