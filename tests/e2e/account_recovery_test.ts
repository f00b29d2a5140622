/**
 * Account recovery in headless Chromium against `edge/start.ts` (its job worker sends the mail
 * through the recording transport): "forgot password" from the login page, the link from the
 * recorded e-mail, a new password, signing in with it; then changing the password and
 * confirming the address from the profile, and the unlock page that shares the link page.
 */
import assert from "node:assert/strict";
import { audit } from "./a11y.ts";
import { PHONE } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const EMAIL = "forgetful.patient@example.com";
const NAME = "Nur Aisyah";

Deno.test("forgot password → e-mailed link → new password → sign in (Chromium)", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const sql = service.db.sql;
    const signup = await fetch(`${base}/api/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        clinic_code: "GFC-TP",
        email: EMAIL,
        password: "Forgotten-Pass-1",
        full_name: NAME,
        date_of_birth: "1992-07-08",
        gender: "female",
      }),
    });
    const answer = await signup.text();
    assert.equal(signup.status, 201, answer);

    const ctx = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
    const page = await ctx.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    let link = "";

    await t.step(
      "the login page leads to 'forgot password', which says the link is on its way",
      async () => {
        await page.goto(`${base}/login`);
        await page.getByRole("link", { name: "Forgot your password?" }).click();
        await page.getByRole("heading", { name: "Reset your password" }).waitFor({ timeout: WAIT });
        await page.getByLabel("Email").fill(EMAIL);
        await page.getByRole("button", { name: "Send the link" }).click();
        await page.getByText(`If an account uses ${EMAIL}, a link to reset its password`)
          .waitFor({ timeout: WAIT });
        assert.deepEqual(await audit(page), [], "axe-core: serious or critical findings");
      },
    );

    await t.step("the e-mail arrives with the link", async () => {
      for (let i = 0; i < 200 && !link; i++) {
        const [mail] = await sql`select body from private.outbound_messages
          where recipient = ${EMAIL} and channel = 'email'`;
        link = /(http\S+\/reset-password#[A-Za-z0-9_-]{43})/.exec(mail?.body ?? "")?.[1] ?? "";
        if (!link) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(link, "no reset e-mail recorded");
      // PUBLIC_URL defaults to http://localhost:<PORT>; the browser reaches the same port here.
      const url = new URL(link);
      assert.equal(url.port, String(service.port));
      link = `${base}${url.pathname}${url.hash}`;
    });

    await t.step("the link's page sets a new password", async () => {
      await page.goto(link);
      await page.getByRole("heading", { name: "Choose a new password" }).waitFor({
        timeout: WAIT,
      });
      await page.getByLabel("New password").fill("Remembered-Pass-2");
      await page.getByRole("button", { name: "Set the new password" }).click();
      await page.getByText("Your password is changed").waitFor({ timeout: WAIT });
      assert.equal(new URL(page.url()).hash, "", "the token leaves the address bar");
      assert.deepEqual(await audit(page), [], "axe-core: serious or critical findings");
    });

    await t.step("signing in with the new password works", async () => {
      await page.getByRole("link", { name: "Log in" }).first().click();
      await page.getByLabel("Email").fill(EMAIL);
      await page.getByLabel("Password").fill("Remembered-Pass-2");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: `Hello, ${NAME}` }).waitFor({ timeout: WAIT });
    });

    await t.step("the link again: used, with a way to ask for a new one", async () => {
      const other = await ctx.newPage();
      await other.goto(link);
      await other.getByLabel("New password").fill("Third-Pass-333");
      await other.getByRole("button", { name: "Set the new password" }).click();
      await other.getByText("This link has been used or has expired.").waitFor({ timeout: WAIT });
      await other.getByRole("link", { name: "Ask for a new link" }).waitFor({ timeout: WAIT });
      await other.close();
    });

    await t.step("the profile changes the password (the current one required)", async () => {
      await page.goto(`${base}/profile`);
      await page.getByRole("heading", { name: "Account" }).waitFor({ timeout: WAIT });
      await page.getByText(`Email: ${EMAIL}`).waitFor({ timeout: WAIT });
      await page.getByLabel("Current password").fill("not the password");
      await page.getByLabel("New password").fill("Fourth-Pass-4444");
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText("The password is wrong.").waitFor({ timeout: WAIT });
      await page.getByLabel("Current password").fill("Remembered-Pass-2");
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText("Password changed. Your other devices were signed out.").waitFor({
        timeout: WAIT,
      });
      assert.deepEqual(await audit(page), [], "axe-core: serious or critical findings");
    });

    await t.step(
      "the profile sends a confirmation link; its page confirms the address",
      async () => {
        // The reset proved the mailbox; an address as a new sign-up has it is not confirmed.
        await page.getByText("(confirmed)").waitFor({ timeout: WAIT });
        await sql`update public.users set email_verified_at = null where email = ${EMAIL}`;
        await page.reload();
        await page.getByText("(not confirmed yet)").waitFor({ timeout: WAIT });
        await page.getByRole("button", { name: "Send me a confirmation link" }).click();
        await page.getByText(`We sent a confirmation link to ${EMAIL}.`).waitFor({ timeout: WAIT });
        let confirm = "";
        for (let i = 0; i < 200 && !confirm; i++) {
          const mails = await sql`select body from private.outbound_messages
          where recipient = ${EMAIL} and body like '%/confirm-email#%'`;
          confirm = /\/confirm-email#[A-Za-z0-9_-]{43}/.exec(mails[0]?.body ?? "")?.[0] ?? "";
          if (!confirm) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(confirm, "no confirmation e-mail recorded");
        await page.goto(`${base}${confirm}`);
        await page.getByRole("button", { name: "Confirm" }).click();
        await page.getByText(`Your email address ${EMAIL} is confirmed.`).waitFor({
          timeout: WAIT,
        });
        assert.deepEqual(await audit(page), [], "axe-core: serious or critical findings");
        await page.goto(`${base}/profile`);
        await page.getByText("(confirmed)").waitFor({ timeout: WAIT });
      },
    );

    await t.step("an unlock link that is no good says so (the same link page)", async () => {
      await page.goto(`${base}/unlock#${"A".repeat(43)}`);
      await page.getByRole("button", { name: "Let this browser sign in" }).click();
      await page.getByText("This link has been used or has expired. Sign in again")
        .waitFor({ timeout: WAIT });
    });
    await ctx.close();
  });
  assert.deepEqual(errors, [], "no uncaught page errors");
});
