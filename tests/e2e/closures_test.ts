/**
 * Clinic closures end to end (issue #16, "Clinic"), in headless Chromium against
 * `edge/start.ts`: an admin closes the clinic on a day through the console's closures panel,
 * and the patient's booking page no longer offers that day (its chip says closed, no times).
 */
import assert from "node:assert/strict";
import { PHONE } from "./browser.ts";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;

Deno.test("closures in Chromium: an admin adds a holiday; the booking page no longer offers it", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const [{ day }] = await service.db.sql`
      select to_char((now() at time zone c.timezone)::date + 3, 'YYYY-MM-DD') as day
      from public.clinics c where c.code = 'GFC-TP'`;
    const slotsOf = async () =>
      (await (await fetch(`${base}/api/clinics/GFC-TP/slots?date=${day}`)).json()).slots.length;
    assert.ok(await slotsOf() > 0, "the day is bookable before");

    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const phone = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
    try {
      const admin = await desk.newPage();
      const patient = await phone.newPage();
      for (const page of [admin, patient]) page.on("pageerror", (e) => errors.push(e.message));
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
      };
      const chip = () => patient.locator(".chip").nth(3);

      await step("the patient's booking page offers the day", async () => {
        await patient.goto(`${base}/login`);
        await patient.getByLabel("Email").fill("patient.lim@demo.com");
        await patient.getByLabel("Password").fill("Demo123!");
        await patient.getByRole("button", { name: "Log in" }).click();
        await patient.waitForURL((u) => u.pathname !== "/login", { timeout: WAIT });
        await patient.goto(`${base}/book`);
        await chip().click();
        await patient.locator("button.slot").first().waitFor({ timeout: WAIT });
      });

      const panel = admin.locator("section[aria-labelledby=closures-h]");
      await step("the admin closes the clinic that day in the console", async () => {
        await admin.goto(`${base}/staff`);
        await admin.getByLabel("Email").fill("admin@demo.com");
        await admin.getByLabel("Password").fill("Demo123!");
        await admin.getByRole("button", { name: "Sign in" }).click();
        await admin.locator("[data-link=live]").waitFor({ timeout: WAIT });
        await panel.getByLabel("Closed from").fill(day);
        await panel.getByLabel("Reason (shown to staff)").fill("Clinic holiday");
        await panel.getByRole("button", { name: "Close the clinic" }).click();
        await admin.locator(".flash-area").getByText(/^Closed /).waitFor({ timeout: WAIT });
        await panel.locator(`[data-closure="${day}"]`, { hasText: "Clinic holiday" })
          .waitFor({ timeout: WAIT });
        assert.equal(await slotsOf(), 0);
      });

      await step("the booking page no longer offers that day", async () => {
        await patient.reload();
        await chip().getByText(/Closed/).waitFor({ timeout: WAIT });
        assert.equal(await chip().locator("input").isDisabled(), true);
      });

      await step("reopened by the admin: offered again", async () => {
        await panel.getByRole("button", { name: /^Reopen/ }).click();
        const dialog = admin.getByRole("dialog", { name: /^Reopen/ });
        await dialog.getByRole("button", { name: "Reopen" }).click();
        await admin.locator(".flash-area").getByText(/open again\./).waitFor({ timeout: WAIT });
        assert.ok(await slotsOf() > 0);
        await patient.reload();
        await chip().click();
        await patient.locator("button.slot").first().waitFor({ timeout: WAIT });
      });

      await step("no uncaught errors, no serious accessibility findings", async () => {
        for (const line of await audit(admin)) errors.push(`a11y: ${line}`);
        assert.deepEqual(errors, []);
      });
    } finally {
      await desk.close();
      await phone.close();
    }
  });
});
