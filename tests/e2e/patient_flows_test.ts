/**
 * The patient app as people really use it (issue #17), in headless Chromium against
 * `edge/start.ts`: a future booking says when check-in opens (no "book" invitation); booking
 * opens on the first open day, closed days say so, and a reschedule opens on the appointment's
 * own day; each booking step's heading takes the focus and the cancel dialog opens on the safe
 * choice; and the texts a patient reads (greeting, staff account, another clinic's board link,
 * an expired session, an unknown clinic link, a finished visit, dated notifications, cancel
 * right after booking).
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { audit } from "./a11y.ts";
import { PHONE } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const PASSWORD = "Correct-Horse-9";

async function signUp(page: Page, base: string, who: { name: string; email: string }) {
  await page.goto(`${base}/c/GFC-TP`);
  await page.getByRole("heading", { name: "Create your account" }).waitFor({ timeout: WAIT });
  await page.getByLabel("Full name").fill(who.name);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Date of birth").fill("1990-02-03");
  await page.getByLabel("Gender").selectOption("female");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Book an appointment" }).waitFor({ timeout: WAIT });
}

async function logIn(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Waits until the focused element is the one with this text (what a screen reader announces). */
async function focusIs(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (want) => document.activeElement?.textContent?.trim() === want,
    text,
    { timeout: WAIT },
  ).catch(async () => {
    const now = await page.evaluate(() => document.activeElement?.outerHTML ?? "none");
    assert.fail(`focus should be on "${text}", is on ${now}`);
  });
}

/** The label of the checked day chip. */
function chosenDay(page: Page): Promise<string> {
  return page.locator(".chip:has(input:checked)").innerText();
}

