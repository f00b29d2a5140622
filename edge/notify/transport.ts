/**
 * Message channels behind one small interface. A `Transport` sends one message on one channel
 * and answers with the provider's message id; delivery status then lives in
 * `notification_deliveries` (updated later by provider webhooks). Real providers (email, SMS,
 * WhatsApp, web push) plug in per channel; in development and tests the development transport
 * records what would be sent in `private.outbound_messages` instead. A provider that refuses a
 * message for good (bad number, unsubscribed) throws edge/jobs' `PermanentJobError`: no retry.
 */
import type postgres from "postgres";
import type { NotifyTransport, VapidConfig } from "../config.ts";
import { webPushTransport } from "./push.ts";

export type Channel = "email" | "sms" | "whatsapp" | "push";

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
  send(message: OutboundMessage): Promise<SendResult>;
}

/** The transport of each channel; a channel without one is marked `skipped`. */
export type Transports = Partial<Record<Channel, Transport>>;

/**
 * Records each message in `private.outbound_messages` (idempotent on the key) and reports it
 * delivered. Needs a connection allowed to write `private` (the service's own).
 */
export function devTransport(sql: postgres.Sql): Transport {
  return {
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
  /** `VAPID_*`: web push. */
  vapid?: VapidConfig;
  /** `WEBHOOK_ALLOW_HOSTS`: push endpoints pass the same outbound SSRF guard as webhooks. */
  webhooks?: { allowHosts: readonly string[] };
}

/**
 * The transports a process's configuration chose: by `APP_ENV` (`NotifyTransport`), then each
 * channel with a configured provider through that provider.
 */
export function configuredTransports(
  choice: NotifyTransport,
  sql: postgres.Sql,
  providers: Providers = {},
): Transports {
  const transports = choice === "development" ? developmentTransports(sql) : {};
  const { vapid, webhooks } = providers;
  if (vapid) transports.push = webPushTransport(sql, { vapid, allow: webhooks?.allowHosts });
  return transports;
}
