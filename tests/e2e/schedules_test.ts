/**
 * Doctors' schedules end to end (issue #16), in headless Chromium against `edge/start.ts`: an
 * admin opens a doctor's week in the console, changes a day's hours and previews it (the grid
 * changes, nothing saved), sees a broken rule at its field, then saves — and the slots the API
 * offers that day are the preview's.
 */
import assert from "node:assert/strict";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;

Deno.test("schedules in Chromium: an admin edits hours, the preview changes, saving applies it", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    // The Monday of the week eight days ahead: at least two days away, within the window.
    const [{ week, monday }] = await service.db.sql`
      select to_char(d, 'YYYY-MM-DD') as week,
        to_char(d - (extract(isodow from d)::int - 1), 'YYYY-MM-DD') as monday
      from public.clinics c, lateral (select (now() at time zone c.timezone)::date + 8 as d) x
      where c.code = 'GFC-TP'`;
    const [{ id: tan }] = await service.db.sql`select id from public.doctors
      where display_name = 'Dr Tan Wei Ming'`;
    const slotsOf = async () =>
      (await (await fetch(`${base}/api/clinics/GFC-TP/slots?date=${monday}&doctor_id=${tan}`))
        .json()).slots.length;

    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    try {
      const admin = await desk.newPage();
      admin.on("pageerror", (e) => errors.push(e.message));
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
      };
      const panel = admin.locator("section[aria-labelledby=schedules-h]");
      const mondayRow = panel.locator('.schedule-day[data-weekday="1"] .schedule-interval');
      const bookable = () =>
        panel.locator(`.preview-day[data-date="${monday}"] li[data-refusal=bookable]`);
      const preview = async (count: number) => {
        await panel.getByRole("button", { name: "Preview week" }).click();
        await admin.waitForFunction(
          ([sel, n]) => document.querySelectorAll(sel as string).length === n,
          [`.preview-day[data-date="${monday}"] li[data-refusal=bookable]`, count],
          { timeout: WAIT },
        );
      };

      await step("the admin opens Dr Tan's week and previews it", async () => {
        await admin.goto(`${base}/staff`);
        await admin.getByLabel("Email").fill("admin@demo.com");
        await admin.getByLabel("Password").fill("Demo123!");
        await admin.getByRole("button", { name: "Sign in" }).click();
        await admin.locator("[data-link=live]").waitFor({ timeout: WAIT });
        await panel.getByRole("button", { name: "Edit schedule Dr Tan Wei Ming" }).click();
        await panel.getByTestId("schedule-editor").waitFor({ timeout: WAIT });
        await panel.getByLabel("Preview the week of").fill(week);
        // The test service opens every doctor 00:00–23:59: 15-minute slots until 23:30.
        await preview(95);
        assert.equal(await slotsOf(), 95);
      });

      await step("Monday becomes 09:00–13:00: the preview changes, nothing is saved", async () => {
        await mondayRow.first().getByLabel("From").fill("09:00");
        await mondayRow.first().getByLabel("Until").fill("13:00");
        await preview(16);
        assert.equal(await slotsOf(), 95, "not saved");
      });

      await step("a break outside working hours is named at its interval", async () => {
        await panel.getByRole("button", { name: "Add a break Monday" }).click();
        const added = mondayRow.last();
        await added.getByLabel("From").fill("13:30");
        await added.getByLabel("Until").fill("13:45");
        await panel.getByRole("button", { name: "Preview week" }).click();
        await added.getByText("A break must lie inside one period of working hours.")
          .waitFor({ timeout: WAIT });
        await added.getByLabel("From").fill("10:30");
        await added.getByLabel("Until").fill("10:45");
        await preview(15);
      });

      await step("saved: the API offers the previewed day", async () => {
        await panel.getByRole("button", { name: "Save schedule" }).click();
        await admin.locator(".flash-area").getByText("Dr Tan Wei Ming's schedule saved.")
          .waitFor({ timeout: WAIT });
        assert.equal(await slotsOf(), 15);
        assert.equal(await bookable().count(), 15);
      });

      await step("no uncaught errors, no serious accessibility findings", async () => {
        for (const line of await audit(admin)) errors.push(`a11y: ${line}`);
        assert.deepEqual(errors, []);
      });
    } finally {
      await desk.close();
    }
  });
});
