/**
 * The outbound event catalog: what clinic integrations can subscribe to. Each is written to
 * `webhook_outbox` by a trigger in the same transaction as the change (private.webhook_emit in
 * the migration `20261122000700_webhooks.sql`; the triggers are with their tables' migrations),
 * with a thin payload of ids, statuses and times.
 *
 * @module
 */

export const OUTBOUND_EVENT_TYPES = [
  "appointment.created",
  "appointment.cancelled",
  "appointment.rescheduled",
  "appointment.status_changed",
  "queue.ticket_created",
  "queue.ticket_called",
  "queue.ticket_status_changed",
  "payment.completed",
  "payment.failed",
  "payment.refunded",
] as const;

export type OutboundEventType = typeof OUTBOUND_EVENT_TYPES[number];

/** Subscribes to every event type, present and future. */
export const ALL_EVENTS = "*";

export function isOutboundEventType(value: string): value is OutboundEventType {
  return (OUTBOUND_EVENT_TYPES as readonly string[]).includes(value);
}
