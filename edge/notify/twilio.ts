/**
 * SMS and WhatsApp through Twilio's Messages resource:
 * `POST {TWILIO_API_URL}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`,
 * `From` or `MessagingServiceSid`, `Body` (or WhatsApp's `ContentSid` + `ContentVariables`),
 * `StatusCallback`; HTTP basic auth. Plain `fetch` rather than the `twilio` npm library: the
 * library fixes its hosts (`api.twilio.com` and regional edges), so it cannot be pointed at the
 * local stand-in the tests run, and one form POST does not need its dependency tree.
 *
 * Answers: 201 → `sent` with the message SID (its status callbacks then move the delivery on);
 * 429 → the channel pauses for `Retry-After` and the job runs again no sooner;
 * other 4xx (21211 invalid `To`, 21610 unsubscribed, …) → `PermanentJobError`, the delivery
 * fails with Twilio's code and message; 5xx, timeouts, network errors → retried with backoff.
 * A number libphonenumber-js refuses fails before any request.
 *
 * Twilio's Messages resource has no idempotency key. The delivery is marked just before the
 * request (`send_started_at`) and recorded `sent` after it; while a started send's outcome is
 * unknown, no other request is made for the delivery for twice the request timeout (README
 * "Notifications": at most one SMS per delivery per retry window).
 */
import type postgres from "postgres";
import type { TwilioConfig } from "../config.ts";
import { PermanentJobError, RetryLaterError } from "../jobs/job.ts";
import { smsSegments, toE164 } from "./phone.ts";
import type { OutboundMessage, SendResult, Transport, Transports } from "./transport.ts";

/** Meta's customer-service window: free-form WhatsApp messages only this long after the last
 * message from the user; outside it only an approved template. */
export const WHATSAPP_WINDOW_MS = 24 * 3600_000;

/** A rate-limit slot this close is waited for in the job; a later one re-queues the job. */
const MAX_SLOT_WAIT_MS = 1_000;

/** `Retry-After` when a 429 carries none. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

export interface TwilioTransportOptions {
  /** The HTTP client (default: the global `fetch`). */
  fetch?: typeof fetch;
}

/** The Twilio transport of each channel the configuration has a sender for. */
export function twilioTransports(
  sql: postgres.Sql,
  config: TwilioConfig,
  options: TwilioTransportOptions = {},
): Transports {
  const transport = twilioTransport(sql, config, options);
  return {
    ...(config.messagingServiceSid || config.smsFrom ? { sms: transport } : {}),
    ...(config.messagingServiceSid || config.whatsappFrom ? { whatsapp: transport } : {}),
  };
}

