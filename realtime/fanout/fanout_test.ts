/**
 * The fan-out core through its own interfaces: commit order per subscriber when some
 * authorization is asynchronous (SQL), isolation of a failing principal, decisions shared
 * per group, and catch-up replay / gap reporting.
 */
import assert from "node:assert/strict";
import type { Claims } from "../auth/claims.ts";
import { createRetentionLog } from "../catchup/retention.ts";
import type { Authorizer, RowCheck } from "./authorizer.ts";
import { createFanout } from "./fanout.ts";
import type { Subscriber, Subscription } from "./subscriber.ts";
import { parseBindings } from "../changes/bindings.ts";
import type { Change, Transaction } from "../changes/types.ts";

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
    sendFrame(frame) {
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

Deno.test("policy keys are reused across transactions only while the directory holds", async (t) => {
  const { createDirectory } = await import("../db/directory.ts");
  const { clinicRules } = await import("../db/clinic_rules.ts");
  const { createDbAuthorizer } = await import("../db/authorizer.ts");
  const columns = [{ name: "clinic_id", type: "uuid" }, { name: "n", type: "int4" }];
  const selectable = new Map([
    ["authenticated", new Set(["clinic_id", "n"])],
    ["anon", new Set(["clinic_id", "n"])],
  ]);
  const info = { schema: "public", table: "queue_board", columns, rls: true, selectable };
  const directory = createDirectory();
  const authorizer = createDbAuthorizer({
    catalog: {
      typeName: () => "text",
      table: (schema, table) => (schema === "public" && table === "queue_board" ? info : undefined),
      tables: () => ["queue_board"],
      bypassesRls: () => false,
      refresh: () => Promise.resolve(),
    },
    rules: clinicRules(directory),
    sqlPolicy: { evaluate: () => Promise.resolve([]), predicate: () => Promise.resolve("false") },
    stamp: () => directory.stamp(),
  });
  const fanout = createFanout({ authorizer, retention: createRetentionLog({ windowMs: 60_000 }) });
  const clinic = crypto.randomUUID();
  const apply = (table: string, record: Record<string, string | null>) =>
    directory.apply({ schema: "public", table, type: "INSERT", columns: [], record });
  let lsn = 100n;
  fanout.begin(lsn);
  let n = 0;
  const change = () =>
    fanout.publish({
      lsn: lsn += 10n,
      commitTimestamp: new Date().toISOString(),
      changes: [{
        schema: "public",
        table: "queue_board",
        type: "INSERT",
        columns,
        record: { clinic_id: clinic, n: ++n },
      }],
    });
  const join = async (claims: Claims) => {
    const s = fake("realtime:board");
    const bindings = parseBindings([{ event: "*", schema: "public", table: "queue_board" }]);
    const access = await authorizer.tableAccess(claims, "public", "queue_board");
    assert.ok(access.allowed);
    fanout.subscribe({
      subscriber: s,
      claims,
      principalKey: JSON.stringify(claims),
      tables: [{ binding: bindings[0], schema: "public", table: "queue_board", access }],
    });
    return s;
  };
  const seen = (s: Fake) => s.got.map((g) => g.data.record?.n);

  await t.step(
    "a board token that expires stops receiving, another of its clinic does not",
    async () => {
      const live = crypto.randomUUID();
      const expiring = crypto.randomUUID();
      apply("board_tokens", { id: live, clinic_id: clinic, revoked_at: null, expires_at: null });
      apply("board_tokens", {
        id: expiring,
        clinic_id: clinic,
        revoked_at: null,
        expires_at: new Date(Date.now() + 150).toISOString(),
      });
      const board = (id: string): Claims => ({
        role: "anon",
        sub: id,
        app_metadata: { board: true, clinic_id: clinic },
      });
      // The live board first: its (cached) decision must not be shared with the expired one.
      const a = await join(board(live));
      const b = await join(board(expiring));
      change();
      assert.deepEqual([seen(a), seen(b)], [[1], [1]]);
      await new Promise((r) => setTimeout(r, 200));
      change();
      assert.deepEqual([seen(a), seen(b)], [[1, 2], [1]]);
      fanout.unsubscribe(a);
      fanout.unsubscribe(b);
    },
  );

  await t.step("a revoked membership stops the stream with the next change", async () => {
    const user = crypto.randomUUID();
    const other = crypto.randomUUID();
    const membership = crypto.randomUUID();
    apply("clinic_members", { id: membership, user_id: user, clinic_id: clinic, role: "staff" });
    apply("clinic_members", {
      id: crypto.randomUUID(),
      user_id: other,
      clinic_id: clinic,
      role: "staff",
    });
    const staff = (sub: string): Claims => ({ role: "authenticated", sub });
    const a = await join(staff(other));
    const b = await join(staff(user));
    change();
    assert.equal(a.got.length, 1);
    assert.equal(b.got.length, 1);
    apply("clinic_members", {
      id: membership,
      user_id: user,
      clinic_id: clinic,
      role: "staff",
      revoked_at: new Date().toISOString(),
    });
    change();
    assert.equal(a.got.length, 2);
    assert.equal(b.got.length, 1);
  });
});
