/**
 * One-click unsubscribe (RFC 8058), the link in every e-mail to a patient: `POST` with the
 * body `List-Unsubscribe=One-Click` (as mail clients send it, or the button below) withdraws
 * the consent the signed token names at once (`private.unsubscribe`, source
 * `unsubscribe_link`); `GET` only shows a page with that button, because mail scanners
 * follow links. A token that is not ours is 404, a malformed one 400 — never more.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { apiError } from "../errors.ts";
import { errors } from "../openapi.ts";
import { escapeHtml } from "../text.ts";
import { UNSUBSCRIBE_TOKEN, verifyUnsubscribeToken } from "../notify/unsubscribe.ts";

const TokenParam = z.object({
  token: z.string().regex(UNSUBSCRIBE_TOKEN).openapi({
    param: { name: "token", in: "path" },
    description: "The signed token of the e-mail's List-Unsubscribe link",
  }),
});

const Unsubscribed = z.object({
  unsubscribed: z.literal(true),
  channel: z.string().openapi({ example: "email" }),
}).openapi("Unsubscribed");

const html = (description: string) => ({
  description,
  content: { "text/html": { schema: z.string() } },
});

const notOurs = [404, "Not a valid unsubscribe link, or its patient no longer exists"] as const;

const pageRoute = createRoute({
  method: "get",
  path: "/unsubscribe/{token}",
  tags: ["notifications"],
  summary: "Unsubscribe page: a button that confirms (a GET never unsubscribes)",
  request: { params: TokenParam },
  responses: { 200: html("The confirmation page"), ...errors(400, notOurs) },
});

const unsubscribeRoute = createRoute({
  method: "post",
  path: "/unsubscribe/{token}",
  tags: ["notifications"],
  summary: "One-click unsubscribe (RFC 8058)",
  description: "Body `List-Unsubscribe=One-Click` (application/x-www-form-urlencoded or " +
    "multipart/form-data). Withdraws the consent at once; repeating it changes nothing. A " +
    "browser (Accept: text/html) gets a page saying so.",
  request: { params: TokenParam },
  responses: {
    200: {
      description: "Unsubscribed",
      content: {
        "application/json": { schema: Unsubscribed },
        "text/html": { schema: z.string() },
      },
    },
    ...errors([400, "Not a one-click request (`invalid_request`)"], notOurs),
  },
});

interface Target {
  clinic: string;
  language: string;
  subscribed: boolean;
}

/** The page's texts in the patients' languages (`{clinic}`: the clinic's name). */
export const UNSUBSCRIBE_PAGE_TEXTS: Record<
  string,
  Record<"title" | "ask" | "button" | "done" | "already", string>
> = {
  en: {
    title: "Unsubscribe",
    ask: "Stop these messages from {clinic}?",
    button: "Unsubscribe",
    done: "You will no longer get these messages from {clinic}. You can turn them on again " +
      "in your profile in the app.",
    already: "You no longer get these messages from {clinic}.",
  },
  zh: {
    title: "退订",
    ask: "不再接收来自{clinic}的这些消息？",
    button: "退订",
    done: "您将不再收到来自{clinic}的这些消息。您可以在应用的个人资料中重新开启。",
    already: "您已不再接收来自{clinic}的这些消息。",
  },
  ms: {
    title: "Berhenti melanggan",
    ask: "Berhenti menerima mesej ini daripada {clinic}?",
    button: "Berhenti melanggan",
    done: "Anda tidak akan menerima mesej ini lagi daripada {clinic}. Anda boleh " +
      "menghidupkannya semula dalam profil anda di aplikasi.",
    already: "Anda tidak lagi menerima mesej ini daripada {clinic}.",
  },
  ta: {
    title: "குழுவிலகு",
    ask: "{clinic} இலிருந்து இந்தச் செய்திகளை நிறுத்தவா?",
    button: "குழுவிலகு",
    done: "{clinic} இலிருந்து இனி இந்தச் செய்திகள் உங்களுக்கு வராது. செயலியில் உங்கள் " +
      "சுயவிவரத்தில் அவற்றை மீண்டும் இயக்கலாம்.",
    already: "{clinic} இலிருந்து இந்தச் செய்திகள் இனி உங்களுக்கு வருவதில்லை.",
  },
};

/** The page for `target`: `kind` says which text, in the patient's language (else English). */
function page(target: Target, kind: "ask" | "done" | "already"): string {
  const lang = UNSUBSCRIBE_PAGE_TEXTS[target.language] ? target.language : "en";
  const texts = UNSUBSCRIBE_PAGE_TEXTS[lang];
  const text = escapeHtml(texts[kind]).replace("{clinic}", escapeHtml(target.clinic));
  const form = kind === "ask"
    ? `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${escapeHtml(texts.button)}</button></form>\n`
    : "";
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(texts.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{font-size:1rem;padding:.6rem 1.2rem}</style></head>
<body><h1>${escapeHtml(texts.title)}</h1>
<p>${text}</p>
${form}</body></html>
`;
}

/** The token's patient and channel, applying the withdrawal when `apply`; else 404. */
async function target(c: Context<AppEnv>, token: string, apply: boolean) {
  const named = await verifyUnsubscribeToken(c.get("config").jwtSecret, token);
  const found = named &&
    await c.get("db").service(async (tx) => {
      const [row] = await tx<{ target: Target | null }[]>`
        select private.unsubscribe(${named.patientId}, ${named.channel}, ${apply}) as target`;
      return row.target;
    });
  if (!named || !found) throw apiError(404, "not_found", "No such unsubscribe link");
  return { channel: named.channel, target: found };
}

export const unsubscribe = new OpenAPIHono<AppEnv>()
  .openapi(pageRoute, async (c) => {
    const { token } = c.req.valid("param");
    const { target: found } = await target(c, token, false);
    c.header("cache-control", "no-store");
    return c.html(page(found, found.subscribed ? "ask" : "already"), 200);
  })
  .openapi(unsubscribeRoute, async (c) => {
    const { token } = c.req.valid("param");
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    if (form["List-Unsubscribe"] !== "One-Click") {
      throw apiError(400, "invalid_request", "The body must be List-Unsubscribe=One-Click");
    }
    const { channel, target: found } = await target(c, token, true);
    if (!c.req.header("accept")?.includes("text/html")) {
      return c.json({ unsubscribed: true as const, channel }, 200);
    }
    c.header("cache-control", "no-store");
    return c.html(page(found, "done"), 200);
  });
