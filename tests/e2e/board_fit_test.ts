/**
 * The TV board with a full day's data, in headless Chromium against `edge/start.ts`: six rooms
 * with long names, a long waiting line and many calls, at 1280×720, 1920×1080 and 3840×2160,
 * live and with the offline marker. The page never scrolls, and the clock, every Next tile,
 * every room and "Enable sound" are inside the screen. The header names the branch; the
 * booking screen names it before a time is picked; the browser gets the assets in brotli.
 * Screenshots (`board-busy-*`) go to `tests/.artifacts/screenshots/`.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { PHONE } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";
import type { TestDatabase } from "../support/db.ts";
import { CLINIC_A } from "../support/demo.ts";
import { COMPRESS_MIN_BYTES } from "../../web/build.ts";

const SHOTS = new URL("../.artifacts/screenshots/", import.meta.url).pathname;
const WAIT = 20_000;

const SIZES = [
  { name: "720p", width: 1280, height: 720 },
  { name: "tv", width: 1920, height: 1080 },
  { name: "4k", width: 3840, height: 2160 },
] as const;

/** Room names as long as the database allows (40 characters). */
const ROOMS = [
  "Consultation Room 1 (Paediatrics Wing)",
  "Consultation Room 2 — Women's Health",
  "Consultation Room 3 (Chronic Care Desk)",
  "Consultation Room 4 — Travel Vaccines",
  "Consultation Room 5 (Minor Procedures)",
  "Consultation Room 6 — Physiotherapy",
];

/** Today at the clinic: six rooms busy, 14 earlier calls done, 30 people waiting. */
async function fullDay(sql: TestDatabase["sql"]): Promise<void> {
  await sql`
    with day as (select private.clinic_today(${CLINIC_A}::uuid) as d)
    insert into public.queue_tickets
      (clinic_id, service_date, code, kind, status, room, checked_in_at, called_at)
    select ${CLINIC_A}::uuid, day.d, format('W%s', 1000 + n), 'walk_in', 'completed',
      (${ROOMS}::text[])[1 + n % 6], now() - interval '4 hours' + n * interval '5 minutes',
      now() - interval '3 hours' + n * interval '5 minutes'
    from day, generate_series(1, 14) as n`;
  await sql`
    with day as (select private.clinic_today(${CLINIC_A}::uuid) as d)
    insert into public.queue_tickets
      (clinic_id, service_date, code, kind, status, room, checked_in_at, called_at)
    select ${CLINIC_A}::uuid, day.d, format('W%s', 1100 + n), 'walk_in',
      (case when n % 2 = 0 then 'serving' else 'called' end)::public.ticket_status,
      (${ROOMS}::text[])[n], now() - interval '2 hours' + n * interval '1 minute',
      now() - interval '30 minutes' + n * interval '2 minutes'
    from day, generate_series(1, 6) as n`;
  await sql`
    with day as (select private.clinic_today(${CLINIC_A}::uuid) as d)
    insert into public.queue_tickets (clinic_id, service_date, code, kind, checked_in_at)
    select ${CLINIC_A}::uuid, day.d, format('W%s', 1200 + n), 'walk_in',
      now() - interval '1 hour' + n * interval '1 minute'
    from day, generate_series(1, 30) as n`;
}

interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

interface Fit {
  width: number;
  height: number;
  scrollWidth: number;
  scrollHeight: number;
  recentShown: number;
  newestWhole: boolean;
  boxes: Record<string, Box[]>;
}

