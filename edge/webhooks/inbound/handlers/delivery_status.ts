/**
 * Provider delivery-status callbacks → `notification_deliveries`, order-tolerant
 * (`private.apply_message_status`): a late "queued" never undoes "delivered".
 *
 * - Twilio (SMS/WhatsApp): `MessageSid` + `MessageStatus`, `ErrorCode` on failure. Twilio
 *   sends no event time, so the status order alone decides. Messages patients send us
 *   (`SmsStatus=received`) go to ./inbound_message.ts.
 * - E-mail providers speaking Standard Webhooks (Resend-style `email.*` events):
 *   `data.email_id` and `created_at`; the provider is the webhook source name. A message id
 *   with an `@` is a Message-ID, ours when we sent over SMTP (`<delivery-id@domain>`): it
 *   matches the SMTP delivery, whichever relay reports on it.
 * - `email.bounced` (unless `data.bounce.type` is `Transient`) and `email.complained` also
 *   suppress the address (`private.suppress_email`: no e-mail goes to it again, and the
 *   e-mail consent of its patients is withdrawn with source bounce/complaint). The address is
 *   the matched delivery's recipient, else the event's `data.to`.
 *
 * @module
 */

import { NotYetError } from "../errors.ts";
import { inboundMessageHandler } from "./inbound_message.ts";
import type { EventHandler, InboxEvent } from "./types.ts";

type DeliveryStatus = "pending" | "sent" | "delivered" | "failed";

const TWILIO_STATUS: Record<string, DeliveryStatus> = {
  accepted: "pending",
  scheduled: "pending",
  queued: "pending",
  sending: "pending",
  sent: "sent",
  delivered: "delivered",
  read: "delivered",
  undelivered: "failed",
  failed: "failed",
  canceled: "failed",
};

const EMAIL_STATUS: Record<string, DeliveryStatus> = {
  "email.sent": "sent",
  "email.delivered": "delivered",
  "email.bounced": "failed",
  "email.failed": "failed",
};

/** E-mail events that suppress the address they report on. */
const EMAIL_FEEDBACK: Record<string, "bounce" | "complaint"> = {
  "email.bounced": "bounce",
  "email.complained": "complaint",
};

const ADDRESS = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

/** How long a callback may wait for the delivery it reports on to be recorded (the inbox
 * backoff reaches its 8th attempt after ~10.6 min, so an unmatched event ends `unmatched`, not dead). */
export const MATCH_WINDOW_MS = 10 * 60_000;

async function apply(
  tx: Parameters<EventHandler>[0],
  provider: string,
  messageId: string,
  status: DeliveryStatus,
  eventAt: Date | null,
  error: string | null,
  unmatched: "retry" | "accept" = "retry",
): Promise<string> {
  const [row] = await tx<{ outcome: string }[]>`
    select private.apply_message_status(${provider}, ${messageId}, ${status}, ${eventAt},
      ${error}) as outcome`;
  if (row.outcome === "unmatched" && unmatched === "retry") {
    throw new NotYetError(`no ${provider} delivery recorded for this message yet`);
  }
  return row.outcome;
}

export const twilioHandler: EventHandler = (tx, event) => {
  const params = new URLSearchParams(event.body);
  const messageSid = params.get("MessageSid") ?? params.get("SmsSid");
  const raw = params.get("MessageStatus") ?? params.get("SmsStatus");
  if (!messageSid || !raw) return Promise.resolve("ignored");
  if (raw === "received") return inboundMessageHandler(tx, event);
  const status = TWILIO_STATUS[raw];
  if (!status) return Promise.resolve("ignored");
  const errorCode = params.get("ErrorCode");
  const error = status === "failed"
    ? `twilio ${raw}${errorCode && /^\d{1,6}$/.test(errorCode) ? ` ${errorCode}` : ""}`
    : null;
  return apply(tx, "twilio", messageSid, status, null, error);
};

function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** The first valid address of the event's `data.to` (a string or a list). */
function reportedAddress(data: Record<string, unknown>): string | null {
  const to = Array.isArray(data.to) ? data.to : [data.to];
  return to.find((a): a is string => typeof a === "string" && a.length <= 254 && ADDRESS.test(a)) ??
    null;
}

/** The delivery an e-mail event reports on: by the provider's id, or by our Message-ID. */
function reportedMessage(
  source: string,
  data: Record<string, unknown>,
): { provider: string; messageId: string } | null {
  const ids = [data.email_id, data.message_id, data.id]
    .filter((v): v is string => typeof v === "string" && v.length > 0 && v.length <= 255);
  const id = ids.find((v) => v.includes("@")) ?? ids[0];
  if (!id) return null;
  return id.includes("@")
    ? { provider: "smtp", messageId: `<${id.replace(/^<|>$/g, "")}>` }
    : { provider: source, messageId: id };
}

/** Suppresses the delivery's recipient (else `address`); `null` when neither is known yet. */
async function suppress(
  tx: Parameters<EventHandler>[0],
  event: InboxEvent,
  reason: "bounce" | "complaint",
  message: { provider: string; messageId: string } | null,
  address: string | null,
): Promise<string | null> {
  const [row] = await tx<{ withdrawn: number | null }[]>`
    select private.suppress_email(coalesce(
        (select d.recipient from public.notification_deliveries d
         where d.provider = ${message?.provider ?? null}
           and d.provider_message_id = ${message?.messageId ?? null} and d.channel = 'email'),
        ${address}),
      ${reason}, ${event.source}, ${event.eventType}) as withdrawn`;
  return row.withdrawn === null ? null : `suppressed: ${reason}, ${row.withdrawn} withdrawn`;
}

export const emailStatusHandler: EventHandler = async (tx, event) => {
  const type = event.eventType ?? "";
  const data = obj(event.json.data);
  const status = EMAIL_STATUS[type];
  const transient = /^transient$/i.test(String(obj(data.bounce).type ?? ""));
  const feedback = transient ? undefined : EMAIL_FEEDBACK[type];
  const message = reportedMessage(event.source, data);
  const address = feedback ? reportedAddress(data) : null;
  if (!(status || feedback) || !(message || address)) return "ignored";
  const createdAt = typeof event.json.created_at === "string"
    ? new Date(event.json.created_at)
    : null;
  const eventAt = createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : null;

  // A bounce that names its address suppresses it even before its delivery is recorded.
  const outcome = status && message
    ? await apply(
      tx,
      message.provider,
      message.messageId,
      status,
      eventAt,
      status === "failed" ? type : null,
      address ? "accept" : "retry",
    )
    : null;
  if (!feedback) return outcome ?? "ignored";
  const suppressed = await suppress(tx, event, feedback, message, address);
  if (!suppressed) throw new NotYetError("no e-mail delivery recorded for this message yet");
  return outcome ? `${outcome}; ${suppressed}` : suppressed;
};
