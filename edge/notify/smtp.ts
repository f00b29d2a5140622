/**
 * E-mail over SMTP (nodemailer, pooled connections). Each message is multipart text + HTML
 * (the rendered HTML when there is one, else the text made safe HTML), its Message-ID is made
 * from the delivery id — a send retried after a crash carries the same one, so the relay and
 * the receiving mailbox recognise it — and an e-mail to a patient carries the one-click
 * unsubscribe link (RFC 8058: `List-Unsubscribe` + `List-Unsubscribe-Post`, and in a footer).
 *
 * A 5xx reply refuses the message for good (`PermanentJobError`: the delivery fails with the
 * reply); a 4xx, a timeout or a connection failure is retried by the job queue — as is a
 * refused login (5xx to AUTH), which is the operator's to fix, not the message's fault.
 * Outside loopback, `smtp://` requires STARTTLS; `smtps://` is TLS from the first byte.
 */
import nodemailer from "nodemailer";
import type { EmailConfig } from "../config/email.ts";
import { PermanentJobError } from "../jobs/job.ts";
import { escapeHtml } from "../text.ts";
import type { OutboundMessage, Transport } from "./transport.ts";
import { unsubscribeToken, unsubscribeUrl } from "./unsubscribe.ts";

export interface SmtpOptions {
  /** To open the connection, and then to get the server's greeting (default 10 s each). */
  connectMs?: number;
  /** Of silence on an open connection (default 30 s). */
  socketMs?: number;
  /** PEM of a CA trusted besides the system's (a relay with its own CA; the tests' server). */
  ca?: string;
}

/** `<key@domain>`: the delivery id (or another idempotency key) as a Message-ID. */
export function messageIdFor(idempotencyKey: string, senderDomain: string): string {
  return `<${idempotencyKey.replace(/[^A-Za-z0-9._-]/g, "-")}@${senderDomain}>`;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

function connection(smtpUrl: string, options: SmtpOptions) {
  const url = new URL(smtpUrl);
  const secure = url.protocol === "smtps:";
  const loopback = LOOPBACK.has(url.hostname);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(url.port) || (secure ? 465 : 587),
    secure,
    // A relay on this machine may speak plain SMTP; anywhere else the password and the
    // messages never go in clear.
    requireTLS: !secure && !loopback,
    ignoreTLS: !secure && loopback,
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    // One connection per job a worker runs at once (WORKER_CONCURRENCY, default 10): on this
    // machine 5 connections carried ~780 e-mails/s to a local server, 10 ~1,070/s.
    pool: true,
    maxConnections: 10,
    connectionTimeout: options.connectMs ?? 10_000,
    greetingTimeout: options.connectMs ?? 10_000,
    socketTimeout: options.socketMs ?? 30_000,
    tls: options.ca ? { ca: options.ca } : undefined,
  };
}

/** The footer's link text per language (the templates' languages; English otherwise). */
export const UNSUBSCRIBE_LABEL: Record<string, string> = {
  en: "Unsubscribe from these e-mails",
  zh: "退订这些电子邮件",
  ms: "Berhenti melanggan e-mel ini",
  ta: "இந்த மின்னஞ்சல்களிலிருந்து விலகுக",
};

/** Plain text as HTML: escaped, paragraphs and line breaks kept, web links clickable. */
export function textToHtml(text: string): string {
  return text.trim().split(/\n{2,}/).map((paragraph) =>
    `<p>${
      escapeHtml(paragraph)
        .replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`)
        .replaceAll("\n", "<br>\n")
    }</p>`
  ).join("\n");
}

function htmlDocument(body: string, lang: string, footer: string): string {
  if (/<\/body>/i.test(body)) return body.replace(/<\/body>/i, `${footer}</body>`);
  return `<!doctype html>\n<html lang="${escapeHtml(lang)}">\n<head><meta charset="utf-8">` +
    `</head>\n<body>\n${body}\n${footer}</body>\n</html>\n`;
}

/** Why a send failed: a 5xx reply is permanent (not to AUTH), anything else is retried. */
export function smtpError(error: unknown): Error {
  const e = (error ?? {}) as { responseCode?: unknown; response?: unknown; code?: unknown };
  const code = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const reply = typeof e.response === "string" ? e.response.split(/\r?\n/)[0].slice(0, 300) : "";
  const reason = reply || (error instanceof Error ? error.message : String(error));
  if (code !== undefined && code >= 500 && code < 600 && e.code !== "EAUTH") {
    return new PermanentJobError(`smtp refused the message: ${reason}`);
  }
  return new Error(`smtp ${typeof e.code === "string" ? e.code : "error"}: ${reason}`);
}

/** One plain address: a stored "address" must never name a second recipient or a group. */
const SINGLE_ADDRESS = /^[^\s@<>()[\],;:"\\]+@[^\s@<>()[\],;:"\\]+\.[^\s@<>()[\],;:"\\]+$/;

export type SmtpTransport = Transport & { close(): void };

/** The SMTP transport of `config` (see the module's comment). */
export function smtpTransport(config: EmailConfig, options: SmtpOptions = {}): SmtpTransport {
  const mailer = nodemailer.createTransport(connection(config.smtpUrl, options));

  async function unsubscribeLinks(message: OutboundMessage): Promise<string[]> {
    if (!message.patientId) return [];
    const token = await unsubscribeToken(config.linkSecret, {
      patientId: message.patientId,
      channel: "email",
    });
    const links = [unsubscribeUrl(config.publicUrl, token)];
    if (config.unsubscribeMailto) {
      links.push(`mailto:${config.unsubscribeMailto}?subject=unsubscribe%20${token}`);
    }
    return links;
  }

  return {
    name: "smtp",
    async send(message) {
      if (!SINGLE_ADDRESS.test(message.to)) {
        throw new PermanentJobError("the recipient is not one e-mail address");
      }
      const links = await unsubscribeLinks(message);
      const lang = message.language ?? "en";
      const label = UNSUBSCRIBE_LABEL[lang.toLowerCase().split(/[-_]/)[0]] ??
        UNSUBSCRIBE_LABEL.en;
      const [link] = links;
      const text = link ? `${message.text.trimEnd()}\n\n-- \n${label}: ${link}\n` : message.text;
      const footer = link
        ? `<p style="font-size:12px;color:#666"><a href="${escapeHtml(link)}">${
          escapeHtml(label)
        }</a></p>\n`
        : "";
      const html = htmlDocument(message.html ?? textToHtml(message.text), lang, footer);
      const messageId = messageIdFor(message.idempotencyKey, config.senderDomain);
      const headers: Record<string, string> = {};
      if (message.language) headers["Content-Language"] = message.language;
      if (link) {
        headers["List-Unsubscribe"] = links.map((l) => `<${l}>`).join(", ");
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
      }
      try {
        await mailer.sendMail({
          from: config.from,
          to: message.to,
          subject: message.subject,
          text,
          html,
          messageId,
          headers,
        });
      } catch (error) {
        throw smtpError(error);
      }
      return { provider: "smtp", providerMessageId: messageId, status: "sent" };
    },
    close: () => mailer.close(),
  };
}
