/**
 * Appointment types end to end (issue #16, "Appointment types"), in headless Chromium against
 * `edge/start.ts`: an admin adds a 45-minute health screening in the console's types panel; the
 * patient's booking page then asks for the type first, lists that type's times and books one,
 * and the visit shows its type. Deactivated, the type is no longer offered: the page books as
 * before (no choice with a single type).
 */
import assert from "node:assert/strict";
import { PHONE } from "./browser.ts";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;

Deno.test("appointment types in Chromium: added by an admin, chosen first by the patient", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const phone = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
    try {
      const admin = await desk.newPage();
      const patient = await phone.newPage();
      for (const page of [admin, patient]) page.on("pageerror", (e) => errors.push(e.message));
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
      };
      const panel = admin.locator("section[aria-labelledby=types-h]");
      const picker = patient.getByTestId("type-picker");

      await step("the admin adds a 45-minute health screening in the console", async () => {
        await admin.goto(`${base}/staff`);
        await admin.getByLabel("Email").fill("admin@demo.com");
        await admin.getByLabel("Password").fill("Demo123!");
        await admin.getByRole("button", { name: "Sign in" }).click();
        await admin.locator("[data-link=live]").waitFor({ timeout: WAIT });
        await panel.locator("[data-type=consultation]").waitFor({ timeout: WAIT });
        await panel.getByLabel("Code", { exact: true }).fill("screening");
        await panel.getByLabel("Name", { exact: true }).fill("Health screening");
        await panel.getByLabel("Length (minutes)").fill("45");
        await panel.getByRole("button", { name: "Add type" }).click();
        await admin.locator(".flash-area").getByText("Health screening saved.")
          .waitFor({ timeout: WAIT });
        await panel.locator("[data-type=screening]", { hasText: "45 min" })
          .waitFor({ timeout: WAIT });
      });

      await step("the patient chooses the type first, then a time of that type", async () => {
        await patient.goto(`${base}/login`);
        await patient.getByLabel("Email").fill("patient.lim@demo.com");
        await patient.getByLabel("Password").fill("Demo123!");
        await patient.getByRole("button", { name: "Log in" }).click();
        await patient.waitForURL((u) => u.pathname !== "/login", { timeout: WAIT });
        await patient.goto(`${base}/book`);
        await picker.waitFor({ timeout: WAIT });
        assert.equal(await patient.locator("button.slot").count(), 0, "no times before a type");
        // By keyboard, as radios go: the chips scroll sideways on a phone.
        await picker.getByRole("radio", { name: "Consultation" }).focus();
        await patient.keyboard.press("ArrowRight");
        assert.ok(
          await picker.getByRole("radio", { name: "Health screening · 45 min" }).isChecked(),
        );
        await patient.locator(".days .chip").nth(3).click();
        const first = patient.locator("button.slot").first();
        await first.waitFor({ timeout: WAIT });
        await first.click();
        await patient.getByRole("heading", { name: "Confirm booking" }).waitFor({ timeout: WAIT });
        await patient.locator(".summary", { hasText: "Health screening" }).waitFor();
        await patient.getByRole("button", { name: "Confirm booking" }).click();
        await patient.waitForURL(/\/appointments\/.+booked=1/, { timeout: WAIT });
        await patient.locator(".appointment-type", { hasText: "Health screening" })
          .waitFor({ timeout: WAIT });
        const [row] = await service.db.sql`
          select appointment_type, extract(epoch from upper(period) - lower(period)) / 60 as min
          from public.appointments a join public.patients p on p.id = a.patient_id
          where p.email = 'patient.lim@demo.com' and a.status = 'scheduled'
          order by a.created_at desc limit 1`;
        assert.equal(row.appointment_type, "screening");
        assert.equal(Number(row.min), 45);
      });

      await step("deactivated: no choice left, the page books as before", async () => {
        await panel.getByRole("button", { name: "Deactivate Health screening" }).click();
        await admin.locator(".flash-area").getByText("Health screening is no longer offered.")
          .waitFor({ timeout: WAIT });
        await patient.goto(`${base}/book`);
        await patient.locator(".days .chip").nth(3).click();
        await patient.locator("button.slot").first().waitFor({ timeout: WAIT });
        assert.equal(await picker.count(), 0);
      });

      await step("no uncaught errors, no serious accessibility findings", async () => {
        for (const line of await audit(admin)) errors.push(`a11y: ${line}`);
        for (const line of await audit(patient)) errors.push(`a11y: ${line}`);
        assert.deepEqual(errors, []);
      });
    } finally {
      await desk.close();
      await phone.close();
    }
  });
});
