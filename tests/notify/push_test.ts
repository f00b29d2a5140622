/**
 * Web push (edge/notify/push.ts): the library's aes128gcm against RFC 8291's Appendix A vector,
 * then deliveries through the real transport to a real push service (npm web-push-testing,
 * which checks the VAPID token and decrypts), subscriptions made through the API: the payload
 * round-trips, a token of another key is refused, a dropped subscription (410) is pruned,
 * 429/5xx are retried, and the SSRF guard keeps endpoints off internal addresses.
 */
import assert from "node:assert/strict";
import { encryptNotification } from "@block65/webcrypto-web-push";
import { generateVapidKeys } from "../../edge/config/push.ts";
import { PermanentJobError, RetryLaterError } from "../../edge/jobs/job.ts";
import { deliverNotification } from "../../edge/notify/deliver.ts";
import { MAX_PUSH_FAILURES, pushDelivery, webPushTransport } from "../../edge/notify/push.ts";
import { configuredTransports } from "../../edge/notify/transport.ts";
import type { Sql } from "../support/db.ts";
import { PUSH_SERVICE_CA, startPushService } from "../support/push_service.ts";
import { CLINIC_A, PATIENTS, testApp, USERS } from "../edge/_support.ts";
import { b64url, RFC8291, rfc8291SenderKeys, toB64url, withLibraryRandomness } from "./_rfc8291.ts";

Deno.test("RFC 8291 Appendix A: the library's aes128gcm gives the RFC's message", async () => {
  const body = await withLibraryRandomness(
    b64url(RFC8291.salt),
    await rfc8291SenderKeys(),
    () =>
      encryptNotification(
        {
          endpoint: "https://push.example/send/1",
          expirationTime: null,
          keys: { p256dh: RFC8291.uaPublic, auth: RFC8291.authSecret },
        },
        new TextEncoder().encode(RFC8291.plaintext),
        { pad: false },
      ),
  );
  assert.equal(toB64url(body), RFC8291.body);
  assert.notDeepEqual(crypto.getRandomValues(new Uint8Array(16)), b64url(RFC8291.salt));
});

Deno.test("push urgency and lifetime: queue calls high and short-lived", () => {
  assert.deepEqual(pushDelivery("ticket_called"), { ttl: 900, urgency: "high" });
  assert.deepEqual(pushDelivery("queue_near"), { ttl: 900, urgency: "high" });
  assert.deepEqual(pushDelivery("appointment_reminder"), { ttl: 86400, urgency: "normal" });
});

/** A notification of `userId` and its pending push delivery (as private.notify writes them). */
async function pushDeliveryOf(
  sql: Sql,
  userId: string,
  kind: string,
  data: Record<string, unknown>,
): Promise<string> {
  const [row] = await sql`
    with n as (
      insert into public.notifications (clinic_id, user_id, kind, title, body, data)
      values (${CLINIC_A}, ${userId}, ${kind}, 'Ticket A012: please go to Room 3',
        'It is your turn: please go to Room 3 now.', ${sql.json(data as never)})
      returning id
    )
    insert into public.notification_deliveries
      (notification_id, clinic_id, channel, recipient, subject, body)
    select n.id, ${CLINIC_A}, 'push', ${userId}, 'Ticket A012: please go to Room 3',
      'It is your turn: please go to Room 3 now.' from n
    returning id`;
  return row.id;
}

