import assert from "node:assert/strict";
import {
  addMonths,
  dayState,
  leadingBlanks,
  monthBounds,
  monthDays,
  monthOf,
  monthQuery,
} from "./calendar.ts";

Deno.test("calendar: months, blanks, the days query and day states", () => {
  assert.equal(monthOf("2026-12-08"), "2026-12-01");
  assert.equal(addMonths("2026-12-01", 1), "2027-01-01");
  assert.equal(addMonths("2027-01-01", -1), "2026-12-01");
  assert.equal(monthDays("2027-02-01").length, 28);
  assert.equal(monthDays("2028-02-01").at(-1), "2028-02-29");
  assert.equal(leadingBlanks("2026-12-01"), 1, "1 Dec 2026 is a Tuesday");
  assert.equal(leadingBlanks("2027-02-01"), 0, "1 Feb 2027 is a Monday");
  assert.deepEqual(monthQuery("2026-12-01", "2026-12-08"), { from: "2026-12-08", days: 24 });
  assert.deepEqual(monthQuery("2027-01-01", "2026-12-08"), { from: "2027-01-01", days: 31 });
  assert.deepEqual(monthBounds("2026-12-08", "2027-01-07"), {
    first: "2026-12-01",
    last: "2027-01-01",
  });
  assert.deepEqual(monthBounds("2026-12-08", null), { first: "2026-12-01", last: "2026-12-01" });
  assert.equal(dayState(undefined), "closed");
  assert.equal(dayState({ date: "2026-12-08", open: false, free_slots: 0 }), "closed");
  assert.equal(dayState({ date: "2026-12-08", open: true, free_slots: 0 }), "full");
  assert.equal(dayState({ date: "2026-12-08", open: true, free_slots: 3 }), "free");
});
