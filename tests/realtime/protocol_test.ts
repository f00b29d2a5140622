/**
 * Wire-level protocol tests with a raw websocket client (vsn 1.0.0 and 2.0.0), against a
 * server on a free loopback port fed through the in-memory change feed.
 */
import assert from "node:assert/strict";
import { createMemoryFeed } from "../../realtime/mod.ts";
import { encodeUserBroadcast } from "../../realtime/protocol/serializer.ts";
import {
  boardRow,
  CLINIC_A,
  CLINIC_B,
  insertAppointment,
  testAuthorizer,
  updateAppointment,
} from "./fixtures.ts";
import { delay, eventually, rawClient, sign, startServer, v1, v2 } from "./support.ts";

const staffA = () =>
  sign({ sub: crypto.randomUUID(), app_metadata: { role: "staff", clinic_ids: [CLINIC_A] } });

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

Deno.test("realtime protocol (raw client)", async (t) => {
  const feed = createMemoryFeed();
  const server = await startServer({ feed, authorizer: testAuthorizer() });
  try {
    await t.step("refuses a connection without a valid apikey", async () => {
      const res = await fetch(`${server.origin}/realtime/v1/websocket?apikey=nope`, {
        headers: { upgrade: "websocket", connection: "upgrade" },
      });
      assert.equal(res.status, 403);
      assert.equal((await res.json()).error.code, "forbidden");
      const plain = await fetch(`${server.origin}/realtime/v1/websocket`);
      assert.equal(plain.status, 426);
      await plain.body?.cancel();
    });

    await t.step("heartbeat, vsn 2.0.0 and 1.0.0 (default)", async () => {
      const c2 = await rawClient(server, await staffA(), "2.0.0");
      c2.send([null, "5", "phoenix", "heartbeat", {}]);
      assert.deepEqual(await c2.next(v2("phx_reply", "5")), [
        null,
        "5",
        "phoenix",
        "phx_reply",
        { status: "ok", response: {} },
      ]);
      await c2.close();
      const c1 = await rawClient(server, await staffA(), null);
      c1.send({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "7" });
      assert.deepEqual(await c1.next(v1("phx_reply", "7")), {
        topic: "phoenix",
        event: "phx_reply",
        payload: { status: "ok", response: {} },
        ref: "7",
      });
      await c1.close();
    });

    await t.step("join echoes bindings in order with ids, then system, then changes", async () => {
      const c = await rawClient(server, await staffA());
      const bindings = [
        { event: "UPDATE", schema: "public", table: "appointments", filter: "status=eq.ready" },
        { event: "*", schema: "public", table: "appointments", extra: "kept" },
        {
          event: "INSERT",
          schema: "public",
          table: "appointments",
          filter: `clinic_id=eq.${CLINIC_A}`,
        },
      ];
      c.send(["1", "1", "realtime:clinic", "phx_join", {
        config: { postgres_changes: bindings, unknown_key: true },
      }]);
      const reply = await c.next(v2("phx_reply", "1")) as Frame;
      assert.equal(reply[0], "1");
      const response = reply[4] as { status: string; response: { postgres_changes: unknown[] } };
      assert.equal(response.status, "ok");
      const echoed = response.response.postgres_changes as Array<Record<string, unknown>>;
      assert.equal(echoed.length, 3);
      echoed.forEach((entry, i) => {
        const { id, ...rest } = entry;
        assert.deepEqual(rest, bindings[i]);
        assert.equal(typeof id, "number");
      });
      assert.equal(new Set(echoed.map((e) => e.id)).size, 3);
      const system = await c.next(v2("system")) as Frame;
      assert.deepEqual(system, ["1", null, "realtime:clinic", "system", {
        extension: "postgres_changes",
        status: "ok",
        message: "Subscribed to PostgreSQL",
        channel: "clinic",
      }]);

      const patient = crypto.randomUUID();
      feed.push([
        insertAppointment({ id: 1, clinic_id: CLINIC_A, patient_id: patient, status: "new" }),
      ]);
      const insert = await c.next(v2("postgres_changes")) as Frame;
      assert.equal(insert[0], null);
      assert.equal(insert[1], null);
      const payload = insert[4] as { ids: number[]; data: Record<string, unknown> };
      // '*' and the INSERT binding with a matching filter: one message, both ids.
      assert.deepEqual(payload.ids.sort(), [echoed[1].id, echoed[2].id].sort());
      assert.equal(payload.data.type, "INSERT");
      assert.equal(payload.data.table, "appointments");
      assert.equal(payload.data.errors, null);
      assert.deepEqual((payload.data.record as Record<string, unknown>).id, 1);
      assert.ok(!("old_record" in payload.data));
      assert.match(String(payload.data.commit_timestamp), /^\d{4}-\d\d-\d\dT.*Z$/);

      feed.push([updateAppointment(
        { id: 1, clinic_id: CLINIC_A, patient_id: patient, status: "new" },
        { id: 1, clinic_id: CLINIC_A, patient_id: patient, status: "ready" },
      )]);
      const update = await c.next(v2("postgres_changes")) as Frame;
      const up = update[4] as { ids: number[]; data: Record<string, unknown> };
      assert.deepEqual(up.ids.sort(), [echoed[0].id, echoed[1].id].sort());
      assert.equal((up.data.old_record as Record<string, unknown>).status, "new");

      // Another clinic's row never arrives.
      feed.push([
        insertAppointment({ id: 2, clinic_id: CLINIC_B, patient_id: patient, status: "x" }),
      ]);
      await assert.rejects(c.next(v2("postgres_changes"), 150));
      await c.close();
    });

    await t.step("join errors: bare topic, bad filter, unknown table, expired token", async () => {
      const c = await rawClient(server, await staffA());
      c.send(["1", "1", "realtime:", "phx_join", {}]);
      const bare = await c.next(v2("phx_reply", "1")) as Frame;
      assert.equal(bare[4].status, "error");

      c.send(["2", "2", "realtime:x", "phx_join", {
        config: {
          postgres_changes: [{
            event: "*",
            schema: "public",
            table: "appointments",
            filter: "id=zz.1",
          }],
        },
      }]);
      const bad = await c.next(v2("phx_reply", "2")) as Frame;
      assert.equal(bad[4].status, "error");
      assert.match(String((bad[4].response as { reason: string }).reason), /operator/);

      c.send(["3", "3", "realtime:y", "phx_join", {
        config: { postgres_changes: [{ event: "*", schema: "public", table: "secrets" }] },
      }]);
      const unknown = await c.next(v2("phx_reply", "3")) as Frame;
      assert.equal(unknown[4].status, "error");

      const expired = await sign({ sub: crypto.randomUUID(), expiresIn: -300 });
      c.send(["4", "4", "realtime:z", "phx_join", { access_token: expired, config: {} }]);
      const exp = await c.next(v2("phx_reply", "4")) as Frame;
      assert.equal(exp[4].status, "error");
      assert.match(
        String((exp[4].response as { reason: string }).reason),
        /^InvalidJWTToken: Token has expired 30\d seconds ago$/,
      );
      await c.close();
    });

    await t.step("broadcast.replication_ready announces the live stream", async () => {
      const c = await rawClient(server, await staffA());
      c.send(["1", "1", "realtime:ready", "phx_join", {
        config: { broadcast: { replication_ready: true } },
      }]);
      await c.next(v2("phx_reply", "1"));
      assert.deepEqual((await c.next(v2("system")) as Frame)[4], {
        extension: "system",
        status: "ok",
        message: "Replication connection established",
        channel: "ready",
      });
      await c.close();
    });

    await t.step("unmatched topic, duplicate join, leave", async () => {
      const c = await rawClient(server, await staffA());
      c.send(["9", "10", "realtime:nowhere", "broadcast", { type: "broadcast", event: "e" }]);
      assert.deepEqual((await c.next(v2("phx_reply", "10")) as Frame)[4], {
        status: "error",
        response: { reason: "unmatched topic" },
      });

      c.send(["1", "1", "realtime:room", "phx_join", { config: {} }]);
      await c.next(v2("phx_reply", "1"));
      c.send(["2", "2", "realtime:room", "phx_join", { config: {} }]);
      const close = await c.next(v2("phx_close")) as Frame;
      assert.deepEqual(close, ["1", "1", "realtime:room", "phx_close", {}]);
      const second = await c.next(v2("phx_reply", "2")) as Frame;
      assert.deepEqual(second[4], { status: "ok", response: { postgres_changes: [] } });

      c.send(["2", "3", "realtime:room", "phx_leave", {}]);
      assert.deepEqual((await c.next(v2("phx_reply", "3")) as Frame)[4], {
        status: "ok",
        response: {},
      });
      assert.deepEqual(await c.next(v2("phx_close")), ["2", "2", "realtime:room", "phx_close", {}]);
      c.send(["2", "4", "realtime:room", "broadcast", { type: "broadcast", event: "e" }]);
      assert.equal(
        ((await c.next(v2("phx_reply", "4")) as Frame)[4].response as { reason: string }).reason,
        "unmatched topic",
      );
      await c.close();
    });

    await t.step("token expiry: system error then phx_error (client rejoins)", async () => {
      const c = await rawClient(server, await staffA());
      const short = await sign({
        sub: crypto.randomUUID(),
        app_metadata: { role: "staff", clinic_ids: [CLINIC_A] },
        expiresIn: 1,
      });
      c.send(["1", "1", "realtime:exp", "phx_join", {
        access_token: short,
        config: { postgres_changes: [{ event: "*", schema: "public", table: "appointments" }] },
      }]);
      await c.next(v2("phx_reply", "1"));
      const system = await c.next(
        (f) => v2("system")(f) && (f as Frame)[4].extension === "system",
        4000,
      ) as Frame;
      assert.equal(system[4].status, "error");
      assert.match(String(system[4].message), /^Token has expired \d+ seconds ago$/);
      assert.deepEqual(await c.next(v2("phx_error")), ["1", "1", "realtime:exp", "phx_error", {}]);
      await c.close();
    });

    await t.step("access_token refresh: invalid token errors the channel", async () => {
      const c = await rawClient(server, await staffA());
      c.send(["1", "1", "realtime:r", "phx_join", { config: {} }]);
      await c.next(v2("phx_reply", "1"));
      c.send(["1", "2", "realtime:r", "access_token", { access_token: await staffA() }]);
      assert.equal((await c.next(v2("phx_reply", "2")) as Frame)[4].status, "ok");
      c.send(["1", "3", "realtime:r", "access_token", { access_token: "garbage" }]);
      await c.next(v2("phx_reply", "3"));
      const system = await c.next(v2("system")) as Frame;
      assert.equal(system[4].status, "error");
      await c.next(v2("phx_error"));
      await c.close();
    });

    await t.step("joins: row-level access never fails a join that carries a token", async () => {
      const anon = await sign({ role: "anon" });
      const appointments = {
        config: { postgres_changes: [{ event: "*", schema: "public", table: "appointments" }] },
      };
      const c = await rawClient(server, anon);
      // No access_token: the connection's anon key sees nothing, so the client must rejoin
      // with its token (realtime-js sends its first join before its token callback resolves).
      c.send(["1", "1", "realtime:blind", "phx_join", appointments]);
      const refused = await c.next(v2("phx_reply", "1")) as Frame;
      assert.equal(refused[4].status, "error");
      assert.match(
        String((refused[4].response as { reason: string }).reason),
        /^Unauthorized: the join carried no access_token .*role anon.*public\.appointments/,
      );
      // With an explicit token that sees no row: accepted, and told so.
      c.send(["2", "2", "realtime:blind", "phx_join", { ...appointments, access_token: anon }]);
      assert.equal((await c.next(v2("phx_reply", "2")) as Frame)[4].status, "ok");
      assert.equal((await c.next(v2("system")) as Frame)[4].status, "ok");
      const told = (await c.next(v2("system")) as Frame)[4];
      assert.equal(told.extension, "postgres_changes");
      assert.equal(told.status, "error");
      assert.match(String(told.message), /role anon may read no row of public\.appointments/);
      feed.push([
        insertAppointment({ id: 31, clinic_id: CLINIC_A, patient_id: "p", status: "s" }),
      ]);
      await delay(100);
      assert.ok(!c.frames.some(v2("postgres_changes")));
      await c.close();
    });

    await t.step(
      "access_token: a downgrade sees nothing (no error), an upgrade resumes",
      async () => {
        const anon = await sign({ role: "anon" });
        const staff = await staffA();
        const c = await rawClient(server, anon);
        c.send(["1", "1", "realtime:ud", "phx_join", {
          access_token: staff,
          config: {
            postgres_changes: [{ event: "INSERT", schema: "public", table: "appointments" }],
          },
        }]);
        assert.equal((await c.next(v2("phx_reply", "1")) as Frame)[4].status, "ok");
        await c.next(v2("system"));
        const ids = () =>
          c.frames.filter(v2("postgres_changes"))
            .map((f) => ((f as Frame)[4].data as { record: { id: number } }).record.id);
        const insert = (id: number) =>
          feed.push([insertAppointment({ id, clinic_id: CLINIC_A, patient_id: "p", status: "s" })]);

        insert(41);
        await eventually(() => ids().includes(41), 3000, "row 41 as staff");
        // Downgrade: once the push is answered, nothing is delivered under the old claims.
        c.send(["1", "2", "realtime:ud", "access_token", { access_token: anon }]);
        await c.next(v2("phx_reply", "2"));
        insert(42);
        const told = await c.next(v2("system")) as Frame;
        assert.match(String(told[4].message), /role anon may read no row/);
        insert(43);
        await delay(100);
        assert.deepEqual(ids(), [41]);
        // The same token again changes nothing (no second system message).
        c.send(["1", "3", "realtime:ud", "access_token", { access_token: anon }]);
        await c.next(v2("phx_reply", "3"));
        await delay(50);
        assert.ok(!c.frames.some(v2("system")));
        // Upgrade: deliveries resume from the push; 42 and 43 stay unseen.
        c.send(["1", "4", "realtime:ud", "access_token", { access_token: await staffA() }]);
        await c.next(v2("phx_reply", "4"));
        insert(44);
        await eventually(() => ids().includes(44), 3000, "row 44 after the upgrade");
        assert.deepEqual(ids(), [41, 44]);
        assert.ok(!c.frames.some(v2("phx_error")));
        await c.close();
      },
    );

    await t.step("broadcast: binary kind 3 in, kind 4 out, JSON to vsn 1, self, ack", async () => {
      const token = await staffA();
      const sender = await rawClient(server, token);
      const other2 = await rawClient(server, token);
      const other1 = await rawClient(server, token, "1.0.0");
      sender.send(["1", "1", "realtime:bc", "phx_join", {
        config: { broadcast: { self: false, ack: true } },
      }]);
      other2.send(["1", "1", "realtime:bc", "phx_join", { config: {} }]);
      other1.send({
        topic: "realtime:bc",
        event: "phx_join",
        payload: { config: {} },
        ref: "1",
        join_ref: "1",
      });
      await sender.next(v2("phx_reply", "1"));
      await other2.next(v2("phx_reply", "1"));
      await other1.next(v1("phx_reply", "1"));

      const frame = new Uint8Array([
        3,
        1,
        1,
        11,
        4,
        0,
        1,
        ...new TextEncoder().encode('12realtime:bcping{"n":7}'),
      ]);
      sender.sendBytes(frame);
      assert.deepEqual((await sender.next(v2("phx_reply", "2")) as Frame)[4], {
        status: "ok",
        response: {},
      });
      const binary = await other2.next((f) => f instanceof Uint8Array) as Uint8Array;
      assert.deepEqual([...binary], [
        ...encodeUserBroadcast("realtime:bc", "ping", { n: 7 }, false),
      ]);
      assert.deepEqual(await other1.next(v1("broadcast")), {
        topic: "realtime:bc",
        event: "broadcast",
        payload: { type: "broadcast", event: "ping", payload: { n: 7 } },
        ref: null,
      });
      // self: false — the sender got no copy.
      await assert.rejects(sender.next((f) => f instanceof Uint8Array || v2("broadcast")(f), 150));

      // Text broadcast from a vsn 1.0.0 client reaches vsn 2.0.0 as text.
      other1.send({
        topic: "realtime:bc",
        event: "broadcast",
        payload: { type: "broadcast", event: "hi", payload: { a: 1 } },
        ref: "2",
        join_ref: "1",
      });
      assert.deepEqual(await other2.next(v2("broadcast")), [
        null,
        null,
        "realtime:bc",
        "broadcast",
        { type: "broadcast", event: "hi", payload: { a: 1 } },
      ]);
      await Promise.all([sender.close(), other2.close(), other1.close()]);
    });

    await t.step("presence: presence_state always, then presence_diff", async () => {
      const token = await staffA();
      const a = await rawClient(server, token);
      const b = await rawClient(server, token);
      a.send(["1", "1", "realtime:p", "phx_join", {
        config: { presence: { key: "alice", enabled: true } },
      }]);
      await a.next(v2("phx_reply", "1"));
      assert.deepEqual(await a.next(v2("presence_state")), [
        "1",
        null,
        "realtime:p",
        "presence_state",
        {},
      ]);
      a.send(["1", "2", "realtime:p", "presence", {
        type: "presence",
        event: "track",
        payload: { online_at: 1 },
      }]);
      await a.next(v2("phx_reply", "2"));
      const diff = await a.next(v2("presence_diff")) as Frame;
      const joins = diff[4].joins as Record<string, { metas: Array<Record<string, unknown>> }>;
      assert.equal(joins.alice.metas[0].online_at, 1);
      assert.equal(typeof joins.alice.metas[0].phx_ref, "string");

      b.send(["1", "1", "realtime:p", "phx_join", {
        config: { presence: { key: "bob", enabled: true } },
      }]);
      await b.next(v2("phx_reply", "1"));
      const state = await b.next(v2("presence_state")) as Frame;
      assert.deepEqual(Object.keys(state[4]), ["alice"]);
      await a.close();
      const leave = await b.next(v2("presence_diff")) as Frame;
      assert.deepEqual(Object.keys(leave[4].leaves as object), ["alice"]);
      await b.close();
    });

    await t.step("REST broadcast reaches joined sockets (202); bad token is 401", async () => {
      const token = await staffA();
      const c = await rawClient(server, token);
      c.send(["1", "1", "realtime:rest", "phx_join", { config: {} }]);
      await c.next(v2("phx_reply", "1"));
      const res = await fetch(`${server.origin}/realtime/v1/api/broadcast`, {
        method: "POST",
        headers: { apikey: token, "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ topic: "rest", event: "called", payload: { t: "A1" } }],
        }),
      });
      assert.equal(res.status, 202);
      await res.body?.cancel();
      assert.deepEqual((await c.next(v2("broadcast")) as Frame)[4], {
        type: "broadcast",
        event: "called",
        payload: { t: "A1" },
      });
      const bad = await fetch(`${server.origin}/realtime/v1/api/broadcast`, {
        method: "POST",
        headers: { apikey: "nope", "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(bad.status, 401);
      await bad.body?.cancel();
      // Private topics are separate rooms guarded by the channel policy.
      const denied = await fetch(`${server.origin}/realtime/v1/api/broadcast`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ topic: `clinic:${CLINIC_B}`, event: "x", payload: {}, private: true }],
        }),
      });
      assert.equal(denied.status, 403);
      await denied.body?.cancel();
      await c.close();
    });

    await t.step("anon board: own clinic only, hidden columns stripped", async () => {
      const board = await sign({
        role: "anon",
        sub: crypto.randomUUID(),
        app_metadata: { board: true, clinic_id: CLINIC_A },
      });
      const c = await rawClient(server, board, "1.0.0");
      c.send({
        topic: "realtime:board",
        event: "phx_join",
        payload: {
          config: { postgres_changes: [{ event: "*", schema: "public", table: "queue_board" }] },
        },
        ref: "1",
        join_ref: "1",
      });
      const reply = await c.next(v1("phx_reply", "1")) as { payload: { status: string } };
      assert.equal(reply.payload.status, "ok");
      // Filtering on a hidden column is refused (it would leak through row selection).
      c.send({
        topic: "realtime:board2",
        event: "phx_join",
        payload: {
          config: {
            postgres_changes: [{
              event: "*",
              schema: "public",
              table: "queue_board",
              filter: "room=eq.R1",
            }],
          },
        },
        ref: "2",
        join_ref: "2",
      });
      assert.equal(
        ((await c.next(v1("phx_reply", "2"))) as { payload: { status: string } }).payload.status,
        "error",
      );
      // Appointments are not readable by a board at all.
      c.send({
        topic: "realtime:appts",
        event: "phx_join",
        payload: {
          config: { postgres_changes: [{ event: "*", schema: "public", table: "appointments" }] },
        },
        ref: "3",
        join_ref: "3",
      });
      assert.equal(
        ((await c.next(v1("phx_reply", "3"))) as { payload: { status: string } }).payload.status,
        "error",
      );
      feed.push([boardRow(CLINIC_B, "B001")]);
      feed.push([boardRow(CLINIC_A, "A001")]);
      const event = await c.next(v1("postgres_changes")) as {
        payload: { data: { record: Record<string, unknown>; columns: Array<{ name: string }> } };
      };
      assert.equal(event.payload.data.record.code, "A001");
      assert.ok(!("room" in event.payload.data.record));
      assert.deepEqual(event.payload.data.columns.map((c) => c.name), [
        "ticket_id",
        "clinic_id",
        "code",
        "status",
      ]);
      await delay(50);
      assert.ok(!c.frames.some((f) => v1("postgres_changes")(f)));
      await c.close();
    });
  } finally {
    await server.close();
  }
});
