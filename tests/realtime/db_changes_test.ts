/**
 * Through the real database with the stock client: INSERT/UPDATE/DELETE with filters,
 * nothing missed right after SUBSCRIBED, token refresh, leave, and catch-up after a
 * disconnect — all over logical replication.
 */
import assert from "node:assert/strict";
import type { RealtimeClient } from "@supabase/realtime-js";
import { dbHarness, insertAppointment, tokens } from "./db_support.ts";
import { client, closeClient, delay, eventually, subscribed } from "./support.ts";

type Event = { eventType: string; new: Record<string, unknown>; old: Record<string, unknown> };

Deno.test("postgres_changes through the database", async (t) => {
  const h = await dbHarness();
  const { world: w, db } = h;
  const tk = tokens(w);
  const clients: RealtimeClient[] = [];
  const open = (token: string, vsn: "1.0.0" | "2.0.0" = "2.0.0") => {
    const c = client(h.server, { apikey: token, vsn });
    clients.push(c);
    return c;
  };
  try {
    await t.step("nothing committed right after SUBSCRIBED is missed", async () => {
      const c = await open(await tk.staffA());
      const ids: unknown[] = [];
      const channel = c.channel("first").on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "appointments" },
        (p) => ids.push((p as unknown as Event).new.id),
      );
      await subscribed(channel);
      const id = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await eventually(() => ids.includes(id), 5000, "the first row");
      await c.removeChannel(channel);
    });

    await t.step("filters on INSERT, UPDATE and DELETE (eq, neq, in, gt)", async () => {
      const c = await open(await tk.staffA(), "1.0.0");
      const byFilter = new Map<string, Event[]>();
      let channel = c.channel("filters");
      const filters = {
        scheduled: { event: "INSERT", filter: "status=eq.scheduled" },
        notScheduled: { event: "UPDATE", filter: "status=neq.scheduled" },
        inList: { event: "*", filter: "status=in.(confirmed,cancelled)" },
        deleted: { event: "DELETE", filter: `patient_id=eq.${w.patientA}` },
        late: { event: "INSERT", filter: "created_at=gt.2000-01-01T00:00:00Z" },
      } as const;
      for (const [name, f] of Object.entries(filters)) {
        byFilter.set(name, []);
        channel = channel.on(
          "postgres_changes",
          { event: f.event, schema: "public", table: "appointments", filter: f.filter },
          (p) => byFilter.get(name)!.push(p as unknown as Event),
        );
      }
      await subscribed(channel);
      const id = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await db.sql`update public.appointments set status = 'confirmed' where id = ${id}`;
      await db.sql`update public.appointments set status = 'cancelled' where id = ${id}`;
      await db.sql`delete from public.appointments where id = ${id}`;
      await eventually(() => byFilter.get("deleted")!.length === 1, 5000, "the delete");
      await delay(200);
      const kinds = (name: string) => byFilter.get(name)!.map((e) => e.eventType);
      assert.deepEqual(kinds("scheduled"), ["INSERT"]);
      assert.deepEqual(kinds("notScheduled"), ["UPDATE", "UPDATE"]);
      assert.deepEqual(kinds("inList"), ["UPDATE", "UPDATE", "DELETE"]);
      assert.deepEqual(kinds("deleted"), ["DELETE"]);
      assert.deepEqual(kinds("late"), ["INSERT"]);
      const update = byFilter.get("notScheduled")![1];
      assert.equal(update.old.status, "confirmed");
      assert.equal(update.new.status, "cancelled");
      const deleted = byFilter.get("deleted")![0];
      assert.equal(deleted.old.id, id);
      assert.equal(deleted.old.status, "cancelled"); // REPLICA IDENTITY FULL: whole old row
      await c.removeChannel(channel);
    });

    await t.step("token refresh re-authorizes; leave stops delivery", async () => {
      const c = await open(await tk.patient());
      const ids: unknown[] = [];
      const channel = c.channel("patient").on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "appointments" },
        (p) => ids.push((p as unknown as Event).new.id),
      );
      await subscribed(channel);
      const a = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await eventually(() => ids.includes(a), 5000, "own row");
      await c.setAuth(await tk.patient(7200));
      const b = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      const other = await insertAppointment(db.sql, w.clinicA, w.otherPatientA, w.doctorA);
      await eventually(() => ids.includes(b), 5000, "own row after refresh");
      assert.ok(!ids.includes(other));
      assert.equal(await c.removeChannel(channel), "ok");
      const after = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await delay(300);
      assert.ok(!ids.includes(after));
    });

    await t.step("catch-up: a client that drops and reconnects gets what it missed", async () => {
      const c = await open(await tk.staffA());
      const ids: unknown[] = [];
      const channel = c.channel("drop").on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "appointments" },
        (p) => ids.push((p as unknown as Event).new.id),
      );
      await subscribed(channel);
      // Drop the transport the way a flaky network does; the client reconnects by itself.
      const socket = (c as unknown as { socketAdapter: { getSocket(): { conn: WebSocket } } })
        .socketAdapter.getSocket().conn;
      socket.close(4000, "network blip");
      const missed = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await eventually(() => ids.includes(missed), 10_000, "the missed row");
      const live = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await eventually(() => ids.includes(live), 5000, "the next row");
      assert.equal(ids.filter((id) => id === missed).length, 1);
    });
    await t.step("the slot survives a graceful restart; health reports it", async () => {
      const slots = async () => (await db.sql<{ slot_name: string; active: boolean }[]>`
          select slot_name, active from pg_replication_slots
          where database = current_database()`);
      const before = await slots();
      assert.equal(before.length, 1);
      for (const c of clients) await closeClient(c);
      clients.length = 0;
      await h.server.close();
      const stopped = await slots();
      assert.deepEqual(stopped.map((s) => s.slot_name), before.map((s) => s.slot_name));
      await h.restart();
      let health = { status: "", feed: { slot: "", slot_stats: { lag_bytes: 0 } } };
      for (let i = 0; i < 100 && health.status !== "healthy"; i++) {
        health = await (await fetch(`${h.server.origin}/realtime/v1/health`)).json();
        if (health.status !== "healthy") await delay(50);
      }
      assert.equal(health.status, "healthy");
      assert.equal(health.feed.slot, before[0].slot_name);
      assert.equal(typeof health.feed.slot_stats.lag_bytes, "number");
      assert.equal((await slots()).length, 1);
    });
  } finally {
    for (const c of clients) await closeClient(c);
    await h.close();
  }
});
