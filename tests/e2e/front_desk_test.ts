/**
 * The front desk's phone booking (issue #16, "Front desk") in headless Chromium against
 * `edge/start.ts`: staff find the patient, pick a day several days ahead in the date picker
 * (a closed day is greyed and skipped by the arrow keys), a free time, and book — a double
 * click books once, recorded as `phone` by the staff member; then, from the appointment list
 * of that day, reschedule it with the same picker and cancel it with a reason. A booking by
 * phone for a dependant, of a staff-only type, which the guardian's app shows. And a patient
 * the no-show sweep marked who arrives within the late window checks in in the app.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { addAppointment } from "../support/clinic.ts";
import { audit } from "./a11y.ts";
import { PHONE } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const CLINIC = "11111111-1111-4111-8111-111111111111";
const PATIENT = "e0000000-0000-4000-8000-000000000001"; // Lim Mei Ling
const STAFF = "a0000000-0000-4000-8000-000000000005"; // Koh Jun Jie

function flash(page: Page, text: string | RegExp) {
  return page.locator(".flash-area").getByText(text).waitFor({ timeout: WAIT });
}

const monthName = (day: string) =>
  new Intl.DateTimeFormat("en", { month: "long", year: "numeric", timeZone: "UTC" })
    .format(new Date(`${day}T12:00:00Z`));

/** Pages the picker inside `scope` forward to the month of `day`. */
async function openMonth(page: Page, scope: string, day: string) {
  const picker = page.locator(scope).locator("fieldset.cal");
  for (let i = 0; i < 14; i++) {
    const shown = await picker.locator("h3").innerText();
    if (shown === monthName(day)) {
      return await picker.locator(`input[value="${day}"]`).waitFor({ timeout: WAIT });
    }
    await picker.getByRole("button", { name: "Next month" }).click();
  }
  throw new Error(`the picker never showed ${monthName(day)}`);
}

const dayInput = (page: Page, scope: string, day: string) =>
  page.locator(scope).locator(`fieldset.cal input[value="${day}"]`);

