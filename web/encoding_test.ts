import assert from "node:assert/strict";
import { negotiate } from "./encoding.ts";

Deno.test("negotiate: br before gzip before as is, as the Accept-Encoding header allows", () => {
  const both = ["br", "gzip"] as const;
  assert.equal(negotiate("gzip, deflate, br, zstd", both), "br", "what Chromium sends");
  assert.equal(negotiate("gzip, deflate", both), "gzip");
  assert.equal(negotiate("x-gzip", both), "gzip", "the old alias");
  assert.equal(negotiate(null, both), null, "no header: as is");
  assert.equal(negotiate("", both), null);
  assert.equal(negotiate("identity", both), null);
  assert.equal(negotiate("deflate", both), null, "nothing we have");
  assert.equal(negotiate("br", ["gzip"]), null, "only what the build wrote");
  assert.equal(negotiate("gzip, br", []), null, "an uncompressed file");
});

Deno.test("negotiate: q values, q=0 and the wildcard", () => {
  const both = ["br", "gzip"] as const;
  assert.equal(negotiate("br;q=0, gzip", both), "gzip", "q=0 refuses br");
  assert.equal(negotiate("br;q=0.5, gzip;q=0.8", both), "gzip", "the higher q wins");
  assert.equal(negotiate("br;q=0.8, gzip;q=0.8", both), "br", "a tie goes to br");
  assert.equal(negotiate("br;q=0, gzip;q=0", both), null);
  assert.equal(negotiate("*", both), "br");
  assert.equal(negotiate("*;q=0", both), null);
  assert.equal(negotiate("br;q=0, *", both), "gzip", "an explicit q beats the wildcard");
  assert.equal(negotiate("GZIP ; Q=0.5", both), "gzip", "case and spaces");
  assert.equal(negotiate("br;q=oops, gzip", both), "gzip", "a malformed q counts as 0");
});
