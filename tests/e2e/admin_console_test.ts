/**
 * The admin's audit log and webhook endpoints screens (web/src/staff/audit.tsx, webhooks.tsx)
 * in headless Chromium against `edge/start.ts` on a fresh seeded database: an admin adds an
 * endpoint (the secret shown once), rotates it, retries a dead delivery, and then reads in the
 * audit log who changed the endpoint, filtered by table and by person — never a secret.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { audit } from "./a11y.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const CLINIC = "11111111-1111-4111-8111-111111111111";

function flash(page: Page, text: string | RegExp) {
  return page.locator(".flash-area").getByText(text).waitFor({ timeout: WAIT });
}

Deno.test({
  name: "admin console in Chromium: webhook endpoints and the audit log",
  fn: async (t) => {
    const errors: string[] = [];
    await withServiceAndBrowser(async (service, browser) => {
      const sql = service.db.sql;
      const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const page = await desk.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
      };
      const hooks = page.locator("section", { has: page.locator("#hooks-h") });
      const log = page.locator("section", { has: page.locator("#audit-h") });
      const secrets: string[] = [];

      await step("the admin signs in; both screens are there", async () => {
        await page.goto(`${service.url}/staff`);
        await page.getByLabel("Email").fill("admin@demo.com");
        await page.getByLabel("Password").fill("Demo123!");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.locator("[data-link=live]").waitFor({ timeout: WAIT });
        await hooks.getByText("No webhook endpoints yet.").waitFor({ timeout: WAIT });
        await log.locator("tr[data-audit]").first().waitFor({ timeout: WAIT });
      });

      await step("add an endpoint: listed, its secret shown once", async () => {
        await hooks.getByLabel("Endpoint URL").fill("https://hooks.example.com/clinic");
        await hooks.getByLabel("Description (optional)").fill("Billing system");
        await hooks.getByRole("button", { name: "Add endpoint" }).click();
        await flash(page, "Endpoint added. It receives every event.");
        const shown = await hooks.locator("[data-secret] code").innerText();
        assert.match(shown, /^whsec_/);
        secrets.push(shown);
        await hooks.getByRole("button", { name: "I have copied it" }).click();
        assert.equal(await hooks.locator("[data-secret]").count(), 0);
        await hooks.locator("strong", { hasText: "https://hooks.example.com/clinic" })
          .waitFor({ timeout: WAIT });
      });

      await step("rotate: a new secret, shown once; the previous one still signs", async () => {
        await hooks.getByRole("button", { name: /^Rotate secret/ }).click();
        await hooks.locator("[data-secret]").waitFor({ timeout: WAIT });
        const shown = await hooks.locator("[data-secret] code").innerText();
        assert.notEqual(shown, secrets[0]);
        secrets.push(shown);
        await hooks.getByText(/previous secret signs until/).waitFor({ timeout: WAIT });
        await hooks.getByRole("button", { name: "I have copied it" }).click();
      });

      await step("a dead delivery is shown and sent again", async () => {
        // Deliveries must never leave the machine: the endpoint now points at a loopback
        // address, which the delivery's SSRF guard refuses without sending anything.
        const [endpoint] = await sql`
          update public.webhook_endpoints set url = 'http://127.0.0.1:9/hook'
          where clinic_id = ${CLINIC} returning id`;
        const [event] = await sql`
          insert into public.webhook_outbox (clinic_id, event_type, payload)
          values (${CLINIC}, 'appointment.created', '{}') returning id`;
        const [delivery] = await sql`
          insert into public.webhook_deliveries (event_id, endpoint_id, clinic_id, status,
            attempts, last_status_code, last_error)
          values (${event.id}, ${endpoint.id}, ${CLINIC}, 'dead', 8, 500, 'Internal error')
          returning id`;
        await page.reload();
        await page.locator("[data-link=live]").waitFor({ timeout: WAIT });
        await hooks.getByRole("button", { name: /^Deliveries/ }).click();
        const row = hooks.locator(`[data-delivery="${delivery.id}"]`);
        await row.getByText(/appointment\.created · dead/).waitFor({ timeout: WAIT });
        await row.getByRole("button", { name: "Retry appointment.created" }).click();
        await flash(page, "Delivery queued again.");
        const [after] = await sql`
          select status from public.webhook_deliveries where id = ${delivery.id}`;
        assert.notEqual(after.status, "dead");
      });

      await step("the audit log: who changed the endpoint, by table and person", async () => {
        await log.getByLabel("Table").fill("webhook_endpoints");
        await log.getByRole("button", { name: "Filter" }).click();
        const rows = log.locator("tr[data-audit]");
        await rows.filter({ hasText: "webhook_endpoints created" }).waitFor({ timeout: WAIT });
        const texts = await rows.allInnerTexts();
        assert.ok(texts.every((r) => r.includes("webhook_endpoints")), texts.join("\n"));
        const rotation = rows.filter({ hasText: /webhook_endpoints changed: .*secret/ }).first();
        await rotation.getByText("Grace Admin").waitFor({ timeout: WAIT });
        await rotation.locator("summary").click();
        await rotation.locator("dt", { hasText: "previous_secret_expires_at" })
          .waitFor({ timeout: WAIT });
        await rotation.getByRole("button", { name: "Grace Admin" }).click();
        await log.getByText("By Grace Admin").waitFor({ timeout: WAIT });
        const body = await page.locator("body").innerText();
        for (const secret of secrets) assert.ok(!body.includes(secret), "no secret on screen");
        await log.getByRole("button", { name: /^Remove filter/ }).click();
        assert.equal(await log.getByText("By Grace Admin").count(), 0);
      });

      await step("no uncaught errors, no serious accessibility findings", async () => {
        for (const line of await audit(page)) errors.push(`a11y: ${line}`);
        assert.deepEqual(errors, []);
      });
      await desk.close();
    });
  },
});
