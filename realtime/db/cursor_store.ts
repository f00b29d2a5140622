/**
 * Durable catch-up cursors in `private.realtime_cursors`: written in batches by the
 * housekeeping sweep and on shutdown, read on start. A row still marked connected at start
 * belonged to a server that died: its subscriber is treated as having left at that moment,
 * from the last written position (at worst a few changes are sent twice, never lost).
 */
import type { Sql } from "postgres";
import type { CursorEntry, CursorStore } from "../catchup/cursors.ts";

/**
 * `shared`: several realtime nodes use the table; nothing is loaded at start, a key this process
 * does not hold is read on join (`fetch`), and a row another node still marks connected counts
 * as gone away now.
 */
export function createDbCursorStore(sql: Sql, windowMs: number, shared = false): CursorStore {
  const map = new Map<string, CursorEntry>();
  const dirty = new Set<string>();
  const deleted = new Set<string>();
  let flushing: Promise<void> | undefined;

  async function write(): Promise<void> {
    const keys = [...dirty];
    const gone = [...deleted];
    dirty.clear();
    deleted.clear();
    try {
      await persist(keys, gone);
    } catch (error) {
      for (const k of keys) if (map.has(k)) dirty.add(k);
      for (const k of gone) if (!map.has(k)) deleted.add(k);
      throw error;
    }
  }

  async function persist(keys: string[], gone: string[]): Promise<void> {
    if (keys.length > 0) {
      const lsns = keys.map((k) => map.get(k)!.lsn.toString());
      const ats = keys.map((k) => {
        const at = map.get(k)!.at;
        return at === null ? null : new Date(at).toISOString();
      });
      await sql`
        insert into private.realtime_cursors (key, lsn, disconnected_at, updated_at)
        select k, l::bigint, a::timestamptz, now()
        from unnest(${keys}::text[], ${lsns}::text[], ${ats}::text[]) as t(k, l, a)
        on conflict (key) do update
          set lsn = excluded.lsn, disconnected_at = excluded.disconnected_at, updated_at = now()`;
    }
    if (gone.length > 0) {
      await sql`delete from private.realtime_cursors where key = any(${gone}::text[])`;
    }
    await sql`
      delete from private.realtime_cursors
      where updated_at < now() - make_interval(secs => ${windowMs / 1000})`;
  }

  async function fetch(key: string): Promise<void> {
    const [row] = await sql<{ lsn: string; at: Date | null }[]>`
      select lsn::text as lsn, disconnected_at as at from private.realtime_cursors
      where key = ${key} and updated_at > now() - make_interval(secs => ${windowMs / 1000})`;
    if (row && !map.has(key)) {
      map.set(key, { lsn: BigInt(row.lsn), at: row.at ? row.at.getTime() : Date.now() });
    }
  }

  return {
    ...(shared ? { fetch } : {}),
    get: (key) => map.get(key),
    set(key, entry) {
      const previous = map.get(key);
      if (previous && previous.lsn === entry.lsn && previous.at === entry.at) return;
      map.set(key, entry);
      dirty.add(key);
      deleted.delete(key);
    },
    delete(key) {
      if (!map.delete(key)) return;
      dirty.delete(key);
      deleted.add(key);
    },
    prune(olderThan) {
      for (const [key, entry] of map) {
        if (entry.at !== null && entry.at < olderThan) {
          map.delete(key);
          dirty.delete(key);
          deleted.add(key);
        }
      }
    },
    flush() {
      if (flushing) return flushing.then(() => this.flush());
      if (dirty.size === 0 && deleted.size === 0) return Promise.resolve();
      flushing = write().finally(() => flushing = undefined);
      return flushing;
    },
    async load() {
      // Shared: every node would hold (and prune, deleting rows) the cursors of all the others;
      // a key is read when its subscriber joins here instead (`fetch`).
      if (shared) return;
      const now = Date.now();
      const rows = await sql<{ key: string; lsn: string; at: Date | null }[]>`
        select key, lsn::text as lsn, disconnected_at as at from private.realtime_cursors
        where updated_at > now() - make_interval(secs => ${windowMs / 1000})`;
      for (const r of rows) {
        map.set(r.key, { lsn: BigInt(r.lsn), at: r.at ? r.at.getTime() : now });
      }
    },
  };
}
