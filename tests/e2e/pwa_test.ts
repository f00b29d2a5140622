/**
 * End to end, in headless Chromium, against `edge/start.ts` (the `deno task start` entry) on a
 * fresh seeded database: a patient signs up, books (a lost response + retry books once),
 * checks in; staff calls next; the patient's page and the TV board both show the call (the
 * click → board time is printed); the board recovers after the server — realtime included —
 * restarts; a second patient never sees the first one's data. Screenshots of every main page
 * at phone (360×780) and TV (1920×1080) sizes go to `tests/.artifacts/screenshots/`.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { audit } from "./a11y.ts";
import { PHONE, TV } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const SHOTS = new URL("../.artifacts/screenshots/", import.meta.url).pathname;
const WAIT = 20_000;

async function shot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SHOTS, { recursive: true });
  // Let transitions settle; never capture a blinking caret.
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${SHOTS}${name}.png`, caret: "hide", animations: "disabled" });
}

/** axe-core findings (serious/critical), by page, checked in the last step. */
const findings: string[] = [];

/** Both sizes of one page (live pages are captured live, not while connecting), audited. */
async function shots(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  const linked = page.locator("[data-link]:not([data-link=none])");
  if (await linked.count()) {
    await page.locator("[data-link=live]").waitFor({ timeout: WAIT }).catch(() => {});
  }
  await page.setViewportSize(PHONE);
  await shot(page, `${name}-phone`);
  for (const line of await audit(page)) findings.push(`${name}: ${line}`);
  await page.setViewportSize(TV);
  await shot(page, `${name}-tv`);
  if (before) await page.setViewportSize(before);
}

const timeline: string[] = [];
const pages = new Map<string, Page>();
function watch(page: Page, label: string, errors: string[]): void {
  pages.set(label, page);
  page.on("pageerror", (e) => errors.push(`[${label}] ${e.message}`));
  page.on("console", (m) => note(`[${label}] ${m.type()}: ${shorten(m.text())}`));
}

/** A line of the failure timeline, stamped with this process's clock (ms). */
function note(line: string): void {
  timeline.push(`${Math.round(performance.now())} ${line}`);
  if (timeline.length > 200) timeline.shift();
}

/** Long messages keep both ends: a failed WebSocket's reason comes after its long URL. */
function shorten(text: string): string {
  return text.length > 240 ? `${text.slice(0, 100)} … ${text.slice(-140)}` : text;
}

/** On failure: every open page as a screenshot, and the timeline of steps and consoles. */
async function evidence(): Promise<void> {
  for (const [label, page] of pages) {
    if (!page.isClosed()) {
      await page.screenshot({ path: `${SHOTS}failure-${label}.png` }).catch(() => {});
    }
  }
  console.error(`--- browser console and steps ---\n${timeline.slice(-60).join("\n")}`);
}

/** Resolves with the page's clock (epoch ms) when `selector` first shows `text`. */
function appears(page: Page, selector: string, text: string): Promise<number> {
  return page.evaluate(([sel, want]) =>
    new Promise<number>((resolve, reject) => {
      const check = () => {
        const el = document.querySelector(sel);
        if (el?.textContent?.includes(want)) {
          observer.disconnect();
          clearTimeout(timer);
          resolve(Date.now());
        }
      };
      const observer = new MutationObserver(check);
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
      const timer = setTimeout(() => {
        observer.disconnect();
        reject(new Error(`${sel} never showed ${want}`));
      }, 20_000);
      check();
    }), [selector, text] as const);
}

async function signUp(page: Page, base: string, who: { name: string; email: string }) {
  await page.goto(`${base}/c/GFC-TP`);
  await page.getByRole("heading", { name: "Create your account" }).waitFor({ timeout: WAIT });
  assert.equal(await page.getByLabel("Clinic code").inputValue(), "GFC-TP", "from the link");
  await page.getByLabel("Full name").fill(who.name);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password", { exact: true }).fill("Correct-Horse-9");
  await page.getByLabel("Date of birth").fill("1988-04-12");
  await page.getByLabel("Gender").selectOption("female");
  await page.getByLabel("Mobile phone (optional)").fill("+65 9123 4567");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Book an appointment" }).waitFor({ timeout: WAIT });
}

