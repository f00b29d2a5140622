import assert from "node:assert/strict";
import { createRetentionLog } from "./retention.ts";

Deno.test("retention log: window, cap, gaps", () => {
  const log = createRetentionLog({ windowMs: 60_000, maxTransactions: 3 });
  log.reset(10n);
  const now = Date.now();
  const txn = (lsn: bigint, ago: number) => ({
    lsn,
    commitTimestamp: new Date(now - ago).toISOString(),
    changes: [],
  });
  log.append(txn(20n, 120_000));
  log.append(txn(30n, 1000));
  log.append(txn(40n, 500));
  assert.deepEqual(log.after(10n, 40n)!.map((t) => t.lsn), [20n, 30n, 40n]);
  assert.deepEqual(log.after(30n, 40n)!.map((t) => t.lsn), [40n]);
  assert.equal(log.after(5n, 40n), undefined); // before the stream start
  log.evict(now);
  assert.equal(log.floor, 20n);
  assert.equal(log.after(10n, 40n), undefined); // 20 is gone: cannot fill the gap
  assert.deepEqual(log.after(20n, 40n)!.map((t) => t.lsn), [30n, 40n]);
  log.append(txn(50n, 0));
  log.append(txn(60n, 0)); // cap 3: 30 drops
  assert.equal(log.floor, 30n);
  assert.equal(log.size, 3);
});