Deno.test("web push through a real push service", async (t) => {
  await using service = await startPushService();
  const vapid = { ...generateVapidKeys(), subject: "mailto:ops@clinic.example" };
  await using app = await testApp({ config: { VAPID_PUBLIC_KEY: vapid.publicKey } });
  const options = { vapid, allow: ["127.0.0.1"], caCerts: [PUSH_SERVICE_CA] };
  const transports = { push: webPushTransport(app.sql, options) };
  using _kept = { [Symbol.dispose]: () => void transports.push.close?.() };
  const lim = await app.tokenFor(USERS.patientLim);
  const subscribe = async (token: string, subscription: unknown) => {
    const res = await app.call("POST", "/api/push/subscriptions", { token, body: subscription });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.subscription.id as string;
  };
  const delivery = async (id: string) =>
    (await app.sql`
      select status, provider, provider_message_id, last_error
      from public.notification_deliveries where id = ${id}`)[0];

  const browser = await service.subscribe(vapid.publicKey);
  const subscriptionId = await subscribe(lim, browser);

  await t.step("the worker pushes through web push only when VAPID keys are configured", () => {
    const webhooks = { allowHosts: [] };
    const production = configuredTransports("none", app.sql, { vapid, webhooks });
    assert.deepEqual(Object.keys(production), ["push"]);
    assert.deepEqual(Object.keys(configuredTransports("none", app.sql, { webhooks })), []);
    const development = configuredTransports("development", app.sql, { vapid, webhooks });
    assert.ok(development.email, "the other channels keep recording");
    assert.equal(development.sms, development.email, "one development transport");
    assert.notEqual(development.push, development.email, "push through web push");
  });

  await t.step("a queue call arrives decrypted: texts, the screen to open, the tag", async () => {
    const ticket = crypto.randomUUID();
    const id = await pushDeliveryOf(app.sql, USERS.patientLim, "ticket_called", {
      ticket_id: ticket,
    });
    assert.equal(await deliverNotification(app.sql, id, transports), "sent");
    const messages = await service.messages(browser.clientHash);
    assert.equal(messages.length, 1);
    assert.deepEqual(JSON.parse(messages[0]), {
      title: "Ticket A012: please go to Room 3",
      body: "It is your turn: please go to Room 3 now.",
      url: "/visit",
      tag: id,
    });
    const row = await delivery(id);
    assert.deepEqual([row.status, row.provider, row.provider_message_id], ["sent", "webpush", id]);
    const [subscription] = await app.sql`
      select last_success_at, failure_count from public.push_subscriptions
      where id = ${subscriptionId}`;
    assert.ok(subscription.last_success_at, "the success is recorded");
    assert.equal(subscription.failure_count, 0);
  });

  await t.step("an appointment's notification opens that appointment", async () => {
    const appointment = crypto.randomUUID();
    const id = await pushDeliveryOf(app.sql, USERS.patientLim, "appointment_reminder", {
      appointment_id: appointment,
    });
    assert.equal(await deliverNotification(app.sql, id, transports), "sent");
    const messages = await service.messages(browser.clientHash);
    assert.equal(JSON.parse(messages.at(-1)!).url, `/appointments/${appointment}`);
  });

  await t.step("a token signed with another key is refused: failed, not retried", async () => {
    const chan = await app.tokenFor(USERS.patientChan);
    const other = await service.subscribe(generateVapidKeys().publicKey);
    const otherId = await subscribe(chan, other);
    const id = await pushDeliveryOf(app.sql, USERS.patientChan, "queue_near", {});
    await assert.rejects(deliverNotification(app.sql, id, transports), PermanentJobError);
    assert.deepEqual(await service.messages(other.clientHash), []);
    const row = await delivery(id);
    assert.equal(row.status, "failed");
    assert.match(row.last_error, /refused: HTTP 400/);
    const [kept] = await app.sql`
      select failure_count from public.push_subscriptions where id = ${otherId}`;
    assert.equal(kept.failure_count, 1, "kept (the fault may be ours), the failure counted");

    await app.sql`
      update public.push_subscriptions set failure_count = ${MAX_PUSH_FAILURES - 1}
      where id = ${otherId}`;
    const again = await pushDeliveryOf(app.sql, USERS.patientChan, "queue_near", {});
    await assert.rejects(deliverNotification(app.sql, again, transports), PermanentJobError);
    const left = await app.sql`select 1 from public.push_subscriptions where id = ${otherId}`;
    assert.equal(left.length, 0, `deleted after ${MAX_PUSH_FAILURES} failures in a row`);
  });

  await t.step(
    "no SSRF: without the allow-list a loopback endpoint is never contacted",
    async () => {
      const guarded = { push: webPushTransport(app.sql, { ...options, allow: [] }) };
      const id = await pushDeliveryOf(app.sql, USERS.patientLim, "queue_near", {});
      await assert.rejects(deliverNotification(app.sql, id, guarded), /blocked_address/);
      assert.equal((await service.messages(browser.clientHash)).length, 2, "nothing arrived");
    },
  );

  await t.step("a success within a minute of the last is not written again", async () => {
    const lastSuccess = async () =>
      (await app.sql`
        select last_success_at from public.push_subscriptions where id = ${subscriptionId}`)[0]
        .last_success_at as Date;
    const send = async () => {
      const id = await pushDeliveryOf(app.sql, USERS.patientLim, "queue_near", {});
      assert.equal(await deliverNotification(app.sql, id, transports), "sent");
    };
    const recent = new Date(Date.now() - 30_000);
    await app.sql`
      update public.push_subscriptions set last_success_at = ${recent}, failure_count = 0
      where id = ${subscriptionId}`;
    await send();
    assert.equal((await lastSuccess()).getTime(), recent.getTime(), "no write");
    const old = new Date(Date.now() - 90_000);
    await app.sql`
      update public.push_subscriptions set last_success_at = ${old}
      where id = ${subscriptionId}`;
    await send();
    assert.ok((await lastSuccess()).getTime() > old.getTime() + 60_000, "written again");
  });

  await t.step("a dropped subscription (410) is pruned; the live one still gets it", async () => {
    const second = await service.subscribe(vapid.publicKey);
    const secondId = await subscribe(lim, second);
    await service.expire(browser.clientHash);
    const id = await pushDeliveryOf(app.sql, USERS.patientLim, "ticket_called", {});
    assert.equal(await deliverNotification(app.sql, id, transports), "sent");
    assert.equal((await service.messages(second.clientHash)).length, 1);
    const left = await app.sql`
      select id from public.push_subscriptions where user_id = ${USERS.patientLim}`;
    assert.deepEqual(left.map((r) => r.id), [secondId]);

    await service.expire(second.clientHash);
    const last = await pushDeliveryOf(app.sql, USERS.patientLim, "ticket_called", {});
    await assert.rejects(deliverNotification(app.sql, last, transports), PermanentJobError);
    const row = await delivery(last);
    assert.equal(row.status, "failed");
    assert.match(row.last_error, /gone: HTTP 410/);
    const none = await app.sql`
      select 1 from public.push_subscriptions where user_id = ${USERS.patientLim}`;
    assert.equal(none.length, 0, "every dropped subscription is gone");
    const nobody = await pushDeliveryOf(app.sql, USERS.patientLim, "ticket_called", {});
    await assert.rejects(deliverNotification(app.sql, nobody, transports), /no push subscription/);
  });

  await t.step("429 and 5xx are transient: retried, the failure counted", async () => {
    const answers = [
      new Response("slow down", { status: 429, headers: { "retry-after": "7" } }),
      new Response("unavailable", { status: 503 }),
    ];
    const requests: { headers: Headers; bytes: number }[] = [];
    const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);
    await using busy = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(new URL("server.pem", testdata)),
      key: await Deno.readTextFile(new URL("server.key", testdata)),
      onListen: () => {},
    }, async (request) => {
      requests.push({ headers: request.headers, bytes: (await request.arrayBuffer()).byteLength });
      return answers.shift() ?? new Response(null, { status: 201 });
    });
    const endpoint = `https://127.0.0.1:${busy.addr.port}/push/1`;
    const subscriptionId = await subscribe(lim, {
      endpoint,
      keys: { p256dh: RFC8291.uaPublic, auth: RFC8291.authSecret },
    });
    const id = await pushDeliveryOf(app.sql, USERS.patientLim, "ticket_called", {});
    const failure = await deliverNotification(app.sql, id, transports).catch((e) => e);
    assert.ok(failure instanceof RetryLaterError, "the job waits out the Retry-After");
    assert.equal(failure.delayMs, 7000);
    assert.match(failure.message, /transient: HTTP 429.*Retry-After 7 s/);
    assert.equal((await delivery(id)).status, "pending", "left for the job queue's retry");
    const unavailable = await deliverNotification(app.sql, id, transports).catch((e) => e);
    assert.ok(
      !(unavailable instanceof RetryLaterError || unavailable instanceof PermanentJobError),
    );
    assert.match(unavailable.message, /transient: HTTP 503/, "no Retry-After: the queue's backoff");
    assert.equal(await deliverNotification(app.sql, id, transports), "sent");
    const [row] = await app.sql`
      select failure_count, last_success_at from public.push_subscriptions
      where id = ${subscriptionId}`;
    assert.equal(row.failure_count, 0, "reset by the success");
    assert.ok(row.last_success_at);

    // RFC 8030/8291/8292 as a push service sees the request.
    const { headers, bytes } = requests[0];
    assert.equal(headers.get("ttl"), "900");
    assert.equal(headers.get("urgency"), "high");
    assert.equal(headers.get("content-encoding"), "aes128gcm");
    assert.equal(bytes, 4096, "padded to one record: the length tells nothing");
    const auth = /^vapid t=([^,]+), k=(\S+)$/.exec(headers.get("authorization") ?? "");
    assert.ok(auth, headers.get("authorization") ?? "no authorization");
    assert.equal(auth[2], vapid.publicKey);
    const [header, claims] = auth[1].split(".").slice(0, 2).map((part) =>
      JSON.parse(new TextDecoder().decode(b64url(part)))
    );
    assert.equal(header.alg, "ES256");
    assert.equal(claims.aud, new URL(endpoint).origin);
    assert.equal(claims.sub, vapid.subject);
    assert.ok(claims.exp > Date.now() / 1000 && claims.exp <= Date.now() / 1000 + 24 * 3600);
    assert.equal(requests.length, 3, "each attempt one request");
  });
});

