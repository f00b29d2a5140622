/**
 * Families in headless Chromium against `edge/start.ts` (issue #16, "Several clinics,
 * families"): a guardian adds a child on the Family screen and books for them ("Who is the
 * visit for?"), the appointments list says whose visit it is, My visit checks the child in on the
 * day, the guardian chooses the child's messages, and the clinic picker registers the patient at another clinic of the platform.
 */
import assert from "node:assert/strict";
import { audit } from "./a11y.ts";
import { PHONE } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;

Deno.test("a guardian adds a child, books for them and removes them; the picker registers elsewhere", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const ctx = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
    try {
      const page = await ctx.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${base}/login`);
      await page.getByLabel("Email").fill("patient.lim@demo.com");
      await page.getByLabel("Password").fill("Demo123!");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL((u) => u.pathname !== "/login", { timeout: WAIT });

      await t.step("the Family screen adds a child", async () => {
        await page.getByRole("link", { name: "Family" }).first().click();
        await page.getByRole("heading", { name: "Family", level: 1 }).waitFor({ timeout: WAIT });
        await page.getByText("Nobody added yet.").waitFor({ timeout: WAIT });
        await page.getByLabel("Full name").fill("Lim Xiao Ming");
        await page.getByLabel("Date of birth").fill("2019-05-06");
        await page.getByLabel("Gender").selectOption("male");
        await page.getByLabel("They are my").selectOption("child");
        await page.getByRole("button", { name: "Add", exact: true }).click();
        await page.getByText("Lim Xiao Ming added.").waitFor({ timeout: WAIT });
        await page.getByRole("heading", { name: "Lim Xiao Ming" }).waitFor();
        for (const line of await audit(page)) errors.push(`a11y /family: ${line}`);
      });

      let appointmentId = "";
      await t.step("'Book for' books the child's visit", async () => {
        await page.getByRole("link", { name: "Book for Lim Xiao Ming" }).click();
        const forWhom = page.getByLabel("Who is the visit for?");
        await forWhom.waitFor({ timeout: WAIT });
        const [child] = await service.db.sql`select p.id::text from public.patients p
          where p.full_name = 'Lim Xiao Ming'`;
        assert.equal(await forWhom.inputValue(), child.id);
        await page.locator(".chip").nth(1).click();
        await page.locator("button.slot").first().click();
        await page.getByText("For Lim Xiao Ming").waitFor({ timeout: WAIT });
        await page.getByRole("button", { name: "Confirm booking" }).click();
        await page.waitForURL((u) => u.pathname.startsWith("/appointments/"), { timeout: WAIT });
        appointmentId = new URL(page.url()).pathname.split("/").pop()!;
        const [row] = await service.db.sql`select patient_id::text, booked_by::text
          from public.appointments where id = ${appointmentId}`;
        assert.equal(row.patient_id, child.id);
      });

      await t.step("my appointments say whose visit it is", async () => {
        await page.goto(`${base}/appointments`);
        await page.getByText("For Lim Xiao Ming").waitFor({ timeout: WAIT });
      });

      await t.step("the picker registers me at another clinic, then books there", async () => {
        await page.goto(`${base}/book`);
        await page.getByRole("button", { name: "Change clinic" }).click();
        const register = page.getByRole("button", {
          name: /^Register at Gabriel Family Clinic · Bedok/,
        });
        await register.click();
        await page.getByText("Gabriel Family Clinic · Bedok").first().waitFor({ timeout: WAIT });
        await page.locator("button.slot").first().click();
        await page.getByRole("button", { name: "Confirm booking" }).click();
        await page.waitForURL((u) => u.pathname.startsWith("/appointments/"), { timeout: WAIT });
        const id = new URL(page.url()).pathname.split("/").pop()!;
        const [row] = await service.db.sql`select c.code, p.user_id::text
          from public.appointments a join public.patients p on p.id = a.patient_id
          join public.clinics c on c.id = a.clinic_id where a.id = ${id}`;
        const [lim] = await service.db.sql`select id::text from public.users
          where email = 'patient.lim@demo.com'`;
        assert.deepEqual([row.code, row.user_id], ["GFC-BD", lim.id]);
      });

      await t.step("on the day, My visit checks the child in and shows their ticket", async () => {
        const [visit] = await service.db.sql`
          insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
          select p.clinic_id, p.id, d.id, v.period, 'confirmed'
          from public.patients p
          join public.doctors d on d.clinic_id = p.clinic_id
          cross join (select tstzrange(now() + interval '10 minutes',
            now() + interval '11 minutes') as period) v
          where p.full_name = 'Lim Xiao Ming' and not exists (
            select 1 from public.appointments a where a.doctor_id = d.id
              and a.period && v.period and a.status not in ('cancelled', 'rescheduled'))
          limit 1
          returning id::text`;
        await page.goto(`${base}/visit`);
        await page.getByText("For Lim Xiao Ming").waitFor({ timeout: WAIT });
        await page.getByRole("button", { name: "Check in Lim Xiao Ming" }).click();
        await page.locator("#ticket-code").waitFor({ timeout: WAIT });
        await page.getByText("For Lim Xiao Ming").waitFor({ timeout: WAIT });
        const [ticket] = await service.db.sql`select t.code, a.status::text
          from public.queue_tickets t join public.appointments a on a.id = t.appointment_id
          where t.appointment_id = ${visit.id}`;
        assert.equal(ticket.status, "checked_in");
        assert.equal(await page.locator("#ticket-code").innerText(), ticket.code);
        // The child's ticket is live on the guardian's phone: called, it says where to go.
        await service.db.sql`update public.queue_tickets
          set status = 'called', called_at = now(), room = 'Room 2'
          where appointment_id = ${visit.id}`;
        await page.getByRole("alert").getByText("Go to Room 2").waitFor({ timeout: WAIT });
        for (const line of await audit(page)) errors.push(`a11y /visit: ${line}`);
      });

      await t.step("the guardian chooses the child's messages: SMS, in Chinese", async () => {
        await page.goto(`${base}/family`);
        await page.locator("summary", { hasText: "Messages about Lim Xiao Ming" }).click();
        const card = page.locator("details.dependant-messages");
        await card.getByText("They come to you").waitFor({ timeout: WAIT });
        await card.getByLabel("SMS").check();
        await card.getByLabel("Language of texts and e-mails").selectOption("zh");
        await card.getByRole("button", { name: "Save choices for Lim Xiao Ming" }).click();
        await card.getByText("Choices for Lim Xiao Ming saved.").waitFor({ timeout: WAIT });
        const [row] = await service.db.sql`select sms_consent, preferred_language
          from public.patients where full_name = 'Lim Xiao Ming'`;
        assert.deepEqual(row, { sms_consent: true, preferred_language: "zh" });
        for (const line of await audit(page)) errors.push(`a11y /family messages: ${line}`);
      });

      await t.step("removing the child asks first, then ends the link", async () => {
        await page.goto(`${base}/family`);
        await page.getByRole("button", { name: "Remove Lim Xiao Ming" }).click();
        const dialog = page.getByRole("dialog", { name: "Stop booking for Lim Xiao Ming?" });
        await dialog.getByRole("button", { name: "Yes, remove" }).click();
        await page.getByText("Lim Xiao Ming removed.").waitFor({ timeout: WAIT });
        await page.getByText("Nobody added yet.").waitFor({ timeout: WAIT });
        const [links] = await service.db.sql`select count(*)::int as n from public.guardianships`;
        assert.equal(links.n, 0);
      });
    } finally {
      await ctx.close();
    }
  });
  assert.deepEqual(errors, []);
});