function twilioTransport(
  sql: postgres.Sql,
  config: TwilioConfig,
  options: TwilioTransportOptions,
): Transport {
  const http = options.fetch ?? fetch;
  const endpoint = `${config.apiUrl}/2010-04-01/Accounts/${
    encodeURIComponent(config.accountSid)
  }/Messages.json`;
  const authorization = `Basic ${btoa(`${config.username}:${config.password}`)}`;
  const slotMs = Math.ceil(1000 / config.messagesPerSecond);

  return {
    name: "twilio",
    async send(message) {
      const deliveryId = message.idempotencyKey;
      const to = toE164(message.to.replace(/^whatsapp:/, ""));
      if (!to) throw new PermanentJobError("invalid phone number: not a valid E.164 number");
      const form = message.channel === "whatsapp"
        ? await whatsappForm(sql, config, to, message)
        : await smsForm(sql, config, to, deliveryId, message.text);
      form.set("StatusCallback", config.statusCallback);

      await takeSlot(sql, deliveryId, slotMs);
      await markSendStarted(sql, deliveryId, 2 * config.requestTimeoutMs);
      let response: Response;
      try {
        response = await http(endpoint, {
          method: "POST",
          headers: {
            authorization,
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
          body: form.toString(),
          signal: AbortSignal.timeout(config.requestTimeoutMs),
        });
      } catch (error) {
        const reason = error instanceof Error ? error.name : "error";
        throw new Error(`twilio: no answer (${reason})`);
      }
      return await answer(sql, deliveryId, response);
    },
  };
}

/** SMS: `From` or the messaging service, the text, and its segments recorded on the delivery. */
async function smsForm(
  sql: postgres.Sql,
  config: TwilioConfig,
  to: string,
  deliveryId: string,
  text: string,
): Promise<URLSearchParams> {
  const { encoding, segments } = smsSegments(text);
  await sql`
    update public.notification_deliveries set sms_encoding = ${encoding}, sms_segments = ${segments}
    where id = ${deliveryId}`;
  const form = new URLSearchParams({ To: to });
  if (config.messagingServiceSid) form.set("MessagingServiceSid", config.messagingServiceSid);
  else form.set("From", config.smsFrom!);
  form.set("Body", text);
  return form;
}

/**
 * WhatsApp: free text inside the 24-hour window opened by the patient's last message, else the
 * approved template (`ContentSid` + `ContentVariables`); neither → a permanent failure.
 */
async function whatsappForm(
  sql: postgres.Sql,
  config: TwilioConfig,
  to: string,
  message: OutboundMessage,
): Promise<URLSearchParams> {
  const [row] = await sql<{ open: boolean }[]>`
    select last_inbound_at > now() - ${WHATSAPP_WINDOW_MS} * interval '1 millisecond' as open
    from private.whatsapp_inbound where phone = ${to}`;
  const form = new URLSearchParams({ To: `whatsapp:${to}` });
  if (config.whatsappFrom) form.set("From", `whatsapp:${config.whatsappFrom}`);
  else form.set("MessagingServiceSid", config.messagingServiceSid!);
  if (row?.open) {
    form.set("Body", message.text);
  } else if (message.template) {
    form.set("ContentSid", message.template.name);
    form.set("ContentVariables", JSON.stringify(message.template.variables));
  } else {
    throw new PermanentJobError(
      "whatsapp: outside the 24-hour window since the patient's last message, and no " +
        "approved template for this notification",
    );
  }
  return form;
}

/** Waits for the delivery's send slot when it is near; re-queues the job when it is not. */
async function takeSlot(sql: postgres.Sql, deliveryId: string, slotMs: number): Promise<void> {
  const [{ wait_ms: wait }] = await sql<{ wait_ms: number }[]>`
    select wait_ms from private.reserve_send_slot(${deliveryId}, ${slotMs})`;
  if (wait > MAX_SLOT_WAIT_MS) {
    throw new RetryLaterError(`twilio: channel rate limit, slot in ${wait} ms`, wait, false);
  }
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/**
 * Marks the send as started, unless another one started less than `windowMs` ago and its
 * outcome is unknown (a timeout, a worker killed mid-request, or one still in flight): then
 * the job waits for that window to pass. So a delivery gets at most one request per window.
 */
async function markSendStarted(
  sql: postgres.Sql,
  deliveryId: string,
  windowMs: number,
): Promise<void> {
  const [row] = await sql<{ started: boolean; wait_ms: number }[]>`
    with mark as (
      update public.notification_deliveries
      set send_started_at = now(), send_slot_at = null
      where id = ${deliveryId} and (send_started_at is null
        or send_started_at <= now() - ${windowMs} * interval '1 millisecond')
      returning id
    )
    select exists (select from mark) as started,
      ceil(extract(epoch from send_started_at - now()) * 1000)::integer + ${windowMs} as wait_ms
    from public.notification_deliveries where id = ${deliveryId}`;
  if (!row.started) {
    throw new RetryLaterError(
      "twilio: an earlier send's outcome is unknown; not resent within its retry window",
      Math.max(1, row.wait_ms),
      false,
    );
  }
}

/** Twilio's error body: `{code, message, more_info, status}`. */
async function twilioError(response: Response): Promise<string> {
  const body = await response.json().catch(() => null) as Record<string, unknown> | null;
  const code = typeof body?.code === "number" ? ` ${body.code}` : "";
  // Twilio's message may quote the number: kept out of errors, which reach the logs.
  const message = typeof body?.message === "string"
    ? `: ${body.message.slice(0, 300).replace(/\+?\d[\d ()-]{4,}\d/g, "[number]")}`
    : "";
  return `twilio ${response.status}${code}${message}`;
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null) return DEFAULT_RETRY_AFTER_MS;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? DEFAULT_RETRY_AFTER_MS : Math.max(0, at - now);
}

async function answer(
  sql: postgres.Sql,
  deliveryId: string,
  response: Response,
): Promise<SendResult> {
  if (response.ok) {
    const body = await response.json().catch(() => null) as Record<string, unknown> | null;
    const sid = body?.sid;
    if (typeof sid !== "string" || !/^(SM|MM)[0-9a-f]{32}$/i.test(sid)) {
      throw new PermanentJobError(`twilio ${response.status}: no message SID in the answer`);
    }
    return { provider: "twilio", providerMessageId: sid, status: "sent" };
  }
  const reason = await twilioError(response);
  // Refused: nothing was sent, so a retry need not wait out the send window.
  await sql`
    update public.notification_deliveries set send_started_at = null where id = ${deliveryId}`;
  if (response.status === 429) {
    const delay = retryAfterMs(response.headers.get("retry-after"));
    await sql`select private.pause_channel(${deliveryId}, ${delay})`;
    throw new RetryLaterError(reason, delay);
  }
  if (response.status >= 400 && response.status < 500 && response.status !== 408) {
    throw new PermanentJobError(reason);
  }
  throw new Error(reason);
}
