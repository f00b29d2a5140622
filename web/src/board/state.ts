/**
 * The TV board's state as a pure reducer: a snapshot (`GET /api/clinics/:code/queue`, with a
 * version) plus the stream of `queue_board` / `queue_board_versions` changes.
 *
 * - Row changes older than what is held (by row version) are dropped, so replaying buffered
 *   events after a snapshot is safe.
 * - A version jump (a clinic-day version more than one ahead of what was seen) or a new day
 *   means events were missed: the caller resyncs.
 * - Memory is flat: only the current day's non-terminal tickets are kept, plus a bounded list of
 *   recent calls.
 * - Every new call (status `called` with a new `called_at`, so recalls too) is announced once.
 */

export type TicketStatus =
  | "waiting"
  | "called"
  | "serving"
  | "completed"
  | "no_show"
  | "cancelled";

export interface BoardRow {
  ticket_id: string;
  code: string;
  status: TicketStatus;
  room: string | null;
  called_at: string | null;
  position: number | null;
  version: number;
  service_date?: string | null;
}

export interface Call {
  ticket_id: string;
  code: string;
  room: string | null;
  /** ISO instant of the call. */
  at: string;
}

export interface BoardState {
  day: string | null;
  version: number;
  rows: ReadonlyMap<string, BoardRow>;
  /** Newest first, at most RECENT_CALLS. */
  calls: readonly Call[];
}

export interface Snapshot {
  version: number;
  service_date: string | null;
  tickets: BoardRow[];
}

export interface Applied {
  state: BoardState;
  /** Calls to flash/chime now. */
  announce: Call[];
  /** Events were missed (or the day changed): load a snapshot. */
  gap: boolean;
}

export const RECENT_CALLS = 8;
/** A call found in a snapshot is still announced when it is this recent. */
export const ANNOUNCE_WINDOW_MS = 60_000;

const TERMINAL = new Set<TicketStatus>(["completed", "no_show", "cancelled"]);
const STATUSES = new Set<string>([
  "waiting",
  "called",
  "serving",
  "completed",
  "no_show",
  "cancelled",
]);

export function emptyBoard(): BoardState {
  return { day: null, version: 0, rows: new Map(), calls: [] };
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);

/** A `queue_board` record (from a snapshot or a change) in canonical form, or null if unusable. */
export function toRow(record: Record<string, unknown>): BoardRow | null {
  const id = record.ticket_id ?? record.id;
  const code = record.code;
  const status = String(record.status ?? "");
  if (typeof id !== "string" || typeof code !== "string" || !STATUSES.has(status)) return null;
  const position = record.position === null || record.position === undefined
    ? null
    : Number(record.position);
  return {
    ticket_id: id,
    code,
    status: status as TicketStatus,
    room: record.room === null || record.room === undefined ? null : String(record.room),
    called_at: typeof record.called_at === "string" ? record.called_at : null,
    position: Number.isFinite(position) ? position : null,
    version: Number(record.version ?? 0) || 0,
    service_date: typeof record.service_date === "string" ? record.service_date : null,
  };
}

