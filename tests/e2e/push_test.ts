/**
 * Web push in headless Chromium against `edge/start.ts`: a push delivered to the PWA's service
 * worker through the DevTools protocol (`ServiceWorker.deliverPushMessage`, as a push service's
 * message arrives) shows the notification with the payload's texts and tag, and a click on it
 * opens its screen ("my visit" for a queue call, the appointment for a booking) in the open app.
 * "Tell me when I'm called" is offered after a booking without asking anything on page load,
 * and asks for permission only when tapped.
 *
 * The click is dispatched in the service worker as a `notificationclick` with the shown
 * notification (no protocol clicks a system notification). No test here lets the browser
 * subscribe: Chromium's push service is on the internet.
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page, Worker } from "playwright-core";
import { addAppointment } from "../support/clinic.ts";
import { audit } from "./a11y.ts";
import { PHONE } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const SHOTS = new URL("../.artifacts/screenshots/", import.meta.url).pathname;

async function logIn(page: Page, base: string) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill("patient.lim@demo.com");
  await page.getByLabel("Password").fill("Demo123!");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("link", { name: "Inbox" }).waitFor({ timeout: WAIT });
}

/** The app's service worker, active and controlling `page`. */
async function serviceWorker(context: BrowserContext, page: Page): Promise<Worker> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) =>
        navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true })
      );
    }
  });
  return context.serviceWorkers()[0] ??
    await context.waitForEvent("serviceworker", { timeout: WAIT });
}

/** The service worker's global scope, as far as these tests use it (lib "dom" lacks it). */
type WorkerScope = EventTarget & {
  registration: ServiceWorkerRegistration;
  NotificationEvent: new (type: string, init: { notification: Notification }) => Event;
};

interface Shown {
  title: string;
  body: string;
  tag: string;
  data: { url?: string } | null;
}

/** The notifications the service worker shows now. */
function shown(worker: Worker): Promise<Shown[]> {
  return worker.evaluate(async () => {
    const scope = self as unknown as WorkerScope;
    return (await scope.registration.getNotifications()).map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      data: n.data,
    }));
  });
}

Deno.test("web push: the service worker shows a push and a click opens its screen", async () => {
  await withServiceAndBrowser(async (service, browser) => {
    const appointment = await addAppointment(service.db.sql, { startMin: 2 * 24 * 60 });
    const context = await browser.newContext({ baseURL: service.url });
    await context.grantPermissions(["notifications"], { origin: service.url });
    const page = await context.newPage();
    await logIn(page, service.url);
    const worker = await serviceWorker(context, page);

    const cdp = await context.newCDPSession(page);
    const registration = new Promise<string>((resolve) =>
      cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
        const ours = registrations.find((r) => r.scopeURL === `${service.url}/` && !r.isDeleted);
        if (ours) resolve(ours.registrationId);
      })
    );
    await cdp.send("ServiceWorker.enable");
    const registrationId = await registration;
    const deliver = (payload: unknown) =>
      cdp.send("ServiceWorker.deliverPushMessage", {
        origin: service.url,
        registrationId,
        data: JSON.stringify(payload),
      });
    const click = (tag: string) =>
      worker.evaluate(async (tag) => {
        const scope = self as unknown as WorkerScope;
        const [notification] = await scope.registration.getNotifications({ tag });
        scope.dispatchEvent(new scope.NotificationEvent("notificationclick", { notification }));
      }, tag);
    const waitShown = async (tag: string, body?: string) => {
      for (const end = Date.now() + WAIT; Date.now() < end;) {
        const found = (await shown(worker)).find((n) =>
          n.tag === tag && (body === undefined || n.body === body)
        );
        if (found) return found;
        await page.waitForTimeout(50);
      }
      throw new Error(`notification ${tag} never shown: ${JSON.stringify(await shown(worker))}`);
    };

    const call = {
      title: "Ticket A012: please go to Room 3",
      body: "It is your turn: please go to Room 3 now.",
      url: "/visit",
      tag: crypto.randomUUID(),
    };
    await deliver(call);
    assert.deepEqual(await waitShown(call.tag), {
      title: call.title,
      body: call.body,
      tag: call.tag,
      data: { url: "/visit" },
    });

    await deliver({ ...call, body: "A repeated push of the same delivery" });
    await waitShown(call.tag, "A repeated push of the same delivery");
    const same = (await shown(worker)).filter((n) => n.tag === call.tag);
    assert.equal(same.length, 1, "the same tag replaces, never adds");

    await click(call.tag);
    await page.waitForURL(`${service.url}/visit`, { timeout: WAIT });
    await page.getByRole("heading", { name: "My visit" }).waitFor({ timeout: WAIT });
    assert.ok(
      !(await shown(worker)).some((n) => n.tag === call.tag),
      "the clicked notification is closed",
    );

    const reminder = {
      title: "Appointment reminder",
      body: "Reminder: your appointment is tomorrow.",
      url: `/appointments/${appointment}`,
      tag: crypto.randomUUID(),
    };
    await deliver(reminder);
    await waitShown(reminder.tag);
    await click(reminder.tag);
    await page.waitForURL(`${service.url}/appointments/${appointment}`, { timeout: WAIT });
    await page.getByRole("heading", { name: "Appointment", exact: true }).waitFor({
      timeout: WAIT,
    });

    const elsewhere = { ...reminder, url: "https://elsewhere.example/phish", tag: "x" };
    await deliver(elsewhere);
    assert.deepEqual((await waitShown("x")).data, { url: "/notifications" }, "own origin only");
    await context.close();
  });
});

Deno.test("web push: 'Tell me when I'm called' asks only when tapped", async () => {
  await withServiceAndBrowser(async (service, browser) => {
    const appointment = await addAppointment(service.db.sql, { startMin: 2 * 24 * 60 });
    const context = await browser.newContext({ baseURL: service.url });
    const page = await context.newPage();
    await logIn(page, service.url);
    await page.goto(`${service.url}/appointments/${appointment}?booked=1`);
    const offer = page.getByRole("button", { name: "Tell me when I'm called" });
    await offer.waitFor({ timeout: WAIT });
    await Deno.mkdir(SHOTS, { recursive: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: `${SHOTS}push-prompt-phone.png`, animations: "disabled" });
    assert.deepEqual(await audit(page), [], "axe: no serious or critical finding");
    assert.equal(
      await page.evaluate(() => Notification.permission),
      "default",
      "nothing is asked on page load",
    );

    // The user says no to the browser's prompt.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Browser.setPermission", {
      permission: { name: "notifications" },
      setting: "denied",
      origin: service.url,
    });
    await offer.click();
    await page.getByText("Notifications are blocked for this site").waitFor({ timeout: WAIT });
    await context.close();
  });
});
