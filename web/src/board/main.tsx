/** @jsxImportSource preact */
/**
 * The TV queue board, `/board/<clinic-code>`: opened once with `#token=<board token>` (kept in
 * localStorage), then runs unattended — snapshot + stream with version checks, self-healing
 * reconnects, a discreet "offline since" marker when stale, server-corrected clock, a flash
 * and optional chime per call, bounded memory, and a quiet daily reload.
 */
import { render } from "preact";
import { computed, effect, signal } from "@preact/signals";
import { ApiError, call, jwtPayload } from "../lib/api.ts";
import type { components } from "../lib/api_types.gen.ts";
import { clockOffset, serverNow } from "../lib/clock.ts";
import { clinicLabel } from "../lib/format.ts";
import { browserLang, intlLocale, type Lang, setLang, type Vars } from "../lib/i18n.ts";
import { waitForConfig } from "../lib/config.ts";
import { createClient, type Feed, openFeed } from "../lib/live.ts";
import { audioReady, chime, unlockAudio } from "../lib/sound.ts";
import { registerServiceWorker } from "../lib/pwa.ts";
import { type BoardKey, boardLangs, t } from "./messages.ts";
import {
  applyChange,
  applySnapshot,
  type BoardRow,
  boardView,
  type Call,
  emptyBoard,
  type Snapshot,
  toRow,
} from "./state.ts";

type QueueBoard = components["schemas"]["QueueBoard"];

const FLASH_MS = 7_000;
const STALE_MARK_MS = 10_000;

const code = decodeURIComponent(location.pathname.split("/")[2] ?? "").toUpperCase();
const tokenKey = `clinic.board.${code}`;

function takeToken(): string | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get("token");
  if (fromHash) {
    try {
      localStorage.setItem(tokenKey, fromHash);
    } catch {
      // Storage blocked: the token lives for this page only.
    }
    history.replaceState(null, "", location.pathname + location.search);
    return fromHash;
  }
  try {
    return localStorage.getItem(tokenKey);
  } catch {
    return null;
  }
}

const token = takeToken();
/** `?debug` logs the stream to the console (for diagnosing a screen in the field). */
const debug = new URLSearchParams(location.search).has("debug");
const board = signal(emptyBoard());
const view = computed(() => boardView(board.value));
const clinicName = signal<string>(code);
const timeZone = signal<string>(Intl.DateTimeFormat().resolvedOptions().timeZone);
const now = signal(serverNow());
const flashQueue = signal<Call[]>([]);
const fresh = signal<Set<string>>(new Set());
const soundOn = signal(false);
const fatal = signal<BoardKey | null>(null);
/** `?lang=en,zh`: the board speaks the first language and shows the second beside it. */
const langs = boardLangs(location.search, browserLang());
setLang(langs[0]);
const second: Lang | undefined = langs[1];
let feed: Feed | null = null;

/** The API's snapshot as the board state takes it (rows as a stream change would give them). */
function normalizeSnapshot(json: QueueBoard): Snapshot & { timezone: string; name: string } {
  return {
    version: json.version,
    service_date: json.service_date,
    tickets: json.tickets.map(toRow).filter((r): r is BoardRow => r !== null),
    timezone: json.timezone,
    name: clinicLabel(json.clinic_name, json.branch_name),
  };
}

function announce(calls: Call[]) {
  if (!calls.length) return;
  flashQueue.value = [...flashQueue.value, ...calls].slice(-5);
  const next = new Set(fresh.value);
  for (const c of calls) if (c.room) next.add(c.room);
  fresh.value = next;
  setTimeout(() => {
    const after = new Set(fresh.value);
    for (const c of calls) if (c.room) after.delete(c.room);
    fresh.value = after;
  }, FLASH_MS);
}

// One flash at a time, each with a chime.
effect(() => {
  const head = flashQueue.value[0];
  if (!head) return;
  if (soundOn.value) chime();
  const timer = setTimeout(() => {
    flashQueue.value = flashQueue.value.slice(1);
  }, FLASH_MS);
  return () => clearTimeout(timer);
});