function addCalls(calls: readonly Call[], added: Call[]): Call[] {
  const all = [...added, ...calls];
  const seen = new Set<string>();
  const out: Call[] = [];
  for (const c of all.sort((a, b) => ms(b.at) - ms(a.at))) {
    const key = `${c.ticket_id}@${ms(c.at)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
    if (out.length === RECENT_CALLS) break;
  }
  return out;
}

const callOf = (row: BoardRow): Call => ({
  ticket_id: row.ticket_id,
  code: row.code,
  room: row.room,
  at: row.called_at!,
});

/** Replaces the state with a snapshot unless the snapshot is older than what is held. */
export function applySnapshot(state: BoardState, snap: Snapshot, nowMs: number): Applied {
  const sameDay = state.day === snap.service_date;
  if (sameDay && snap.version < state.version) {
    // An older snapshot than the stream already delivered: keep the newer state.
    return { state, announce: [], gap: false };
  }
  const rows = new Map<string, BoardRow>();
  const called: Call[] = [];
  for (const row of snap.tickets) {
    if (row.called_at && (row.status !== "waiting")) called.push(callOf(row));
    if (!TERMINAL.has(row.status)) rows.set(row.ticket_id, row);
  }
  const calls = addCalls(sameDay ? state.calls : [], called);
  // Announce calls this board has not shown yet, if recent (e.g. made during an outage).
  const known = new Set(state.calls.map((c) => `${c.ticket_id}@${ms(c.at)}`));
  const firstLoad = state.version === 0 && state.day === null;
  const announce = firstLoad ? [] : snap.tickets
    .filter((r) =>
      r.status === "called" && r.called_at && !known.has(`${r.ticket_id}@${ms(r.called_at)}`) &&
      nowMs - ms(r.called_at) < ANNOUNCE_WINDOW_MS
    )
    .map(callOf)
    .sort((a, b) => ms(a.at) - ms(b.at));
  return {
    state: { day: snap.service_date, version: snap.version, rows, calls },
    announce,
    gap: false,
  };
}

/** Applies one realtime change of `queue_board` or `queue_board_versions`. */
export function applyChange(
  state: BoardState,
  change: {
    table: string;
    eventType: string;
    new: Record<string, unknown>;
    old: Record<string, unknown>;
  },
): Applied {
  if (change.table === "queue_board_versions") {
    const version = Number(change.new?.version ?? NaN);
    const day = typeof change.new?.service_date === "string" ? change.new.service_date : null;
    if (!Number.isFinite(version)) return { state, announce: [], gap: false };
    if (day && state.day && day !== state.day) {
      return { state, announce: [], gap: day > state.day };
    }
    const gap = state.version > 0 && version > state.version + 1;
    return {
      state: version > state.version ? { ...state, version } : state,
      announce: [],
      gap,
    };
  }
  if (change.table !== "queue_board") return { state, announce: [], gap: false };

  if (change.eventType === "DELETE") {
    const id = change.old?.ticket_id;
    if (typeof id !== "string" || !state.rows.has(id)) return { state, announce: [], gap: false };
    const rows = new Map(state.rows);
    rows.delete(id);
    return { state: { ...state, rows }, announce: [], gap: false };
  }

  const row = toRow(change.new ?? {});
  if (!row) return { state, announce: [], gap: false };
  if (row.service_date && state.day && row.service_date !== state.day) {
    return { state, announce: [], gap: row.service_date > state.day };
  }
  const prev = state.rows.get(row.ticket_id);
  if (prev && prev.version > row.version) return { state, announce: [], gap: false };
  const gap = state.version > 0 && row.version > state.version + 1;

  const isNewCall = row.status === "called" && row.called_at !== null &&
    (!prev || ms(prev.called_at) !== ms(row.called_at) || prev.status !== "called") &&
    !state.calls.some((c) => c.ticket_id === row.ticket_id && ms(c.at) === ms(row.called_at));
  const announce = isNewCall ? [callOf(row)] : [];
  let calls = state.calls;
  if (isNewCall) calls = addCalls(calls, announce);
  else if (row.room !== null) {
    // Keep the room of a listed call current (e.g. a ticket moved to another room).
    calls = calls.map((c) =>
      c.ticket_id === row.ticket_id && ms(c.at) === ms(row.called_at) && c.room !== row.room
        ? { ...c, room: row.room }
        : c
    );
  }

  const rows = new Map(state.rows);
  if (TERMINAL.has(row.status)) rows.delete(row.ticket_id);
  else rows.set(row.ticket_id, row);
  return {
    state: {
      day: state.day ?? row.service_date ?? null,
      version: Math.max(state.version, row.version),
      rows,
      calls,
    },
    announce,
    gap,
  };
}

export interface RoomNow {
  room: string;
  code: string;
  status: TicketStatus;
  called_at: string | null;
}

export interface BoardView {
  serving: RoomNow[];
  recent: readonly Call[];
  waitingCount: number;
  next: string[];
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** What the screen shows: now serving per room, recent calls, waiting count and next codes. */
export function boardView(state: BoardState, nextCount = 6): BoardView {
  const byRoom = new Map<string, BoardRow>();
  const waiting: BoardRow[] = [];
  for (const row of state.rows.values()) {
    if (row.status === "waiting") waiting.push(row);
    else if ((row.status === "called" || row.status === "serving") && row.room) {
      const held = byRoom.get(row.room);
      if (!held || ms(row.called_at) > ms(held.called_at)) byRoom.set(row.room, row);
    }
  }
  waiting.sort((a, b) =>
    (a.position ?? Infinity) - (b.position ?? Infinity) || collator.compare(a.code, b.code)
  );
  const serving = [...byRoom.entries()]
    .sort(([a], [b]) => collator.compare(a, b))
    .map(([room, row]) => ({ room, code: row.code, status: row.status, called_at: row.called_at }));
  return {
    serving,
    recent: state.calls,
    waitingCount: waiting.length,
    next: waiting.slice(0, nextCount).map((r) => r.code),
  };
}
