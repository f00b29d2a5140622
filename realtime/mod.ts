/**
 * The realtime service: a Supabase-Realtime-compatible websocket server fed by PostgreSQL
 * logical replication. Mount `createRealtime(options).fetch` at `/realtime/v1/*`.
 */
export { createRealtime, type Realtime, type RealtimeOptions } from "./server.ts";
export type { Claims } from "./auth/claims.ts";
export { createVerifier, type TokenVerifier } from "./auth/jwt.ts";
export {
  FULL_ACCESS,
  NO_ACCESS,
  type TopicAccess,
  type TopicPolicy,
} from "./auth/channel_policy.ts";
export {
  type Authorizer,
  createRuleAuthorizer,
  type RowCheck,
  type TableAccess,
  type TableRule,
} from "./fanout/authorizer.ts";
export type { ChangeFeed, FeedSink } from "./feed/feed.ts";
export { createMemoryFeed, type MemoryFeed } from "./feed/memory.ts";
export type { Change, Column, Row, Transaction } from "./changes/types.ts";
