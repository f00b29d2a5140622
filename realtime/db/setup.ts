/**
 * Wires the realtime server to its database: catalog, authorization directory, clinic
 * rules with SQL fallback, private-topic policy, the replication feed (directory changes applied in commit order
 * before the fan-out sees the transaction) and durable catch-up cursors.
 */
import postgres from "postgres";
import type { TopicPolicy } from "../auth/channel_policy.ts";
import type { CursorStore } from "../catchup/cursors.ts";
import type { Authorizer } from "../fanout/authorizer.ts";
import type { ChangeFeed, FeedSink } from "../feed/feed.ts";
import { createReplicationFeed, type ReplicationFeed } from "../feed/replication.ts";
import { createDbAuthorizer } from "./authorizer.ts";
import { type Catalog, loadCatalog } from "./catalog.ts";
import { clinicRules } from "./clinic_rules.ts";
import { createDbCursorStore } from "./cursor_store.ts";
import { createDirectory, type Directory } from "./directory.ts";
import { createSqlPolicy } from "./sql_policy.ts";
import { createDbTopicPolicy } from "./topic_policy.ts";

export const CLIENT_PUBLICATION = "supabase_realtime";
export const DIRECTORY_PUBLICATION = "realtime_directory";

export interface DatabaseOptions {
  url: string;
  /** Replication slot name (default `realtime_<database>`). */
  slot?: string;
  /** Catch-up window, for pruning durable cursors. */
  windowMs: number;
  tickIntervalMs?: number;
  /**
   * Where committed transactions come from, when not from this process's own replication
   * slot (a realtime node reads the feeder's stream, realtime/bus/node_feed.ts).
   */
  feed?: ChangeFeed;
}

export interface RealtimeDatabase {
  authorizer: Authorizer;
  feed: ChangeFeed;
  cursors: CursorStore;
  /** Private channels, by the RLS policies on realtime.messages. */
  topicPolicy: TopicPolicy;
  catalog: Catalog;
  directory: Directory;
  close(): Promise<void>;
}

export async function connectDatabase(options: DatabaseOptions): Promise<RealtimeDatabase> {
  const sql = postgres(options.url, { max: 4, onnotice: () => {}, idle_timeout: 30 });
  try {
    const catalog = await loadCatalog(sql, CLIENT_PUBLICATION);
    const pubs = await sql<{ pubname: string }[]>`
      select pubname from pg_publication where pubname in (${CLIENT_PUBLICATION}, ${DIRECTORY_PUBLICATION})`;
    const directory = createDirectory();
    const source = options.feed ?? createReplicationFeed({
      url: options.url,
      sql,
      slot: options.slot,
      publications: pubs.map((p) => p.pubname).sort(),
      typeName: catalog.typeName,
      tickIntervalMs: options.tickIntervalMs,
    });
    const authorizer = createDbAuthorizer({
      catalog,
      rules: clinicRules(directory),
      sqlPolicy: createSqlPolicy(sql, catalog),
      stamp: () => directory.stamp(),
    });
    return {
      authorizer,
      feed: withDirectory(source, directory, catalog, sql),
      cursors: createDbCursorStore(sql, options.windowMs, options.feed !== undefined),
      topicPolicy: createDbTopicPolicy(sql, () => directory.stamp()),
      catalog,
      directory,
      close: () => sql.end({ timeout: 5 }),
    };
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
}

/**
 * Applies directory changes (in commit order, before the fan-out decides anything of the
 * same transaction) and hands the fan-out only the client publication's changes.
 */
function withDirectory(
  feed: ChangeFeed & Partial<Pick<ReplicationFeed, "prepare">>,
  directory: Directory,
  catalog: Catalog,
  sql: postgres.Sql,
): ChangeFeed {
  return {
    async start(sink: FeedSink) {
      await feed.prepare?.(); // the slot exists before the snapshot, so no change falls between
      await directory.load(sql);
      await feed.start({
        begin: (lsn) => sink.begin(lsn),
        confirmableLsn: () => sink.confirmableLsn(),
        stale: () => sink.stale?.(),
        publish(txn) {
          for (const change of txn.changes) directory.apply(change);
          const changes = txn.changes.filter((c) => catalog.table(c.schema, c.table));
          sink.publish(changes.length === txn.changes.length ? txn : { ...txn, changes });
        },
      });
    },
    stop: () => feed.stop(),
    ready: () => feed.ready(),
    isReady: () => feed.isReady(),
    isStale: () => feed.isStale?.() ?? false,
    metrics: () => feed.metrics(),
  };
}
