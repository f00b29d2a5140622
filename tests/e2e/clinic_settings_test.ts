/**
 * The clinic settings screen (web/src/staff/settings.tsx) in headless Chromium against
 * `edge/start.ts`: an admin's out-of-range value is refused next to its field, opening hours
 * that leave doctors' hours outside are refused naming them, and a valid change is saved.
 */
import assert from "node:assert/strict";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;

Deno.test("clinic settings in Chromium: errors per field, doctors' hours named, saved", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await desk.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
    };
    const panel = page.locator("section[aria-labelledby=settings-h]");
    const near = panel.getByLabel("Tell patients when this many are ahead");
    const save = panel.getByRole("button", { name: "Save settings" });

    await step("the admin sees the settings, defaults filled in", async () => {
      await page.goto(`${service.url}/staff`);
      await page.getByLabel("Email").fill("admin@demo.com");
      await page.getByLabel("Password").fill("Demo123!");
      await page.getByRole("button", { name: "Sign in" }).click();
      await near.waitFor({ timeout: WAIT });
      assert.equal(await near.inputValue(), "3");
      const [{ timezone }] = await service.db.sql`
        select timezone from public.clinics where code = 'GFC-TP'`;
      assert.equal(await panel.getByLabel("Time zone").inputValue(), timezone);
    });

    await step("an out-of-range value: refused next to its field", async () => {
      await near.fill("500");
      await save.click();
      await panel.locator("#settings-near_threshold[aria-invalid=true]").waitFor({ timeout: WAIT });
      await panel.locator("#settings-near_threshold-error").waitFor({ timeout: WAIT });
    });

    await step("opening hours shorter than doctors' hours: the hours are named", async () => {
      await near.fill("4");
      await panel.getByRole("button", { name: "Add hours Monday" }).click();
      await panel.getByLabel("Closes").fill("12:00");
      await save.click();
      const named = panel.locator("[data-testid=settings-doctor-hours]");
      await named.getByText(/^Dr Tan Wei Ming · Monday /).waitFor({ timeout: WAIT });
      const [{ n }] = await service.db.sql`
        select count(*)::int as n from public.clinic_opening_hours`;
      assert.equal(n, 0, "nothing written");
    });

    await step("a valid change is saved", async () => {
      await panel.getByRole("button", { name: /^Remove Monday/ }).click();
      await save.click();
      await page.locator(".flash-area").getByText("Settings saved.").waitFor({ timeout: WAIT });
      const [{ settings }] = await service.db.sql`
        select settings from public.clinics where code = 'GFC-TP'`;
      assert.equal(settings.queue.near_threshold, 4);
    });

    await step("closing the clinic to new patients is saved and shown", async () => {
      const accepts = panel.getByLabel("Taking new patients");
      assert.equal(await accepts.isChecked(), true);
      await accepts.uncheck();
      // The flash of the previous save still shows: wait for this save's answer instead.
      const saved = page.waitForResponse((r) =>
        r.url().endsWith("/api/clinics/GFC-TP/settings") && r.request().method() === "PATCH"
      );
      await save.click();
      assert.equal((await saved).status(), 200);
      const [row] = await service.db.sql`
        select accepts_new_patients from public.clinics where code = 'GFC-TP'`;
      assert.equal(row.accepts_new_patients, false);
      assert.equal(await accepts.isChecked(), false);
    });

    await step("no uncaught errors, no serious accessibility findings", async () => {
      for (const line of await audit(page)) errors.push(`a11y: ${line}`);
      assert.deepEqual(errors, []);
    });
    await desk.close();
  });
});
