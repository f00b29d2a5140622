/**
 * The shape of an inbox event handler.
 *
 * @module
 */

import type postgres from "postgres";

/** A claimed inbox row, ready for its handler. */
export interface InboxEvent {
  readonly id: string;
  readonly source: string;
  readonly eventId: string;
  readonly eventType: string | null;
  readonly clinicId: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The body parsed as a JSON object (`{}` when it is not one, e.g. Twilio's form bodies). */
  readonly json: Record<string, unknown>;
  readonly receivedAt: Date;
  /** Attempts so far, this one included. */
  readonly attempts: number;
}

/**
 * Applies one event inside the processing transaction (service role) and returns its
 * outcome (`created`, `updated`, `stale`, `ignored`, `unmatched…`). Must be idempotent and
 * order-tolerant: it may see the same event again after a crash, and events out of order.
 */
export type EventHandler = (tx: postgres.TransactionSql, event: InboxEvent) => Promise<string>;

/**
 * A handler that can also apply a run of its events together, in one statement with no
 * savepoint each (`many`: their outcomes in order). When any of them fails, `many` fails as a
 * whole and the caller applies them one by one instead, so a poison event fails alone.
 */
export interface BatchEventHandler extends EventHandler {
  many(tx: postgres.TransactionSql, events: readonly InboxEvent[]): Promise<string[]>;
}
