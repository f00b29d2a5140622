/**
 * `availability_versions` over logical replication: the booking page's signal reaches a client
 * holding only the anon key (no sign-in), for any clinic, and carries nothing but clinic, day
 * and counter (the appointment that moved it stays invisible to anon: db_privacy_test.ts).
 */
import assert from "node:assert/strict";
import type { RealtimeClient } from "@supabase/realtime-js";
import { dbHarness, insertAppointment, tokens } from "./db_support.ts";
import { client, closeClient, eventually, subscribed } from "./support.ts";

type Payload = { table: string; new: Record<string, unknown> };

Deno.test("availability_versions: an anon-key client hears every clinic's days move, PII-free", async () => {
  const h = await dbHarness();
  const clients: RealtimeClient[] = [];
  try {
    const { db, world: w } = h;
    const anon = client(h.server, { apikey: await tokens(w).anon() });
    clients.push(anon);
    const seen: Payload[] = [];
    const channel = anon.channel("availability").on(
      "postgres_changes",
      { event: "*", schema: "public", table: "availability_versions" },
      (p) => seen.push(p as unknown as Payload),
    );
    await subscribed(channel);

    const only = anon.channel("availability-only").on(
      "postgres_changes",
      {
        event: "*",
        schema: "public",
        table: "availability_versions",
        filter: `clinic_id=eq.${w.clinicB}`,
      },
      (p) => seen.push({ ...(p as unknown as Payload), table: "filtered" }),
    );
    await subscribed(only);

    await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
    await insertAppointment(db.sql, w.clinicB, w.patientB, w.doctorB);
    await eventually(
      () => seen.filter((p) => p.table === "availability_versions").length >= 2,
      5000,
      "both clinics' versions",
    );
    await eventually(() => seen.some((p) => p.table === "filtered"), 5000, "the filtered one");
    const rows = seen.map((p) => p.new);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row).sort(), [
        "clinic_id",
        "service_date",
        "updated_at",
        "version",
      ]);
    }
    assert.deepEqual(
      new Set(rows.map((r) => r.clinic_id)),
      new Set([w.clinicA, w.clinicB]),
    );
    assert.ok(
      seen.filter((p) => p.table === "filtered").every((p) => p.new.clinic_id === w.clinicB),
    );
  } finally {
    for (const c of clients) await closeClient(c);
    await h.close();
  }
});
