/**
 * Guardians over logical replication with the real realtime-js client: a guardian receives
 * their dependant's appointment and queue-ticket changes live, a stranger's never, and nothing
 * more of the dependant once the link is removed (the directory follows guardianships in
 * commit order). Each "nothing arrived" is read after a later change that must arrive: changes
 * reach a subscriber in commit order.
 */
import assert from "node:assert/strict";
import type { RealtimeClient } from "@supabase/realtime-js";
import { asUser, claimsFor } from "../support/db.ts";
import { dbHarness, insertAppointment, tokens } from "./db_support.ts";
import { client, closeClient, eventually, subscribed } from "./support.ts";

type Event = {
  table: string;
  eventType: string;
  new: Record<string, unknown>;
  old: Record<string, unknown>;
};

Deno.test("a guardian receives exactly their dependant's changes, live", async (t) => {
  const h = await dbHarness();
  const { world: w, db } = h;
  const tk = tokens(w);
  const clients: RealtimeClient[] = [];
  try {
    const subscribe = async (name: string, token: string) => {
      const c = client(h.server, { apikey: token });
      clients.push(c);
      const events: Event[] = [];
      const channel = c.channel(`guardian-${name}`)
        .on(
          "postgres_changes",
          { event: "*", schema: "public", table: "appointments" },
          (p) => events.push(p as unknown as Event),
        )
        .on(
          "postgres_changes",
          { event: "*", schema: "public", table: "queue_tickets" },
          (p) => events.push(p as unknown as Event),
        );
      await subscribed(channel);
      return events;
    };
    const idOf = (e: Event) => (e.new.id ?? e.old.id) as string;
    const patientOf = (e: Event) => (e.new.patient_id ?? e.old.patient_id) as string;

    // The guardian is the world's other patient of clinic A; the stranger is its patient.
    const guardian = await subscribe("guardian", await tk.otherPatient());
    const stranger = await subscribe("stranger", await tk.patient());
    const [clinic] = await db.sql`select code from public.clinics where id = ${w.clinicA}`;
    const asGuardian = <T>(run: Parameters<typeof asUser<T>>[2]) =>
      asUser(db.sql, claimsFor(w.otherPatientUser), run);

    let child = "";
    let childVisit = "";
    await t.step("the dependant's appointment and ticket arrive; a stranger's do not", async () => {
      const [added] = await asGuardian((tx) =>
        tx`select api.add_dependant(${clinic.code}, ${
          tx.json({
            full_name: "Little One",
            date_of_birth: "2021-02-03",
            gender: "female",
            relationship: "child",
          })
        }) as r`
      );
      child = added.r.dependant.id;
      const strangers = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      const clinicB = await insertAppointment(db.sql, w.clinicB, w.patientB, w.doctorB);
      childVisit = await insertAppointment(db.sql, w.clinicA, child, w.doctorA);
      await db.sql`insert into public.queue_tickets (clinic_id, service_date, code, kind,
          patient_id)
        values (${w.clinicA}, current_date, 'K001', 'walk_in', ${child})`;
      await eventually(
        () => guardian.some((e) => e.table === "queue_tickets"),
        10_000,
        "the dependant's ticket",
      );
      assert.deepEqual(
        guardian.map((e) => [e.table, e.eventType, patientOf(e)]),
        [["appointments", "INSERT", child], ["queue_tickets", "INSERT", child]],
      );
      assert.equal(guardian[0].new.id, childVisit);
      await eventually(() => stranger.length >= 1, 10_000, "the stranger's own appointment");
      assert.deepEqual(stranger.map(idOf), [strangers], "the stranger sees none of the child's");
      assert.ok(!guardian.some((e) => idOf(e) === clinicB));
    });

    await t.step("the guardian's own change and the child's update both stream", async () => {
      await db.sql`update public.appointments set status = 'confirmed' where id = ${childVisit}`;
      const own = await insertAppointment(db.sql, w.clinicA, w.otherPatientA, w.doctorA);
      await eventually(() => guardian.some((e) => idOf(e) === own), 10_000, "own appointment");
      const appts = guardian.filter((e) => e.table === "appointments");
      assert.deepEqual(appts.slice(-2).map((e) => [e.eventType, idOf(e)]), [
        ["UPDATE", childVisit],
        ["INSERT", own],
      ]);
    });

    await t.step("once the link is removed, nothing more of the dependant", async () => {
      await asGuardian((tx) => tx`select api.remove_dependant(${child}::uuid)`);
      const before = guardian.length;
      await db.sql`update public.appointments set status = 'cancelled' where id = ${childVisit}`;
      const own = await insertAppointment(db.sql, w.clinicA, w.otherPatientA, w.doctorA);
      await eventually(() => guardian.some((e) => idOf(e) === own), 10_000, "own appointment");
      assert.deepEqual(guardian.slice(before).map(idOf), [own]);
    });
  } finally {
    for (const c of clients) await closeClient(c);
    await h.close();
  }
});
