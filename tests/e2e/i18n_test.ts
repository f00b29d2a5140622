/**
 * The PWA in the patient's language (issue #15), in headless Chromium against `edge/start.ts`:
 * sign-up asks consent per channel with nothing ticked; the profile switches to 简体中文 and
 * changes a consent (both kept by the API, with their history); the app then speaks Chinese —
 * headings, navigation, dates through Intl — and keeps the account's language on another device;
 * a signed-out visitor gets the browser's language; a TV board shows two languages side by side.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { audit } from "./a11y.ts";
import { PHONE, TV } from "./browser.ts";
import { withServiceAndBrowser } from "./service.ts";

const WAIT = 20_000;
const PASSWORD = "Correct-Horse-9";
const EMAIL = "mei.ling.i18n@example.com";

async function post(base: string, path: string, body: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const checked = (page: Page, label: string) => page.getByLabel(label, { exact: true }).isChecked();

Deno.test("the PWA in 简体中文 and a board in two languages (issue #15)", async (t) => {
  const errors: string[] = [];
  await withServiceAndBrowser(async (service, browser) => {
    const base = service.url;
    const sql = service.db.sql;
    /** A phone whose browser prefers `locale`. */
    const newPhone = async (locale: string) => {
      const context = await browser.newContext({
        viewport: PHONE,
        locale,
        serviceWorkers: "block",
      });
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      return { context, page };
    };
    const { context: phone, page } = await newPhone("en-SG");

    await t.step("sign-up asks per channel, nothing ticked, SMS only with a phone", async () => {
      await page.goto(`${base}/c/GFC-TP`);
      await page.getByRole("heading", { name: "Create your account" }).waitFor({ timeout: WAIT });
      for (const channel of ["By e-mail", "By SMS", "By WhatsApp"]) {
        assert.equal(await checked(page, channel), false, `${channel} is not pre-ticked`);
      }
      await page.getByLabel("Full name").fill("Lim Mei Ling");
      await page.getByLabel("Email", { exact: true }).fill(EMAIL);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Date of birth").fill("1990-02-03");
      await page.getByLabel("Gender").selectOption("female");
      await page.getByLabel("By SMS", { exact: true }).check();
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByText("Enter your mobile number to be told by SMS or WhatsApp.")
        .waitFor({ timeout: WAIT });
      await page.getByLabel("Mobile phone (optional)").fill("+65 9123 4567");
      await page.getByLabel("By e-mail", { exact: true }).check();
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByRole("heading", { name: "Book an appointment" }).waitFor({ timeout: WAIT });
      const [p] = await sql<
        { email_consent: boolean; sms_consent: boolean; whatsapp_consent: boolean }[]
      >`select p.email_consent, p.sms_consent, p.whatsapp_consent
        from public.patients p join public.users u on u.id = p.user_id where u.email = ${EMAIL}`;
      assert.deepEqual(
        { ...p },
        { email_consent: true, sms_consent: true, whatsapp_consent: false },
      );
      const history = await sql<{ channel: string; granted: boolean; source: string }[]>`
        select h.channel, h.granted, h.source from public.consent_history h
        join public.patients p on p.id = h.patient_id join public.users u on u.id = p.user_id
        where u.email = ${EMAIL} and h.granted order by h.channel`;
      assert.deepEqual(history.map((h) => `${h.channel}:${h.source}`), [
        "email:signup",
        "sms:signup",
      ]);
    });

    await t.step("the profile switches to 简体中文 and withdraws SMS", async () => {
      await page.getByRole("link", { name: "Profile" }).click();
      await page.getByRole("heading", { name: "Profile" }).waitFor({ timeout: WAIT });
      assert.equal(await checked(page, "By e-mail"), true);
      assert.equal(await checked(page, "By SMS"), true);
      assert.equal(await checked(page, "By WhatsApp"), false);
      await page.getByLabel("Language").selectOption("zh");
      await page.getByLabel("By SMS", { exact: true }).uncheck();
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("heading", { name: "个人资料" }).waitFor({ timeout: WAIT });
      await page.getByText("已保存。").waitFor({ timeout: WAIT });
      await page.getByRole("link", { name: "首页" }).waitFor();
      assert.equal(await checked(page, "短信"), false);
      assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-Hans-SG");
      const [row] = await sql<{ language: string; preferred: string; sms: boolean }[]>`
        select u.language, p.preferred_language as preferred, p.sms_consent as sms
        from public.users u join public.patients p on p.user_id = u.id where u.email = ${EMAIL}`;
      assert.deepEqual({ ...row }, { language: "zh", preferred: "zh", sms: false });
      const [last] = await sql<{ channel: string; granted: boolean; source: string }[]>`
        select h.channel, h.granted, h.source from public.consent_history h
        join public.patients p on p.id = h.patient_id join public.users u on u.id = p.user_id
        where u.email = ${EMAIL} order by h.changed_at desc, h.id desc limit 1`;
      assert.deepEqual({ ...last }, { channel: "sms", granted: false, source: "app" });
      assert.deepEqual(await audit(page), [], "the Chinese profile passes axe");
    });

    await t.step("booking speaks Chinese, dates through Intl", async () => {
      await page.getByRole("link", { name: "预约", exact: true }).click();
      await page.getByRole("heading", { name: "预约看诊" }).waitFor({ timeout: WAIT });
      const days = await page.locator(".chip").allInnerTexts();
      assert.ok(days.some((d) => /\d{1,2}月\d{1,2}日/.test(d)), `day chips: ${days}`);
      await page.locator("button.slot").first().click({ timeout: WAIT });
      await page.getByRole("heading", { name: "确认预约" }).waitFor({ timeout: WAIT });
      const summary = await page.locator(".card.summary").innerText();
      assert.match(summary, /\d{4}年\d{1,2}月\d{1,2}日星期[一二三四五六日]/, summary);
      await page.getByRole("button", { name: "确认预约" }).click();
      await page.getByRole("heading", { name: "预约成功" }).waitFor({ timeout: WAIT });
      await page.screenshot({ path: "tests/.artifacts/screenshots/i18n-zh-booked-phone.png" })
        .catch(() => {});
    });

    await t.step("another device signed in as the account speaks its language", async () => {
      const { context: other, page: second } = await newPhone("en-SG");
      try {
        await second.goto(`${base}/login`);
        await second.getByLabel("Email").fill(EMAIL);
        await second.getByLabel("Password").fill(PASSWORD);
        await second.getByRole("button", { name: "Log in" }).click();
        await second.getByRole("heading", { name: "您好，Lim Mei Ling" }).waitFor({
          timeout: WAIT,
        });
        await second.getByRole("heading", { name: "下一个预约" }).waitFor({ timeout: WAIT });
        const card = await second.locator(".card").last().innerText();
        assert.match(card, /\d{4}年\d{1,2}月\d{1,2}日星期/, card);
      } finally {
        await other.close();
      }
    });

    await t.step("signed out, the browser's language", async () => {
      const { context: visitor, page: welcome } = await newPhone("zh-CN");
      try {
        await welcome.goto(`${base}/`);
        await welcome.getByRole("heading", { name: "预约就诊，免去候诊室排队" })
          .waitFor({ timeout: WAIT });
      } finally {
        await visitor.close();
      }
    });

    await t.step(
      "the console speaks the staff member's language; walk-in SMS consent",
      async () => {
        await sql`update public.users set language = 'ms' where email = 'staff.koh@demo.com'`;
        const { context: desk, page: staff } = await newPhone("en-SG");
        try {
          await staff.setViewportSize({ width: 1280, height: 900 });
          await staff.goto(`${base}/staff`);
          await staff.getByLabel("Email").fill("staff.koh@demo.com");
          await staff.getByLabel("Password").fill("Demo123!");
          await staff.getByRole("button", { name: "Sign in" }).click();
          await staff.getByRole("heading", { name: /^Hari ini di / }).waitFor({ timeout: WAIT });
          await staff.locator("#walkin-who").selectOption("new");
          await staff.locator("#walkin-name").fill("Tan Ah Kow");
          await staff.locator("#walkin-dob").fill("1950-04-05");
          await staff.locator("#walkin-gender").selectOption("male");
          assert.equal(await staff.locator("#walkin-sms").isChecked(), false, "not pre-ticked");
          await staff.locator("#walkin-sms").check();
          await staff.getByRole("button", { name: "Keluarkan tiket" }).click();
          await staff.getByText("Tanpa temu janji: SMS memerlukan nombor telefon bimbit pesakit.")
            .waitFor({ timeout: WAIT });
          await staff.locator("#walkin-phone").fill("+65 9123 7777");
          await staff.getByRole("button", { name: "Keluarkan tiket" }).click();
          await staff.getByText(/^Pesakit didaftarkan: tiket \S+ untuk Tan Ah Kow\.$/)
            .waitFor({ timeout: WAIT });
          const rows = await sql<{ sms: boolean; phone: string; source: string }[]>`
          select p.sms_consent as sms, p.phone, h.source from public.patients p
          join public.consent_history h on h.patient_id = p.id and h.channel = 'sms'
          where p.full_name = 'Tan Ah Kow'`;
          assert.deepEqual(rows.map((r) => ({ ...r })), [
            { sms: true, phone: "+6591237777", source: "front_desk" },
          ]);
        } finally {
          await desk.close();
        }
      },
    );

    await t.step("a board in English and 简体中文, side by side, fits the TV", async () => {
      const { access_token } = await post(base, "/api/auth/login", {
        email: "staff.koh@demo.com",
        password: "Demo123!",
      });
      const { token } = await post(base, "/api/clinics/GFC-TP/board-tokens", {
        label: "Two languages",
      }, access_token);
      const tv = await browser.newContext({ viewport: TV, locale: "en-SG" });
      try {
        const board = await tv.newPage();
        board.on("pageerror", (e) => errors.push(e.message));
        await board.goto(`${base}/board/GFC-TP?lang=en,zh#token=${token}`);
        await board.locator(".board-app[data-link=live]").waitFor({ timeout: WAIT });
        await board.locator("#now-serving .alt").waitFor({ timeout: WAIT });
        assert.equal(await board.locator("#now-serving").innerText(), "NOW SERVING · 正在就诊");
        assert.equal(await board.locator("#now-serving .alt").getAttribute("lang"), "zh-Hans-SG");
        assert.equal(await board.evaluate(() => document.documentElement.lang), "en-SG");
        // Before a call: a fresh call's tile flashes (colours mid-animation are not the page's).
        assert.deepEqual(await audit(board), [], "the two-language board passes axe");

        await post(base, "/api/clinics/GFC-TP/queue/walk-ins", {}, access_token);
        await post(base, "/api/clinics/GFC-TP/queue/call-next", { room: "Room 3" }, access_token);
        const flash = board.locator(".flash-room");
        await flash.waitFor({ timeout: WAIT });
        assert.equal(await flash.innerText(), "Please go to Room 3\n请到 Room 3");
        const fits = await board.evaluate(() => {
          const e = document.documentElement;
          return e.scrollHeight <= innerHeight && e.scrollWidth <= innerWidth;
        });
        assert.ok(fits, "nothing scrolls");
        await board.screenshot({ path: "tests/.artifacts/screenshots/board-two-languages-tv.png" })
          .catch(() => {});
      } finally {
        await tv.close();
      }
    });

    await phone.close();
    assert.deepEqual(errors, [], "no page errors");
  });
});
