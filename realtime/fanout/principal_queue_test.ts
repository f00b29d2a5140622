import assert from "node:assert/strict";
import { createPrincipalQueues } from "./principal_queue.ts";
import type { Principal } from "./registry.ts";

const principal = (): Principal => ({
  key: "p",
  claims: { role: "authenticated" },
  pending: 0,
  tail: null,
  processedLsn: 0n,
  refs: 0,
});

Deno.test("principal queues", async (t) => {
  await t.step("a synchronous job on an empty queue runs at once and queues nothing", () => {
    const released: Principal[] = [];
    const queues = createPrincipalQueues((p) => released.push(p), () => {});
    const p = principal();
    let ran = false;
    queues.schedule(p, 10n, () => {
      ran = true;
    });
    assert.deepEqual([ran, p.pending, p.tail, p.processedLsn], [true, 0, null, 10n]);
    assert.deepEqual(released, []);
  });

  await t.step("jobs behind an asynchronous one run after it, in order", async () => {
    const released: Principal[] = [];
    const queues = createPrincipalQueues((p) => released.push(p), () => {});
    const p = principal();
    const order: number[] = [];
    queues.schedule(p, 10n, async () => {
      await new Promise((r) => setTimeout(r, 10));
      order.push(1);
    });
    queues.schedule(p, 20n, () => {
      order.push(2);
    });
    assert.deepEqual([order, p.pending], [[], 2]);
    await p.tail;
    assert.deepEqual([order, p.pending, p.tail, p.processedLsn], [[1, 2], 0, null, 20n]);
    assert.deepEqual(released, [p]);
  });

  await t.step("a failing job is reported and the queue carries on", async () => {
    const failures: unknown[] = [];
    const queues = createPrincipalQueues(() => {}, (error) => failures.push(error));
    const p = principal();
    let ran = false;
    queues.schedule(p, 10n, () => Promise.reject(new Error("async")));
    queues.schedule(p, 20n, () => {
      throw new Error("sync");
    });
    queues.schedule(p, 30n, () => {
      ran = true;
    });
    await p.tail;
    assert.deepEqual(failures.map((e) => (e as Error).message), ["async", "sync"]);
    assert.deepEqual([ran, p.pending, p.processedLsn], [true, 0, 30n]);
  });
});
