/**
 * Delivers one `notification_deliveries` row through its channel's transport (the
 * `notification.deliver` job). Idempotent: only a `pending` delivery is sent, and the delivery
 * id is the provider idempotency key, so a retry after a crash between "sent" and "recorded"
 * does not send twice where the provider honours the key (e-mail: the key is the Message-ID).
 * The texts were rendered by `private.notify` into the delivery (subject, body, HTML, language):
 * transports send them as they are. E-mail to a suppressed address (it bounced, or its owner
 * complained) is never sent: the delivery is `skipped` with the reason.
 */
import type postgres from "postgres";
import { PermanentJobError, RetryLaterError } from "../jobs/job.ts";
import { notificationScreen } from "./screen.ts";
import type { Channel, Transports } from "./transport.ts";

export type DeliveryOutcome = "sent" | "delivered" | "skipped" | "failed" | "noop";

export interface DeliverOptions {
  /** The last attempt the job will make: a failure now marks the delivery `failed`. */
  finalAttempt?: boolean;
}

export async function deliverNotification(
  sql: postgres.Sql,
  deliveryId: string,
  transports: Transports,
  options: DeliverOptions = {},
): Promise<DeliveryOutcome> {
  const [row] = await sql<
    {
      channel: Channel;
      recipient: string;
      status: string;
      clinic_id: string;
      subject: string | null;
      body: string | null;
      html: string | null;
      language: string;
      template: { name: string; variables: Record<string, string> } | null;
      kind: string;
      patient_id: string | null;
      user_id: string | null;
      data: Record<string, unknown> | null;
      suppressed: string | null;
    }[]
  >`
    select d.channel, d.recipient, d.status, d.clinic_id, d.subject, d.body, d.html, d.language,
      d.template, n.kind, n.patient_id, n.user_id, n.data,
      case when d.channel = 'email' then private.email_suppression(d.recipient) end as suppressed
    from public.notification_deliveries d
    join public.notifications n on n.id = d.notification_id
    where d.id = ${deliveryId}`;
  if (!row || row.status !== "pending") return "noop";
  if (row.suppressed) {
    await sql`
      update public.notification_deliveries
      set status = 'skipped', last_error = ${`address suppressed after a ${row.suppressed}`}
      where id = ${deliveryId} and status = 'pending'`;
    return "skipped";
  }

  const transport = transports[row.channel];
  if (!transport) {
    await sql`
      update public.notification_deliveries
      set status = 'skipped', last_error = 'no transport configured for this channel'
      where id = ${deliveryId} and status = 'pending'`;
    return "skipped";
  }
  try {
    const result = await transport.send({
      channel: row.channel,
      to: row.recipient,
      subject: row.subject ?? "",
      text: row.body ?? "",
      html: row.html ?? undefined,
      language: row.language,
      template: row.template ?? undefined,
      kind: row.kind,
      patientId: row.patient_id,
      userId: row.user_id,
      url: notificationScreen(row.data),
      idempotencyKey: deliveryId,
      clinicId: row.clinic_id,
    });
    await sql`
      update public.notification_deliveries
      set status = ${result.status}, provider = ${result.provider},
          provider_message_id = ${result.providerMessageId}, attempts = attempts + 1,
          sent_at = now(),
          delivered_at = case when ${result.status} = 'delivered' then now() end,
          last_error = null
      where id = ${deliveryId} and status = 'pending'`;
    return result.status;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Only waiting its turn (a rate limit): not an attempt, and never the last one.
    const waiting = error instanceof RetryLaterError && !error.attempted;
    const final = (options.finalAttempt && !waiting) || error instanceof PermanentJobError;
    await sql`
      update public.notification_deliveries
      set attempts = attempts + ${waiting ? 0 : 1}, last_error = ${message.slice(0, 1000)},
          status = case when ${final} then 'failed' else status end,
          failed_at = case when ${final} then now() else failed_at end
      where id = ${deliveryId} and status = 'pending'`;
    throw error;
  }
}
