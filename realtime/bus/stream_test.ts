import assert from "node:assert/strict";
import type { Change, Transaction } from "../changes/types.ts";
import { decodePart, encodeTransaction, msgIdOf } from "./stream.ts";

const change = (i: number, size = 10): Change => ({
  schema: "public",
  table: "appointments",
  type: "INSERT",
  columns: [{ name: "id", type: "int8" }, { name: "note", type: "text" }],
  record: { id: i, note: "é".repeat(size) },
});

Deno.test("a transaction is one message, or parts under the size limit that rebuild it", () => {
  const small: Transaction = {
    lsn: 0x1_0000_0010n,
    commitTimestamp: "2030-01-01T00:00:00.000Z",
    changes: [change(1)],
  };
  const [only, ...none] = encodeTransaction(small, 1024 * 1024);
  assert.deepEqual(none, []);
  assert.deepEqual(decodePart(only), { ...small, part: 0, parts: 1 });
  assert.equal(msgIdOf(small.lsn), "4294967312");

  const large = { ...small, changes: Array.from({ length: 50 }, (_, i) => change(i, 300)) };
  const limit = 4096;
  const bodies = encodeTransaction(large, limit);
  assert.ok(bodies.length > 1);
  for (const body of bodies) assert.ok(new TextEncoder().encode(body).length <= limit);
  const parts = bodies.map(decodePart);
  assert.deepEqual(parts.map((p) => [p.part, p.parts]), bodies.map((_, i) => [i, bodies.length]));
  assert.deepEqual(parts.flatMap((p) => p.changes), large.changes);
  assert.equal(msgIdOf(large.lsn, 2), "4294967312.2");
});

Deno.test("a relation's columns decode to one array across messages (the fan-out caches by it)", () => {
  const { record: _, ...deleted } = change(2);
  const txn = (lsn: bigint): Transaction => ({
    lsn,
    commitTimestamp: "2030-01-01T00:00:00.000Z",
    changes: [change(1), { ...deleted, type: "DELETE", old_record: { id: 2 } }],
  });
  const [a] = encodeTransaction(txn(1n), 1024 * 1024).map(decodePart);
  const [b] = encodeTransaction(txn(2n), 1024 * 1024).map(decodePart);
  assert.deepEqual(b.changes, txn(2n).changes);
  assert.equal(a.changes[0].columns, b.changes[0].columns);
  assert.equal(b.changes[0].columns, b.changes[1].columns);
  const other = { ...change(3), columns: [{ name: "id", type: "int8" }] };
  const [c] = encodeTransaction({ ...txn(3n), changes: [other] }, 1024 * 1024).map(decodePart);
  assert.deepEqual(c.changes[0].columns, other.columns); // a new shape of the table
});
