/** supabase-js created with our origin as its URL works unchanged against the server. */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import type { RealtimeClient } from "@supabase/realtime-js";
import { createMemoryFeed } from "../../realtime/mod.ts";
import { CLINIC_A, insertAppointment, testAuthorizer } from "./fixtures.ts";
import { closeClient, eventually, sign, startServer } from "./support.ts";

Deno.test("supabase-js against our origin", async () => {
  const feed = createMemoryFeed();
  const server = await startServer({ feed, authorizer: testAuthorizer() });
  const anonKey = await sign({ role: "anon" });
  const supabase = createClient(server.origin, anonKey, {
    auth: { autoRefreshToken: false, persistSession: false, detectSessionInUrl: false },
    realtime: { heartbeatIntervalMs: 60_000, logger: () => {} },
  });
  try {
    await supabase.realtime.setAuth(
      await sign({
        sub: crypto.randomUUID(),
        app_metadata: { role: "staff", clinic_ids: [CLINIC_A] },
      }),
    );
    const ids: unknown[] = [];
    const got: unknown[] = [];
    const channel = supabase.channel("sbjs", { config: { broadcast: { self: true, ack: true } } })
      .on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "appointments" },
        (p) => ids.push((p.new as { id: number }).id),
      )
      .on("broadcast", { event: "ping" }, (p) => got.push(p.payload));
    await new Promise<void>((resolve, reject) =>
      channel.subscribe((status, err) => {
        if (status === "SUBSCRIBED") resolve();
        else if (status !== "CLOSED") reject(err ?? new Error(status));
      })
    );
    feed.push([insertAppointment({ id: 77, clinic_id: CLINIC_A, patient_id: "p", status: "s" })]);
    assert.equal(
      await channel.send({ type: "broadcast", event: "ping", payload: { ok: 1 } }),
      "ok",
    );
    await eventually(() => ids.length === 1 && got.length === 1, 3000, "change and broadcast");
    assert.deepEqual(ids, [77]);
    assert.deepEqual(got, [{ ok: 1 }]);
  } finally {
    await closeClient(supabase.realtime as unknown as RealtimeClient);
    await server.close();
  }
});
