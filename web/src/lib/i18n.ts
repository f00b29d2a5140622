/**
 * The PWA's languages: a `lang` signal and `translator(catalogs)`, which makes a `t(key, vars)`
 * for one set of message catalogs (the patient app, the board and the staff console each bundle
 * only their own). `{name}` in a message is replaced by `vars.name` (numbers through
 * `Intl.NumberFormat` of the language); a key with `.one` / `.other` forms is picked by
 * `Intl.PluralRules`. No library: this is all the PWA needs, and the board has a size budget.
 *
 * The codes are those stored in users.language and patients.preferred_language.
 */
import { effect, signal } from "@preact/signals";

export const LANGS = ["en", "zh", "ms", "ta"] as const;
export type Lang = (typeof LANGS)[number];

/** Each language by its own name (what a language switch shows). */
export const LANG_NAMES: Record<Lang, string> = {
  en: "English",
  zh: "简体中文",
  ms: "Bahasa Melayu",
  ta: "தமிழ்",
};

/** The BCP 47 tag for `Intl` and `<html lang>` (the clinics are in Singapore). */
const INTL_LOCALES: Record<Lang, string> = {
  en: "en-SG",
  zh: "zh-Hans-SG",
  ms: "ms-SG",
  ta: "ta-SG",
};

/** A supported language for a stored code or a browser tag ("zh-CN", "ms-MY", "en"), or null. */
export function asLang(tag: string | null | undefined): Lang | null {
  const base = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return (LANGS as readonly string[]).includes(base ?? "") ? base as Lang : null;
}

/** The first of the browser's preferred languages that the PWA speaks, else English. */
export function browserLang(): Lang {
  // Outside a browser (unit tests) there is no user preference to follow.
  if (typeof document === "undefined") return "en";
  const tags = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of tags) {
    const lang = asLang(tag);
    if (lang) return lang;
  }
  return "en";
}

const CHOICE_KEY = "clinic.lang";

/** The language last chosen on this device (a switch, or the signed-in account's). */
function chosenLang(): Lang | null {
  if (typeof document === "undefined") return null;
  try {
    return asLang(localStorage.getItem(CHOICE_KEY));
  } catch {
    return null;
  }
}

/** The language the screen speaks now. */
export const lang = signal<Lang>(chosenLang() ?? browserLang());

export function intlLocale(l: Lang = lang.value): string {
  return INTL_LOCALES[l];
}

/** Switches the screen's language. */
export function setLang(l: Lang): void {
  lang.value = l;
}

/**
 * Switches the screen's language and keeps it for the next visit (so a reopened app speaks it
 * before it knows who is signed in).
 */
export function chooseLang(l: Lang): void {
  setLang(l);
  try {
    localStorage.setItem(CHOICE_KEY, l);
  } catch {
    // Private mode: the choice lasts as long as the page.
  }
}

// `<html lang>` follows, for screen readers, fonts and the browser's own controls.
if (typeof document !== "undefined") {
  effect(() => void (document.documentElement.lang = intlLocale(lang.value)));
}

export type Vars = Record<string, string | number>;
/** Each language's messages, loaded on demand (the bundles carry English only). */
export type Catalogs<K extends string> = Record<Lang, () => Promise<Record<K, string>>>;
/** The keys of a catalog without their plural suffix ("people.one" → "people"). */
export type PluralKey<K extends string> = K extends `${infer B}.one` ? B : never;

const numberFormats = new Map<Lang, Intl.NumberFormat>();
function formatNumber(n: number, l: Lang): string {
  let f = numberFormats.get(l);
  if (!f) numberFormats.set(l, f = new Intl.NumberFormat(intlLocale(l)));
  return f.format(n);
}

/** `{name}` placeholders of a message, sorted (the catalog test compares them per language). */
export function placeholders(message: string): string[] {
  return [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

function fill(message: string, vars: Vars | undefined, l: Lang): string {
  if (!vars) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = vars[name];
    return v === undefined ? whole : typeof v === "number" ? formatNumber(v, l) : v;
  });
}

export interface Translate<K extends string> {
  /**
   * The message in the screen's language (or `l`). Until that language's catalog has loaded (it
   * is asked for here), and for a message it lacks, English; a screen that showed English
   * renders again when the catalog arrives (it read a signal).
   */
  (key: K, vars?: Vars, l?: Lang): string;
  /** The plural form for `n` (`{n}` is filled in): `key.one` or `key.other`. */
  plural(key: PluralKey<K>, n: number, vars?: Vars, l?: Lang): string;
  /** Resolves once language `l` is loaded (a failed load is retried on the next use). */
  load(l: Lang): Promise<void>;
}

export function translator<K extends string>(
  en: Record<K, string>,
  catalogs: Catalogs<K>,
): Translate<K> {
  const loaded: Partial<Record<Lang, Record<K, string>>> = { en };
  const pending = new Map<Lang, Promise<void>>();
  const arrived = signal(0);
  const load = (l: Lang): Promise<void> => {
    if (loaded[l]) return Promise.resolve();
    let p = pending.get(l);
    if (!p) {
      p = catalogs[l]().then((messages) => {
        loaded[l] = messages;
        arrived.value++;
      }).finally(() => pending.delete(l));
      pending.set(l, p);
    }
    return p;
  };
  const t = ((key: K, vars?: Vars, l: Lang = lang.value) => {
    arrived.value; // re-render when a catalog arrives
    if (!loaded[l]) load(l).catch(() => {});
    return fill(loaded[l]?.[key] || en[key] || key, vars, l);
  }) as Translate<K>;
  t.plural = (key, n, vars, l = lang.value) => {
    const form = new Intl.PluralRules(intlLocale(l)).select(n) === "one" ? "one" : "other";
    return t(`${key}.${form}` as K, { n, ...vars }, l);
  };
  t.load = load;
  return t;
}
