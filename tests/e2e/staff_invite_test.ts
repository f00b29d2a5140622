/**
 * A staff invitation in headless Chromium against `edge/start.ts` (its job worker sends the mail
 * through the recording transport): an admin invites a nurse from the console's Staff panel, the
 * nurse opens the e-mailed link, creates her account on the page it opens, signs in to the
 * console and sees the live queue — a walk-in the admin issues appears on her screen.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const NURSE = "new.nurse@example.com";
const DESK = { width: 1366, height: 900 };

async function signIn(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/staff`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("[data-link=live]").waitFor({ timeout: WAIT });
}

Deno.test("an invitation accepted by a new nurse, who then sees the live queue (Chromium)", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const sql = service.db.sql;
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
    };
    const adminCtx = await browser.newContext({ viewport: DESK });
    const admin = await adminCtx.newPage();
    admin.on("pageerror", (e) => errors.push(e.message));
    let link = "";

    await step("the admin invites a nurse from the Staff panel", async () => {
      await signIn(admin, base, "admin@demo.com", "Demo123!");
      await admin.getByLabel("Invite by e-mail").fill(NURSE);
      await admin.locator("#invite-role").selectOption({ label: "Nurse" });
      await admin.getByRole("button", { name: "Send invitation" }).click();
      await admin.locator(".flash-area").getByText(`Invitation sent to ${NURSE}.`)
        .waitFor({ timeout: WAIT });
      await admin.locator(`[data-invitation="${NURSE}"]`).waitFor({ timeout: WAIT });
      assert.deepEqual(await audit(admin), [], "axe-core: serious or critical findings");
    });

    await step("the e-mail arrives with the link", async () => {
      for (let i = 0; i < 200 && !link; i++) {
        const [mail] = await sql`select body from private.outbound_messages
          where recipient = ${NURSE} and channel = 'email'`;
        link = /\/accept-invite#[A-Za-z0-9_-]{43}/.exec(mail?.body ?? "")?.[0] ?? "";
        if (!link) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(link, "no invitation e-mail recorded");
    });

    const nurseCtx = await browser.newContext({ viewport: DESK, serviceWorkers: "block" });
    const nurse = await nurseCtx.newPage();
    nurse.on("pageerror", (e) => errors.push(e.message));

    await step("the link's page asks for a name and password, then makes the account", async () => {
      await nurse.goto(`${base}${link}`);
      await nurse.getByRole("heading", { name: "Join the clinic's staff" }).waitFor({
        timeout: WAIT,
      });
      await nurse.getByRole("button", { name: "Accept the invitation" }).click();
      await nurse.getByText("There is no account for this address yet").waitFor({ timeout: WAIT });
      await nurse.getByLabel("Full name").fill("Nurse Aisyah");
      await nurse.getByLabel("Password").fill("Nurse-Pass-2026");
      await nurse.getByRole("button", { name: "Accept the invitation" }).click();
      await nurse.getByText("You are now on the staff of GFC-TP.").waitFor({ timeout: WAIT });
      assert.equal(new URL(nurse.url()).hash, "", "the token leaves the address bar");
      assert.deepEqual(await audit(nurse), [], "axe-core: serious or critical findings");
    });

    await step("the nurse signs in to the console and sees the live queue", async () => {
      await signIn(nurse, base, NURSE, "Nurse-Pass-2026");
      await nurse.getByRole("heading", { name: "Live queue" }).waitFor({ timeout: WAIT });
      await admin.getByRole("button", { name: "Issue walk-in ticket" }).click();
      await admin.locator(".flash-area").getByText(/Walk-in registered: ticket W001/)
        .waitFor({ timeout: WAIT });
      await nurse.getByRole("row", { name: /W001/ }).waitFor({ timeout: WAIT });
    });

    await step("the admin sees her as a nurse; the invitation is no longer pending", async () => {
      await admin.reload();
      await admin.locator(`[data-member="${NURSE}"]`).waitFor({ timeout: WAIT });
      assert.equal(await admin.locator(`[data-invitation="${NURSE}"]`).count(), 0);
      assert.equal(
        await admin.locator(`[data-member="${NURSE}"] select`).inputValue(),
        "nurse",
      );
    });
    await nurseCtx.close();
    await adminCtx.close();
  });
  assert.deepEqual(errors, [], "no uncaught page errors");
});
