/**
 * Catch-up cursors: for a subscription key (token subject + topic + bindings), the commit
 * LSN up to which the subscriber has been served, and when it went away.
 */
import { hash32 } from "../changes/bindings.ts";

export interface CursorEntry {
  lsn: bigint;
  /** When the subscriber disconnected (epoch ms); null while connected. */
  at: number | null;
}

export interface CursorStore {
  get(key: string): CursorEntry | undefined;
  set(key: string, entry: CursorEntry): void;
  delete(key: string): void;
  /** Forgets entries that disconnected before `olderThan`. */
  prune(olderThan: number): void;
  /** Persists pending writes (durable stores); resolves when done. */
  flush(): Promise<void>;
  /** Loads persisted entries (durable stores). */
  load(): Promise<void>;
  /**
   * Reads one key from a store shared by several realtime nodes when this process holds no
   * entry for it: the subscriber was served by another node (which may have died).
   */
  fetch?(key: string): Promise<void>;
}

/** The key of a subscription for catch-up: subject, topic and bindings. */
export function cursorKey(sub: string, topic: string, canonicalBindings: string[]): string {
  const text = JSON.stringify([sub, topic, canonicalBindings]);
  // Two hashes keep the key short; collisions across different subjects are harmless
  // beyond a redundant replay, which is still authorized under the new claims.
  return `${hash32(text).toString(36)}${hash32(`~${text}`).toString(36)}:${text.length}`;
}

export function createMemoryCursorStore(): CursorStore {
  const map = new Map<string, CursorEntry>();
  return {
    get: (key) => map.get(key),
    set: (key, entry) => void map.set(key, entry),
    delete: (key) => void map.delete(key),
    prune(olderThan) {
      for (const [key, entry] of map) {
        if (entry.at !== null && entry.at < olderThan) map.delete(key);
      }
    },
    flush: () => Promise.resolve(),
    load: () => Promise.resolve(),
  };
}
