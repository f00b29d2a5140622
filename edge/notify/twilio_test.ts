import assert from "node:assert/strict";
import { retryAfterMs } from "./twilio.ts";

Deno.test("Retry-After: delta-seconds, an HTTP date, or a default", () => {
  const now = Date.parse("2026-12-06T01:00:00Z");
  assert.equal(retryAfterMs("120", now), 120_000);
  assert.equal(retryAfterMs(" 0 ", now), 0);
  assert.equal(retryAfterMs("Sun, 06 Dec 2026 01:00:30 GMT", now), 30_000);
  assert.equal(retryAfterMs("Sun, 06 Dec 2026 00:59:00 GMT", now), 0, "a past date: now");
  assert.equal(retryAfterMs(null, now), 1_000);
  assert.equal(retryAfterMs("soon", now), 1_000);
});
