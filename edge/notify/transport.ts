/**
 * Message channels behind one small interface. A `Transport` sends one message on one channel
 * and answers with the provider's message id; delivery status then lives in
 * `notification_deliveries` (updated later by provider webhooks). Real providers (email, SMS,
 * WhatsApp, web push) plug in per channel; in development and tests the development transport
 * records what would be sent in `private.outbound_messages` instead. A provider that refuses a
 * message for good (bad number, unsubscribed) throws edge/jobs' `PermanentJobError`: no retry.
 */
import type postgres from "postgres";
import type { EmailConfig, NotifyTransport, TwilioConfig, VapidConfig } from "../config.ts";
import { webPushTransport } from "./push.ts";
import { smtpTransport } from "./smtp.ts";
import { twilioTransports } from "./twilio.ts";

export type Channel = "email" | "sms" | "whatsapp" | "push";

export const CHANNELS: readonly Channel[] = ["email", "sms", "whatsapp", "push"];

export interface OutboundMessage {
  channel: Channel;
  /** E-mail address or phone number, as stored for the patient. */
  to: string;
  subject: string;
  text: string;
  /** Stable per delivery: a provider that supports idempotency sends a retried message once. */
  idempotencyKey: string;
  clinicId?: string | null;
  html?: string;
  language?: string;
  kind?: string;
  patientId?: string | null;
  userId?: string | null;
  url?: string;
  template?: { name: string; variables: Record<string, string> };
}

export interface SendResult {
  provider: string;
  providerMessageId: string;
  /** `sent` when handed to the provider; `delivered` when the provider confirms at once. */
  status: "sent" | "delivered";
}

export interface Transport {
  /** What `/api/health` and the start-up log call it (`smtp`, `development`, …). */
  readonly name?: string;
  send(message: OutboundMessage): Promise<SendResult>;
  /** Releases its connections (the worker's stop). */
  close?(): void | Promise<void>;
}

/** The transport of each channel; a channel without one is marked `skipped`. */
export type Transports = Partial<Record<Channel, Transport>>;

/**
 * Records each message in `private.outbound_messages` (idempotent on the key) and reports it
 * delivered. Needs a connection allowed to write `private` (the service's own).
 */
export function devTransport(sql: postgres.Sql): Transport {
  return {
    name: "development",
    async send(message) {
      const providerMessageId = `dev_${crypto.randomUUID()}`;
      const [row] = await sql`
        insert into private.outbound_messages
          (idempotency_key, provider, provider_message_id, channel, recipient, subject, body,
           clinic_id)
        values (${message.idempotencyKey}, 'dev', ${providerMessageId}, ${message.channel},
          ${message.to}, ${message.subject}, ${message.text}, ${message.clinicId ?? null})
        on conflict (idempotency_key) do update set idempotency_key = excluded.idempotency_key
        returning provider_message_id`;
      return { provider: "dev", providerMessageId: row.provider_message_id, status: "delivered" };
    },
  };
}

/** Keeps the messages in memory (unit tests); `fail` makes the next sends throw. */
export function memoryTransport(): Transport & { sent: OutboundMessage[]; fail: number } {
  const sent: OutboundMessage[] = [];
  const transport = {
    sent,
    fail: 0,
    send(message: OutboundMessage): Promise<SendResult> {
      if (transport.fail > 0) {
        transport.fail--;
        return Promise.reject(new Error("memory transport: simulated failure"));
      }
      const previous = sent.findIndex((m) => m.idempotencyKey === message.idempotencyKey);
      if (previous < 0) sent.push(message);
      return Promise.resolve({
        provider: "memory",
        providerMessageId: `mem_${message.idempotencyKey}`,
        status: "sent" as const,
      });
    },
  };
  return transport;
}

/** Every channel through the development transport. */
export function developmentTransports(sql: postgres.Sql): Transports {
  const dev = devTransport(sql);
  return { email: dev, sms: dev, whatsapp: dev, push: dev };
}

/** The providers a process has settings for (its configuration). */
export interface Providers {
  /** `TWILIO_*`: SMS and WhatsApp. */
  twilio?: TwilioConfig;
  /** `SMTP_URL`, `EMAIL_FROM`…: e-mail over SMTP, in every `APP_ENV`. */
  email?: EmailConfig;
  /** `VAPID_*`: web push. */
  vapid?: VapidConfig;
  /** `WEBHOOK_ALLOW_HOSTS`: push endpoints pass the same outbound SSRF guard as webhooks. */
  webhooks?: { allowHosts: readonly string[] };
}

/**
 * The transports a process's configuration chose: by `APP_ENV` (`NotifyTransport`: the
 * development transport outside production, else none), then each channel with a configured
 * provider through that provider. A channel left without one is off.
 */
export function configuredTransports(
  choice: NotifyTransport,
  sql: postgres.Sql,
  providers: Providers = {},
): Transports {
  const transports: Transports = choice === "development" ? developmentTransports(sql) : {};
  const { email, twilio, vapid, webhooks } = providers;
  if (email) transports.email = smtpTransport(email);
  if (twilio) Object.assign(transports, twilioTransports(sql, twilio));
  if (vapid) {
    transports.push = {
      name: "web-push",
      ...webPushTransport(sql, { vapid, allow: webhooks?.allowHosts }),
    };
  }
  return transports;
}

/** Each channel's transport by name, `off` where there is none (`/api/health`). */
export type ChannelStatus = Record<Channel, string>;

export function channelStatus(transports: Transports): ChannelStatus {
  return Object.fromEntries(
    CHANNELS.map((c) => [c, transports[c] ? transports[c].name ?? "on" : "off"]),
  ) as ChannelStatus;
}

/** The start-up line: which channel sends through what, and which are off. */
export function describeChannels(status: ChannelStatus): string {
  const on = CHANNELS.filter((c) => status[c] !== "off").map((c) => `${c} via ${status[c]}`);
  const off = CHANNELS.filter((c) => status[c] === "off");
  return `Notifications: ${on.length ? on.join(", ") : "no channel has a transport"}` +
    (off.length
      ? `; off (no transport configured, deliveries marked skipped): ${off.join(", ")}`
      : "");
}

/** Closes every transport that holds connections. */
export async function closeTransports(transports: Transports): Promise<void> {
  await Promise.all([...new Set(Object.values(transports))].map((t) => t.close?.()));
}
