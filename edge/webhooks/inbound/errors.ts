/**
 * How an event handler says why it could not apply an event.
 *
 * @module
 */

/** The event can never be applied (malformed for its type): dead-lettered at once. */
export class PermanentEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentEventError";
  }
}

/**
 * Something the event refers to is not there yet (a status callback that overtook the
 * message it reports on, a membership before its user). Retried while the event is young;
 * afterwards acknowledged with outcome `unmatched`.
 */
export class NotYetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotYetError";
  }
}

/** Our lease on the inbox row is gone (another worker took it): do nothing more. */
export class InboxLeaseLostError extends Error {
  constructor(message = "inbox lease lost") {
    super(message);
    this.name = "InboxLeaseLostError";
  }
}

interface PgLike {
  name?: string;
  code?: string;
  constraint_name?: string;
  table_name?: string;
}

/**
 * An error as stored in `last_error`: our own messages as they are, database errors by
 * SQLSTATE and constraint only — their messages may quote values from the payload.
 */
export function safeErrorText(error: unknown): string {
  if (error instanceof PermanentEventError || error instanceof NotYetError) {
    return `${error.name}: ${error.message}`;
  }
  const e = error as PgLike;
  if (typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) {
    const where = [e.table_name, e.constraint_name].filter(Boolean).join(".");
    return `database error ${e.code}${where ? ` (${where})` : ""}`;
  }
  return error instanceof Error ? error.name : "error";
}
