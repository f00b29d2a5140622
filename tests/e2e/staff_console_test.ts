/**
 * The staff console as the front desk really uses it (issue #17), in headless Chromium against
 * `edge/start.ts` on a fresh seeded database: the walk-in form starts afresh after each ticket
 * and names priorities; a likely duplicate patient is shown (contact details masked) with "Use
 * this patient" / "Register anyway"; the found patient's guardians are linked by e-mail and
 * unlinked; calling into a room whose patient is still called asks
 * first; cancel and no-show ask first (the safe choice focused) and "Finished today" restores.
 * An admin undoes a no-show the sweep marked, and renames and revokes a TV board link.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { addAppointment, middayClinic } from "../support/clinic.ts";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const CLINIC = "11111111-1111-4111-8111-111111111111";

/** The desk's flash message after an action. */
function flash(page: Page, text: string | RegExp) {
  return page.locator(".flash-area").getByText(text).waitFor({ timeout: WAIT });
}

/** The text of the focused element. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
}

Deno.test({
  name: "staff console in Chromium: confirmations, restore, walk-in reset, duplicates",
  fn: async (t) => {
    const errors: string[] = [];
    await withServiceAndBrowser(async (service, browser) => {
      const sql = service.db.sql;
      const status = async (code: string) =>
        (await sql`select status::text, room from public.queue_tickets
                   where clinic_id = ${CLINIC} and code = ${code}`)[0];
      await sql`
        insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender,
          phone, email)
        values (${CLINIC}, 'E2E-0001', 'Tan Ah Kow', '1950-02-03', 'male', '+65 8123 4567',
                'kow@example.com'),
               (${CLINIC}, 'E2E-0002', 'Tan Ah Kow', '1950-02-03', 'male', '+65 9876 0011', null)`;

      const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const page = await desk.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
      };

      await step("staff signs in; the console is live", async () => {
        await page.goto(`${service!.url}/staff`);
        await page.getByLabel("Email").fill("staff.koh@demo.com");
        await page.getByLabel("Password").fill("Demo123!");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.locator("[data-link=live]").waitFor({ timeout: WAIT });
      });

      const walkIn = page.locator("form.walkin");
      const issue = () => page.getByRole("button", { name: "Issue walk-in ticket" }).click();

      await step(
        "walk-in: the form starts afresh after each ticket; priorities by name",
        async () => {
          const priority = walkIn.getByLabel("Priority");
          assert.deepEqual(await priority.locator("option").allTextContents(), [
            "Normal",
            "Elderly / pregnant",
            "Urgent",
          ]);
          await priority.selectOption({ label: "Urgent" });
          await issue();
          await flash(page, "Walk-in registered: ticket W001, Urgent.");
          assert.equal(await priority.inputValue(), "0", "back to Normal");
          await page.getByRole("row", { name: /W001.*Urgent/ }).waitFor({ timeout: WAIT });
          assert.equal(await page.getByText("Priority 6").count(), 0);

          await walkIn.getByLabel("Patient", { exact: true }).selectOption("new");
          await walkIn.getByLabel("Full name").fill("Nur Aisyah");
          await walkIn.getByLabel("Date of birth").fill("1991-07-08");
          await walkIn.getByLabel("Gender").selectOption("female");
          await priority.selectOption({ label: "Elderly / pregnant" });
          await issue();
          await flash(page, "Walk-in registered: ticket W002 for Nur Aisyah, Elderly / pregnant.");
          assert.equal(await walkIn.getByLabel("Patient", { exact: true }).inputValue(), "none");
          assert.equal(await priority.inputValue(), "0");

          await issue();
          await flash(page, /^Walk-in registered: ticket W003\.$/);
          const w3 = page.getByRole("row", { name: /W003/ });
          await w3.waitFor({ timeout: WAIT });
          assert.equal(await w3.locator(".status.warn").count(), 0, "no priority carried over");
          const [w] = await sql`select priority from public.queue_tickets where code = 'W003'`;
          assert.equal(w.priority, 0);
        },
      );

      await step(
        "walk-in: a likely duplicate is shown, masked; use it or register anyway",
        async () => {
          const newKow = async () => {
            await walkIn.getByLabel("Patient", { exact: true }).selectOption("new");
            await walkIn.getByLabel("Full name").fill("Tan  Ah Kow");
            await walkIn.getByLabel("Date of birth").fill("1950-02-03");
            await walkIn.getByLabel("Gender").selectOption("male");
            await issue();
          };
          await newKow();
          const dupes = page.getByTestId("walkin-duplicates");
          await dupes.waitFor({ timeout: WAIT });
          const text = await dupes.innerText();
          assert.match(text, /Possible duplicate/);
          assert.match(text, /E2E-0001 · 1950-02-03 · •••• 4567 · k•••@example\.com/);
          assert.match(text, /E2E-0002 · 1950-02-03 · •••• 0011/);
          assert.ok(!(await page.locator("body").innerText()).includes("8123"), "no full phone");
          const before = await sql`select count(*)::int as n from public.patients
                                 where full_name ilike 'tan%ah kow'`;
          assert.equal(before[0].n, 2, "nothing registered yet");
          await dupes.getByRole("button", { name: "Use this patient E2E-0002" }).click();
          await flash(page, "Walk-in registered: ticket W004 for Tan Ah Kow.");
          const [w4] = await sql`
          select p.patient_number from public.queue_tickets t
          join public.patients p on p.id = t.patient_id where t.code = 'W004'`;
          assert.equal(w4.patient_number, "E2E-0002");

          await newKow();
          await dupes.waitFor({ timeout: WAIT });
          await dupes.getByRole("button", { name: "Register anyway" }).click();
          await flash(page, /Walk-in registered: ticket W005 for Tan {1,2}Ah Kow\./);
          const after = await sql`select count(*)::int as n from public.patients
                                where full_name ilike 'tan%ah kow'`;
          assert.equal(after[0].n, 3);

          await walkIn.getByLabel("Patient", { exact: true }).selectOption("find");
          await walkIn.getByLabel("Name, patient number or phone").fill("E2E-000");
          const found = walkIn.locator(".walkin-found");
          await found.getByText("E2E-0001 · 1950-02-03 · •••• 4567").waitFor({ timeout: WAIT });
          await walkIn.getByLabel("Patient", { exact: true }).selectOption("none");
        },
      );

      await step("the found patient's guardians: link an account by e-mail, unlink", async () => {
        await walkIn.getByLabel("Patient", { exact: true }).selectOption("find");
        await walkIn.getByLabel("Name, patient number or phone").fill("E2E-0001");
        await walkIn.getByRole("radio", { name: /E2E-0001/ }).check({ timeout: WAIT });
        const panel = page.locator("form.guardians");
        await panel.getByText("Nobody is linked yet.").waitFor({ timeout: WAIT });
        await panel.getByLabel("Guardian's e-mail").fill("patient.lim@demo.com");
        await panel.getByLabel("Tan Ah Kow is their").selectOption("parent");
        await panel.getByRole("button", { name: "Link guardian" }).click();
        await flash(page, "Lim Mei Ling now looks after Tan Ah Kow.");
        await walkIn.getByText("Child: Lim Mei Ling").waitFor({ timeout: WAIT });
        const links = () =>
          sql`select g.relationship from public.guardianships g
            join public.patients p on p.id = g.patient_id where p.patient_number = 'E2E-0001'`;
        assert.deepEqual((await links()).map((r) => r.relationship), ["parent"]);
        for (const line of await audit(page)) errors.push(`a11y (guardians): ${line}`);
        await panel.getByRole("button", { name: "Unlink Lim Mei Ling" }).click();
        await flash(page, "Lim Mei Ling no longer looks after Tan Ah Kow.");
        await panel.getByText("Nobody is linked yet.").waitFor({ timeout: WAIT });
        assert.equal((await links()).length, 0);
        await walkIn.getByLabel("Patient", { exact: true }).selectOption("none");
      });

      await step("call next into a room whose patient is still called asks first", async () => {
        await page.getByLabel("Room", { exact: true }).fill("Room 1");
        await page.getByTestId("call-next").click();
        await flash(page, "Called W001 to Room 1.");
        await page.getByTestId("call-next").click();
        const dialog = page.getByRole("dialog", { name: "Room 1 is not free" });
        await dialog.waitFor({ timeout: WAIT });
        assert.match(
          await dialog.innerText(),
          /Room 1 still has W001 called\. Call the next patient anyway\?/,
        );
        assert.equal(await focused(page), "Wait", "the safe choice has the focus");
        for (const line of await audit(page)) errors.push(`a11y (room dialog): ${line}`);
        await dialog.getByRole("button", { name: "Wait" }).click();
        await dialog.waitFor({ state: "detached", timeout: WAIT });
        assert.deepEqual({ ...await status("W001") }, { status: "called", room: "Room 1" });
        assert.equal((await status("W002")).status, "waiting", "nobody else called");

        await page.getByTestId("call-next").click();
        await dialog.getByRole("button", { name: "Call next anyway" }).click();
        await flash(page, "Called W002 to Room 1.");
        assert.deepEqual({ ...await status("W001") }, { status: "waiting", room: null });
        const inRoom = await sql`select code from public.queue_board
                                 where room = 'Room 1' and status = 'called'`;
        assert.deepEqual(inRoom.map((r) => r.code), ["W002"], "the board: one patient in Room 1");
        await page.getByRole("row", { name: /W001.*Waiting/ }).waitFor({ timeout: WAIT });
      });

      await step("cancel asks first (Keep focused); Finished today restores it", async () => {
        await page.getByRole("button", { name: "Cancel W003" }).click();
        const dialog = page.getByRole("dialog", { name: "Cancel ticket W003?" });
        await dialog.waitFor({ timeout: WAIT });
        assert.equal(await focused(page), "Keep ticket");
        await page.keyboard.press("Escape");
        await dialog.waitFor({ state: "detached", timeout: WAIT });
        assert.equal((await status("W003")).status, "waiting", "Escape keeps it");

        await page.getByRole("button", { name: "Cancel W003" }).click();
        await dialog.getByRole("button", { name: "Cancel ticket", exact: true }).click();
        await page.getByText("Finished today (1)").click();
        await page.getByRole("row", { name: /W003.*Cancelled/ }).waitFor({ timeout: WAIT });
        assert.equal((await status("W003")).status, "cancelled");
        await page.getByRole("button", { name: "Restore W003" }).click();
        await page.getByRole("row", { name: /W003.*Waiting/ }).waitFor({ timeout: WAIT });
        assert.equal((await status("W003")).status, "waiting");
      });

      await step("no-show asks first; restore puts the patient back in the line", async () => {
        await page.getByRole("button", { name: "No-show W002" }).click();
        const dialog = page.getByRole("dialog", { name: "Mark W002 as a no-show?" });
        await dialog.waitFor({ timeout: WAIT });
        assert.equal(await focused(page), "Keep called");
        await dialog.getByRole("button", { name: "Mark no-show" }).click();
        await page.getByRole("row", { name: /W002.*Missed/ }).waitFor({ timeout: WAIT });
        await page.getByRole("button", { name: "Restore W002" }).click();
        await page.getByRole("row", { name: /W002.*Waiting/ }).waitFor({ timeout: WAIT });
        assert.equal((await status("W002")).status, "waiting");
      });

      await step("no uncaught errors, no serious accessibility findings", async () => {
        for (const line of await audit(page)) errors.push(`a11y: ${line}`);
        assert.deepEqual(errors, []);
      });
      await desk.close();
    });
  },
});

Deno.test({
  name: "staff console in Chromium: an admin undoes a no-show and manages the TV boards",
  fn: async (t) => {
    const errors: string[] = [];
    await withServiceAndBrowser(async (service, browser) => {
      const sql = service.db.sql;
      await middayClinic(sql, CLINIC);
      const missed = await addAppointment(sql, { clinic: CLINIC, startMin: -20 });
      await sql`select private.sweep_no_shows()`;

      const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const page = await desk.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
      };

      await step("the admin signs in", async () => {
        await page.goto(`${service!.url}/staff`);
        await page.getByLabel("Email").fill("admin@demo.com");
        await page.getByLabel("Password").fill("Demo123!");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.locator("[data-link=live]").waitFor({ timeout: WAIT });
      });

      await step("a swept no-show is listed with the count and undone", async () => {
        const row = page.getByRole("row", { name: /Missed/ });
        await row.getByText(/no-shows: [1-9]/).waitFor({ timeout: WAIT });
        await row.getByRole("button", { name: /^Undo no-show/ }).click();
        await flash(page, /no-show undone: booked again\./);
        await page.getByRole("row", { name: /Confirmed/ }).waitFor({ timeout: WAIT });
        const [a] = await sql`select status::text from public.appointments where id = ${missed}`;
        assert.equal(a.status, "confirmed");
      });

      const boards = page.locator("section[aria-labelledby=boards-h]");
      let token = "";
      await step("a new board link is listed, never seen; renamed", async () => {
        await page.getByRole("button", { name: "Create TV board link" }).click();
        const url = await page.locator("#board-url").inputValue();
        token = new URLSearchParams(new URL(url).hash.slice(1)).get("token") ?? "";
        assert.ok(token);
        await boards.getByText(/active · last seen never/).waitFor({ timeout: WAIT });
        await boards.getByRole("button", { name: /^Rename/ }).click();
        await boards.getByLabel("Board name").fill("Lobby TV 2");
        await boards.getByRole("button", { name: "Save" }).click();
        await boards.locator("strong", { hasText: "Lobby TV 2" }).waitFor({ timeout: WAIT });
      });

      await step("revoke asks first; the board's reads stop", async () => {
        const board = () =>
          fetch(`${service!.url}/api/clinics/GFC-TP/queue`, {
            headers: { authorization: `Bearer ${token}` },
          }).then(async (r) => (await r.body?.cancel(), r.status));
        assert.equal(await board(), 200);
        await boards.getByRole("button", { name: "Revoke Lobby TV 2" }).click();
        const dialog = page.getByRole("dialog", { name: "Revoke Lobby TV 2?" });
        await dialog.waitFor({ timeout: WAIT });
        assert.equal(await focused(page), "Keep it");
        await dialog.getByRole("button", { name: "Revoke" }).click();
        await flash(page, "Lobby TV 2 revoked.");
        await boards.getByText(/revoked · last seen/).waitFor({ timeout: WAIT });
        assert.equal(await board(), 401);
      });

      await step("no uncaught errors, no serious accessibility findings", async () => {
        for (const line of await audit(page)) errors.push(`a11y: ${line}`);
        assert.deepEqual(errors, []);
      });
      await desk.close();
    });
  },
});
