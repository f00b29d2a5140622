/**
 * The booking page is live (issue #16, "Availability fast and live"), in headless Chromium
 * against `edge/start.ts`: while a patient looks at a day's free times, another patient books
 * one of them through the API, and it disappears from the open page without a reload — the
 * page hears the clinic-day's `availability_versions` change over realtime and revalidates the
 * slots by their ETag. A cancellation brings it back the same way.
 */
import assert from "node:assert/strict";
import { PHONE } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;

async function post(base: string, path: string, body: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "idempotency-key": crypto.randomUUID(),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

Deno.test("booking page: a slot another patient takes disappears live", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const ctx = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
    try {
      const page = await ctx.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      const [{ day }] = await service.db.sql`
        select to_char((now() at time zone c.timezone)::date + 3, 'YYYY-MM-DD') as day
        from public.clinics c where c.code = 'GFC-TP'`;
      const other = await post(base, "/api/auth/signup", {
        clinic_code: "GFC-TP",
        email: `other.${Date.now()}@example.com`,
        password: "Correct-Horse-9",
        full_name: "Other Patient",
        date_of_birth: "1985-05-06",
        gender: "male",
      });
      let label = "";
      let slot: { doctor_id: string; start: string } | undefined;

      await t.step("the page shows the day's free times", async () => {
        await page.goto(`${base}/login`);
        await page.getByLabel("Email").fill("patient.lim@demo.com");
        await page.getByLabel("Password").fill("Demo123!");
        await page.getByRole("button", { name: "Log in" }).click();
        await page.waitForURL((u) => u.pathname !== "/login", { timeout: WAIT });
        await page.goto(`${base}/book`);
        await page.locator(".chip").nth(3).click();
        const first = page.locator("button.slot").first();
        await first.waitFor({ timeout: WAIT });
        label = (await first.getAttribute("aria-label"))!;
        const res = await fetch(`${base}/api/clinics/GFC-TP/slots?date=${day}`);
        slot = (await res.json()).slots[0];
        assert.ok(slot, "a free slot");
        // Marks this document: a reload would lose it.
        await page.evaluate(() => (globalThis as Record<string, unknown>).stayed = true);
      });

      let appointmentId = "";
      await t.step("another patient books it: it disappears without a reload", async () => {
        const booked = await post(base, "/api/bookings", {
          clinic_code: "GFC-TP",
          doctor_id: slot!.doctor_id,
          start: slot!.start,
        }, other.access_token);
        appointmentId = booked.appointment.id;
        await page.locator(`button.slot[aria-label="${label}"]`).waitFor({
          state: "detached",
          timeout: WAIT,
        });
        assert.equal(
          await page.evaluate(() => (globalThis as Record<string, unknown>).stayed),
          true,
        );
        assert.ok(await page.locator("button.slot").count() > 0, "the other times stay");
      });

      await t.step("they cancel: it comes back the same way", async () => {
        await post(base, `/api/appointments/${appointmentId}/cancel`, {}, other.access_token);
        await page.locator(`button.slot[aria-label="${label}"]`).waitFor({ timeout: WAIT });
        assert.equal(
          await page.evaluate(() => (globalThis as Record<string, unknown>).stayed),
          true,
        );
      });
    } finally {
      await ctx.close();
    }
  });
  assert.deepEqual(errors, []);
});