/** The page's scroll size and where the things a person must see are. */
function measure(page: Page): Promise<Fit> {
  return page.evaluate(() => {
    const boxes = (selector: string) =>
      [...document.querySelectorAll(selector)].map((e) => {
        const r = e.getBoundingClientRect();
        return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
      });
    const root = document.scrollingElement ?? document.documentElement;
    // Recent calls that do not fit the footer's two lines are left out (clipped by the list).
    const list = document.querySelector(".recent")?.getBoundingClientRect();
    const shown = [...document.querySelectorAll<HTMLElement>(".recent li:not(.label)")].filter(
      (e) => list && e.getBoundingClientRect().bottom <= list.bottom,
    );
    return {
      width: innerWidth,
      height: innerHeight,
      scrollWidth: Math.max(root.scrollWidth, document.body.scrollWidth),
      scrollHeight: Math.max(root.scrollHeight, document.body.scrollHeight),
      recentShown: shown.length,
      newestWhole: shown.length > 0 && shown[0].scrollWidth <= shown[0].clientWidth,
      boxes: {
        header: boxes(".board-head h1"),
        clock: boxes(".board-clock"),
        "room tile": boxes(".room"),
        "Next tile": boxes(".next-codes li"),
        "recent call": boxes(".recent li:not(.label)").slice(0, shown.length),
        "Enable sound": boxes(".sound-btn"),
        "offline marker": boxes(".stale"),
      },
    };
  });
}

function assertFits(fit: Fit, label: string, expect: Record<string, number>): void {
  assert.ok(
    fit.scrollWidth <= fit.width && fit.scrollHeight <= fit.height,
    `${label}: the page is ${fit.scrollWidth}×${fit.scrollHeight} in a ${fit.width}×${fit.height} screen`,
  );
  assert.ok(fit.recentShown >= 1 && fit.newestWhole, `${label}: the newest call is shown whole`);
  for (const [what, count] of Object.entries({ ...expect, "recent call": fit.recentShown })) {
    const list = fit.boxes[what];
    assert.equal(list.length, count, `${label}: ${count} × ${what}`);
    for (const b of list) {
      const inside = b.left >= 0 && b.top >= 0 && b.right <= fit.width &&
        b.bottom <= fit.height && b.right > b.left && b.bottom > b.top;
      assert.ok(inside, `${label}: a ${what} is outside the screen: ${JSON.stringify(b)}`);
    }
  }
}

