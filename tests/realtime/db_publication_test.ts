/**
 * REALTIME_PUBLICATION: the realtime server streams our tables from the publication it is
 * given; another name than supabase_realtime takes them out of supabase_realtime (Supabase
 * Realtime's), so the two never share one. The table list has one home,
 * private.realtime_tables().
 */
import assert from "node:assert/strict";
import type { RealtimeClient } from "@supabase/realtime-js";
import { freshDatabase, type Sql } from "../support/db.ts";
import { dbHarness, insertAppointment, tokens } from "./db_support.ts";
import { client, closeClient, eventually, subscribed } from "./support.ts";

async function published(sql: Sql, publication: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select format('%I.%I', schemaname, tablename) as name from pg_publication_tables
    where pubname = ${publication} order by 1`;
  return rows.map((r) => r.name);
}

async function ourTables(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select t::text as name from unnest(private.realtime_tables()) t order by 1`;
  return rows.map((r) => r.name.includes(".") ? r.name : `public.${r.name}`);
}

Deno.test("the migrations publish exactly private.realtime_tables() in supabase_realtime", async () => {
  await using db = await freshDatabase();
  assert.deepEqual(await published(db.sql, "supabase_realtime"), await ourTables(db.sql));
  const bad = await db.sql`select private.use_realtime_publication('Bad-Name')`.catch((e) =>
    e.code
  );
  assert.equal(bad, "22023");
});

Deno.test("REALTIME_PUBLICATION: the server streams its own publication, not supabase_realtime", async (t) => {
  const h = await dbHarness({ publication: "clinic_realtime" });
  const clients: RealtimeClient[] = [];
  try {
    const { db, world: w } = h;
    await t.step(
      "our tables moved: all in clinic_realtime, none in supabase_realtime",
      async () => {
        assert.deepEqual(await published(db.sql, "clinic_realtime"), await ourTables(db.sql));
        assert.deepEqual(await published(db.sql, "supabase_realtime"), []);
      },
    );
    await t.step("realtime-js receives a change through it", async () => {
      const c = client(h.server, { apikey: await tokens(w).staffA() });
      clients.push(c);
      const ids: unknown[] = [];
      const channel = c.channel("moved").on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "appointments" },
        (p) => ids.push((p as unknown as { new: { id: string } }).new.id),
      );
      await subscribed(channel);
      const id = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await eventually(() => ids.includes(id), 5000, "the appointment");
    });
  } finally {
    for (const c of clients) await closeClient(c);
    await h.close();
  }
});
