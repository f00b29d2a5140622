/**
 * The stock @supabase/realtime-js client (vsn 2.0.0 and 1.0.0) against our server, fed
 * through the in-memory change feed.
 */
import assert from "node:assert/strict";
import type { RealtimeClient } from "@supabase/realtime-js";
import { createMemoryFeed } from "../../realtime/mod.ts";
import {
  CLINIC_A,
  deleteAppointment,
  insertAppointment,
  testAuthorizer,
  updateAppointment,
} from "./fixtures.ts";
import { client, closeClient, eventually, sign, startServer, subscribed } from "./support.ts";

type Change = { eventType: string; new: Record<string, unknown>; old: Record<string, unknown> };

for (const vsn of ["2.0.0", "1.0.0"] as const) {
  Deno.test(`realtime-js ${vsn} against the realtime server`, async (t) => {
    const feed = createMemoryFeed();
    const server = await startServer({ feed, authorizer: testAuthorizer() });
    const clients: RealtimeClient[] = [];
    const staffToken = (expiresIn?: number) =>
      sign({
        sub: "11111111-1111-4111-8111-111111111111",
        app_metadata: { role: "staff", clinic_ids: [CLINIC_A] },
        expiresIn,
      });
    const open = async (token?: string) => {
      const c = client(server, { vsn, apikey: token ?? await staffToken() });
      clients.push(c);
      return c;
    };
    try {
      await t.step(
        "postgres_changes: INSERT/UPDATE/DELETE with a filter, typed values",
        async () => {
          const c = await open();
          const patient = crypto.randomUUID();
          const seen: Change[] = [];
          const updates: Change[] = [];
          const channel = c.channel("appts")
            .on(
              "postgres_changes",
              {
                event: "*",
                schema: "public",
                table: "appointments",
                filter: `clinic_id=eq.${CLINIC_A}`,
              },
              (p) => seen.push(p as unknown as Change),
            )
            .on(
              "postgres_changes",
              { event: "UPDATE", schema: "public", table: "appointments", filter: "fee=gte.10" },
              (p) => updates.push(p as unknown as Change),
            );
          const systems: unknown[] = [];
          channel.on("system", {}, (p) => systems.push(p));
          await subscribed(channel);
          await eventually(() => systems.length > 0, 2000, "system message");

          const row = {
            id: 5,
            clinic_id: CLINIC_A,
            patient_id: patient,
            status: "scheduled",
            fee: 12.5,
          };
          feed.push([insertAppointment(row)]);
          feed.push([updateAppointment(row, { ...row, status: "checked_in" })]);
          feed.push([deleteAppointment({ ...row, status: "checked_in" })]);
          await eventually(() => seen.length === 3 && updates.length === 1, 3000, "three changes");
          assert.deepEqual(seen.map((s) => s.eventType), ["INSERT", "UPDATE", "DELETE"]);
          assert.equal(seen[0].new.id, 5);
          assert.equal(seen[0].new.fee, 12.5);
          assert.deepEqual(seen[0].old, {});
          assert.equal(seen[1].old.status, "scheduled");
          assert.equal(seen[1].new.status, "checked_in");
          assert.deepEqual(seen[2].new, {});
          assert.equal(seen[2].old.id, 5);
          assert.equal(updates[0].new.status, "checked_in");
          assert.equal(await c.removeChannel(channel), "ok");
        },
      );

      await t.step("broadcast (ack, self) and presence", async () => {
        const a = await open();
        const b = await open();
        const got: unknown[] = [];
        const ca = a.channel("room", { config: { broadcast: { ack: true, self: true } } })
          .on("broadcast", { event: "called" }, (p) => got.push(["a", p.payload]));
        const cb = b.channel("room", { config: { presence: { key: "tv-1" } } })
          .on("broadcast", { event: "called" }, (p) => got.push(["b", p.payload]))
          .on("presence", { event: "sync" }, () => {});
        await subscribed(ca);
        await subscribed(cb);
        assert.equal(
          await ca.send({ type: "broadcast", event: "called", payload: { code: "A1" } }),
          "ok",
        );
        await eventually(() => got.length === 2, 3000, "broadcast to both");
        assert.deepEqual(
          got.map((g) => (g as [string, unknown])[0]).sort(),
          ["a", "b"],
        );
        assert.equal(await cb.track({ status: "watching" }), "ok");
        await eventually(() => Object.keys(cb.presenceState()).includes("tv-1"), 3000, "presence");
        assert.equal(
          (cb.presenceState()["tv-1"][0] as unknown as { status: string }).status,
          "watching",
        );
        assert.equal(await cb.untrack(), "ok");
        await eventually(() => Object.keys(cb.presenceState()).length === 0, 3000, "untrack");
      });

      await t.step(
        "expired token: CHANNEL_ERROR, rejoin with the fresh token, no change lost",
        async () => {
          const c = await open();
          const short = await staffToken(2);
          await c.setAuth(short);
          const statuses: string[] = [];
          const ids: unknown[] = [];
          const patient = crypto.randomUUID();
          const channel = c.channel("expiry").on(
            "postgres_changes",
            { event: "INSERT", schema: "public", table: "appointments" },
            (p) => ids.push((p as unknown as Change).new.id),
          );
          let refreshed = false;
          await new Promise<void>((resolve) => {
            channel.subscribe(async (status) => {
              statuses.push(status);
              if (status === "SUBSCRIBED" && refreshed) resolve();
              if (status === "SUBSCRIBED" && !refreshed) resolve();
              if (status === "CHANNEL_ERROR" && !refreshed) {
                refreshed = true;
                // What supabase-js does on TOKEN_REFRESHED.
                await c.setAuth(await staffToken());
              }
            });
          });
          feed.push([
            insertAppointment({ id: 1, clinic_id: CLINIC_A, patient_id: patient, status: "s" }),
          ]);
          await eventually(
            () => statuses.includes("CHANNEL_ERROR"),
            5000,
            "channel error on expiry",
          );
          // Written while the channel was errored: must arrive after the rejoin.
          feed.push([
            insertAppointment({ id: 2, clinic_id: CLINIC_A, patient_id: patient, status: "s" }),
          ]);
          await eventually(
            () => statuses.filter((s) => s === "SUBSCRIBED").length === 2,
            6000,
            "rejoin",
          );
          feed.push([
            insertAppointment({ id: 3, clinic_id: CLINIC_A, patient_id: patient, status: "s" }),
          ]);
          await eventually(() => ids.length === 3, 3000, "all three rows");
          assert.deepEqual(ids, [1, 2, 3]);
        },
      );

      await t.step("token refresh keeps the subscription flowing", async () => {
        const c = await open();
        const ids: unknown[] = [];
        const channel = c.channel("refresh").on(
          "postgres_changes",
          { event: "INSERT", schema: "public", table: "appointments" },
          (p) => ids.push((p as unknown as Change).new.id),
        );
        await subscribed(channel);
        const patient = crypto.randomUUID();
        feed.push([
          insertAppointment({ id: 10, clinic_id: CLINIC_A, patient_id: patient, status: "s" }),
        ]);
        await c.setAuth(await staffToken(7200));
        feed.push([
          insertAppointment({ id: 11, clinic_id: CLINIC_A, patient_id: patient, status: "s" }),
        ]);
        await eventually(() => ids.length === 2, 3000, "both rows");
        assert.deepEqual(ids, [10, 11]);
        assert.equal(await c.removeChannel(channel), "ok");
      });
    } finally {
      for (const c of clients) await closeClient(c);
      await server.close();
    }
  });
}
