import assert from "node:assert/strict";
import {
  applyChange,
  applySnapshot,
  type BoardRow,
  boardView,
  emptyBoard,
  RECENT_CALLS,
  toRow,
} from "./state.ts";

const DAY = "2026-11-24";
const T0 = Date.parse("2026-11-24T02:00:00Z");
const iso = (offsetSec: number) => new Date(T0 + offsetSec * 1000).toISOString();

function row(id: string, patch: Partial<BoardRow> = {}): BoardRow {
  return {
    ticket_id: id,
    code: `A${id.padStart(3, "0")}`,
    status: "waiting",
    room: null,
    called_at: null,
    position: Number(id),
    version: 1,
    service_date: DAY,
    ...patch,
  };
}

const change = (r: BoardRow, eventType = "UPDATE") => ({
  table: "queue_board",
  eventType,
  new: { ...r } as Record<string, unknown>,
  old: { ticket_id: r.ticket_id },
});
const versionChange = (version: number, day = DAY) => ({
  table: "queue_board_versions",
  eventType: "UPDATE",
  new: { clinic_id: "c", service_date: day, version },
  old: {},
});

Deno.test("board state", async (t) => {
  const base = applySnapshot(emptyBoard(), {
    version: 5,
    service_date: DAY,
    tickets: [
      row("1", { status: "serving", room: "Room 1", called_at: iso(-600), position: null }),
      row("2", { position: 1 }),
      row("3", { position: 2 }),
      row("4", { status: "completed", room: "Room 2", called_at: iso(-900), position: null }),
    ],
  }, T0);

  await t.step("a first snapshot announces nothing and drops finished tickets", () => {
    assert.equal(base.announce.length, 0);
    assert.equal(base.state.version, 5);
    assert.deepEqual([...base.state.rows.keys()].sort(), ["1", "2", "3"]);
    assert.deepEqual(base.state.calls.map((c) => c.code), ["A001", "A004"]);
    const view = boardView(base.state);
    assert.deepEqual(view.serving.map((s) => [s.room, s.code]), [["Room 1", "A001"]]);
    assert.equal(view.waitingCount, 2);
    assert.deepEqual(view.next, ["A002", "A003"]);
  });

  await t.step("a call is announced once and shows as now serving for its room", () => {
    const v6 = applyChange(base.state, versionChange(6));
    assert.equal(v6.gap, false);
    const called = row("2", { status: "called", room: "Room 3", called_at: iso(5), version: 6 });
    const a = applyChange(v6.state, change(called));
    assert.equal(a.gap, false);
    assert.deepEqual(a.announce.map((c) => [c.code, c.room]), [["A002", "Room 3"]]);
    const again = applyChange(a.state, change(called));
    assert.equal(again.announce.length, 0, "a duplicate delivery is not announced twice");
    const view = boardView(a.state);
    assert.deepEqual(view.serving.map((s) => [s.room, s.code]), [
      ["Room 1", "A001"],
      ["Room 3", "A002"],
    ]);
    assert.deepEqual(view.next, ["A003"]);
    assert.equal(view.recent[0].code, "A002");
  });

  await t.step("a recall (new called_at) is announced again", () => {
    const first = applyChange(
      base.state,
      change(row("2", { status: "called", room: "Room 3", called_at: iso(5), version: 6 })),
    );
    const recall = applyChange(
      first.state,
      change(row("2", { status: "called", room: "Room 3", called_at: iso(65), version: 7 })),
    );
    assert.equal(recall.announce.length, 1);
    assert.equal(recall.state.calls.filter((c) => c.ticket_id === "2").length, 2);
  });

  await t.step("stale row versions are ignored (replay after a snapshot)", () => {
    const newer = applyChange(
      base.state,
      change(row("3", { status: "called", room: "Room 2", called_at: iso(10), version: 6 })),
    );
    const stale = applyChange(newer.state, change(row("3", { version: 4 })));
    assert.equal(stale.state, newer.state);
    assert.equal(stale.announce.length, 0);
  });

  await t.step("a version jump or a new day asks for a resync", () => {
    assert.equal(applyChange(base.state, versionChange(6)).gap, false);
    assert.equal(applyChange(base.state, versionChange(8)).gap, true);
    assert.equal(applyChange(base.state, change(row("3", { version: 9 }))).gap, true);
    assert.equal(applyChange(base.state, versionChange(1, "2026-11-25")).gap, true);
    assert.equal(
      applyChange(base.state, change(row("9", { service_date: "2026-11-25", version: 1 }))).gap,
      true,
    );
    // An old day's change is ignored without a resync.
    const old = applyChange(base.state, change(row("9", { service_date: "2026-11-23" })));
    assert.equal(old.gap, false);
    assert.equal(old.state, base.state);
  });

  await t.step("an older snapshot does not roll the state back", () => {
    const ahead = applyChange(
      base.state,
      change(row("3", { status: "called", room: "Room 2", called_at: iso(10), version: 6 })),
    );
    const older = applySnapshot(ahead.state, {
      version: 5,
      service_date: DAY,
      tickets: [row("3")],
    }, T0);
    assert.equal(older.state, ahead.state);
  });

  await t.step("a snapshot after an outage announces recent calls it had missed", () => {
    const snap = applySnapshot(base.state, {
      version: 9,
      service_date: DAY,
      tickets: [
        row("1", { status: "completed", room: "Room 1", called_at: iso(-600), position: null }),
        row("2", { status: "called", room: "Room 3", called_at: iso(20), position: null }),
        row("3", { status: "called", room: "Room 1", called_at: iso(-300), position: null }),
      ],
    }, T0 + 30_000);
    assert.deepEqual(snap.announce.map((c) => c.code), ["A002"], "only the recent one");
    assert.deepEqual(boardView(snap.state).serving.map((s) => [s.room, s.code]), [
      ["Room 1", "A003"],
      ["Room 3", "A002"],
    ]);
  });

  await t.step("deletes and finished tickets leave the board; memory stays bounded", () => {
    let s = base.state;
    for (let i = 0; i < 500; i++) {
      const id = String(100 + i);
      const v = 6 + i * 3;
      s = applyChange(s, change(row(id, { version: v }), "INSERT")).state;
      s = applyChange(
        s,
        change(
          row(id, { status: "called", room: "Room 1", called_at: iso(i * 60), version: v + 1 }),
        ),
      ).state;
      s = applyChange(
        s,
        change(
          row(id, { status: "completed", room: "Room 1", called_at: iso(i * 60), version: v + 2 }),
        ),
      ).state;
    }
    assert.equal(s.calls.length, RECENT_CALLS);
    assert.equal(s.rows.size, 3, "only the snapshot's open tickets remain");
    const deleted = applyChange(s, {
      table: "queue_board",
      eventType: "DELETE",
      new: {},
      old: { ticket_id: "2" },
    });
    assert.equal(deleted.state.rows.has("2"), false);
  });

  await t.step("records are normalised defensively", () => {
    assert.equal(toRow({ code: "A001" }), null);
    assert.equal(toRow({ ticket_id: "x", code: "A001", status: "bogus" }), null);
    const r = toRow({
      ticket_id: "x",
      code: "A001",
      status: "waiting",
      version: "12",
      position: 3,
    });
    assert.equal(r?.version, 12);
    assert.equal(r?.position, 3);
    assert.equal(r?.room, null);
  });
});
