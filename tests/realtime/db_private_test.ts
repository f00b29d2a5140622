/**
 * Private channels against a real database: the RLS policies on `realtime.messages` decide who
 * may receive and send on which private topic (supabase/migrations/*_realtime.sql),
 * evaluated by the realtime server per join, token change and membership / board-token change,
 * with stock realtime-js clients where it is about the protocol.
 */
import assert from "node:assert/strict";
import type { RealtimeChannel, RealtimeClient } from "@supabase/realtime-js";
import { FULL_ACCESS, NO_ACCESS, type TopicAccess } from "../../realtime/auth/channel_policy.ts";
import { createDbTopicPolicy } from "../../realtime/db/topic_policy.ts";
import { createMemoryFeed } from "../../realtime/mod.ts";
import { asUser, claimsFor } from "../support/db.ts";
import { type DbHarness, dbHarness, tokens } from "./db_support.ts";
import { client, closeClient, eventually, rawClient, sign, startServer, v2 } from "./support.ts";

const RECEIVE_ONLY: TopicAccess = {
  broadcast: { read: true, write: false },
  presence: { read: true, write: false },
};

interface Watch {
  channel: RealtimeChannel;
  /** Payloads of the `called` broadcasts received. */
  heard: unknown[];
  /** `system` messages received. */
  system: string[];
  /** Errors given to the subscribe callback (join refusals, channel errors). */
  errors: string[];
}

function watch(c: RealtimeClient, topic: string, config: Record<string, unknown> = {}): Watch {
  const w: Watch = {
    channel: undefined as unknown as RealtimeChannel,
    heard: [],
    system: [],
    errors: [],
  };
  w.channel = c.channel(topic, { config: { private: true, ...config } })
    .on("broadcast", { event: "called" }, (p) => w.heard.push(p.payload))
    .on("system", {}, (p: { message?: string }) => w.system.push(String(p.message)));
  return w;
}

/** Subscribes; records every later error of the channel (rejoins included). */
function join(w: Watch): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    w.channel.subscribe((status, error) => {
      if (status === "SUBSCRIBED" && !settled) {
        settled = true;
        resolve();
      }
      if (status === "CHANNEL_ERROR") {
        w.errors.push(error?.message ?? "");
        if (!settled) {
          settled = true;
          reject(new Error(error?.message ?? status));
        }
      }
    });
  });
}

/** A REST broadcast of one private message; returns the status. */
async function restBroadcast(h: DbHarness, token: string, topic: string) {
  const res = await fetch(`${h.server.origin}/realtime/v1/api/broadcast`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{ topic, event: "called", payload: { via: "rest" }, private: true }],
    }),
  });
  await res.body?.cancel();
  return res.status;
}

const deliveries = (h: DbHarness) =>
  (h.server.realtime.metrics().counters as { broadcastDeliveries: number }).broadcastDeliveries;