Deno.test("front desk in Chromium: a phone booking days ahead, rescheduled, cancelled", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const sql = service.db.sql;
    // Three days in one month, at least two days ahead: `before`, a closure, `after`; the
    // booking goes on `before`, the reschedule on `after`.
    const [{ before, closed, after }] = await sql`
      select to_char(d, 'YYYY-MM-DD') as before, to_char(d + 1, 'YYYY-MM-DD') as closed,
        to_char(d + 2, 'YYYY-MM-DD') as after
      from public.clinics c,
        generate_series((now() at time zone c.timezone)::date + 3,
          (now() at time zone c.timezone)::date + 9, interval '1 day') g (g)
      cross join lateral (select g.g::date as d) x
      where c.id = ${CLINIC} and extract(month from d) = extract(month from d + 2)
      order by d limit 1`;
    await sql`insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason)
      values (${CLINIC}, ${closed}, ${closed}, 'Staff training')`;

    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await desk.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
    };
    const panel = "section.desk";

    await step("staff sign in", async () => {
      await page.goto(`${service!.url}/staff`);
      await page.getByLabel("Email").fill("staff.koh@demo.com");
      await page.getByLabel("Password").fill("Demo123!");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("[data-link=live]").waitFor({ timeout: WAIT });
    });

    await step("find the patient; the doctor; the picker greys out the closed day", async () => {
      const desk = page.locator(panel);
      await desk.getByLabel("Find the patient: name, patient number or phone").fill("Lim Mei");
      await desk.getByRole("radio", { name: /Lim Mei Ling.*TP-P-000001/ }).check();
      await desk.getByLabel("Doctor").selectOption({ label: "Dr Tan Wei Ming" });
      await openMonth(page, panel, before);
      assert.equal(await dayInput(page, panel, closed).isDisabled(), true);
      assert.equal(await dayInput(page, panel, before).isDisabled(), false);
      assert.match(
        await dayInput(page, panel, closed).getAttribute("aria-label") ?? "",
        /: closed$/,
      );
    });

    await step("keyboard: the arrow keys move over the days, skipping the closed one", async () => {
      await dayInput(page, panel, before).check();
      await dayInput(page, panel, before).focus();
      await page.keyboard.press("ArrowRight");
      assert.equal(await dayInput(page, panel, after).isChecked(), true);
      await page.keyboard.press("ArrowLeft");
      assert.equal(await dayInput(page, panel, before).isChecked(), true);
    });

    await step(
      "a free time; a double click books once, by phone, by the staff member",
      async () => {
        const desk = page.locator(panel);
        await desk.getByRole("radio", { name: "10:00 · Dr Tan Wei Ming" }).check();
        await desk.getByRole("button", { name: /^Book/ }).dblclick();
        await desk.getByTestId("desk-booked").getByText(/^Booked Lim Mei Ling with Dr Tan Wei Ming/)
          .waitFor({ timeout: WAIT });
        await flash(page, /^Booked Lim Mei Ling/);
        const rows = await sql`select source, booked_by, status::text from public.appointments
        where patient_id = ${PATIENT} and service_date = ${before}`;
        assert.deepEqual(rows.map((r) => ({ ...r })), [
          { source: "phone", booked_by: STAFF, status: "scheduled" },
        ]);
        // The time is gone from the picker.
        await desk.getByRole("radio", { name: "10:15 · Dr Tan Wei Ming" }).waitFor({
          timeout: WAIT,
        });
        assert.equal(await desk.getByRole("radio", { name: "10:00 · Dr Tan Wei Ming" }).count(), 0);
      },
    );

    await step("the list of that day shows it; reschedule with the same picker", async () => {
      await page.getByLabel("Day", { exact: true }).fill(before);
      const row = page.getByRole("row", { name: /Lim Mei Ling/ });
      await row.waitFor({ timeout: WAIT });
      await row.getByRole("button", { name: "Reschedule Lim Mei Ling" }).click();
      const dialog = page.getByRole("dialog", { name: "Reschedule Lim Mei Ling" });
      await dialog.waitFor({ timeout: WAIT });
      for (const line of await audit(page)) errors.push(`a11y (reschedule): ${line}`);
      await openMonth(page, "dialog.desk-dialog", after);
      assert.equal(await dayInput(page, "dialog.desk-dialog", closed).isDisabled(), true);
      await dayInput(page, "dialog.desk-dialog", after).check();
      await dialog.getByRole("radio", { name: "14:30 · Dr Tan Wei Ming" }).check();
      await dialog.getByRole("button", { name: "Move to this time" }).click();
      await flash(page, /^Lim Mei Ling moved to .* at 14:30\.$/);
      const [moved] = await sql`select id, source, booked_by, status::text
        from public.appointments
        where patient_id = ${PATIENT} and service_date = ${after} and status = 'scheduled'`;
      assert.deepEqual([moved.source, moved.booked_by], ["phone", STAFF]);
      const [old] = await sql`select status::text from public.appointments
        where patient_id = ${PATIENT} and service_date = ${before}`;
      assert.equal(old.status, "rescheduled");
    });

    await step("cancel asks first (Keep it focused), with a reason", async () => {
      await page.getByLabel("Day", { exact: true }).fill(after);
      const row = page.getByRole("row", { name: /Lim Mei Ling.*Booked/ });
      await row.waitFor({ timeout: WAIT });
      await row.getByRole("button", { name: "Cancel Lim Mei Ling" }).click();
      const dialog = page.getByRole("dialog", { name: "Cancel Lim Mei Ling's appointment?" });
      await dialog.waitFor({ timeout: WAIT });
      assert.equal(
        await page.evaluate(() => document.activeElement?.textContent?.trim()),
        "Keep it",
      );
      for (const line of await audit(page)) errors.push(`a11y (cancel): ${line}`);
      await dialog.getByLabel("Reason (optional)").fill("Patient called: travelling");
      await dialog.getByRole("button", { name: "Cancel appointment" }).click();
      await flash(page, "Lim Mei Ling's appointment cancelled.");
      await page.getByRole("row", { name: /Lim Mei Ling.*Cancelled/ }).waitFor({ timeout: WAIT });
      const [gone] = await sql`select cancelled_by, cancellation_reason from public.appointments
        where patient_id = ${PATIENT} and service_date = ${after} and status = 'cancelled'`;
      assert.deepEqual([gone.cancelled_by, gone.cancellation_reason], [
        STAFF,
        "Patient called: travelling",
      ]);
    });

    await step("no uncaught errors, no serious accessibility findings", async () => {
      for (const line of await audit(page)) errors.push(`a11y: ${line}`);
      assert.deepEqual(errors, []);
    });
    await desk.close();
  });
});

