/**
 * Idle HTTP/1.1 keep-alive connections for `safeFetch`'s opt-in reuse, kept per
 * (scheme, vetted address, host name, port): a connection is only ever handed
 * back for a request whose own guard check vetted that same address, so reuse
 * never reaches an address the guard did not approve for this request, and a
 * TLS connection is only reused for the host name it verified. Bounded per
 * origin, closed after an idle timeout (the server's `Keep-Alive: timeout`
 * when shorter), and only connections whose last exchange completed cleanly
 * are ever put back. While idle a connection is watched (one pending read): a
 * server that closes it, or sends anything unasked, gets it dropped at once,
 * so the next request opens a new vetted connection instead of failing on it.
 *
 * @module
 */

import type { ByteStream } from "./http1.ts";

/** Default most idle connections kept per origin. */
export const DEFAULT_MAX_IDLE_PER_ORIGIN = 50;
/** Default idle time before a kept connection is closed. */
export const DEFAULT_IDLE_TIMEOUT_MS = 4_000;

export interface PoolOptions {
  readonly maxIdlePerOrigin?: number;
  readonly idleTimeoutMs?: number;
}

/** Where a connection goes: its scheme, the vetted address, the host name and the port. */
export interface PoolKey {
  readonly protocol: string;
  readonly address: string;
  readonly hostname: string;
  readonly port: number;
}

/** A kept connection handed out: `stream` reads what the idle watch already read first. */
export interface Reused {
  readonly conn: Deno.Conn;
  readonly stream: ByteStream;
  readonly address: string;
}

export interface ConnectionPool {
  /** An idle connection to one of `addresses` (in order) for this origin, removed from the pool. */
  take(origin: Omit<PoolKey, "address">, addresses: readonly string[]): Reused | null;
  /** Keeps `conn` for the next request (or closes it when the pool is full or closed). */
  give(key: PoolKey, conn: Deno.Conn, serverTimeoutMs?: number | null): void;
  /** Connections kept now (tests). */
  readonly idle: number;
  /** Closes every kept connection; later `give`s close theirs. */
  close(): void;
}

interface Idle {
  readonly conn: Deno.Conn;
  readonly timer: ReturnType<typeof setTimeout>;
  /** The pending read watching the idle connection, into `buffer`. */
  readonly watch: Promise<number | null>;
  readonly buffer: Uint8Array;
}

function keyOf(key: PoolKey): string {
  return `${key.protocol}//${key.address}|${key.hostname}|${key.port}`;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** `entry`'s connection as a stream whose first read is the watch's. */
function resumed(entry: Idle): ByteStream {
  let first: Promise<Uint8Array | null> | null = entry.watch.then((n) =>
    n === null ? null : entry.buffer.subarray(0, n)
  );
  let left: Uint8Array | null = null;
  return {
    async read(into) {
      if (first) {
        left = await first;
        first = null;
        if (left === null) return null;
      }
      if (left && left.byteLength > 0) {
        const n = Math.min(into.byteLength, left.byteLength);
        into.set(left.subarray(0, n));
        left = left.subarray(n);
        return n;
      }
      return entry.conn.read(into);
    },
    write: (bytes) => entry.conn.write(bytes),
  };
}

/** Seconds of the `timeout` parameter of a `Keep-Alive` response header, in ms. */
export function keepAliveTimeoutMs(header: string | null): number | null {
  const match = header ? /(?:^|[\s,;])timeout\s*=\s*(\d{1,6})/i.exec(header) : null;
  return match ? Number(match[1]) * 1000 : null;
}

export function connectionPool(options: PoolOptions = {}): ConnectionPool {
  const maxIdle = options.maxIdlePerOrigin ?? DEFAULT_MAX_IDLE_PER_ORIGIN;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const idle = new Map<string, Idle[]>();
  let count = 0;
  let closed = false;

  function remove(key: string, entry: Idle): boolean {
    const list = idle.get(key);
    const at = list?.indexOf(entry) ?? -1;
    if (!list || at < 0) return false;
    list.splice(at, 1);
    if (list.length === 0) idle.delete(key);
    clearTimeout(entry.timer);
    count--;
    return true;
  }

  return {
    take(origin, addresses) {
      for (const address of addresses) {
        const key = keyOf({ ...origin, address });
        // The most recently used first: the least likely to have been closed by the server.
        const entry = idle.get(key)?.at(-1);
        if (entry && remove(key, entry)) {
          return { conn: entry.conn, stream: resumed(entry), address };
        }
      }
      return null;
    },
    give(key, conn, serverTimeoutMs) {
      const k = keyOf(key);
      const list = idle.get(k) ?? [];
      // Close a second before the server would, so a request never races its close.
      const ms = Math.min(idleTimeoutMs, (serverTimeoutMs ?? Infinity) - 1000);
      if (closed || list.length >= maxIdle || ms <= 0) {
        closeQuietly(conn);
        return;
      }
      const timer = setTimeout(() => {
        if (remove(k, entry)) closeQuietly(conn);
      }, ms);
      Deno.unrefTimer(Number(timer)); // a kept connection never holds the process open
      const buffer = new Uint8Array(16 * 1024);
      const watch = conn.read(buffer).catch(() => null);
      // Anything while idle (the server's close, or bytes nobody asked for) ends it.
      watch.then(() => {
        if (remove(k, entry)) closeQuietly(conn);
      });
      const entry: Idle = { conn, timer, watch, buffer };
      list.push(entry);
      idle.set(k, list);
      count++;
    },
    get idle() {
      return count;
    },
    close() {
      closed = true;
      for (const [key, list] of [...idle]) {
        for (const entry of [...list]) {
          remove(key, entry);
          closeQuietly(entry.conn);
        }
      }
    },
  };
}
