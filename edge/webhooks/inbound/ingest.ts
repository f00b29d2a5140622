/**
 * Store first, answer after: one statement inserts the delivery into the inbox
 * (`ON CONFLICT (source, event_id) DO NOTHING`) and, when it is new, enqueues its
 * `webhook.process` job in the same transaction. Rejections go to a rate-limited security log.
 *
 * @module
 */

import type postgres from "postgres";
import type { Db } from "../../context.ts";
import type { InboundRecord } from "./parse.ts";

/** Result of {@linkcode ingest}. */
export interface IngestResult {
  readonly inboxId: string;
  /** False for a duplicate: nothing was created. */
  readonly inserted: boolean;
}

/** Inserts one verified delivery as `service_role`, in one statement; throws when the database
 * does (the caller answers 5xx). */
export async function ingest(
  db: Pick<Db, "serviceCall">,
  record: InboundRecord,
): Promise<IngestResult> {
  const { body, ...meta } = record;
  const row = await db.serviceCall<{ inbox_id: string; inserted: boolean }>(
    "private.webhook_ingest_as",
    body,
    {
      source: meta.source,
      event_id: meta.eventId,
      event_type: meta.eventType,
      clinic_id: meta.clinicId,
      clinic_code: meta.clinicCode,
      headers: meta.headers,
    },
  );
  return { inboxId: row.inbox_id, inserted: row.inserted };
}

/**
 * A per-process fixed-window limiter in front of the database's own (global) limit, so a
 * flood of forged requests costs no database write past the first few per minute.
 */
export class SecurityLogLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(readonly perMinute = 10, readonly now: () => number = Date.now) {}

  /** True when one more entry for `source` may be written in this minute. */
  take(source: string): boolean {
    const start = Math.floor(this.now() / 60_000) * 60_000;
    const window = this.#windows.get(source);
    if (!window || window.start !== start) {
      if (this.#windows.size > 1000) this.#windows.clear();
      this.#windows.set(source, { start, count: 1 });
      return true;
    }
    window.count++;
    return window.count <= this.perMinute;
  }
}

/**
 * Writes a rejected delivery to `webhook_security_log` (source, reason code, remote address;
 * never headers or body) when both limits allow. Never throws: a logging failure must not
 * change the answer to the sender.
 */
export async function logRejection(
  sql: postgres.Sql | postgres.TransactionSql,
  limiter: SecurityLogLimiter,
  source: string,
  reason: string,
  remoteAddr: string | null,
): Promise<boolean> {
  if (!limiter.take(source)) return false;
  try {
    const [row] = await sql<{ logged: boolean }[]>`
      select private.webhook_security_event(${source}, ${reason}, ${remoteAddr}) as logged`;
    return row?.logged ?? false;
  } catch {
    return false;
  }
}