let clockFormat: Intl.DateTimeFormat | null = null;
const clock = (ms: number) => {
  if (clockFormat?.resolvedOptions().timeZone !== timeZone.value) {
    clockFormat = new Intl.DateTimeFormat(intlLocale(), {
      timeZone: timeZone.value,
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
  }
  return clockFormat.format(ms);
};

async function start() {
  if (!code) {
    fatal.value = "noClinic";
    return;
  }
  if (!token) {
    fatal.value = "notSetUp";
    return;
  }
  const claims = jwtPayload(token);
  const meta = (claims.app_metadata ?? {}) as Record<string, unknown>;
  const clinicId = typeof meta.clinic_id === "string" ? meta.clinic_id : null;
  const config = (await waitForConfig({ maxDelayMs: 30_000 }))!;
  const client = createClient(config.anon_key, () => Promise.resolve(token));
  const filter = clinicId ? `clinic_id=eq.${clinicId}` : undefined;
  feed = openFeed({
    client,
    topic: `board:${code}`,
    changes: [
      { table: "queue_board_versions", filter },
      { table: "queue_board", filter },
    ],
    refreshMs: 5 * 60_000,
    async snapshot() {
      try {
        const json = await call("get", "/api/clinics/{code}/queue", {
          params: { code },
          bearer: token,
        });
        const snap = normalizeSnapshot(json);
        if (debug) console.debug("board snapshot", snap.version, snap.tickets.length);
        if (snap.timezone) timeZone.value = snap.timezone;
        if (snap.name) clinicName.value = snap.name;
        const applied = applySnapshot(board.value, snap, serverNow());
        board.value = applied.state;
        announce(applied.announce);
        fatal.value = null;
      } catch (error) {
        if (error instanceof ApiError && error.status === 403) {
          fatal.value = "otherClinic";
        } else if (error instanceof ApiError && error.status === 401) {
          fatal.value = "revoked";
        }
        throw error;
      }
    },
    onChange(change) {
      if (debug) console.debug("board change", change.table, change.eventType, change.new);
      const applied = applyChange(board.value, change);
      board.value = applied.state;
      announce(applied.announce);
      if (applied.gap) feed?.resync();
    },
  });

  // Try to keep sound on across reloads (works where autoplay is allowed, e.g. kiosk mode).
  try {
    if (localStorage.getItem("clinic.board.sound") === "on") {
      soundOn.value = await unlockAudio();
    }
  } catch {
    // ignore
  }
}

async function enableSound() {
  soundOn.value = await unlockAudio();
  if (soundOn.value) {
    chime();
    try {
      localStorage.setItem("clinic.board.sound", "on");
    } catch {
      // ignore
    }
  }
}

// Clock tick, aligned to the second; also a quiet daily reload at 04:00 clinic time.
const startedAt = Date.now();
setInterval(() => {
  now.value = serverNow();
  if (soundOn.value && !audioReady()) soundOn.value = false;
  const hhmm = clock(now.value);
  if (hhmm === "04:00" && Date.now() - startedAt > 6 * 3_600_000 && navigator.onLine) {
    location.reload();
  }
}, 1_000);

/**
 * A message in the board's language, and in its second one beside it (`stack`: below it, for
 * sentences). The second is marked with its own `lang` for screen readers and fonts.
 */
/** Between a label and its second language ("Now serving · 正在就诊"). */
const SEP = " · ";

function Say(
  props: { k: BoardKey; vars?: Vars; stack?: boolean } | {
    text: (l: Lang) => string;
    stack?: boolean;
  },
) {
  const say = (l: Lang) => "text" in props ? props.text(l) : t(props.k, props.vars, l);
  if (!second) return <>{say(langs[0])}</>;
  return (
    <>
      {say(langs[0])}
      {!props.stack && <span class="sep" aria-hidden="true">{SEP}</span>}
      <span class={props.stack ? "alt stack" : "alt"} lang={intlLocale(second)}>
        {say(second)}
      </span>
    </>
  );
}

function Board() {
  // No data yet, or the token was refused (revoked/expired): say so instead of stale data.
  if (fatal.value) {
    return (
      <main class="board-message">
        <h1>
          <Say k="title" vars={{ code }} />
        </h1>
        <p>
          <Say k={fatal.value} stack />
        </p>
      </main>
    );
  }
  const v = view.value;
  const flash = flashQueue.value[0];
  const stale = feed?.staleSince.value ?? null;
  const state = feed?.state.value ?? "connecting";
  return (
    <div class="board-app" data-link={state}>
      <header class="board-head">
        <h1>{clinicName.value}</h1>
        <div class="board-clock" aria-label={t("currentTime")}>{clock(now.value)}</div>
      </header>
      <main class="board-main">
        <section class="board-section" aria-labelledby="now-serving">
          <h2 id="now-serving">
            <Say k="nowServing" />
          </h2>
          {v.serving.length
            ? (
              <ul class={v.serving.length > 4 ? "rooms many" : "rooms"}>
                {v.serving.map((r) => (
                  <li key={r.room} class={`room${fresh.value.has(r.room) ? " fresh" : ""}`}>
                    <span class="room-name">{r.room}</span>
                    <span class="room-code">{r.code}</span>
                  </li>
                ))}
              </ul>
            )
            : (
              <p class="empty">
                <Say k="noneServed" stack />
              </p>
            )}
        </section>
        <aside class="side">
          <section class="board-section" aria-labelledby="waiting">
            <h2 id="waiting">
              <Say k="waiting" />
            </h2>
            <p class="waiting-count">
              <strong>{v.waitingCount}</strong>{" "}
              <Say text={(l) => t.plural("people", v.waitingCount, {}, l)} />
            </p>
          </section>
          <section class="board-section" aria-labelledby="next">
            <h2 id="next">
              <Say k="next" />
            </h2>
            {v.next.length
              ? <ol class="next-codes">{v.next.map((c) => <li key={c}>{c}</li>)}</ol>
              : <p class="empty">—</p>}
          </section>
        </aside>
      </main>
      <footer class="board-foot">
        <ul class="recent" aria-label={t("recentCalls")}>
          <li class="label">
            <Say k="recentCalls" />
          </li>
          {v.recent.slice(0, 5).map((c) => (
            <li key={`${c.ticket_id}${c.at}`}>
              <strong>{c.code}</strong> → {c.room ?? "—"}
            </li>
          ))}
        </ul>
        <div class="board-status">
          {stale !== null && now.value > 0 && Date.now() - stale > STALE_MARK_MS && (
            <span class="stale" role="status">
              {state === "connecting"
                ? <Say k="connecting" />
                : <Say k="offlineSince" vars={{ time: clock(stale + clockOffset.value) }} />}
            </span>
          )}
          {!soundOn.value && (
            <button type="button" class="sound-btn" onClick={enableSound}>
              <Say k="enableSound" />
            </button>
          )}
        </div>
      </footer>
      {flash && (
        <div class="flash" role="alert">
          <div class="flash-code">{flash.code}</div>
          <div class="flash-room">
            {flash.room
              ? <Say k="goTo" vars={{ room: flash.room }} stack />
              : <Say k="comeNow" stack />}
          </div>
        </div>
      )}
    </div>
  );
}

const root = document.getElementById("root")!;
root.textContent = ""; // drop the no-JS fallback
render(<Board />, root);
registerServiceWorker();
start();