Deno.test({
  name: "PWA end to end in Chromium against deno task start",
  // The browser and the server are real processes; give them time on a 2-core machine.
  fn: async (t) => {
    const errors: string[] = [];
    await withServiceAndBrowser(async (service, browser) => {
      /** A step; on failure, leave evidence and stop (later steps build on it). */
      const step = async (name: string, fn: () => Promise<void> | void) => {
        note(`-- step: ${name}`);
        if (!await t.step(name, fn)) {
          note(`-- step failed: ${name}`);
          await evidence();
          throw new Error(`step failed: ${name}`);
        }
      };
      const base = service.url;
      const sql = service.db.sql;

      const realtimeUp = await fetch(`${base}/realtime/v1/health`).then(async (r) => {
        await r.body?.cancel();
        return r.ok;
      }).catch(() => false);
      assert.ok(realtimeUp, "edge/start.ts must mount the realtime server at /realtime/v1");

      const phone = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
      const patient = await phone.newPage();
      watch(patient, "patient", errors);
      const first = { name: "Aisha Rahman", email: `aisha.${Date.now()}@example.com` };
      let ticketCode = "";
      let appointmentNumber = "";

      await step("patient: welcome, sign up by clinic link", async () => {
        await patient.goto(`${base}/`);
        await patient.getByRole("heading", { name: /skip the waiting room/ }).waitFor();
        await shots(patient, "welcome");
        await patient.goto(`${base}/login`);
        await patient.getByRole("heading", { name: "Log in" }).waitFor();
        await shots(patient, "login");
        await patient.goto(`${base}/c/GFC-TP`);
        await patient.getByRole("heading", { name: "Create your account" }).waitFor();
        await shots(patient, "signup");
        await signUp(patient, base, first);
      });

      await step(
        "patient: picks a doctor and a slot; a lost response + retry books once",
        async () => {
          const doctor = patient.getByLabel("Doctor");
          const label = (await doctor.locator("option").allTextContents())
            .find((o) => o.startsWith("Dr Tan Wei Ming"))!;
          await doctor.selectOption({ label });
          await patient.locator("button.slot").first().waitFor({ timeout: WAIT });
          await shots(patient, "book");
          await patient.locator("button.slot").first().click();
          await patient.getByRole("heading", { name: "Confirm booking" }).waitFor({
            timeout: WAIT,
          });
          await patient.getByLabel("Reason for visit (optional)").fill("Persistent cough");
          await shots(patient, "confirm");

          // The first booking reaches the server, but its response is lost on the way back.
          const keys: string[] = [];
          let dropped = false;
          await patient.route("**/api/bookings", async (route) => {
            keys.push(route.request().headers()["idempotency-key"] ?? "");
            if (!dropped) {
              dropped = true;
              const response = await route.fetch();
              assert.equal(response.status(), 201, "the server booked it");
              await route.abort("connectionreset");
            } else {
              await route.continue();
            }
          });
          const confirm = patient.getByRole("button", { name: "Confirm booking" });
          await confirm.dblclick(); // a double tap, too
          await patient.getByRole("button", { name: "Try again" }).click({ timeout: WAIT });
          await patient.getByRole("heading", { name: "You're booked" }).waitFor({ timeout: WAIT });
          await patient.unroute("**/api/bookings");
          assert.equal(keys.length, 2, "one request per tap that was not in flight");
          assert.ok(keys[0] && keys[0] === keys[1], "the retry reused the Idempotency-Key");
          const [{ n }] = await sql`
          select count(*)::int as n from public.appointments a
          join public.patients p on p.id = a.patient_id
          where p.email = ${first.email} and a.status <> 'held'`;
          assert.equal(n, 1, "exactly one appointment");
          appointmentNumber = (await patient.locator(".confirmation .number").textContent())!
            .trim();
          assert.match(appointmentNumber, /^GFC-TP-\d{6}-\d{3}$/);
          await shots(patient, "booked");
          await patient.goto(`${base}/appointments`);
          await patient.getByText(appointmentNumber).waitFor({ timeout: WAIT });
          await shots(patient, "appointments");
        },
      );

      await step("patient: checks in and gets a live ticket", async () => {
        await patient.goto(`${base}/visit`);
        await patient.getByRole("button", { name: "Check in" }).click({ timeout: WAIT });
        ticketCode = (await patient.locator(".ticket-code").textContent({ timeout: WAIT }))!;
        assert.match(ticketCode, /^A\d{3,4}$/);
        await patient.getByText("Live ·").waitFor({ timeout: WAIT });
        await shots(patient, "visit");
        await patient.getByRole("link", { name: "Home" }).click();
        await patient.getByRole("heading", { name: "Your visit today" }).waitFor();
        await shots(patient, "home");
        await patient.getByRole("link", { name: "Open my visit" }).click();
        await patient.getByText("Live ·").waitFor({ timeout: WAIT });
      });

      // Staff console and the TV board.
      const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const staff = await desk.newPage();
      watch(staff, "staff", errors);
      const tvContext = await browser.newContext({ viewport: TV, serviceWorkers: "block" });
      const board = await tvContext.newPage();
      watch(board, "board", errors);

      await step("staff: signs in, sees the ticket, opens a TV board link", async () => {
        await staff.goto(`${base}/staff`);
        await shots(staff, "staff-login");
        await staff.getByLabel("Email").fill("staff.koh@demo.com");
        await staff.getByLabel("Password").fill("Demo123!");
        await staff.getByRole("button", { name: "Sign in" }).click();
        await staff.getByRole("row", { name: new RegExp(ticketCode) }).waitFor({ timeout: WAIT });
        await staff.getByLabel("Room", { exact: true }).fill("Room 1");
        await staff.getByRole("button", { name: "Create TV board link" }).click();
        const link = await staff.getByLabel("Board link (keep it private)").inputValue();
        assert.match(link, /\/board\/GFC-TP#token=/);
        await board.goto(link.replace("#", "?debug#"));
        await board.locator(".next-codes li", { hasText: ticketCode }).waitFor({ timeout: WAIT });
        assert.ok(!board.url().includes("token="), "the token leaves the address bar");
        const text = await board.locator("body").innerText();
        assert.ok(!text.includes(first.name), "no names on the board");
      });

      await step("staff calls next: the patient's page and the board show it", async () => {
        // A second member of staff (a nurse) watches the same queue on another PC.
        const nurseDesk = await browser!.newContext({ viewport: { width: 1366, height: 900 } });
        const nurse = await nurseDesk.newPage();
        watch(nurse, "nurse", errors);
        await nurse.goto(`${base}/staff`);
        await nurse.getByLabel("Email").fill("nurse.ong@demo.com");
        await nurse.getByLabel("Password").fill("Demo123!");
        await nurse.getByRole("button", { name: "Sign in" }).click();
        await nurse.getByRole("row", { name: new RegExp(`${ticketCode}.*Waiting`) })
          .waitFor({ timeout: WAIT });
        await nurse.locator("[data-link=live]").waitFor({ timeout: WAIT });
        // Both screens are live (joined and synced) before the click.
        await board.locator(".board-app[data-link=live]").waitFor({ timeout: WAIT });
        await patient.locator(".app[data-link=live]").waitFor({ timeout: WAIT });
        // Timestamps taken inside the pages (epoch ms; one machine, one clock): the click in
        // the console, the first DOM mutation showing the call on the board and the phone.
        await staff.evaluate(() => {
          document.querySelector("[data-testid=call-next]")!.addEventListener("click", () => {
            (globalThis as unknown as { clickedAt: number }).clickedAt = Date.now();
          }, { once: true, capture: true });
        });
        const badge = patient.locator(".tabbar a[href='/notifications'] .badge");
        const unreadBefore = Number(await badge.textContent({ timeout: WAIT }));
        const boardSees = appears(board, ".flash .flash-code", ticketCode);
        const patientSees = appears(patient, ".call-alert", "Go to Room 1");
        await staff.getByTestId("call-next").click();
        const [atBoard, atPatient] = await Promise.all([boardSees, patientSees]);
        const clickedAt = await staff.evaluate(() =>
          (globalThis as unknown as { clickedAt: number }).clickedAt
        );
        if (Deno.env.get("E2E_DEBUG")) {
          console.log(timeline.filter((l) => l.includes(" [board] ")).slice(-20).join("\n"));
        }
        console.log(
          `  staff click → board update: ${atBoard - clickedAt} ms; ` +
            `→ patient's page: ${atPatient - clickedAt} ms`,
        );
        await shots(board, "board-call");
        // The inbox badge counted the new notification live.
        await patient.waitForFunction(
          (before) =>
            Number(document.querySelector(".tabbar a[href='/notifications'] .badge")?.textContent) >
              before,
          unreadBefore,
          { timeout: WAIT },
        );
        // The other console updated by itself.
        await nurse.getByRole("row", { name: new RegExp(`${ticketCode}.*Called`) })
          .waitFor({ timeout: WAIT });
        await nurseDesk.close();
        await board.locator(".flash").waitFor({ state: "detached", timeout: WAIT });
        await board.locator(".room", { hasText: ticketCode }).waitFor();
        await staff.getByRole("row", { name: new RegExp(`${ticketCode}.*Called`) })
          .waitFor({ timeout: WAIT });
        await shots(staff, "staff");
        await patient.goto(`${base}/notifications`);
        await patient.getByRole("heading", { name: `Ticket ${ticketCode}: please go to Room 1` })
          .waitFor({ timeout: WAIT });
        await shots(patient, "notifications");
        await patient.goto(`${base}/visit`);
        await patient.getByText("Go to Room 1").first().waitFor({ timeout: WAIT });
        await shots(patient, "visit-called");
      });

      await step("the phone loses its network: visibly reconnecting, then correct", async () => {
        await patient.goto(`${base}/visit`);
        await patient.locator(".app[data-link=live]").waitFor({ timeout: WAIT });
        await patient.context().setOffline(true);
        await patient.getByText("Reconnecting… live updates are paused").first().waitFor({
          timeout: WAIT,
        });
        await shot(patient, "visit-reconnecting-phone");
        // Meanwhile the patient is sent to another room.
        await sql`update public.queue_tickets set room = 'Room 3' where code = ${ticketCode}`;
        await patient.context().setOffline(false);
        await patient.locator(".app[data-link=live]").waitFor({ timeout: WAIT });
        await patient.getByText("Go to Room 3").first().waitFor({ timeout: WAIT });
        assert.equal(await patient.getByText("Reconnecting…").count(), 0);
      });

      await step("the board: sound is enabled once, by a click", async () => {
        await board.getByRole("button", { name: "Enable sound" }).click();
        await board.getByRole("button", { name: "Enable sound" }).waitFor({ state: "detached" });
        assert.equal(
          await board.evaluate(() => localStorage.getItem("clinic.board.sound")),
          "on",
        );
      });

      await step("the board recovers after the realtime server restarts", async () => {
        await service!.stop();
        await board.locator(".stale", { hasText: "Offline since" }).waitFor({ timeout: WAIT });
        await shots(board, "board-offline");
        // While everything is down, the patient is sent to another room (straight in the DB).
        await sql`update public.queue_tickets set room = 'Room 5' where code = ${ticketCode}`;
        await service!.start();
        const up = Date.now();
        await board.locator(".board-app[data-link=live]").waitFor({ timeout: 60_000 });
        await board.waitForFunction(() => !document.querySelector(".stale"), null, {
          timeout: WAIT,
        });
        console.log(`  board live again ${Date.now() - up} ms after the server was back`);
        // The console resynced by itself too (no reload): it shows the change made while down.
        await staff.getByRole("row", { name: new RegExp(`${ticketCode}.*Room 5`) })
          .waitFor({ timeout: WAIT });
        await board.locator(".room", { hasText: "Room 5" }).filter({ hasText: ticketCode })
          .waitFor({ timeout: WAIT });
        // Live again: walk-ins registered after the restart show up, a call flashes.
        for (let i = 0; i < 3; i++) {
          await staff.getByRole("button", { name: "Issue walk-in ticket" }).click({
            timeout: WAIT,
          });
          await staff.getByText(new RegExp(`Walk-in registered: ticket W00${i + 1}`))
            .waitFor({ timeout: WAIT });
        }
        const walkIn = "W001";
        await board.locator(".next-codes li", { hasText: walkIn }).waitFor({ timeout: WAIT });
        await staff.getByLabel("Room", { exact: true }).fill("Room 2");
        await staff.getByTestId("call-next").click();
        await board.locator(".flash .flash-code", { hasText: walkIn }).waitFor({ timeout: WAIT });
        await board.locator(".room", { hasText: walkIn }).waitFor({ timeout: WAIT });
        await board.locator(".flash").waitFor({ state: "detached", timeout: WAIT });
        await shots(board, "board");
        await shots(staff, "staff-live");
      });

      await step("a second patient never sees the first patient's data", async () => {
        // Another phone, another patient, following their own (empty) visit live.
        const other = await browser!.newContext({ viewport: PHONE, serviceWorkers: "block" });
        const second = await other.newPage();
        watch(second, "second", errors);
        const two = { name: "Ben Tay", email: `ben.${Date.now()}@example.com` };
        await signUp(second, base, two);
        await second.goto(`${base}/visit`);
        await second.getByText("You have no appointment today.").waitFor({ timeout: WAIT });
        // Staff starts the first patient's consultation: only the first patient's page reacts.
        await staff.getByRole("button", { name: `Start ${ticketCode}` }).click({ timeout: WAIT });
        await patient.getByText("You are with the doctor in Room 5").waitFor({ timeout: WAIT });
        await second.waitForTimeout(1500);
        for (const page of ["/visit", "/appointments", "/notifications", "/"]) {
          await second.goto(`${base}${page}`);
          await second.waitForLoadState("networkidle");
          const text = await second.locator("body").innerText();
          for (const secret of [ticketCode, appointmentNumber, first.name, "Persistent cough"]) {
            assert.ok(!text.includes(secret), `${page} must not show "${secret}"`);
          }
        }
        // The second patient books, reschedules and cancels (their own data only).
        await second.goto(`${base}/book`);
        await second.locator(".chip").nth(1).click();
        await second.locator("button.slot").first().click({ timeout: WAIT });
        await second.getByRole("button", { name: "Confirm booking" }).click();
        await second.getByRole("heading", { name: "You're booked" }).waitFor({ timeout: WAIT });
        const bookedAt = await second.locator(".appointment .when").textContent();
        await second.getByRole("link", { name: /^Reschedule/ }).click();
        await second.getByRole("heading", { name: "Reschedule appointment" }).waitFor();
        await second.locator(".chip").nth(2).click();
        await second.locator("button.slot").nth(2).click({ timeout: WAIT });
        await second.getByRole("button", { name: "Move appointment" }).click();
        await second.getByRole("heading", { name: "Appointment moved" }).waitFor({
          timeout: WAIT,
        });
        const movedTo = await second.locator(".appointment .when").textContent();
        assert.notEqual(movedTo, bookedAt);
        await second.goto(`${base}/appointments`);
        await second.getByRole("button", { name: /^Cancel/ }).first().click({ timeout: WAIT });
        await second.getByRole("button", { name: "Yes, cancel it" }).click();
        await second.getByText(/Appointment GFC-TP-\d{6}-\d{3} cancelled\./).waitFor({
          timeout: WAIT,
        });
        await second.locator("section[aria-labelledby=past] .status", { hasText: "Cancelled" })
          .first().waitFor({ timeout: WAIT });
        await other.close();

        // Same phone: the first patient signs out, the second signs in — nothing carries over.
        await patient.goto(`${base}/`);
        await patient.getByRole("button", { name: "Sign out" }).click();
        await patient.getByRole("link", { name: "Log in" }).first().click();
        await patient.getByLabel("Email").fill(two.email);
        await patient.getByLabel("Password").fill("Correct-Horse-9");
        await patient.getByRole("button", { name: "Log in" }).click();
        await patient.getByRole("heading", { name: "Hello, Ben Tay" }).waitFor({ timeout: WAIT });
        for (const page of ["/", "/visit", "/appointments", "/notifications"]) {
          await patient.goto(`${base}${page}`);
          await patient.waitForLoadState("networkidle");
          const text = await patient.locator("body").innerText();
          for (const secret of [ticketCode, appointmentNumber, first.name]) {
            assert.ok(!text.includes(secret), `${page} after switching users shows "${secret}"`);
          }
        }
      });

      await step(
        "front desk: walk-ins for a patient found by search and a new patient",
        async () => {
          await staff.getByLabel("Patient", { exact: true }).selectOption("find");
          await staff.getByLabel("Name, patient number or phone", { exact: true }).fill(
            "9000 0003",
          );
          await staff.getByRole("radio", { name: /Lim Mei Ling/ }).check({ timeout: WAIT });
          await shots(staff, "staff-walkin-find");
          await staff.getByRole("button", { name: "Issue walk-in ticket" }).click();
          await staff.getByText(/Walk-in registered: ticket W\d{3} for Lim Mei Ling\./)
            .waitFor({ timeout: WAIT });
          await staff.getByRole("row", { name: /W\d{3}.*Lim Mei Ling/ }).waitFor({ timeout: WAIT });

          await staff.getByLabel("Patient", { exact: true }).selectOption("new");
          await staff.getByLabel("Full name").fill("Walk In Wong");
          await staff.getByLabel("Date of birth").fill("1962-05-17");
          await staff.getByLabel("Gender").selectOption("male");
          await shots(staff, "staff-walkin-new");
          await staff.getByRole("button", { name: "Issue walk-in ticket" }).click();
          await staff.getByText(/Walk-in registered: ticket W\d{3} for Walk In Wong\./)
            .waitFor({ timeout: WAIT });
          await staff.getByRole("row", { name: /W\d{3}.*Walk In Wong/ }).waitFor({ timeout: WAIT });
          const [row] = await sql`
          select patient_number from public.patients where full_name = 'Walk In Wong'`;
          assert.match(row.patient_number, /^TP-P-\d{6}$/);
        },
      );

      await step("patient app: pick a clinic from the list", async () => {
        const ctx = await browser!.newContext({ viewport: PHONE, serviceWorkers: "block" });
        const page = await ctx.newPage();
        watch(page, "picker", errors);
        await page.goto(`${base}/signup`);
        const pick = page.getByRole("button", { name: /Gabriel Family Clinic · Bedok/ });
        await pick.waitFor({ timeout: WAIT });
        await shots(page, "signup-pick-clinic");
        await pick.click();
        assert.equal(await page.getByLabel("Clinic code").inputValue(), "GFC-BD");
        assert.equal(await page.getByText("Or pick your clinic:").count(), 0, "chosen");
        await ctx.close();
      });

      await step(
        "PWA: service worker caches the shell, works offline, never caches the API",
        async () => {
          const ctx = await browser!.newContext({ viewport: PHONE });
          const page = await ctx.newPage();
          watch(page, "pwa", errors);
          await page.goto(`${base}/`);
          const manifest = await page.locator("link[rel=manifest]").getAttribute("href");
          assert.equal(manifest, "/manifest.webmanifest");
          await page.evaluate(async () => {
            await navigator.serviceWorker.ready;
          });
          await page.reload(); // now controlled by the worker
          await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
          await ctx.setOffline(true);
          await page.reload();
          await page.getByRole("heading", { name: /skip the waiting room/ }).waitFor({
            timeout: WAIT,
          });
          await page.goto(`${base}/board/GFC-TP`);
          await page.getByRole("heading", { name: "Queue board GFC-TP" }).waitFor({
            timeout: WAIT,
          });
          const api = await page.evaluate(() =>
            fetch("/api/health").then((r) => `status ${r.status}`, () => "network error")
          );
          assert.equal(api, "network error", "offline, the API is not answered from a cache");
          const cached = await page.evaluate(async () => {
            const urls: string[] = [];
            for (const key of await caches.keys()) {
              for (const req of await (await caches.open(key)).keys()) urls.push(req.url);
            }
            return urls;
          });
          assert.ok(cached.some((u) => u.endsWith("/index.html")), "the shell is cached");
          assert.ok(!cached.some((u) => u.includes("/api/")), "no API response is cached");
          await ctx.close();
        },
      );

      await step("no uncaught errors in any page", () => {
        assert.deepEqual(errors, []);
      });

      await step("accessibility: no serious or critical axe-core (WCAG 2.1 AA) findings", () => {
        assert.deepEqual(findings, []);
      });

      await desk.close();
      await tvContext.close();
      await phone.close();
    }, evidence);
  },
});
