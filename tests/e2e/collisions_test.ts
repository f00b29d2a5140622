/**
 * Affected appointments end to end (issue #16, "When a change collides with bookings"), in
 * headless Chromium against `edge/start.ts`: an admin closes a booked day in the console, follows
 * the closure's link to the affected appointments, selects them, gives a reason and moves them;
 * each outcome is shown and the booking now sits on an open day.
 */
import assert from "node:assert/strict";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;

Deno.test("affected appointments in Chromium: a closed booked day, moved in bulk", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    // The first day from three days ahead on which Dr Tan has a free slot: booked for Lim.
    const [{ day, start }] = await service.db.sql`
      select d::date::text as day, s.start
      from public.clinics c
      cross join generate_series((now() at time zone c.timezone)::date + 3,
        (now() at time zone c.timezone)::date + 10, interval '1 day') d
      cross join lateral (select x ->> 'start' as start
        from jsonb_array_elements(api.available_slots('GFC-TP', d::date,
          'd0000000-0000-4000-8000-000000000001') -> 'slots') x limit 1) s
      where c.code = 'GFC-TP'
      order by d limit 1`;
    const [booked] = await service.db.sql`
      insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
      select c.id, 'e0000000-0000-4000-8000-000000000001',
        'd0000000-0000-4000-8000-000000000001',
        tstzrange(${start}::timestamptz, ${start}::timestamptz + interval '15 minutes'),
        'scheduled'
      from public.clinics c where c.code = 'GFC-TP'
      returning id`;

    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    try {
      const admin = await desk.newPage();
      admin.on("pageerror", (e) => errors.push(e.message));
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
      };
      const closures = admin.locator("section[aria-labelledby=closures-h]");
      const panel = admin.locator("section[aria-labelledby=collisions-h]");

      await step("the admin closes the booked day: the closure links to it", async () => {
        await admin.goto(`${base}/staff`);
        await admin.getByLabel("Email").fill("admin@demo.com");
        await admin.getByLabel("Password").fill("Demo123!");
        await admin.getByRole("button", { name: "Sign in" }).click();
        await admin.locator("[data-link=live]").waitFor({ timeout: WAIT });
        await panel.getByText("No booked appointment is affected.").waitFor({ timeout: WAIT });
        await closures.getByLabel("Closed from").fill(day);
        await closures.getByLabel("Reason (shown to staff)").fill("Clinic holiday");
        await closures.getByRole("button", { name: "Close the clinic" }).click();
        await closures.getByRole("link", { name: "Review the affected appointments" }).click();
        await panel.locator(`[data-collision="${booked.id}"]`).waitFor({ timeout: WAIT });
      });

      await step("select all, a reason, move: the outcome is shown", async () => {
        await panel.getByLabel("Select all").check();
        await panel.getByLabel("Reason (told to the patients)").fill("Clinic holiday");
        await panel.getByRole("button", { name: "Move to the next free slot" }).click();
        const dialog = admin.getByRole("dialog", { name: /^Move 1 appointment to/ });
        await dialog.getByRole("button", { name: "Move to the next free slot" }).click();
        await panel.locator("[data-outcome=rescheduled]", { hasText: "moved to" })
          .waitFor({ timeout: WAIT });
        await panel.getByText("No booked appointment is affected.").waitFor({ timeout: WAIT });
        const [old] = await service.db.sql`select status from public.appointments
          where id = ${booked.id}`;
        assert.equal(old.status, "rescheduled");
        const [moved] = await service.db.sql`select service_date::text as day
          from public.appointments where rescheduled_from = ${booked.id}`;
        assert.ok(moved.day > day, "moved past the closed day");
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