/** At every size: it fits, with every tile and control shown; a screenshot of each. */
async function fitsEverySize(page: Page, offline: boolean): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    const name = `${offline ? "offline " : ""}${size.name}`;
    assertFits(await measure(page), name, {
      header: 1,
      clock: 1,
      "room tile": 6,
      "Next tile": 6,
      "Enable sound": 1,
      "offline marker": offline ? 1 : 0,
    });
    await shot(page, `board-busy-${name.replace(" ", "-")}`);
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png`, caret: "hide", animations: "disabled" });
}

/** The response headers of a raw HTTP/1.1 request (what the server sends, undecoded). */
async function rawHeaders(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(16_384);
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text.slice(0, text.indexOf("\r\n\r\n")).toLowerCase();
  } finally {
    conn.close();
  }
}

Deno.test("the TV board fits 720p to 4K with a full day's data, live and offline", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "staff.koh@demo.com", password: "Demo123!" }),
    });
    assert.equal(login.status, 200);
    const { access_token } = await login.json();
    const issued = await fetch(`${base}/api/clinics/GFC-TP/board-tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ label: "Waiting room TV" }),
    });
    assert.equal(issued.status, 201);
    const { token } = await issued.json();
    await fullDay(service.db.sql);

    const tv = await browser.newContext({ viewport: SIZES[1], serviceWorkers: "block" });
    const board = await tv.newPage();
    board.on("pageerror", (e) => errors.push(e.message));
    const encodings = new Map<string, string>();
    board.on("response", async (res) => {
      if (!new URL(res.url()).pathname.startsWith("/assets/")) return;
      const accept = (await res.request().allHeaders())["accept-encoding"] ?? "";
      const encoding = res.headers()["content-encoding"] ?? "identity";
      // The build precompresses files of COMPRESS_MIN_BYTES or more (esbuild's runtime chunk is less).
      const size = Number(res.headers()["content-length"]);
      if (encoding === "identity" && size < COMPRESS_MIN_BYTES) return;
      encodings.set(res.url(), `${accept} → ${encoding}`);
    });
    await board.goto(`${base}/board/GFC-TP#token=${token}`);
    await board.locator(".board-app[data-link=live]").waitFor({ timeout: WAIT });
    await board.locator(".room").nth(5).waitFor({ timeout: WAIT });

    await t.step("the header names the clinic and its branch", async () => {
      assert.equal(
        await board.locator(".board-head h1").innerText(),
        "Gabriel Family Clinic · Tampines",
      );
    });

    await t.step("live: the whole board fits at every size", () => fitsEverySize(board, false));

    await t.step("the browser gets the board's files in brotli", () => {
      assert.ok(encodings.size >= 2, `assets seen: ${[...encodings.keys()]}`);
      for (const [url, seen] of encodings) {
        assert.match(seen, /\bbr\b.* → br$/, `${url}: ${seen}`);
      }
    });

    await t.step("HEAD through the server: the encoded length, no body", async () => {
      const script = [...encodings.keys()].find((u) => u.endsWith(".js"))!;
      const path = new URL(script).pathname;
      const head = await rawHeaders(
        service.port,
        `HEAD ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept-encoding: br\r\nconnection: close\r\n\r\n`,
      );
      assert.match(head, /^http\/1\.1 200/);
      assert.match(head, /\r\ncontent-encoding: br\r\n/);
      assert.match(head, /\r\nvary: accept-encoding\r\n/);
      assert.match(head, /\r\ncache-control: public, max-age=31536000, immutable\r\n/);
      const length = Number(head.match(/\r\ncontent-length: (\d+)/)?.[1]);
      const get = await fetch(`${base}${path}`, { headers: { "accept-encoding": "br" } });
      const body = await get.arrayBuffer();
      assert.ok(length > 0 && length < body.byteLength, `${length} encoded < ${body.byteLength}`);
    });

    await t.step("offline: the marker shows and the whole board still fits", async () => {
      await service.stop();
      try {
        await board.locator(".stale", { hasText: "Offline since" }).waitFor({ timeout: WAIT });
        await fitsEverySize(board, true);
      } finally {
        await service.start();
      }
    });

    await t.step("a call to a long-named room flashes whole, on screen", async () => {
      await board.locator(".board-app[data-link=live]").waitFor({ timeout: 60_000 });
      await service.db.sql`
        update public.queue_tickets
        set status = 'called', called_at = now(), room = ${ROOMS[4]}
        where code = 'W1201' and clinic_id = ${CLINIC_A}`;
      const room = board.locator(".flash .flash-room");
      await room.waitFor({ timeout: WAIT });
      assert.equal(await room.innerText(), `Please go to ${ROOMS[4]}`);
      for (const size of SIZES) {
        await board.setViewportSize(size);
        const fit = await board.evaluate(() => {
          const el = document.querySelector(".flash-room")!;
          const r = el.getBoundingClientRect();
          const root = document.scrollingElement ?? document.documentElement;
          return el.scrollWidth <= el.clientWidth && r.left >= 0 && r.right <= innerWidth &&
            r.top >= 0 && r.bottom <= innerHeight &&
            root.scrollWidth <= innerWidth && root.scrollHeight <= innerHeight;
        });
        assert.ok(fit, `the flash fits at ${size.name}, the room name not cut`);
      }
      await shot(board, "board-busy-call-4k");
    });

    await t.step("no uncaught errors on the board", () => {
      assert.deepEqual(errors, []);
    });
    await tv.close();

    await t.step("booking names the branch before a time is picked", async () => {
      const phone = await browser.newContext({ viewport: PHONE, serviceWorkers: "block" });
      const page = await phone.newPage();
      await page.goto(`${base}/login`);
      await page.getByLabel("Email").fill("patient.lim@demo.com");
      await page.getByLabel("Password").fill("Demo123!");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL((url) => url.pathname !== "/login", { timeout: WAIT });
      await page.goto(`${base}/book`);
      const clinic = (name: string) => page.locator("p.muted", { hasText: name });
      await clinic("Gabriel Family Clinic · Tampines").waitFor({ timeout: WAIT });
      await page.getByRole("button", { name: "Change clinic" }).click();
      await page.getByRole("button", { name: "Gabriel Family Clinic · Bedok" }).click();
      await clinic("Gabriel Family Clinic · Bedok").waitFor({ timeout: WAIT });
      await phone.close();
    });
  });
});
