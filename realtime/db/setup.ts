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
  /**
   * The publication of the streamed tables (default `supabase_realtime`); another name is
   * created as needed and takes our tables out of `supabase_realtime`
   * (private.use_realtime_publication).
   */
  publication?: string;
  /** Replication slot name (default `realtime_<database>`). */
  slot?: string;
  /** Catch-up window, for pruning durable cursors. */
  windowMs: number;
  tickIntervalMs?: number;
}

export interface RealtimeDatabase {
  authorizer: Authorizer;
  feed: ChangeFeed;
  cursors: CursorStore;
  /** Private channels, by the RLS policies on realtime.messages. */
  topicPolicy: TopicPolicy;
  catalog: Catalog;
  directory: Directory;
  slot: string;
  close(): Promise<void>;
}

export async function connectDatabase(options: DatabaseOptions): Promise<RealtimeDatabase> {
  const sql = postgres(options.url, { max: 4, onnotice: () => {}, idle_timeout: 30 });
  const publication = options.publication ?? CLIENT_PUBLICATION;
  try {
    if (publication !== CLIENT_PUBLICATION) {
      await sql`select private.use_realtime_publication(${publication})`;
    }
    const catalog = await loadCatalog(sql, publication);
    const pubs = await sql<{ pubname: string }[]>`
      select pubname from pg_publication where pubname in (${publication}, ${DIRECTORY_PUBLICATION})`;
    const directory = createDirectory();
    const replication = createReplicationFeed({
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
      feed: withDirectory(replication, directory, catalog, sql),
      cursors: createDbCursorStore(sql, options.windowMs),
      topicPolicy: createDbTopicPolicy(sql, () => directory.stamp()),
      catalog,
      directory,
      slot: replication.slot,
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
  feed: ReplicationFeed,
  directory: Directory,
  catalog: Catalog,
  sql: postgres.Sql,
): ChangeFeed {
  return {
    async start(sink: FeedSink) {
      await feed.prepare(); // the slot exists before the snapshot, so no change falls between
      await directory.load(sql);
      await feed.start({
        begin: (lsn) => sink.begin(lsn),
        confirmableLsn: () => sink.confirmableLsn(),
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
    metrics: () => feed.metrics(),
  };
}
