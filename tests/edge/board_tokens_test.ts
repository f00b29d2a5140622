/**
 * TV board tokens in the console (edge/routes/board_tokens.ts): the clinic's admins list them
 * with their last-seen time, relabel and revoke them; a revoked board's snapshot reads stop at
 * once. Staff who are not admins may issue tokens but not manage them.
 */
import assert from "node:assert/strict";
import { asUser, claimsFor } from "../support/db.ts";
import { CLINIC_A, queueApp, USERS } from "../queue/_support.ts";

Deno.test("board tokens: list, last seen, label and revoke (admins)", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const staff = await q.tokenFor(USERS.staffKoh);
  const issued = await q.call("POST", "/clinics/GFC-TP/board-tokens", {
    token: staff,
    body: { label: "Lobby TV" },
  });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const { id, token: board } = issued.body;
  const base = `/clinics/GFC-TP/board-tokens`;
  const listed = async () =>
    (await q.call("GET", base, { token: admin })).body.board_tokens.find(
      (b: { id: string }) => b.id === id,
    );

  await t.step("listed to admins, never seen yet", async () => {
    const row = await listed();
    assert.equal(row.label, "Lobby TV");
    assert.equal(row.last_seen_at, null);
    assert.equal(row.revoked_at, null);
  });

  await t.step("401 anonymous, 403 staff, patient, another clinic's admin", async () => {
    assert.equal((await q.call("GET", base)).status, 401);
    for (const user of [USERS.staffKoh, USERS.nurseOng, USERS.patientLim, USERS.adminBedok]) {
      const token = await q.tokenFor(user);
      assert.equal((await q.call("GET", base, { token })).status, 403, user);
      const patch = await q.call("PATCH", `${base}/${id}`, { token, body: { label: "Mine" } });
      assert.equal(patch.status, 403, user);
      assert.equal((await q.call("DELETE", `${base}/${id}`, { token })).status, 403, user);
    }
    assert.equal((await listed()).label, "Lobby TV");
  });

  await t.step("RLS: staff cannot change a token either", async () => {
    const changed = await asUser(
      q.sql,
      claimsFor(USERS.staffKoh),
      (tx) => tx`update public.board_tokens set revoked_at = now() where id = ${id}`,
    );
    assert.equal(changed.count, 0);
  });

  await t.step(
    "the board's snapshot read is its last-seen time (at most once a minute)",
    async () => {
      const read = await q.call("GET", "/clinics/GFC-TP/queue", { token: board });
      assert.equal(read.status, 200);
      const first = (await listed()).last_seen_at;
      assert.ok(first && Date.parse(first) <= Date.now(), String(first));
      await q.call("GET", "/clinics/GFC-TP/queue", { token: board });
      assert.equal((await listed()).last_seen_at, first);
      await q.sql`update private.board_sightings set last_seen_at = now() - interval '2 minutes'`;
      await q.call("GET", "/clinics/GFC-TP/queue", { token: board });
      assert.notEqual((await listed()).last_seen_at, first);
      // A member reading the board is not a board.
      await q.call("GET", "/clinics/GFC-TP/queue", { token: staff });
      const [{ n }] = await q.sql`select count(*)::int as n from private.board_sightings`;
      assert.equal(n, 1);
    },
  );

  await t.step("admins relabel; bad labels and ids are 400, unknown 404", async () => {
    const res = await q.call("PATCH", `${base}/${id}`, {
      token: admin,
      body: { label: "  Lobby TV 2 " },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.label, "Lobby TV 2");
    assert.equal((await listed()).label, "Lobby TV 2");
    for (
      const body of [
        {},
        { label: "" },
        { label: "   " },
        { label: "x".repeat(101) },
        {
          label: "TV\u0000",
        },
        { label: 7 },
        null,
      ]
    ) {
      const bad = await q.call("PATCH", `${base}/${id}`, { token: admin, body });
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    const badId = await q.call("PATCH", `${base}/nope`, { token: admin, body: { label: "A" } });
    assert.equal(badId.status, 400);
    const unknown = await q.call("PATCH", `${base}/${crypto.randomUUID()}`, {
      token: admin,
      body: { label: "A" },
    });
    assert.equal(unknown.status, 404);
  });

  await t.step("revoked by an admin: audited, and the board's reads stop at once", async () => {
    const res = await q.call("DELETE", `${base}/${id}`, { token: admin });
    assert.equal(res.status, 204);
    assert.ok((await listed()).revoked_at);
    const read = await q.call("GET", "/clinics/GFC-TP/queue", { token: board });
    assert.equal(read.status, 401);
    assert.equal(read.body.error.code, "board_token_revoked");
    const [log] = await q.sql`
      select actor_id, changed_fields from audit.logs
      where table_name = 'board_tokens' and record_id = ${id} and action = 'UPDATE'
      order by id desc limit 1`;
    assert.equal(log.actor_id, USERS.admin);
    assert.deepEqual(log.changed_fields, ["revoked_at"]);
    const again = await q.call("DELETE", `${base}/${id}`, { token: admin });
    assert.equal(again.status, 204, "revoking twice keeps the first time");
  });

  await t.step("a token of another clinic is not this clinic's", async () => {
    const [other] = await q.sql`
      insert into public.board_tokens (clinic_id) select id from public.clinics
      where id <> ${CLINIC_A} limit 1 returning id`;
    const res = await q.call("DELETE", `${base}/${other.id}`, { token: admin });
    assert.equal(res.status, 404);
  });
});
