import assert from "node:assert/strict";
import { addDays, calendarLabel, clinicLabel, localDay, minutesLabel, timeIn } from "./format.ts";

Deno.test("clinic-local times, whatever the device's zone", () => {
  // 23:30 UTC is already the next morning in Singapore.
  const at = "2026-11-23T23:30:00Z";
  assert.equal(timeIn(at, "Asia/Singapore"), "07:30");
  assert.equal(localDay(at, "Asia/Singapore"), "2026-11-24");
  assert.equal(localDay(at, "America/Los_Angeles"), "2026-11-23");
  // Non-hour offsets.
  assert.equal(timeIn("2026-11-23T00:00:00Z", "Asia/Kathmandu"), "05:45");
  // A DST day in Los Angeles: 09:00 local is 16:00 UTC before the change, 17:00 after.
  assert.equal(timeIn("2026-03-07T17:00:00Z", "America/Los_Angeles"), "09:00");
  assert.equal(timeIn("2026-03-09T16:00:00Z", "America/Los_Angeles"), "09:00");
});

Deno.test("calendar days", () => {
  assert.equal(addDays("2026-12-31", 1), "2027-01-01");
  assert.equal(addDays("2028-02-28", 1), "2028-02-29");
  assert.equal(addDays("2026-03-08", 1), "2026-03-09", "zone-free across DST");
  assert.match(calendarLabel("2026-11-24"), /Tue.*24.*Nov/);
});

Deno.test("waits read naturally", () => {
  assert.equal(minutesLabel(0), "under a minute");
  assert.equal(minutesLabel(14.6), "about 15 min");
  assert.equal(minutesLabel(60), "about 1 h");
  assert.equal(minutesLabel(80), "about 1 h 20 min");
});

Deno.test("a clinic is named with its branch", () => {
  assert.equal(
    clinicLabel("Gabriel Family Clinic", "Tampines"),
    "Gabriel Family Clinic · Tampines",
  );
  assert.equal(clinicLabel("Solo Clinic", null), "Solo Clinic");
  assert.equal(clinicLabel("Solo Clinic"), "Solo Clinic");
});
