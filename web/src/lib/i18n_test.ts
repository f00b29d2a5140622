import assert from "node:assert/strict";
import { catalogs as app } from "../app/messages.ts";
import { boardLangs, catalogs as board } from "../board/messages.ts";
import { catalogs as staff } from "../staff/messages.ts";
import { longDate, minutesLabel, timeIn } from "./format.ts";
import { asLang, type Catalogs, lang, LANGS, placeholders, translator } from "./i18n.ts";
import { catalogs as lib, t } from "./messages.ts";

const ALL: Record<string, Catalogs<string>> = { lib, app, board, staff };

Deno.test("every catalog has every key of English, with the same placeholders", async (t) => {
  for (const [name, catalogs] of Object.entries(ALL)) {
    const en = await catalogs.en();
    for (const l of LANGS) {
      const messages = await catalogs[l]();
      await t.step(`${name} · ${l}`, () => {
        assert.deepEqual(Object.keys(messages).sort(), Object.keys(en).sort());
        for (const [key, english] of Object.entries(en)) {
          const text = messages[key];
          assert.ok(text.trim(), `${name}.${l}.${key} is empty`);
          assert.deepEqual(
            placeholders(text),
            placeholders(english),
            `${name}.${l}.${key}: ${JSON.stringify(text)} vs ${JSON.stringify(english)}`,
          );
        }
      });
    }
    await t.step(`${name} · every singular has its plural`, () => {
      for (const key of Object.keys(en)) {
        if (key.endsWith(".one")) assert.ok(key.replace(/one$/, "other") in en, key);
      }
    });
  }
});

Deno.test("t: placeholders, numbers in the language, plurals, English as the fallback", async () => {
  type K = "hi" | "n.one" | "n.other" | "only";
  const en = {
    hi: "Hi {name}, {count} new",
    "n.one": "{n} person",
    "n.other": "{n} people",
    only: "x",
  };
  const zh = { hi: "{name}，{count} 条新消息", "n.one": "{n} 人", "n.other": "{n} 人", only: "" };
  const ms = { hi: "Hai {name}", "n.one": "{n} orang", "n.other": "{n} orang", only: "y" };
  const ta = { hi: "வணக்கம் {name}", "n.one": "{n} நபர்", "n.other": "{n} நபர்கள்", only: "z" };
  let loads = 0;
  const later = (m: Record<K, string>) => () => (loads++, Promise.resolve(m));
  const t = translator<K>(en, { en: later(en), zh: later(zh), ms: later(ms), ta: later(ta) });
  assert.equal(t("hi", { name: "Mei", count: 3 }, "zh"), "Hi Mei, 3 new", "English until loaded");
  await t.load("zh");
  await t.load("ta");
  assert.equal(loads, 2, "each language is loaded once, English never");
  assert.equal(t("hi", { name: "Mei", count: 1234 }, "en"), "Hi Mei, 1,234 new");
  assert.equal(t("hi", { name: "Mei", count: 3 }, "zh"), "Mei，3 条新消息");
  assert.equal(t.plural("n", 1, {}, "en"), "1 person");
  assert.equal(t.plural("n", 2, {}, "en"), "2 people");
  assert.equal(t.plural("n", 1, {}, "ta"), "1 நபர்");
  assert.equal(t.plural("n", 5, {}, "ta"), "5 நபர்கள்");
  assert.equal(t.plural("n", 1, {}, "zh"), "1 人", "no singular in Chinese");
  assert.equal(t("only", undefined, "zh"), "x", "an empty message falls back to English");
  assert.equal(lang.value, "en", "outside a browser the language is English");
  assert.equal(t("only"), "x");
});

Deno.test("language codes: stored codes and browser tags", () => {
  assert.equal(asLang("zh-CN"), "zh");
  assert.equal(asLang("zh-Hans-SG"), "zh");
  assert.equal(asLang("ms_MY"), "ms");
  assert.equal(asLang("ta"), "ta");
  assert.equal(asLang("EN-gb"), "en");
  assert.equal(asLang("fr"), null);
  assert.equal(asLang(null), null);
});

Deno.test("dates and waits in the chosen language keep clinic time", async () => {
  const at = "2026-11-23T23:30:00Z"; // already Tuesday morning in Singapore
  await Promise.all((["zh", "ms", "ta"] as const).map((l) => t.load(l)));
  try {
    lang.value = "zh";
    assert.equal(longDate(at, "Asia/Singapore"), "2026年11月24日星期二");
    assert.equal(timeIn(at, "Asia/Singapore"), "07:30");
    assert.equal(minutesLabel(80), "约 1 小时 20 分钟");
    lang.value = "ms";
    assert.equal(longDate(at, "Asia/Singapore"), "Selasa, 24 November 2026");
    lang.value = "ta";
    assert.match(longDate(at, "Asia/Singapore"), /செவ்வாய்.*24.*நவம்பர்.*2026/);
  } finally {
    lang.value = "en";
  }
  assert.equal(longDate(at, "Asia/Singapore"), "Tuesday, 24 November 2026");
});

Deno.test("the board's languages come from ?lang (two at most, known codes)", () => {
  assert.deepEqual(boardLangs("?lang=en,zh", "ta"), ["en", "zh"]);
  assert.deepEqual(boardLangs("?lang=zh-CN,ms,ta", "en"), ["zh", "ms"]);
  assert.deepEqual(boardLangs("?lang=fr,ta,ta", "en"), ["ta"]);
  assert.deepEqual(boardLangs("?lang=", "ms"), ["ms"]);
  assert.deepEqual(boardLangs("?debug", "en"), ["en"]);
});