Deno.test("a queue call reaches the patient's browser: consent, subscription, call, push", async () => {
  await using service = await startPushService();
  const vapid = { ...generateVapidKeys(), subject: "mailto:ops@clinic.example" };
  await using app = await testApp({ config: { VAPID_PUBLIC_KEY: vapid.publicKey } });
  const transports = {
    push: webPushTransport(app.sql, { vapid, allow: ["127.0.0.1"], caCerts: [PUSH_SERVICE_CA] }),
  };
  using _kept = { [Symbol.dispose]: () => void transports.push.close?.() };
  const lim = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.staffKoh);
  const ok = async (method: string, path: string, token: string, body: unknown) => {
    const res = await app.call(method, path, {
      token,
      body,
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  // What "Tell me when I'm called" does (web/src/app/push_prompt.tsx).
  const browser = await service.subscribe(vapid.publicKey);
  await ok("POST", "/api/push/subscriptions", lim, browser);
  await ok("PATCH", "/api/me/profile", lim, { consents: { push: true } });

  await ok("POST", "/api/clinics/GFC-TP/queue/walk-ins", staff, { patient_id: PATIENTS.lim });
  const { ticket } = await ok("POST", "/api/clinics/GFC-TP/queue/call-next", staff, {
    room: "Room 3",
  });
  const [delivery] = await app.sql`
    select d.id, d.subject, d.body from public.notification_deliveries d
    join public.notifications n on n.id = d.notification_id
    where n.user_id = ${USERS.patientLim} and n.kind = 'ticket_called' and d.channel = 'push'`;
  assert.ok(delivery, "the call made a push delivery");
  assert.equal(await deliverNotification(app.sql, delivery.id, transports), "sent");

  const [message] = await service.messages(browser.clientHash);
  const payload = JSON.parse(message);
  // The texts as private.notify rendered them for push, untouched by the transport.
  assert.deepEqual(payload, {
    title: delivery.subject,
    body: delivery.body,
    url: "/visit",
    tag: delivery.id,
  });
  assert.equal(payload.title, `Ticket ${ticket.code}: please go to Room 3`);
  assert.match(payload.body, new RegExp(`ticket ${ticket.code}, it is your turn`));
});