Deno.test("a late arrival the no-show sweep marked checks in in the app", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const sql = service.db.sql;
    const phone = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
    const page = await phone.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
    };
    await page.goto(`${service!.url}/login`);
    await page.getByLabel("Email").fill("patient.lim@demo.com");
    await page.getByLabel("Password").fill("Demo123!");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL((u) => u.pathname !== "/login", { timeout: WAIT });

    await step("past the late window: missed, no check-in offered", async () => {
      await addAppointment(sql, { clinic: CLINIC, startMin: -90 });
      await sql`select private.sweep_no_shows()`;
      await page.goto(`${service!.url}/visit`);
      await page.getByText(/^This appointment was missed/).waitFor({ timeout: WAIT });
      assert.equal(await page.getByRole("button", { name: "Check in" }).count(), 0);
    });

    await step("within it: the app checks in, the sweep's mark is cleared", async () => {
      const late = await addAppointment(sql, { clinic: CLINIC, startMin: -20 });
      await sql`select private.sweep_no_shows()`;
      await page.reload();
      await page.getByRole("button", { name: "Check in" }).click({ timeout: WAIT });
      await page.locator(".ticket-code").waitFor({ timeout: WAIT });
      const [a] = await sql`select a.status::text, m.cleared_how from public.appointments a
        join private.no_show_marks m on m.appointment_id = a.id where a.id = ${late}`;
      assert.deepEqual([a.status, a.cleared_how], ["checked_in", "check_in"]);
      for (const line of await audit(page)) errors.push(`a11y: ${line}`);
      assert.deepEqual(errors, []);
    });
    await phone.close();
  });
});

Deno.test("front desk in Chromium: a booking by phone for a dependant, seen in the guardian's app", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const sql = service.db.sql;
    const base = service!.url;
    // A staff-only type every doctor offers.
    await sql`insert into public.appointment_types (clinic_id, code, name, duration_minutes,
        bookable_by, all_doctors)
      values (${CLINIC}, 'vaccination', 'Vaccination', 10, 'staff', true)`;
    const [{ day }] = await sql`
      select to_char((now() at time zone c.timezone)::date + 4, 'YYYY-MM-DD') as day
      from public.clinics c where c.id = ${CLINIC}`;
    // The guardian (Lim Mei Ling) adds her son in the app's API.
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "patient.lim@demo.com", password: "Demo123!" }),
    }).then((r) => r.json());
    const added = await fetch(`${base}/api/clinics/GFC-TP/dependants`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${login.access_token}`,
      },
      body: JSON.stringify({
        full_name: "Lim Xiao Ming",
        date_of_birth: "2019-05-06",
        gender: "male",
        relationship: "child",
      }),
    });
    assert.equal(added.status, 201);
    const dependant = (await added.json()).dependant;

    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const phone = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
    const page = await desk.newPage();
    const app = await phone.newPage();
    for (const p of [page, app]) p.on("pageerror", (e) => errors.push(e.message));
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
    };
    const panel = "section.desk";

    await step("staff find the dependant, with who books for him", async () => {
      await page.goto(`${base}/staff`);
      await page.getByLabel("Email").fill("staff.koh@demo.com");
      await page.getByLabel("Password").fill("Demo123!");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("[data-link=live]").waitFor({ timeout: WAIT });
      const desk = page.locator(panel);
      await desk.getByLabel("Find the patient: name, patient number or phone").fill("Xiao Ming");
      await desk.getByRole("radio", { name: /Lim Xiao Ming.*Parent: Lim Mei Ling/ }).check();
    });

    await step("a staff-only type, a doctor, a day ahead, a time: booked by phone", async () => {
      const desk = page.locator(panel);
      await desk.getByLabel("Appointment type").selectOption({
        label: "Vaccination · 10 min (staff only)",
      });
      await desk.getByLabel("Doctor").selectOption({ label: "Dr Tan Wei Ming" });
      await openMonth(page, panel, day);
      await dayInput(page, panel, day).check();
      await desk.getByRole("radio", { name: "11:00 · Dr Tan Wei Ming" }).check();
      await desk.getByRole("button", { name: /^Book/ }).click();
      await desk.getByTestId("desk-booked").getByText(/^Booked Lim Xiao Ming with Dr Tan/)
        .waitFor({ timeout: WAIT });
      const [a] = await sql`select appointment_type, source, booked_by,
          extract(epoch from upper(period) - lower(period))::int / 60 as minutes
        from public.appointments where patient_id = ${dependant.id}`;
      assert.deepEqual({ ...a }, {
        appointment_type: "vaccination",
        source: "phone",
        booked_by: STAFF,
        minutes: 10,
      });
      for (const line of await audit(page)) errors.push(`a11y (desk): ${line}`);
    });

    await step("the guardian's app shows it, for her son", async () => {
      await app.goto(`${base}/login`);
      await app.getByLabel("Email").fill("patient.lim@demo.com");
      await app.getByLabel("Password").fill("Demo123!");
      await app.getByRole("button", { name: "Log in" }).click();
      await app.waitForURL((u) => u.pathname !== "/login", { timeout: WAIT });
      await app.goto(`${base}/appointments`);
      const card = app.locator("article.appointment", { hasText: "For Lim Xiao Ming" });
      await card.waitFor({ timeout: WAIT });
      assert.match(await card.innerText(), /11:00/);
      assert.match(await card.innerText(), /Vaccination/);
      for (const line of await audit(app)) errors.push(`a11y (app): ${line}`);
      assert.deepEqual(errors, []);
    });
    await desk.close();
    await phone.close();
  });
});
