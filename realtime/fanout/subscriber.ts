/** What the fan-out needs from a joined channel. */
import type { Claims } from "../auth/claims.ts";
import type { Binding } from "../changes/bindings.ts";
import type { Vsn } from "../protocol/serializer.ts";
import type { TableAccess } from "./authorizer.ts";

export interface Subscriber {
  readonly topic: string;
  /** JSON text of the topic, spliced into frames. */
  readonly topicJson: string;
  readonly vsn: Vsn;
  /** Sends a text frame (never throws). */
  sendFrame(frame: string): void;
  /** Ends the channel with a system error and phx_error so the client rejoins. */
  fail(message: string): void;
  isOpen(): boolean;
}

/** A binding resolved to one table, with the principal's access to that table. */
export interface TableBinding {
  binding: Binding;
  schema: string;
  table: string;
  access: TableAccess;
}

/** Everything the fan-out needs to register a channel's postgres_changes bindings. */
export interface Subscription {
  subscriber: Subscriber;
  claims: Claims;
  principalKey: string;
  tables: TableBinding[];
}
