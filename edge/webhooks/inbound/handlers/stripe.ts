/**
 * Stripe events → `payments` rows and the appointment's payment status, order-tolerant
 * (`private.apply_payment_event`): an older or duplicate event never moves a payment back.
 *
 * A run of events applies in one statement (`many`, used by the batched processing).
 *
 * The payment is keyed by the PaymentIntent id (checkout sessions map to their intent), and
 * created from the metadata our checkout sets: `clinic_id`, `patient_id`, `appointment_id`.
 *
 * @module
 */

import type postgres from "postgres";
import { uuidOrNull } from "../parse.ts";
import { PermanentEventError } from "../errors.ts";
import type { BatchEventHandler, InboxEvent } from "./types.ts";

type PaymentStatus =
  | "pending"
  | "paid"
  | "failed"
  | "cancelled"
  | "refunded"
  | "partially_refunded";

/** Currencies without minor units, and with three (Stripe's list). */
const ZERO_DECIMAL = new Set(
  "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split(" "),
);
const THREE_DECIMAL = new Set("bhd jod kwd omr tnd".split(" "));

/** An amount in minor units as a decimal string in major units. */
export function fromMinorUnits(amount: number, currency: string): string {
  const c = currency.toLowerCase();
  const digits = ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
  return (amount / 10 ** digits).toFixed(digits);
}

interface PaymentUpdate {
  paymentId: string;
  status: PaymentStatus;
  amountMinor: number | null;
  currency: string | null;
  metadata: Record<string, unknown>;
  refundedMinor?: number | null;
}

function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= 255 ? value : null;
}

function int(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

const INTENT_STATUS: Record<string, PaymentStatus> = {
  "payment_intent.created": "pending",
  "payment_intent.processing": "pending",
  "payment_intent.requires_action": "pending",
  "payment_intent.succeeded": "paid",
  "payment_intent.payment_failed": "failed",
  "payment_intent.canceled": "cancelled",
};

/** The payment change an event describes, or null for types we do not act on. */
export function paymentUpdate(type: string, object: Record<string, unknown>): PaymentUpdate | null {
  const metadata = obj(object.metadata);
  if (type in INTENT_STATUS) {
    return {
      paymentId: str(object.id) ?? "",
      status: INTENT_STATUS[type],
      amountMinor: int(object.amount),
      currency: str(object.currency),
      metadata,
    };
  }
  if (type.startsWith("checkout.session.")) {
    const paymentId = str(object.payment_intent) ?? str(object.id) ?? "";
    const base = {
      paymentId,
      amountMinor: int(object.amount_total),
      currency: str(object.currency),
      metadata,
    };
    switch (type) {
      case "checkout.session.completed":
        if (object.payment_status === "paid") return { ...base, status: "paid" };
        if (object.payment_status === "unpaid") return { ...base, status: "pending" };
        return null; // no_payment_required
      case "checkout.session.async_payment_succeeded":
        return { ...base, status: "paid" };
      case "checkout.session.async_payment_failed":
        return { ...base, status: "failed" };
      case "checkout.session.expired":
        return { ...base, status: "cancelled" };
    }
    return null;
  }
  if (type === "charge.refunded") {
    const refunded = int(object.amount_refunded) ?? 0;
    return {
      paymentId: str(object.payment_intent) ?? "",
      status: object.refunded === true ? "refunded" : "partially_refunded",
      amountMinor: int(object.amount),
      currency: str(object.currency),
      metadata,
      refundedMinor: refunded,
    };
  }
  return null;
}

/** One `private.apply_payment_event` call of a Stripe event. */
interface PaymentEventCall {
  payment_id: string;
  clinic_id: string | null;
  patient_id: string | null;
  appointment_id: string | null;
  amount: string | null;
  currency: string;
  status: PaymentStatus;
  event_at: string;
  refunded: string | null;
}

/** What a Stripe event asks of the payments, or its outcome when it asks nothing. */
function paymentEventCall(event: InboxEvent): PaymentEventCall | string {
  const body = event.json;
  const type = str(body.type) ?? "";
  const update = paymentUpdate(type, obj(obj(body.data).object));
  if (!update) return "ignored";
  if (!update.paymentId) throw new PermanentEventError(`${type} without a payment id`);
  const created = int(body.created);
  if (created === null) throw new PermanentEventError("event without 'created'");

  // A per-clinic Stripe account speaks for its clinic only.
  const metaClinic = uuidOrNull(update.metadata.clinic_id);
  if (event.clinicId && metaClinic && metaClinic !== event.clinicId) return "unmatched: clinic";

  const currency = update.currency ?? "sgd";
  return {
    payment_id: update.paymentId,
    clinic_id: event.clinicId ?? metaClinic,
    patient_id: uuidOrNull(update.metadata.patient_id),
    appointment_id: uuidOrNull(update.metadata.appointment_id),
    amount: update.amountMinor === null ? null : fromMinorUnits(update.amountMinor, currency),
    currency,
    status: update.status,
    event_at: new Date(created * 1000).toISOString(),
    refunded: update.refundedMinor == null ? null : fromMinorUnits(update.refundedMinor, currency),
  };
}

/**
 * Applies Stripe events in order, those that change a payment in ONE statement: each is a
 * `private.apply_payment_event` call, made in the events' order (a later event of the same
 * payment sees the earlier one's effect), so a run of events costs one round trip.
 */
async function applyStripeEvents(
  tx: postgres.TransactionSql,
  events: readonly InboxEvent[],
): Promise<string[]> {
  const outcomes = events.map(paymentEventCall);
  const calls = outcomes.filter((o): o is PaymentEventCall => typeof o !== "string");
  if (!calls.length) return outcomes as string[];
  const applied = await tx<{ outcome: string }[]>`
    select private.apply_payment_event('stripe', e.payment_id, e.clinic_id, e.patient_id,
      e.appointment_id, e.amount, e.currency, e.status, e.event_at, e.refunded) as outcome
    from rows from (jsonb_to_recordset(${tx.json(calls as unknown as postgres.JSONValue)})
      as (payment_id text, clinic_id uuid, patient_id uuid, appointment_id uuid, amount numeric,
        currency text, status public.payment_status, event_at timestamptz, refunded numeric))
      with ordinality as e(payment_id, clinic_id, patient_id, appointment_id, amount, currency,
        status, event_at, refunded, n)
    order by e.n`;
  let next = 0;
  return outcomes.map((o) => typeof o === "string" ? o : applied[next++].outcome);
}

export const stripeHandler: BatchEventHandler = Object.assign(
  async (tx: postgres.TransactionSql, event: InboxEvent) =>
    (await applyStripeEvents(tx, [event]))[0],
  { many: applyStripeEvents },
);