Deno.test("private channels: the database's policies decide", async (t) => {
  const h = await dbHarness();
  const { world: w, db } = h;
  const tk = tokens(w);
  const nurse = crypto.randomUUID();
  await db.sql`insert into public.users (id, email, full_name)
    values (${nurse}, ${`${nurse}@realtime.test`}, 'Nurse A')`;
  await db.sql`insert into public.clinic_members (user_id, clinic_id, role)
    values (${nurse}, ${w.clinicA}, 'nurse')`;
  const nurseToken = () =>
    sign({ sub: nurse, app_metadata: { role: "nurse", clinic_ids: [w.clinicA] } });
  const clinicRoom = `clinic:${w.clinicA}`;
  const boardRoom = `board:${w.clinicA}`;
  const clients: RealtimeClient[] = [];
  const open = (token: string) => {
    const c = client(h.server, { apikey: token });
    clients.push(c);
    return c;
  };
  try {
    await t.step("the policies, as the server evaluates them in PostgreSQL", async () => {
      let stamp = 0;
      const policy = createDbTopicPolicy(db.sql, () => stamp);
      const service = await sign({ role: "service_role" });
      const cases: Array<[string, string, string, TopicAccess]> = [
        ["staff", await tk.staffA(), clinicRoom, FULL_ACCESS],
        ["staff", await tk.staffA(), `${clinicRoom}:front-desk`, FULL_ACCESS],
        ["staff", await tk.staffA(), boardRoom, FULL_ACCESS],
        ["staff", await tk.staffA(), `user:${w.staffA}`, FULL_ACCESS],
        ["staff", await tk.staffA(), `clinic:${w.clinicB}`, NO_ACCESS],
        ["staff", await tk.staffA(), `board:${w.clinicB}`, NO_ACCESS],
        ["staff", await tk.staffA(), `user:${w.patientUser}`, NO_ACCESS],
        ["staff", await tk.staffA(), `clinic:${w.clinicA}x`, NO_ACCESS],
        ["staff", await tk.staffA(), "lobby", NO_ACCESS],
        ["patient", await tk.patient(), clinicRoom, NO_ACCESS],
        ["patient", await tk.patient(), boardRoom, NO_ACCESS],
        ["patient", await tk.patient(), `user:${w.patientUser}`, FULL_ACCESS],
        ["patient", await tk.patient(), `user:${w.staffA}`, NO_ACCESS],
        ["board", await tk.board(), boardRoom, RECEIVE_ONLY],
        ["board", await tk.board(), `${boardRoom}:tv-2`, RECEIVE_ONLY],
        ["board", await tk.board(), `board:${w.clinicB}`, NO_ACCESS],
        ["board", await tk.board(), clinicRoom, NO_ACCESS],
        ["board", await tk.board(), `user:${w.boardA}`, NO_ACCESS],
        ["anon", await tk.anon(), boardRoom, NO_ACCESS],
        ["service_role", service, clinicRoom, FULL_ACCESS],
        ["service_role", service, "anything", FULL_ACCESS],
        // A subject that is not a uuid makes auth.uid() fail: refused, not an error.
        ["odd subject", await sign({ sub: "user_tan" }), clinicRoom, NO_ACCESS],
      ];
      const claimsOf = (token: string) => JSON.parse(atob(token.split(".")[1]));
      for (const [who, token, topic, expected] of cases) {
        assert.deepEqual(
          await policy.access(claimsOf(token), topic),
          expected,
          `${who} on ${topic}`,
        );
      }
      // A board claiming another clinic, an expired and a revoked board: nothing.
      const forged = await sign({
        role: "anon",
        sub: w.boardA,
        app_metadata: { board: true, clinic_id: w.clinicB },
      });
      assert.deepEqual(await policy.access(claimsOf(forged), `board:${w.clinicB}`), NO_ACCESS);
      const board = claimsOf(await tk.board());
      await db.sql`update public.board_tokens set expires_at = now() - interval '1 second'
        where id = ${w.boardA}`;
      stamp++;
      assert.deepEqual(await policy.access(board, boardRoom), NO_ACCESS, "expired board");
      await db.sql`update public.board_tokens set expires_at = null where id = ${w.boardA}`;
      stamp++;
      assert.deepEqual(await policy.access(board, boardRoom), RECEIVE_ONLY, "live again");
      // Nothing is ever stored.
      const [{ n }] = await db.sql`select count(*)::int as n from realtime.messages`;
      assert.equal(n, 0);
    });

    const staffClient = open(await tk.staffA());
    const staff = watch(staffClient, clinicRoom, { broadcast: { ack: true } });
    const colleague = watch(open(await nurseToken()), clinicRoom);
    await t.step("clinic room: staff are admitted and broadcast to each other", async () => {
      await join(staff);
      await join(colleague);
      assert.equal(
        await staff.channel.send({ type: "broadcast", event: "called", payload: { code: "A1" } }),
        "ok",
      );
      await eventually(() => colleague.heard.length === 1, 5000, "the colleague hears it");
      assert.deepEqual(colleague.heard, [{ code: "A1" }]);
    });

    await t.step("clinic room: a patient and a board token are refused", async () => {
      const patient = watch(open(await tk.patient()), clinicRoom);
      await assert.rejects(
        join(patient),
        /Unauthorized: You do not have permissions to read from this Channel topic/,
      );
      const board = watch(open(await tk.board()), clinicRoom);
      await assert.rejects(join(board), /Unauthorized/);
    });

    const board = watch(open(await tk.board()), boardRoom, {
      broadcast: { ack: true },
      presence: { key: "tv-1" },
    });
    const desk = watch(open(await tk.staffA()), boardRoom, {
      broadcast: { ack: true },
      presence: { key: "desk" },
    });
    await t.step(
      "board room: its board hears staff, sends nothing; other boards are refused",
      async () => {
        board.channel.on("presence", { event: "sync" }, () => {});
        desk.channel.on("presence", { event: "sync" }, () => {});
        await join(board);
        await join(desk);
        assert.equal(await desk.channel.track({ at: "desk" }), "ok");
        await eventually(
          () => Object.keys(board.channel.presenceState()).includes("desk"),
          5000,
          "the board sees staff presence",
        );
        assert.equal(
          await desk.channel.send({ type: "broadcast", event: "called", payload: { code: "A2" } }),
          "ok",
        );
        await eventually(() => board.heard.length === 1, 5000, "the board hears staff");
        assert.equal(
          await board.channel.send({ type: "broadcast", event: "called", payload: { code: "X" } }),
          "error",
          "a board may not broadcast",
        );
        assert.equal(await board.channel.track({ at: "tv" }), "error", "nor track presence");
        assert.deepEqual(desk.heard, []);
        const other = watch(open(await tk.board()), `board:${w.clinicB}`);
        await assert.rejects(join(other), /Unauthorized/);
      },
    );

    await t.step("REST broadcast to a private topic needs send permission", async () => {
      assert.equal(await restBroadcast(h, await tk.patient(), clinicRoom), 403);
      assert.equal(await restBroadcast(h, await tk.board(), boardRoom), 403);
      assert.equal(await restBroadcast(h, await tk.staffB(), clinicRoom), 403);
      assert.equal(await restBroadcast(h, await tk.staffA(), clinicRoom), 202);
      await eventually(() => colleague.heard.length === 2, 5000, "the REST broadcast arrives");
      assert.deepEqual(colleague.heard[1], { via: "rest" });
      // httpSend's route (topic in the path, ?private=true) is checked the same way.
      const res = await fetch(
        `${h.server.origin}/realtime/v1/api/broadcast/${
          encodeURIComponent(clinicRoom)
        }/events/called?private=true`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${await tk.patient()}` },
          body: "{}",
        },
      );
      await res.body?.cancel();
      assert.equal(res.status, 403);
    });

    await t.step("revoking the board token removes it from the room it joined", async () => {
      await db.sql`update public.board_tokens set revoked_at = now() where id = ${w.boardA}`;
      await eventually(
        () => board.system.some((m) => /no longer have permission to read/.test(m)),
        5000,
        "the board is told",
      );
      // realtime-js rejoins after phx_error and is refused.
      await eventually(
        () => board.errors.some((m) => /You do not have permissions to read/.test(m)),
        5000,
        "the rejoin is refused",
      );
      const before = deliveries(h);
      assert.equal(await restBroadcast(h, await tk.staffA(), boardRoom), 202);
      assert.equal(deliveries(h) - before, 1, "only the desk is in the room");
      const again = watch(open(await tk.board()), boardRoom);
      await assert.rejects(join(again), /Unauthorized/);
    });

    await t.step("revoking a membership removes the member from the clinic room", async () => {
      // As an admin does it (DELETE /clinics/:code/staff/:user_id, edge/routes/staff.ts).
      const admin = crypto.randomUUID();
      await db.sql`insert into public.users (id, email, full_name)
        values (${admin}, ${`${admin}@realtime.test`}, 'Admin A')`;
      await db.sql`insert into public.clinic_members (user_id, clinic_id, role)
        values (${admin}, ${w.clinicA}, 'admin')`;
      await asUser(db.sql, claimsFor(admin), async (tx) =>
        await tx`select api.revoke_member(
          (select code from public.clinics where id = ${w.clinicA}), ${nurse}::uuid)`);
      await eventually(
        () => colleague.system.some((m) => /no longer have permission to read/.test(m)),
        5000,
        "the nurse is told",
      );
      const before = deliveries(h);
      assert.equal(await restBroadcast(h, await tk.staffA(), clinicRoom), 202);
      assert.equal(deliveries(h) - before, 1, "only the staff member is in the room");
    });

    await t.step("a token change that loses the room ends the channel", async () => {
      await staffClient.setAuth(await tk.patient());
      await eventually(
        () => staff.system.some((m) => /no longer have permission to read/.test(m)),
        5000,
        "the channel ends",
      );
    });
  } finally {
    for (const c of clients) await closeClient(c);
    await h.close();
  }
});

Deno.test("private channels without a database: service_role only", async () => {
  const server = await startServer({ feed: createMemoryFeed() });
  try {
    /** Joins `clinic:c1` privately; returns the reply's payload. */
    const joinPrivately = async (token: string) => {
      const c = await rawClient(server, token);
      c.send(["1", "1", "realtime:clinic:c1", "phx_join", { config: { private: true } }]);
      const reply = await c.next(v2("phx_reply", "1")) as unknown[];
      await c.close();
      return reply[4] as { status: string; response: { reason?: string } };
    };
    const staff = await joinPrivately(
      await sign({ sub: crypto.randomUUID(), app_metadata: { clinic_ids: ["c1"] } }),
    );
    assert.equal(staff.status, "error");
    assert.match(staff.response.reason ?? "", /^Unauthorized/);
    const service = await joinPrivately(await sign({ role: "service_role" }));
    assert.equal(service.status, "ok");
  } finally {
    await server.close();
  }
});
