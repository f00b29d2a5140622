/**
 * One outbound delivery attempt, per Standard Webhooks: claim the delivery under a lease
 * (`private.webhook_delivery_claim`), POST the thin JSON payload with a stable `webhook-id`
 * and a fresh timestamp and signature (two signatures during a secret rotation) through
 * `safeFetch` (SSRF guard at connect time, no redirects, deadline, truncated body), then
 * record the attempt and move the delivery on (`private.webhook_delivery_record`): 2xx
 * succeeded; 410 dead and endpoint disabled; anything else retried on the schedule (Retry-After
 * honoured) or dead after the last attempt; endpoints failing for too long are disabled.
 *
 * @module
 */

import type postgres from "postgres";
import type { WebhookConfig } from "../../config.ts";
import { signatureHeaders } from "../sign.ts";
import { safeFetch, type SafeFetchResult } from "../ssrf.ts";
import { nextDelaySeconds, parseRetryAfter } from "./schedule.ts";

/** Kept of a receiver's answer (the attempts table holds at most 2048 characters). */
export const MAX_RESPONSE_BODY = 2048;
export const USER_AGENT = "clinic-webhooks/1.0";

export type DeliveryTransaction = <T>(
  fn: (tx: postgres.TransactionSql) => Promise<T>,
) => Promise<T>;

export interface DeliverOptions {
  workerId: string;
  config: WebhookConfig;
  /** Aborts the request (lease lost, worker stopping). */
  signal?: AbortSignal;
  /** The transaction the outcome is recorded in (the job worker passes `ctx.complete`). */
  transaction?: DeliveryTransaction;
  /** Transport (tests); default `safeFetch`. */
  fetch?: typeof safeFetch;
  /** Extra PEM roots (tests with a TLS receiver). */
  caCerts?: readonly string[];
  random?: () => number;
}

export interface Claimed {
  delivery_id: string;
  attempt: number;
  endpoint_id: string;
  clinic_id: string;
  url: string;
  secrets: string[];
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  event_created_at: Date;
}

export interface AttemptResult {
  deliveryId: string;
  attempt: number;
  result: "succeeded" | "gone" | "failed";
  statusCode: number | null;
  error: string | null;
  /** Delivery status after the attempt. */
  status: string;
  nextAttemptAt: Date | null;
  endpointDisabled: boolean;
}

/** The stable message id of an event: the same for every attempt and endpoint. */
export function webhookId(eventId: string): string {
  return `msg_${eventId.replaceAll("-", "")}`;
}

/** The request body of an event: `{"type","timestamp","data"}`, identical on every attempt. */
export function deliveryBody(
  eventType: string,
  createdAt: Date,
  payload: Record<string, unknown>,
): string {
  return JSON.stringify({ type: eventType, timestamp: createdAt.toISOString(), data: payload });
}

function leaseSeconds(config: WebhookConfig): number {
  return Math.ceil(config.deliveryTimeoutMs / 1000) + 30;
}

/** Claims the delivery `id` (or up to `limit` due ones). */
export function claimDeliveries(
  sql: postgres.Sql,
  options: { workerId: string; config: WebhookConfig; id?: string; limit?: number },
): Promise<Claimed[]> {
  return sql<Claimed[]>`
    select * from private.webhook_delivery_claim(${options.workerId},
      ${leaseSeconds(options.config)}, ${options.limit ?? 1}, ${options.id ?? null})`;
}

function classify(result: SafeFetchResult): "succeeded" | "gone" | "failed" {
  if (!result.ok) return "failed";
  if (result.status >= 200 && result.status < 300) return "succeeded";
  if (result.status === 410) return "gone";
  return "failed";
}

/** Sends one claimed delivery and records the attempt. */
export async function sendClaimed(
  sql: postgres.Sql,
  claimed: Claimed,
  options: DeliverOptions,
): Promise<AttemptResult> {
  const body = deliveryBody(claimed.event_type, claimed.event_created_at, claimed.payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const signed = await signatureHeaders(
    claimed.secrets,
    webhookId(claimed.event_id),
    timestamp,
    body,
  );
  const response = await (options.fetch ?? safeFetch)(claimed.url, {
    method: "POST",
    headers: { ...signed, "content-type": "application/json", "user-agent": USER_AGENT },
    body,
    signal: options.signal,
  }, {
    allow: options.config.allowHosts,
    timeoutMs: options.config.deliveryTimeoutMs,
    maxBodyBytes: MAX_RESPONSE_BODY,
    caCerts: options.caCerts,
  });

  const result = classify(response);
  const statusCode = response.ok ? response.status : null;
  const error = response.ok
    ? (result === "failed" ? `HTTP ${response.status}` : null)
    : `${response.code}: ${response.message}`.slice(0, 500);
  const responseBody = response.ok
    ? response.body.replaceAll("\u0000", "").slice(0, MAX_RESPONSE_BODY)
    : null;
  const next = result === "failed"
    ? nextDelaySeconds(claimed.attempt, {
      status: statusCode,
      retryAfterSeconds: response.ok ? parseRetryAfter(response.headers.get("retry-after")) : null,
      random: options.random,
    })
    : null;

  const record = (tx: postgres.Sql | postgres.TransactionSql) =>
    tx<{ status: string; next_attempt_at: Date | null; endpoint_disabled: boolean }[]>`
      select * from private.webhook_delivery_record(${claimed.delivery_id}, ${options.workerId},
        ${result}, ${statusCode}, ${response.durationMs}, ${responseBody}, ${error},
        ${next}, ${options.config.disableAfterHours})`;
  const [row] = options.transaction ? await options.transaction(record) : await record(sql);
  return {
    deliveryId: claimed.delivery_id,
    attempt: claimed.attempt,
    result,
    statusCode,
    error,
    status: row?.status ?? "unknown",
    nextAttemptAt: row?.next_attempt_at ?? null,
    endpointDisabled: row?.endpoint_disabled ?? false,
  };
}

/** The `webhook.deliver` job: one attempt of delivery `id`, when it is due and unclaimed. */
export async function deliverById(
  sql: postgres.Sql,
  id: string,
  options: DeliverOptions,
): Promise<AttemptResult | null> {
  const [claimed] = await claimDeliveries(sql, { ...options, id });
  return claimed ? await sendClaimed(sql, claimed, options) : null;
}

/** Attempts up to `limit` due deliveries, `concurrency` at a time (sweeper, tests, bench). */
export async function drainDeliveries(
  sql: postgres.Sql,
  options: DeliverOptions & { limit?: number; concurrency?: number },
): Promise<AttemptResult[]> {
  const claimed = await claimDeliveries(sql, { ...options, limit: options.limit ?? 50 });
  const results: AttemptResult[] = [];
  let next = 0;
  const lanes = Math.max(1, Math.min(options.concurrency ?? 8, claimed.length));
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < claimed.length) {
      results.push(await sendClaimed(sql, claimed[next++], options));
    }
  }));
  return results;
}
