/**
 * Live data = snapshot + stream, never stale silently.
 *
 * A feed joins one realtime channel with `postgres_changes` bindings and, each time the channel
 * becomes SUBSCRIBED (first join, rejoin after a network loss, server restart), loads a fresh
 * snapshot; changes that arrive while the snapshot is in flight are buffered and replayed after
 * it (consumers drop the stale ones by version). Its `state` is `live` only while the channel is
 * joined AND the last snapshot succeeded; otherwise `connecting` / `reconnecting` with
 * `staleSince`, which the UI shows.
 *
 * Recovery beyond realtime-js's own rejoin: a watchdog recreates the channel when it stays down,
 * reconnects the socket, resyncs after the device slept (timer gaps), on `online` and when the
 * page becomes visible, and periodically while live (`refreshMs`) as a belt-and-braces check.
 */
import { type ReadonlySignal, signal } from "@preact/signals";
import { RealtimeClient } from "@supabase/realtime-js";

export type LinkState = "connecting" | "live" | "reconnecting";

export type Row = Record<string, unknown>;

export interface Change {
  table: string;
  eventType: "INSERT" | "UPDATE" | "DELETE";
  new: Row;
  old: Row;
  commit_timestamp?: string;
}

/** The parts of a realtime-js channel a feed uses. */
export interface ChannelLike {
  on(
    type: "postgres_changes",
    filter: { event: "*"; schema: string; table: string; filter?: string },
    callback: (payload: Change) => void,
  ): ChannelLike;
  subscribe(callback: (status: string, error?: Error) => void): ChannelLike;
}

/** The parts of a RealtimeClient a feed uses. */
export interface ClientLike {
  channel(topic: string, params?: { config: Record<string, unknown> }): ChannelLike;
  removeChannel(channel: ChannelLike): Promise<unknown>;
  connect(): void;
  isConnected(): boolean;
  sendHeartbeat(): Promise<void> | void;
  /** Re-reads the token (from the accessToken callback) and sends it to joined channels. */
  setAuth(token?: string | null): Promise<void>;
}

export interface FeedOptions {
  client: ClientLike;
  topic: string;
  changes: { table: string; filter?: string }[];
  onChange(change: Change): void;
  /** Loads the truth; throws when it cannot (the feed retries with backoff). */
  snapshot(): Promise<void>;
  /** Resync this often while live (0 = never). */
  refreshMs?: number;
  /** Recreate the channel when it has been down this long. */
  resetAfterMs?: number;
  /** Backoff between failed snapshots (default 1, 2, 5, 10, 20 s). */
  retryMs?: number[];
  /** Delay before replacing a channel the server closed (default 1 s). */
  reopenMs?: number;
  /** Watchdog period (default 5 s); a tick arriving 3 periods late means the device slept. */
  watchdogMs?: number;
  now?: () => number;
}

export interface Feed {
  state: ReadonlySignal<LinkState>;
  /** Local epoch ms since when the shown data may be out of date (null while live). */
  staleSince: ReadonlySignal<number | null>;
  /** Local epoch ms of the last successful snapshot. */
  syncedAt: ReadonlySignal<number | null>;
  resync(): void;
  close(): Promise<void>;
}

const WATCHDOG_MS = 5_000;
const SNAPSHOT_RETRY_MS = [1_000, 2_000, 5_000, 10_000, 20_000];

