/**
 * Provider delivery-status callbacks → `notification_deliveries`, order-tolerant
 * (`private.apply_message_status`): a late "queued" never undoes "delivered".
 *
 * - Twilio (SMS/WhatsApp): `MessageSid` + `MessageStatus`, `ErrorCode` on failure. Twilio
 *   sends no event time, so the status order alone decides. Messages patients send us
 *   (`SmsStatus=received`) go to ./inbound_message.ts.
 * - E-mail providers speaking Standard Webhooks (Resend-style `email.*` events):
 *   `data.email_id` and `created_at`; the provider is the webhook source name.
 *
 * @module
 */

import { NotYetError } from "../errors.ts";
import { inboundMessageHandler } from "./inbound_message.ts";
import type { EventHandler } from "./types.ts";

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
): Promise<string> {
  const [row] = await tx<{ outcome: string }[]>`
    select private.apply_message_status(${provider}, ${messageId}, ${status}, ${eventAt},
      ${error}) as outcome`;
  if (row.outcome === "unmatched") {
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

export const emailStatusHandler: EventHandler = (tx, event) => {
  const status = EMAIL_STATUS[event.eventType ?? ""];
  if (!status) return Promise.resolve("ignored");
  const data = event.json.data as Record<string, unknown> | undefined;
  const messageId = [data?.email_id, data?.message_id, data?.id]
    .find((v): v is string => typeof v === "string" && v.length > 0 && v.length <= 255);
  if (!messageId) return Promise.resolve("ignored");
  const createdAt = typeof event.json.created_at === "string"
    ? new Date(event.json.created_at)
    : null;
  const eventAt = createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : null;
  return apply(
    tx,
    event.source,
    messageId,
    status,
    eventAt,
    status === "failed" ? event.eventType : null,
  );
};
