/**
 * Web push subscriptions through the API (edge/routes/push.ts → api.push_*): subscribe (upsert
 * by endpoint), list and unsubscribe the caller's own only; bad endpoints and keys are 400s
 * naming the field, with nothing written; `GET /api/config` serves the VAPID public key.
 */
import assert from "node:assert/strict";
import { testApp, USERS } from "./_support.ts";

const VAPID_PUBLIC_KEY =
  "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";

/** A browser's subscription (RFC 8291 Appendix A's keys; any valid point will do). */
function subscription(endpoint = `https://push.example/send/${crypto.randomUUID()}`) {
  return {
    endpoint,
    expirationTime: null,
    keys: {
      p256dh:
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
      auth: "BTBZMqHH6r4Tts7J_aSIgg",
    },
  };
}

Deno.test("push subscriptions: own only, upsert by endpoint, validated", async (t) => {
  await using app = await testApp({ config: { VAPID_PUBLIC_KEY } });
  const lim = await app.tokenFor(USERS.patientLim);
  const chan = await app.tokenFor(USERS.patientChan);
  const count = async () =>
    Number((await app.sql`select count(*) from public.push_subscriptions`)[0].count);

  await t.step("GET /api/config serves the VAPID public key", async () => {
    const res = await app.call("GET", "/api/config");
    assert.equal(res.status, 200);
    assert.equal(res.body.vapid_public_key, VAPID_PUBLIC_KEY);
    assert.ok(res.body.anon_key, "the existing fields stay");
  });

  const mine = subscription();
  let id = "";
  await t.step("subscribe: the caller's row, with the browser's user agent", async () => {
    const res = await app.call("POST", "/api/push/subscriptions", {
      token: lim,
      body: mine,
      headers: { "user-agent": "Test Browser/1.0" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    id = res.body.subscription.id;
    assert.equal(res.body.subscription.endpoint, mine.endpoint);
    assert.equal(res.body.subscription.user_agent, "Test Browser/1.0");
    assert.equal(res.body.subscription.keys, undefined, "the keys are never answered");
    const [row] = await app.sql`
      select user_id, p256dh, auth from public.push_subscriptions where id = ${id}`;
    assert.deepEqual({ ...row }, {
      user_id: USERS.patientLim,
      p256dh: mine.keys.p256dh,
      auth: mine.keys.auth,
    });
  });

  await t.step("subscribing again refreshes the keys of the same row", async () => {
    await app.sql`update public.push_subscriptions set failure_count = 3 where id = ${id}`;
    const renewed = { ...mine, keys: { ...mine.keys, auth: "AAAAAAAAAAAAAAAAAAAAAA" } };
    const res = await app.call("POST", "/api/push/subscriptions", { token: lim, body: renewed });
    assert.equal(res.status, 200);
    assert.equal(res.body.subscription.id, id);
    const [row] = await app.sql`
      select auth, failure_count from public.push_subscriptions where id = ${id}`;
    assert.deepEqual({ ...row }, { auth: "AAAAAAAAAAAAAAAAAAAAAA", failure_count: 0 });
  });

  await t.step("list: only the caller's", async () => {
    await app.call("POST", "/api/push/subscriptions", { token: chan, body: subscription() });
    const res = await app.call("GET", "/api/push/subscriptions", { token: lim });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.subscriptions.map((s: { id: string }) => s.id), [id]);
    const theirs = await app.call("GET", "/api/push/subscriptions", { token: chan });
    assert.equal(theirs.body.subscriptions.length, 1);
    assert.notEqual(theirs.body.subscriptions[0].id, id);
  });

  await t.step("unsubscribe: another user's subscription is not found", async () => {
    const res = await app.call("DELETE", `/api/push/subscriptions/${id}`, { token: chan });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, "not_found");
    assert.equal(await count(), 2);
  });

  await t.step("an endpoint another user subscribed moves to the caller", async () => {
    const res = await app.call("POST", "/api/push/subscriptions", { token: chan, body: mine });
    assert.equal(res.status, 200);
    const rows = await app.sql`
      select user_id from public.push_subscriptions where endpoint = ${mine.endpoint}`;
    assert.deepEqual(rows.map((r) => r.user_id), [USERS.patientChan]);
    const limList = await app.call("GET", "/api/push/subscriptions", { token: lim });
    assert.deepEqual(limList.body.subscriptions, []);
    id = res.body.subscription.id;
  });

  await t.step("unsubscribe: the owner's is deleted", async () => {
    const res = await app.call("DELETE", `/api/push/subscriptions/${id}`, { token: chan });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { deleted: true });
    const again = await app.call("DELETE", `/api/push/subscriptions/${id}`, { token: chan });
    assert.equal(again.status, 404);
  });

  await t.step("an account keeps its 10 newest subscriptions", async () => {
    const admin = await app.tokenFor(USERS.admin);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await app.call("POST", "/api/push/subscriptions", {
        token: admin,
        body: subscription(),
      });
      assert.equal(res.status, 200);
      ids.push(res.body.subscription.id);
    }
    const kept = await app.call("GET", "/api/push/subscriptions", { token: admin });
    assert.deepEqual(kept.body.subscriptions.map((s: { id: string }) => s.id), ids.slice(2));
    await app.sql`delete from public.push_subscriptions where user_id = ${USERS.admin}`;
  });

  await t.step("bad input: a 400 naming the field, nothing written", async () => {
    const before = await count();
    const good = subscription();
    const cases: [unknown, string][] = [
      [{ ...good, endpoint: "http://push.example/send/1" }, "endpoint"],
      [{ ...good, endpoint: "https://" }, "endpoint"],
      [{ ...good, endpoint: "not a url" }, "endpoint"],
      [{ ...good, keys: { ...good.keys, p256dh: good.keys.p256dh.slice(1) } }, "keys.p256dh"],
      [{ ...good, keys: { ...good.keys, p256dh: `C${good.keys.p256dh.slice(1)}` } }, "keys.p256dh"],
      [{ ...good, keys: { ...good.keys, auth: "BTBZMqHH6r4Tts7J/aSIgg" } }, "keys.auth"],
      [{ ...good, keys: { ...good.keys, auth: "BTBZMqHH6r4Tts7J_aSIgg==" } }, "keys.auth"],
      [{ ...good, keys: { p256dh: good.keys.p256dh } }, "keys.auth"],
      [{ endpoint: good.endpoint }, "keys"],
    ];
    for (const [body, path] of cases) {
      const res = await app.call("POST", "/api/push/subscriptions", { token: lim, body });
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.ok(
        res.body.error.details?.some((d: { path: string }) => d.path === path),
        `${path}: ${JSON.stringify(res.body.error)}`,
      );
    }
    const none = await app.call("POST", "/api/push/subscriptions", { token: lim });
    assert.equal(none.status, 400, "no body");
    assert.equal(await count(), before);
  });

  await t.step("signed out: 401", async () => {
    const res = await app.call("POST", "/api/push/subscriptions", { body: subscription() });
    assert.equal(res.status, 401);
    assert.equal((await app.call("GET", "/api/push/subscriptions")).status, 401);
  });
});

Deno.test("GET /api/config: vapid_public_key is null when web push is off", async () => {
  await using app = await testApp({ seed: false });
  const res = await app.call("GET", "/api/config");
  assert.equal(res.status, 200);
  assert.equal(res.body.vapid_public_key, null);
});