export function openFeed(options: FeedOptions): Feed {
  const now = options.now ?? Date.now;
  const state = signal<LinkState>("connecting");
  const staleSince = signal<number | null>(now());
  const syncedAt = signal<number | null>(null);
  const resetAfterMs = options.resetAfterMs ?? 30_000;

  let closed = false;
  let channel: ChannelLike | null = null;
  let generation = 0;
  let joined = false;
  let synced = false;
  let everLive = false;
  let downSince = now();
  let buffer: Change[] | null = null;
  let syncing = false;
  let again = false;
  let retries = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let reopenTimer: ReturnType<typeof setTimeout> | undefined;
  const retryMs = options.retryMs ?? SNAPSHOT_RETRY_MS;
  let lastTick = now();

  function update() {
    const live = joined && synced;
    if (live) {
      state.value = "live";
      staleSince.value = null;
      everLive = true;
    } else {
      state.value = everLive ? "reconnecting" : "connecting";
      if (staleSince.value === null) staleSince.value = now();
    }
  }

  function down() {
    if (joined || synced) downSince = now();
    joined = false;
    synced = false;
    update();
  }

  function deliver(change: Change) {
    if (buffer) buffer.push(change);
    else options.onChange(change);
  }

  function open() {
    const gen = ++generation;
    const ch = options.client.channel(options.topic, { config: { private: false } });
    for (const c of options.changes) {
      ch.on("postgres_changes", {
        event: "*",
        schema: "public",
        table: c.table,
        ...(c.filter ? { filter: c.filter } : {}),
      }, (payload) => {
        if (gen === generation && !closed) deliver(payload);
      });
    }
    ch.subscribe((status) => {
      if (gen !== generation || closed) return;
      if (status === "SUBSCRIBED") {
        joined = true;
        synced = false;
        update();
        resync();
      } else {
        down();
        // CHANNEL_ERROR / TIMED_OUT: realtime-js rejoins by itself. CLOSED is final for the
        // channel (the server closed it): make a new one.
        if (status === "CLOSED") {
          clearTimeout(reopenTimer);
          reopenTimer = setTimeout(
            () => !closed && gen === generation && reopen(),
            options.reopenMs ?? 1000,
          );
        }
      }
    });
    channel = ch;
  }

  async function reopen() {
    const old = channel;
    channel = null;
    generation++;
    joined = false;
    synced = false;
    update();
    if (old) await options.client.removeChannel(old).catch(() => {});
    if (closed) return;
    if (!options.client.isConnected()) options.client.connect();
    open();
  }

  async function resync(): Promise<void> {
    if (closed) return;
    if (syncing) {
      again = true;
      return;
    }
    syncing = true;
    clearTimeout(retryTimer);
    buffer = [];
    let ok = false;
    try {
      await options.snapshot();
      ok = true;
    } catch {
      ok = false;
    }
    const pending = buffer;
    buffer = null;
    syncing = false;
    if (closed) return;
    for (const change of pending) options.onChange(change);
    if (ok) {
      retries = 0;
      syncedAt.value = now();
      synced = true;
      update();
    } else {
      synced = false;
      update();
      const delay = retryMs[Math.min(retries++, retryMs.length - 1)];
      retryTimer = setTimeout(() => void resync(), delay);
    }
    if (again) {
      again = false;
      void resync();
    }
  }

  /** Something happened that may have invalidated what we show: verify. */
  function recheck() {
    if (closed) return;
    if (!options.client.isConnected()) options.client.connect();
    else void options.client.sendHeartbeat();
    if (joined) void resync();
  }

  const watchdogMs = options.watchdogMs ?? WATCHDOG_MS;
  const watchdog = setInterval(() => {
    const t = now();
    const slept = t - lastTick > watchdogMs * 3;
    lastTick = t;
    if (slept) {
      // Timers were frozen (sleep, background): the socket may be dead without knowing it.
      if (synced) downSince = t;
      synced = false;
      update();
      recheck();
      return;
    }
    if (state.value !== "live") {
      if (!options.client.isConnected()) options.client.connect();
      if (t - downSince > resetAfterMs) {
        downSince = t;
        void reopen();
      }
    } else if (options.refreshMs && syncedAt.value && t - syncedAt.value > options.refreshMs) {
      void resync();
    }
  }, watchdogMs);

  const onOnline = () => recheck();
  const onOffline = () => down();
  const onVisible = () => {
    if (document.visibilityState === "visible") recheck();
  };
  const hasWindow = typeof addEventListener === "function" && typeof document !== "undefined";
  if (hasWindow) {
    addEventListener("online", onOnline);
    addEventListener("offline", onOffline);
    document.addEventListener("visibilitychange", onVisible);
  }

  open();
  // Show data at once; the snapshot is taken again when the channel is joined.
  void resync();

  return {
    state,
    staleSince,
    syncedAt,
    resync: () => void resync(),
    async close() {
      closed = true;
      clearInterval(watchdog);
      clearTimeout(retryTimer);
      clearTimeout(reopenTimer);
      if (hasWindow) {
        removeEventListener("online", onOnline);
        removeEventListener("offline", onOffline);
        document.removeEventListener("visibilitychange", onVisible);
      }
      const old = channel;
      channel = null;
      if (old) await options.client.removeChannel(old).catch(() => {});
    },
  };
}

/** A realtime-js client for this origin; the token callback is asked on every (re)join. */
export function createClient(
  anonKey: string,
  accessToken?: () => Promise<string | null>,
): ClientLike {
  const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/realtime/v1`;
  const client = new RealtimeClient(base, {
    params: { apikey: anonKey },
    ...(accessToken ? { accessToken: async () => (await accessToken()) ?? anonKey } : {}),
    heartbeatIntervalMs: 25_000,
    reconnectAfterMs: (tries: number) => [1_000, 2_000, 5_000][tries - 1] ?? 10_000,
  });
  return client as unknown as ClientLike;
}

/** Calls `fn` at most once per `ms`, trailing (for "refetch on any change"). */
export function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
