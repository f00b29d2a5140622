import assert from "node:assert/strict";
import { formatLsn, parseLsn } from "./types.ts";

Deno.test("LSNs round-trip through their text form", () => {
  assert.equal(formatLsn(parseLsn("16/B374D848")), "16/B374D848");
});
