/** The TV board's messages (short: they are read from across a waiting room). */
import { asLang, type Lang, translator } from "../lib/i18n.ts";

const en = {
  title: "Queue board {code}",
  noClinic: "No clinic in the address. Open /board/<clinic-code>.",
  notSetUp: "This screen is not set up yet. Open the board link created in the staff console " +
    "(it ends with #token=…) once on this screen.",
  otherClinic: "This board link is for another clinic. Open this clinic's board link from the " +
    "staff console.",
  revoked: "This board link has expired or was revoked. Open a new board link from the staff " +
    "console.",
  currentTime: "Current time",
  nowServing: "Now serving",
  noneServed: "No one is being served right now.",
  waiting: "Waiting",
  "people.one": "person",
  "people.other": "people",
  next: "Next",
  recentCalls: "Recent calls",
  connecting: "Connecting…",
  offlineSince: "Offline since {time}",
  enableSound: "Enable sound",
  goTo: "Please go to {room}",
  comeNow: "Please come",
};
export type BoardKey = keyof typeof en;

/** English is built in (and the fallback); the others load when first used. */
export const catalogs = {
  en: () => Promise.resolve(en),
  zh: () => import("./messages/zh.ts").then((m) => m.default),
  ms: () => import("./messages/ms.ts").then((m) => m.default),
  ta: () => import("./messages/ta.ts").then((m) => m.default),
};
export const t = /* @__PURE__ */ translator(en, catalogs);

/**
 * The board's languages from `?lang=en,zh` (at most two, known codes, in order): the first is the
 * board's own, the second is shown beside it. Without a usable parameter, the TV's language.
 */
export function boardLangs(search: string, fallback: Lang): Lang[] {
  const asked = (new URLSearchParams(search).get("lang") ?? "").split(",").map(asLang);
  const langs = [...new Set(asked.filter((l): l is Lang => l !== null))].slice(0, 2);
  return langs.length ? langs : [fallback];
}
