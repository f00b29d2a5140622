/** The notifications API through `app.request`: list, unread count, mark read, read all. */
import assert from "node:assert/strict";
import { addAppointment, CLINIC_A, PATIENTS, queueApp, USERS } from "./_support.ts";

Deno.test("notifications API", async (t) => {
  await using q = await queueApp();
  const lim = await q.tokenFor(USERS.patientLim);
  const chan = await q.tokenFor(USERS.patientChan);
  // Five bookings → five "confirmed" notifications for Lim.
  for (let i = 0; i < 5; i++) await addAppointment(q.sql, { startMin: 30 + i * 20 });
  // Three more in one transaction: the same created_at, so paging must break ties by id.
  await q.sql.begin(async (tx) => {
    for (let i = 0; i < 3; i++) {
      await tx`select private.notify(${CLINIC_A}, ${PATIENTS.lim}, 'queue_near', now(),
        ${tx.json({ code: `n${i}`, people_ahead: 2 })})`;
    }
  });

  await t.step("401 without a token", async () => {
    for (
      const [method, path] of [
        ["GET", "/notifications"],
        ["GET", "/notifications/unread-count"],
        ["POST", "/notifications/read-all"],
        ["POST", "/notifications/00000000-0000-4000-8000-000000000000/read"],
      ]
    ) {
      const res = await q.call(method, path);
      assert.equal(res.status, 401, path);
      assert.equal(res.body.error.code, "auth_required");
    }
  });

  let ids: string[] = [];
  await t.step("list: newest first, paged by cursor, only mine", async () => {
    const first = await q.call("GET", "/notifications?limit=2", { token: lim });
    assert.equal(first.status, 200);
    assert.equal(first.body.notifications.length, 2);
    assert.equal(first.body.unread_count, 8);
    assert.ok(first.body.next_cursor);
    const n = first.body.notifications[0];
    assert.equal(n.kind, "queue_near");
    assert.equal(n.read_at, null);
    assert.ok(n.title && n.body && n.created_at);
    ids = first.body.notifications.map((x: { id: string }) => x.id);
    let cursor = first.body.next_cursor;
    while (cursor) {
      const next = await q.call(
        "GET",
        `/notifications?limit=2&cursor=${encodeURIComponent(cursor)}`,
        {
          token: lim,
        },
      );
      assert.equal(next.status, 200);
      ids.push(...next.body.notifications.map((x: { id: string }) => x.id));
      cursor = next.body.next_cursor;
    }
    assert.equal(ids.length, 8);
    assert.equal(new Set(ids).size, 8);
    const times = await q.sql`
      select id from public.notifications where user_id = ${USERS.patientLim}
      order by created_at desc, id desc`;
    assert.deepEqual(ids, times.map((r) => r.id));

    const other = await q.call("GET", "/notifications", { token: chan });
    assert.equal(other.status, 200);
    assert.deepEqual(other.body.notifications, []);
    assert.equal(other.body.unread_count, 0);
  });

  await t.step("400 for a bad cursor or limit", async () => {
    const res = await q.call("GET", "/notifications?cursor=garbage", { token: lim });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "invalid_request");
    const big = await q.call("GET", "/notifications?limit=1000", { token: lim });
    assert.equal(big.status, 400);
    assert.equal(big.body.error.code, "invalid_request");
  });

  await t.step("mark one read; the unread count follows", async () => {
    const res = await q.call("POST", `/notifications/${ids[0]}/read`, { token: lim });
    assert.equal(res.status, 200);
    assert.equal(res.body.notification.id, ids[0]);
    assert.ok(res.body.notification.read_at);
    const again = await q.call("POST", `/notifications/${ids[0]}/read`, { token: lim });
    assert.equal(again.body.notification.read_at, res.body.notification.read_at, "idempotent");
    const count = await q.call("GET", "/notifications/unread-count", { token: lim });
    assert.deepEqual(count.body, { count: 7 });
    const unread = await q.call("GET", "/notifications?unread=true", { token: lim });
    assert.equal(unread.body.notifications.length, 7);
  });

  await t.step("404 for someone else's or an unknown notification; 400 for a bad id", async () => {
    const res = await q.call("POST", `/notifications/${ids[1]}/read`, { token: chan });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, "not_found");
    const [row] = await q.sql`select read_at from public.notifications where id = ${ids[1]}`;
    assert.equal(row.read_at, null);
    const bad = await q.call("POST", `/notifications/nope/read`, { token: lim });
    assert.equal(bad.status, 400);
  });

  await t.step("read-all", async () => {
    const res = await q.call("POST", "/notifications/read-all", { token: lim });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { updated: 7 });
    const count = await q.call("GET", "/notifications/unread-count", { token: lim });
    assert.deepEqual(count.body, { count: 0 });
    const none = await q.call("POST", "/notifications/read-all", { token: lim });
    assert.deepEqual(none.body, { updated: 0 });
  });
});
