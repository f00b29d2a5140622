/**
 * Real database, real replication, real client: every change reaches exactly the
 * subscribers whose RLS policies (and column privileges) let them see it.
 */
import assert from "node:assert/strict";
import type { RealtimeClient } from "@supabase/realtime-js";
import { asUser, claimsFor } from "../support/db.ts";
import { dbHarness, insertAppointment, tokens } from "./db_support.ts";
import { client, closeClient, delay, eventually, subscribed } from "./support.ts";

type Event = {
  table: string;
  eventType: string;
  new: Record<string, unknown>;
  old: Record<string, unknown>;
};

Deno.test("privacy matrix over logical replication", async (t) => {
  const h = await dbHarness();
  const { world: w, db } = h;
  const tk = tokens(w);
  const clients: RealtimeClient[] = [];
  try {
    const received = new Map<string, Event[]>();
    const subscriber = async (name: string, token: string, tables: string[], vsn = "2.0.0") => {
      const c = client(h.server, { apikey: token, vsn: vsn as "2.0.0" });
      clients.push(c);
      const events: Event[] = [];
      received.set(name, events);
      let channel = c.channel(`matrix-${name}`);
      for (const table of tables) {
        channel = channel.on(
          "postgres_changes",
          { event: "*", schema: "public", table },
          (p) => events.push(p as unknown as Event),
        );
      }
      await subscribed(channel);
    };

    await t.step("everyone subscribes", async () => {
      await subscriber("staffA", await tk.staffA(), [
        "appointments",
        "notifications",
        "queue_board",
      ]);
      await subscriber("staffB", await tk.staffB(), ["appointments", "queue_board"], "1.0.0");
      await subscriber("patient", await tk.patient(), [
        "appointments",
        "notifications",
        "queue_board",
      ]);
      await subscriber("other", await tk.otherPatient(), ["appointments", "notifications"]);
      await subscriber("board", await tk.board(), ["queue_board"]);
    });

    await t.step("a board cannot subscribe to appointments", async () => {
      const c = client(h.server, { apikey: await tk.board() });
      clients.push(c);
      const channel = c.channel("board-appts").on(
        "postgres_changes",
        { event: "*", schema: "public", table: "appointments" },
        () => {},
      );
      await assert.rejects(subscribed(channel), /permission denied|Unauthorized/);
      await c.removeChannel(channel);
    });

    let mine = "";
    let theirs = "";
    let clinicB = "";
    await t.step("writes stream to exactly the allowed subscribers", async () => {
      mine = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      theirs = await insertAppointment(db.sql, w.clinicA, w.otherPatientA, w.doctorA);
      clinicB = await insertAppointment(db.sql, w.clinicB, w.patientB, w.doctorB);
      await db.sql`update public.appointments set status = 'confirmed' where id = ${mine}`;
      await db.sql`delete from public.appointments where id = ${theirs}`;
      await db.sql`insert into public.notifications (clinic_id, user_id, kind, title, body)
        values (${w.clinicA}, ${w.patientUser}, 'reminder', 'Hi', 'Your visit'),
               (${w.clinicA}, ${w.otherPatientUser}, 'reminder', 'Hi', 'Their visit')`;
      await db.sql`insert into public.queue_tickets (clinic_id, service_date, code, kind)
        values (${w.clinicA}, current_date, 'W001', 'walk_in'),
               (${w.clinicB}, current_date, 'W002', 'walk_in')`;

      const count = (name: string) => received.get(name)!.length;
      await eventually(() => count("staffA") >= 5 && count("staffB") >= 2, 10_000, "staff events");
      await eventually(
        () => count("patient") >= 4 && count("other") >= 3,
        10_000,
        "patient events",
      );
      await eventually(() => count("board") >= 1, 10_000, "board events");
      await delay(500); // anything that should not arrive has had time to
    });

    await t.step("staff of clinic A: clinic A appointments, board; no other notifications", () => {
      const ev = received.get("staffA")!;
      const appts = ev.filter((e) => e.table === "appointments");
      assert.deepEqual(appts.map((e) => e.eventType), ["INSERT", "INSERT", "UPDATE", "DELETE"]);
      assert.ok(appts.every((e) => (e.new.clinic_id ?? e.old.clinic_id) === w.clinicA));
      assert.equal(appts[3].old.id, theirs); // DELETE carries the whole old row
      assert.equal(appts[2].old.status, "scheduled");
      assert.ok(ev.filter((e) => e.table === "notifications").length === 0);
      const board = ev.filter((e) => e.table === "queue_board");
      assert.ok(board.length >= 1);
      assert.ok(board.every((e) => (e.new.clinic_id ?? e.old.clinic_id) === w.clinicA));
    });

    await t.step("staff of clinic B: only clinic B (vsn 1.0.0 client)", () => {
      const ev = received.get("staffB")!;
      const appts = ev.filter((e) => e.table === "appointments");
      assert.deepEqual(appts.map((e) => e.new.id), [clinicB]);
      assert.ok(ev.every((e) => (e.new.clinic_id ?? e.old.clinic_id) === w.clinicB));
    });

    await t.step("patient: own appointment and notification, clinic board", () => {
      const ev = received.get("patient")!;
      const appts = ev.filter((e) => e.table === "appointments");
      assert.deepEqual(appts.map((e) => [e.eventType, e.new.id ?? e.old.id]), [
        ["INSERT", mine],
        ["UPDATE", mine],
      ]);
      const notes = ev.filter((e) => e.table === "notifications");
      assert.ok(notes.length >= 1);
      assert.ok(notes.every((e) => e.new.user_id === w.patientUser));
      assert.ok(ev.filter((e) => e.table === "queue_board").length >= 1);
    });

    await t.step("other patient: their appointment incl. its DELETE, their notification", () => {
      const ev = received.get("other")!;
      const appts = ev.filter((e) => e.table === "appointments");
      assert.deepEqual(appts.map((e) => [e.eventType, e.new.id ?? e.old.id]), [
        ["INSERT", theirs],
        ["DELETE", theirs],
      ]);
      const notes = ev.filter((e) => e.table === "notifications");
      assert.ok(notes.length >= 1);
      assert.ok(notes.every((e) => e.new.user_id === w.otherPatientUser));
    });

    await t.step("board: clinic A board rows only", () => {
      const ev = received.get("board")!;
      assert.ok(ev.length >= 1);
      assert.ok(ev.every((e) => e.table === "queue_board"));
      assert.ok(ev.every((e) => (e.new.clinic_id ?? e.old.clinic_id) === w.clinicA));
      assert.ok(ev.some((e) => e.new.code === "W001"));
    });

    await t.step(
      "revoking the board token (an admin, as the console does) stops its stream at once",
      async () => {
        await db.sql`update public.clinic_members set role = 'admin' where user_id = ${w.staffA}`;
        const [clinic] = await db.sql`select code from public.clinics where id = ${w.clinicA}`;
        await asUser(
          db.sql,
          claimsFor(w.staffA),
          (tx) => tx`select api.revoke_board_token(${clinic.code}, ${w.boardA}::uuid)`,
        );
        const before = received.get("board")!.length;
        const staffBefore = received.get("staffA")!.filter((e) => e.table === "queue_board").length;
        await db.sql`insert into public.queue_tickets (clinic_id, service_date, code, kind)
        values (${w.clinicA}, current_date, 'W003', 'walk_in')`;
        await eventually(
          () =>
            received.get("staffA")!.filter((e) => e.table === "queue_board").length > staffBefore,
          10_000,
          "staff board event",
        );
        await delay(300);
        assert.equal(received.get("board")!.length, before);
      },
    );
  } finally {
    for (const c of clients) await closeClient(c);
    await h.close();
  }
});
