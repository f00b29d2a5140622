/**
 * Poison deliveries (issue #13): a verified event the inbox could never store — a NUL or other
 * control character in its id — is a 400 `invalid_payload` with nothing stored, every time the
 * provider retries it (a 503 would have it retried for days); a type or Twilio field holding
 * one is stored without it; and a payload value PostgreSQL refuses while processing
 * dead-letters the event at its first attempt instead of retrying it eight times.
 */
import assert from "node:assert/strict";
import { drainInbox } from "../../edge/webhooks/inbound/process.ts";
import { freshDatabase } from "../support/db.ts";
import {
  CLERK_SECRET,
  count,
  standardRequest,
  stripeEvent,
  stripeRequest,
  testApp,
  twilioRequest,
} from "./_support.ts";

Deno.test("poison webhook deliveries: 400 before storage, or dead-lettered", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const app = testApp(db.sql);
  const post = async ([path, init]: [string, RequestInit]) => {
    const res = await app.request(path, init);
    return { status: res.status, body: await res.json().catch(() => null) };
  };

  await t.step(
    "a Stripe event whose id holds a NUL → 400, again on retry, nothing stored",
    async () => {
      const body = '{"id":"evt_\\u0000poison","object":"event","type":"customer.created",' +
        '"data":{"object":{}}}';
      for (let attempt = 0; attempt < 3; attempt++) {
        const res = await post(await stripeRequest(body));
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, "invalid_payload");
      }
      assert.equal(await count(db.sql, "public.webhook_inbox"), 0);
      assert.equal(await count(db.sql, "public.jobs"), 0);
    },
  );

  await t.step("other control characters and lone surrogates in a Stripe id → 400", async () => {
    for (const id of ["evt_\u0001", "evt_\n", "evt_\u0085", "evt_\ud800"]) {
      const res = await post(await stripeRequest(stripeEvent("customer.created", {}, { id })));
      assert.equal(res.status, 400, JSON.stringify(id));
    }
    assert.equal(await count(db.sql, "public.webhook_inbox"), 0);
  });

  await t.step("a Standard Webhooks id with a control character → 400", async () => {
    const res = await post(
      await standardRequest("clerk", '{"type":"user.created","data":{}}', {
        secret: CLERK_SECRET,
        id: "msg_\u0001poison",
      }),
    );
    assert.equal(res.status, 400);
    assert.equal(await count(db.sql, "public.webhook_inbox"), 0);
  });

  await t.step("a NUL in a type or a Twilio field: stored without it", async () => {
    const id = `evt_${crypto.randomUUID().replaceAll("-", "")}`;
    const stripe = await post(
      await stripeRequest(stripeEvent("customer.\u0000created", {}, { id })),
    );
    assert.equal(stripe.status, 200);
    const [row] = await db.sql`
      select event_type from public.webhook_inbox where source = 'stripe' and event_id = ${id}`;
    assert.equal(row.event_type, null);

    const twilio = await post(
      await twilioRequest({ MessageSid: "SM\u0000poison", MessageStatus: "delivered" }),
    );
    assert.equal(twilio.status, 200);
    const [sms] = await db.sql`
      select event_id, event_type from public.webhook_inbox where source = 'twilio'`;
    assert.match(sms.event_id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(sms.event_type, "message.delivered");
  });

  await t.step("a value PostgreSQL refuses while processing → dead at once", async () => {
    await db.sql`delete from public.webhook_inbox`;
    await db.sql`delete from public.jobs`;
    const body = stripeEvent("payment_intent.succeeded", {
      id: "pi_\u0000poison",
      amount: 5000,
      currency: "sgd",
    });
    assert.equal((await post(await stripeRequest(body))).status, 200);
    const [result] = await drainInbox(db.sql, { workerId: "w" });
    // 22P05: the NUL as a JSON escape, which jsonb refuses (the events travel as one jsonb).
    assert.deepEqual(result, { status: "dead", error: "database error 22P05" });
    const [row] = await db.sql`select status, attempts from public.webhook_inbox`;
    assert.deepEqual({ ...row }, { status: "dead", attempts: 1 });
  });
});
