/** Messages of the building blocks the patient app and the staff console share (web/src/lib). */
import { translator } from "./i18n.ts";

const en = {
  "app.name": "Clinic",
  loading: "Loading…",
  "link.connecting": "Connecting for live updates…",
  "link.reconnecting": "Reconnecting… live updates are paused; what you see may be out of date.",
  "link.savedCopy": "Offline — showing what was saved on this device as of {time}.",
  "error.timeout": "The server took too long to answer. Please try again.",
  "error.network": "No connection. Check your network and try again.",
  "error.unknown": "Something went wrong.",
  notSignedIn: "That email and password do not match an account. If you are sure they do, " +
    "check your email: after repeated failed sign-ins we send the account a link that lets " +
    "your browser sign in.",
  "status.held": "Held",
  "status.scheduled": "Booked",
  "status.confirmed": "Confirmed",
  "status.checked_in": "Checked in",
  "status.in_progress": "In consultation",
  "status.completed": "Completed",
  "status.cancelled": "Cancelled",
  "status.no_show": "Missed",
  "status.rescheduled": "Rescheduled",
  "status.waiting": "Waiting",
  "status.called": "Called",
  "status.serving": "In consultation",
  "gender.female": "Female",
  "gender.male": "Male",
  "gender.other": "Other",
  "gender.prefer_not_to_say": "Prefer not to say",
  "wait.underMinute": "under a minute",
  "wait.about": "about {duration}",
  "wait.minutes": "{n} min",
  "wait.hours": "{n} h",
};
export type LibKey = keyof typeof en;

/** English is built in (and the fallback); the others load when first used. */
export const catalogs = {
  en: () => Promise.resolve(en),
  zh: () => import("./messages/zh.ts").then((m) => m.default),
  ms: () => import("./messages/ms.ts").then((m) => m.default),
  ta: () => import("./messages/ta.ts").then((m) => m.default),
};
export const t = /* @__PURE__ */ translator(en, catalogs);