async function api(base: string, path: string, init: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`${base}${path}`, {
    method: init.body ? "POST" : "GET",
    headers: {
      "content-type": "application/json",
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const body = await res.json();
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

Deno.test("patient flows in Chromium (issue #17)", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const sql = service.db.sql;
    const newPhone = async (): Promise<[BrowserContext, Page]> => {
      const ctx = await browser!.newContext({ viewport: PHONE, serviceWorkers: "block" });
      const page = await ctx.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      return [ctx, page];
    };
    const [phone, page] = await newPhone();
    const me = { name: "Nur Aisyah binte Ahmad", email: `nur.${Date.now()}@example.com` };
    await signUp(page, base, me);
    const [{ zone }] = await sql`select timezone as zone from public.clinics where code = 'GFC-TP'`;
    const longDate = (day: string) =>
      new Intl.DateTimeFormat("en-SG", {
        timeZone: "UTC",
        weekday: "long",
        day: "numeric",
        month: "long",
        year: "numeric",
      }).format(new Date(`${day}T00:00:00Z`));
    const [{ today }] = await sql`
      select to_char((now() at time zone ${zone})::date, 'YYYY-MM-DD') as today`;
    const dayPlus = (n: number) =>
      new Date(Date.parse(`${today}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
    let appointmentId = "";
    let appointmentNumber = "";

    await t.step(
      "booking: each step's heading takes the focus; cancel is on 'You're booked'",
      async () => {
        await page.goto(`${base}/book`);
        await page.locator(".chip").nth(3).click();
        await page.locator("button.slot").first().click({ timeout: WAIT });
        await page.getByRole("heading", { name: "Confirm booking" }).waitFor({ timeout: WAIT });
        await focusIs(page, "Confirm booking");
        await page.getByRole("button", { name: "Choose another time" }).click();
        await page.getByRole("heading", { name: "Book an appointment" }).waitFor();
        await focusIs(page, "Book an appointment");
        await page.locator(".chip").nth(3).click();
        await page.locator("button.slot").first().click({ timeout: WAIT });
        await page.getByRole("button", { name: "Confirm booking" }).click();
        await page.getByRole("heading", { name: "You're booked" }).waitFor({ timeout: WAIT });
        appointmentId = new URL(page.url()).pathname.split("/").pop()!;
        appointmentNumber = (await page.locator(".confirmation .number").innerText()).trim();
        await page.getByRole("button", { name: /^Cancel/ }).waitFor();
        await page.getByRole("link", { name: /^Reschedule/ }).waitFor();
      },
    );

    await t.step("a future booking says when check-in opens, never 'book one'", async () => {
      const opens = `Check-in opens at 00:00 on ${longDate(dayPlus(3))}.`;
      await page.goto(`${base}/`);
      await page.getByText(opens).waitFor({ timeout: WAIT });
      assert.equal(await page.getByRole("link", { name: "Check in when you arrive" }).count(), 0);
      await page.goto(`${base}/visit`);
      await page.getByText(opens).waitFor({ timeout: WAIT });
      await page.getByText(/^Your next appointment is at \d\d:\d\d on /).waitFor();
      assert.equal(await page.getByText("You have no appointment today.").count(), 0);
      assert.equal(await page.getByRole("link", { name: "Book an appointment" }).count(), 0);
    });

    await t.step("booking opens on the first open day; closed days say so", async () => {
      await sql`
        insert into public.doctor_blocked_dates (doctor_id, clinic_id, day)
        select d.id, d.clinic_id, x.day from public.doctors d
        cross join (values (${today}::date), (${dayPlus(1)}::date)) as x (day)
        join public.clinics c on c.id = d.clinic_id where c.code = 'GFC-TP'`;
      await page.goto(`${base}/book`);
      await page.locator(".chip:has(input:checked)").waitFor({ timeout: WAIT });
      assert.equal(await page.locator(".chip").nth(0).innerText(), "Today · Closed");
      assert.match(await page.locator(".chip").nth(1).innerText(), / · Closed$/);
      assert.ok(await page.locator(".chip input").nth(0).isDisabled());
      assert.equal(await chosenDay(page), await page.locator(".chip").nth(2).innerText());
      await page.locator("button.slot").first().waitFor({ timeout: WAIT });
      assert.deepEqual(await audit(page), [], "axe-core: serious or critical findings");
    });

    await t.step("reschedule opens on the appointment's own day", async () => {
      await page.goto(`${base}/book?reschedule=${appointmentId}`);
      await page.getByRole("heading", { name: "Reschedule appointment" }).waitFor();
      await page.getByText(/^Current time:/).waitFor({ timeout: WAIT });
      await page.waitForFunction(
        () => document.querySelector(".chip:nth-child(4) input")?.matches(":checked"),
        null,
        { timeout: WAIT },
      );
    });

    await t.step(
      "a moved visit: the new number says it replaces the old; listed once",
      async () => {
        await page.locator("button.slot").nth(2).click({ timeout: WAIT });
        await focusIs(page, "Confirm the new time");
        await page.getByRole("button", { name: "Move appointment" }).click();
        await page.getByRole("heading", { name: "Appointment moved" }).waitFor({ timeout: WAIT });
        await page.getByText("Your new appointment number").waitFor();
        await page.getByText(`It replaces ${appointmentNumber}, which no longer applies.`)
          .waitFor({ timeout: WAIT });
        appointmentId = new URL(page.url()).pathname.split("/").pop()!;
        await page.goto(`${base}/appointments`);
        await page.getByText(`(number ${appointmentNumber} no longer applies)`, { exact: false })
          .waitFor({ timeout: WAIT });
        assert.equal(await page.locator(".appointment").count(), 1, "one visit, shown once");
        assert.equal(await page.locator(".status", { hasText: "Rescheduled" }).count(), 0);
      },
    );

    await t.step("the cancel dialog opens on 'Keep it': Enter keeps the appointment", async () => {
      await page.goto(`${base}/appointments`);
      await page.getByRole("button", { name: /^Cancel/ }).first().click({ timeout: WAIT });
      await page.getByRole("dialog").waitFor();
      await focusIs(page, "Keep it");
      await page.keyboard.press("Enter");
      await page.getByRole("dialog").waitFor({ state: "hidden" });
      const [{ status }] = await sql`
        select status::text from public.appointments where id = ${appointmentId}`;
      assert.equal(status, "scheduled");
    });

    await t.step("notifications carry a date, not a bare time", async () => {
      await page.goto(`${base}/notifications`);
      const when = page.locator(".notifications time").first();
      assert.match(await when.innerText({ timeout: WAIT }), /^Today, \d\d:\d\d$/);
    });

    await t.step("a finished visit says so", async () => {
      await sql`
        insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
        select d.clinic_id, p.id, d.id,
          tstzrange(now() - interval '50 minutes', now() - interval '40 minutes'), 'completed'
        from public.patients p, public.doctors d join public.clinics c on c.id = d.clinic_id
        where p.email = ${me.email} and d.display_name like 'Dr Tan%' and c.code = 'GFC-TP'`;
      await page.goto(`${base}/visit`);
      await page.getByText("Your visit is complete. Thank you for coming!").waitFor({
        timeout: WAIT,
      });
      await page.getByRole("link", { name: "Book a follow-up" }).waitFor();
      assert.deepEqual(await audit(page), [], "axe-core: serious or critical findings");
    });

    await t.step("checked in early: the turn is around the booked time, and why", async () => {
      await sql`delete from public.doctor_blocked_dates`;
      const [{ at }] = await sql`
        insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
        select d.clinic_id, p.id, d.id,
          tstzrange(now() + interval '2 hours', now() + interval '2 hours 15 minutes'),
          'confirmed'
        from public.patients p, public.doctors d join public.clinics c on c.id = d.clinic_id
        where p.email = ${me.email} and d.display_name like 'Dr Tan%' and c.code = 'GFC-TP'
        returning to_char(lower(period) at time zone ${zone}, 'HH24:MI') as at`;
      await page.goto(`${base}/visit`);
      await page.getByRole("button", { name: "Check in" }).click({ timeout: WAIT });
      await page.locator(".ticket-code").waitFor({ timeout: WAIT });
      await page.getByText(`around ${at}`).waitFor({ timeout: WAIT });
      await page.getByText(/^You arrived before your booked time/).waitFor();
      assert.equal(await page.getByText("You're next").count(), 0);
    });

    await t.step("offline after a reload: the last known visit, marked 'as of'", async () => {
      const ctx = await browser!.newContext({ viewport: PHONE });
      const app = await ctx.newPage();
      app.on("pageerror", (e) => errors.push(e.message));
      await logIn(app, base, me.email, PASSWORD);
      await app.getByRole("heading", { name: `Hello, ${me.name}` }).waitFor({ timeout: WAIT });
      await app.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      await app.reload();
      await app.waitForFunction(() => navigator.serviceWorker.controller !== null);
      const code = (await app.locator(".ticket-code").innerText({ timeout: WAIT })).trim();
      await app.locator(".card .big").first().waitFor({ timeout: WAIT });
      await app.goto(`${base}/notifications`);
      await app.locator(".notifications time").first().waitFor({ timeout: WAIT });

      await ctx.setOffline(true);
      await app.goto(`${base}/visit`);
      await app.getByText(code, { exact: true }).waitFor({ timeout: WAIT });
      await app.getByText(/^Saved on this device · as of \d\d:\d\d$/).waitFor();
      assert.equal(await app.getByText("Loading your visit…").count(), 0);
      assert.deepEqual(await audit(app), [], "axe-core: serious or critical findings");
      await app.goto(`${base}/`);
      await app.getByText(/^Offline — showing what was saved on this device as of/).waitFor({
        timeout: WAIT,
      });
      await app.locator(".card .big").first().waitFor({ timeout: WAIT });
      assert.equal(await app.getByText("You have no upcoming appointments.").count(), 0);
      await app.goto(`${base}/notifications`);
      await app.locator(".notifications time").first().waitFor({ timeout: WAIT });

      await app.getByRole("button", { name: "Sign out" }).click();
      await app.getByRole("link", { name: "Log in" }).first().waitFor();
      const left = await app.evaluate(() =>
        Object.keys(localStorage).filter((k) => k.startsWith("clinic.saved."))
      );
      assert.deepEqual(left, [], "signing out removes the saved copies");
      await ctx.close();
    });

    await t.step("an expired session says why it asks to log in again", async () => {
      await page.evaluate(() => {
        const s = JSON.parse(localStorage.getItem("clinic.session")!);
        localStorage.setItem(
          "clinic.session",
          JSON.stringify({ ...s, expires_at: 0, refresh_token: "revoked-long-ago" }),
        );
      });
      await page.goto(`${base}/appointments`);
      await page.getByRole("heading", { name: "Log in" }).waitFor({ timeout: WAIT });
      await page.getByText("Your session has expired. Please log in again.").waitFor();
    });

    await t.step("greeted by the whole name: Lim Mei Ling, not 'Lim'", async () => {
      await logIn(page, base, "patient.lim@demo.com", "Demo123!");
      await page.getByRole("heading", { name: "Hello, Lim Mei Ling" }).waitFor({ timeout: WAIT });
      await page.getByRole("button", { name: "Sign out" }).click();
    });

    await t.step("a staff account in the patient app is pointed to the console", async () => {
      await logIn(page, base, "staff.koh@demo.com", "Demo123!");
      await page.getByRole("heading", { name: "This is a staff account" }).waitFor({
        timeout: WAIT,
      });
      await page.goto(`${base}/book`);
      await page.getByRole("link", { name: "Open the staff console" }).waitFor();
      assert.ok(!(await page.locator("body").innerText()).includes("patient_id"));
      await page.getByRole("button", { name: "Sign out" }).click();
    });

    await t.step("an unknown clinic link says so before the form is filled", async () => {
      await page.goto(`${base}/c/NOPE-XX`);
      await page.getByRole("heading", { name: "Create your account" }).waitFor({ timeout: WAIT });
      await page.getByText("No clinic has the code NOPE-XX.", { exact: false }).waitFor({
        timeout: WAIT,
      });
      assert.equal(await page.getByLabel("Clinic code").getAttribute("aria-invalid"), "true");
    });

    await t.step("a board link opened on another clinic's board says so", async () => {
      const login = await api(base, "/api/auth/login", {
        body: { email: "staff.koh@demo.com", password: "Demo123!" },
      });
      const issued = await api(base, "/api/clinics/GFC-TP/board-tokens", {
        token: login.access_token,
        body: { label: "e2e" },
      });
      const [tv, board] = await newPhone();
      await board.goto(`${base}/board/GFC-BD#token=${issued.token}`);
      await board.getByText("This board link is for another clinic.", { exact: false })
        .waitFor({ timeout: WAIT });
      assert.equal(await board.getByText("expired or was revoked").count(), 0);
      await tv.close();
    });

    await t.step("no uncaught errors", () => assert.deepEqual(errors, []));
    await phone.close();
  });
});
