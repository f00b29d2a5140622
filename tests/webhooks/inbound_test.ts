/**
 * Inbound webhooks over HTTP: every reference vector of webhook-signatures.md through the
 * routes; forged, tampered, stale, future and header-less requests refused with nothing stored
 * but a rate-limited security log; duplicates; 413; 503 on our misconfiguration or a failed
 * insert; 50 concurrent deliveries of one event → one inbox row, one job, one processing.
 */
import assert from "node:assert/strict";
import { hmac } from "../../edge/webhooks/crypto.ts";
import { encodeHex, utf8 } from "../../edge/webhooks/encoding.ts";
import { drainInbox } from "../../edge/webhooks/inbound/process.ts";
import { freshDatabase } from "../support/db.ts";
import {
  CLINIC_A,
  count,
  PATIENT_LIM,
  standardRequest,
  STRIPE_CLINIC_SECRET,
  stripeEvent,
  stripeRequest,
  testApp,
  testConfig,
  TWILIO_URL,
  twilioRequest,
  VECTOR1_SECRET,
} from "./_support.ts";

Deno.test("reference vectors through the HTTP routes", async (t) => {
  await using db = await freshDatabase();

  await t.step("Stripe full-header vector (t=1614265330)", async () => {
    const T = 1614265330;
    const app = testApp(db.sql, testConfig({}, () => new Date(T * 1000)));
    const body = '{"id":"evt_test_webhook","object":"event"}';
    const res = await app.request("/api/webhooks/stripe", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "stripe-signature":
          "t=1614265330,v1=3c5817089d739023dd6190f70a3757e04f7a2fd8b5dab12c2e000f51970dccff",
      },
      body,
    });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.received, true);
    assert.equal(answer.duplicate, false);
    const [row] = await db.sql`
      select body, event_type from public.webhook_inbox
      where source = 'stripe' and event_id = 'evt_test_webhook'`;
    assert.equal(row.body, body, "the exact raw body is stored");
    assert.equal(row.event_type, null);
  });

  await t.step("Stripe raw HMAC vectors (key test_secret) — the MAC under the route", async () => {
    // These vectors sign the body alone; a Stripe-Signature always signs `${t}.${body}`, so
    // they cannot travel as a request. Checked as the primitive the route's verifier uses.
    assert.equal(
      encodeHex(await hmac("SHA-256", utf8("test_secret"), utf8(""))),
      "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd",
    );
    assert.equal(
      encodeHex(
        await hmac("SHA-256", utf8("test_secret"), utf8('{"obj1":"hello","obj2":"world"}')),
      ),
      "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363",
    );
  });

  await t.step("Standard Webhooks vector 1", async () => {
    const app = testApp(db.sql, testConfig({}, () => new Date(1614265330 * 1000)));
    const res = await app.request("/api/webhooks/standard/vector-one", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      },
      body: '{"test": 2432232314}',
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    const [row] = await db.sql`
      select body, headers from public.webhook_inbox
      where source = 'vector-one' and event_id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'`;
    assert.equal(row.body, '{"test": 2432232314}');
    assert.equal(row.headers["webhook-timestamp"], "1614265330");
    assert.equal(row.headers["webhook-signature"], undefined, "signatures are not kept");
  });

  await t.step("Standard Webhooks vector 2 (Svix headers, 18-byte key)", async () => {
    const app = testApp(db.sql, testConfig({}, () => new Date(1731705121 * 1000)));
    const res = await app.request("/api/webhooks/standard/svix", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "svix-id": "msg_loFOjxBNrRLzqYUf",
        "svix-timestamp": "1731705121",
        "svix-signature": "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=",
      },
      body: '{"event_type":"ping","data":{"success":true}}',
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const [row] = await db.sql`
      select event_type from public.webhook_inbox
      where source = 'svix' and event_id = 'msg_loFOjxBNrRLzqYUf'`;
    assert.equal(row.event_type, "ping");
  });

  await t.step("Twilio docs vector (form, configured URL + request query)", async () => {
    const app = testApp(db.sql);
    const params = new URLSearchParams([
      ["To", "+18005551212"],
      ["From", "+12349013030"],
      ["Digits", "1234"],
      ["Caller", "+12349013030"],
      ["CallSid", "CA1234567890ABCDE"],
    ]);
    const res = await app.request("/api/webhooks/twilio?foo=1&bar=2", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
      },
      body: params.toString(),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/xml/);
    assert.match(await res.text(), /<Response><\/Response>/);
    const rows = await db.sql`select event_id from public.webhook_inbox where source = 'twilio'`;
    assert.equal(rows.length, 1);
    assert.match(rows[0].event_id, /^sha256:[0-9a-f]{64}$/, "no status: the body hash is the id");
  });

  await t.step("Twilio JSON variant (bodySHA256 in the query)", async () => {
    const app = testApp(db.sql, testConfig({ TWILIO_WEBHOOK_URL: "https://example.com/myapp" }));
    const res = await app.request(
      "/api/webhooks/twilio?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9",
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-twilio-signature": "hPXmLwIy3Fgqv1i9KPmH/HhQ6zo=",
          "i-twilio-idempotency-token": "idem-json-1",
        },
        body: '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}',
      },
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const [row] = await db.sql`
      select event_id from public.webhook_inbox where source = 'twilio' and event_id = 'idem-json-1'`;
    assert.ok(row);
  });
});

Deno.test("forged and malformed deliveries are refused; nothing is stored", async (t) => {
  await using db = await freshDatabase();
  const app = testApp(db.sql);
  const body = stripeEvent("payment_intent.succeeded", { id: "pi_forged" });

  const cases: [string, () => Promise<[string, RequestInit]>, string][] = [
    ["Stripe: tampered body", async () => {
      const [path, init] = await stripeRequest(body);
      return [path, { ...init, body: body.replace("pi_forged", "pi_f0rged") }];
    }, "invalid_signature"],
    [
      "Stripe: wrong secret",
      () => stripeRequest(body, { secret: "whsec_wrong" }),
      "invalid_signature",
    ],
    [
      "Stripe: stale timestamp (6 min)",
      () => stripeRequest(body, { t: Math.floor(Date.now() / 1000) - 360 }),
      "timestamp_out_of_range",
    ],
    [
      "Stripe: future timestamp (6 min)",
      () => stripeRequest(body, { t: Math.floor(Date.now() / 1000) + 360 }),
      "timestamp_out_of_range",
    ],
    ["Stripe: missing header", async () => {
      const [path, init] = await stripeRequest(body);
      return [path, { ...init, headers: { "content-type": "application/json" } }];
    }, "missing_signature"],
    [
      "Stripe: malformed header",
      () => stripeRequest(body, { header: "v1=abc" }),
      "malformed_header",
    ],
    [
      "Stripe: per-clinic route with the platform secret",
      () => stripeRequest(body, { path: "/api/webhooks/stripe/GFC-TP" }),
      "invalid_signature",
    ],
    ["Standard: tampered body", async () => {
      const [path, init] = await standardRequest("clerk", '{"type":"user.created"}', {
        secret: VECTOR1_SECRET.replace("M", "N"),
      });
      return [path, init];
    }, "invalid_signature"],
    ["Standard: stale timestamp", () =>
      standardRequest("vector-one", "{}", {
        secret: VECTOR1_SECRET,
        t: Math.floor(Date.now() / 1000) - 301,
      }), "timestamp_out_of_range"],
    ["Standard: future timestamp", () =>
      standardRequest("vector-one", "{}", {
        secret: VECTOR1_SECRET,
        t: Math.floor(Date.now() / 1000) + 301,
      }), "timestamp_out_of_range"],
    ["Standard: missing webhook-id", async () => {
      const [path, init] = await standardRequest("vector-one", "{}", { secret: VECTOR1_SECRET });
      const headers = { ...init.headers as Record<string, string> };
      delete headers["webhook-id"];
      return [path, { ...init, headers }];
    }, "missing_header"],
    ["Standard: missing signature", async () => {
      const [path, init] = await standardRequest("vector-one", "{}", { secret: VECTOR1_SECRET });
      const headers = { ...init.headers as Record<string, string> };
      delete headers["webhook-signature"];
      return [path, { ...init, headers }];
    }, "missing_signature"],
    [
      "Twilio: wrong token",
      () => twilioRequest({ MessageSid: "SM1", MessageStatus: "sent" }, { token: "54321" }),
      "invalid_signature",
    ],
    ["Twilio: URL rebuilt from X-Forwarded-Host is not trusted", async () => {
      const [path, init] = await twilioRequest({ MessageSid: "SM1", MessageStatus: "sent" }, {
        url: "https://attacker.example/api/webhooks/twilio",
      });
      return [path, {
        ...init,
        headers: {
          ...init.headers as Record<string, string>,
          "x-forwarded-host": "attacker.example",
        },
      }];
    }, "invalid_signature"],
    ["Twilio: tampered parameter", async () => {
      const [path, init] = await twilioRequest({ MessageSid: "SM1", MessageStatus: "failed" });
      return [path, { ...init, body: String(init.body).replace("failed", "delivered") }];
    }, "invalid_signature"],
  ];
  for (const [name, make, reason] of cases) {
    await t.step(`${name} → 401 ${reason}`, async () => {
      const [path, init] = await make();
      const res = await app.request(path, init);
      assert.equal(res.status, 401);
      const answer = await res.json();
      assert.equal(answer.error.code, "invalid_signature");
      assert.equal(answer.error.details.reason, reason);
    });
  }

  await t.step("nothing stored, no job; the security log has the reasons only", async () => {
    assert.equal(await count(db.sql, "public.webhook_inbox"), 0);
    assert.equal(await count(db.sql, "public.jobs where kind = 'webhook.process'"), 0);
    const log = await db.sql`select source, reason, remote_addr from public.webhook_security_log`;
    assert.ok(log.length > 0 && log.length <= cases.length);
    assert.ok(log.some((r) => r.reason === "timestamp_out_of_range"));
    for (const row of log) {
      assert.deepEqual(Object.keys(row).sort(), ["reason", "remote_addr", "source"]);
    }
  });

  await t.step(
    "the security log is rate-limited (a flood writes at most 10 a minute)",
    async () => {
      const flood = testApp(db.sql); // a fresh limiter
      const before = await count(db.sql, "public.webhook_security_log where source = 'vector-one'");
      for (let i = 0; i < 40; i++) {
        const [path, init] = await standardRequest("vector-one", "{}", { secret: "whsec_AAAA" });
        const res = await flood.request(path, init);
        assert.equal(res.status, 401);
        await res.body?.cancel();
      }
      const after = await count(db.sql, "public.webhook_security_log where source = 'vector-one'");
      assert.ok(after - before <= 10, `${after - before} rows for 40 forged requests`);
      assert.equal(await count(db.sql, "public.webhook_inbox"), 0);
    },
  );

  await t.step("signed but not an event → 400, nothing stored", async () => {
    const res = await app.request(...await stripeRequest("[1,2,3]"));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "invalid_payload");
    assert.equal(await count(db.sql, "public.webhook_inbox"), 0);
  });

  await t.step("over the webhook body limit (1 MiB) → 413", async () => {
    const big = stripeEvent("payment_intent.succeeded", { pad: "x".repeat(1_100_000) });
    const res = await app.request(...await stripeRequest(big));
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, "payload_too_large");
    assert.equal(await count(db.sql, "public.webhook_inbox"), 0);
  });

  await t.step("unknown standard source → 404; no per-clinic secret → 404", async () => {
    const res = await app.request(
      ...await standardRequest("nobody", "{}", { secret: VECTOR1_SECRET }),
    );
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, "unknown_webhook_source");
    const res2 = await app.request(
      ...await stripeRequest(body, { path: "/api/webhooks/stripe/GFC-BD" }),
    );
    assert.equal(res2.status, 404);
    await res2.body?.cancel();
  });

  await t.step("our misconfiguration → 503 (the provider retries), not 401", async () => {
    const bare = testApp(
      db.sql,
      testConfig({ STRIPE_WEBHOOK_SECRETS: "", TWILIO_WEBHOOK_URL: "" }),
    );
    const res = await bare.request(...await stripeRequest(body));
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error.code, "webhook_not_configured");
    const res2 = await bare.request(
      ...await twilioRequest({ MessageSid: "SM1", MessageStatus: "sent" }),
    );
    assert.equal(res2.status, 503);
    await res2.body?.cancel();
  });
});

Deno.test("store first, answer after: duplicates, per-clinic accounts, failed inserts", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const app = testApp(db.sql);

  await t.step("a new event → 200 after commit, with its processing job", async () => {
    const body = stripeEvent("payment_intent.succeeded", {
      id: "pi_store_1",
      amount: 3500,
      currency: "sgd",
      metadata: { clinic_id: CLINIC_A, patient_id: PATIENT_LIM },
    }, { id: "evt_store_1" });
    const res = await app.request(...await stripeRequest(body));
    assert.equal(res.status, 200);
    const answer = await res.json();
    const [row] = await db.sql`
      select id, clinic_id, event_type, status, headers from public.webhook_inbox
      where event_id = 'evt_store_1'`;
    assert.equal(answer.id, row.id);
    assert.equal(row.clinic_id, CLINIC_A);
    assert.equal(row.event_type, "payment_intent.succeeded");
    assert.equal(row.status, "pending");
    assert.equal(row.headers["stripe-signature"], undefined);
    const jobs = await db.sql`
      select payload from public.jobs where kind = 'webhook.process'`;
    assert.deepEqual(jobs.map((j) => j.payload), [{ inbox_id: row.id }]);
  });

  await t.step("the same event again → 200 duplicate, nothing created", async () => {
    const body = stripeEvent("payment_intent.succeeded", { id: "pi_store_1" }, {
      id: "evt_store_1",
    });
    const res = await app.request(...await stripeRequest(body));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).duplicate, true);
    assert.equal(await count(db.sql, "public.webhook_inbox"), 1);
    assert.equal(await count(db.sql, "public.jobs where kind = 'webhook.process'"), 1);
  });

  await t.step("an unknown clinic id in metadata is dropped, not a failure", async () => {
    const body = stripeEvent("payment_intent.created", {
      id: "pi_x",
      metadata: { clinic_id: "99999999-9999-4999-8999-999999999999" },
    });
    const res = await app.request(...await stripeRequest(body));
    assert.equal(res.status, 200);
    const { id } = await res.json();
    const [row] = await db.sql`select clinic_id from public.webhook_inbox where id = ${id}`;
    assert.equal(row.clinic_id, null);
  });

  await t.step("a clinic's own Stripe account: its secret, its clinic", async () => {
    const body = stripeEvent("payment_intent.created", { id: "pi_clinic" });
    const res = await app.request(
      ...await stripeRequest(body, {
        secret: STRIPE_CLINIC_SECRET,
        path: "/api/webhooks/stripe/gfc-tp",
      }),
    );
    assert.equal(res.status, 200);
    const { id } = await res.json();
    const [row] = await db.sql`select clinic_id from public.webhook_inbox where id = ${id}`;
    assert.equal(row.clinic_id, CLINIC_A);
  });

  await t.step("Twilio status: one event per message and status", async () => {
    const params = { MessageSid: "SM0001", MessageStatus: "delivered", AccountSid: "AC1" };
    for (let i = 0; i < 2; i++) {
      const res = await app.request(...await twilioRequest(params));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-webhook-duplicate"), String(i === 1));
      await res.body?.cancel();
    }
    const rows = await db.sql`
      select event_id, event_type from public.webhook_inbox where source = 'twilio'`;
    assert.deepEqual([...rows], [{
      event_id: "SM0001:delivered",
      event_type: "message.delivered",
    }]);
  });

  await t.step("a clinic's own Twilio account: signed over TWILIO_WEBHOOK_URL/<code>", async () => {
    const params = { MessageSid: "SM0002", MessageStatus: "sent" };
    const res = await app.request(
      ...await twilioRequest(params, {
        token: "clinic-tp-token",
        path: "/api/webhooks/twilio/gfc-tp",
        url: `${TWILIO_URL}/gfc-tp`,
      }),
    );
    assert.equal(res.status, 200);
    const id = res.headers.get("x-webhook-inbox-id");
    await res.body?.cancel();
    const [row] = await db.sql`select clinic_id from public.webhook_inbox where id = ${id}`;
    assert.equal(row.clinic_id, CLINIC_A);
    const wrong = await app.request(
      ...await twilioRequest(params, { path: "/api/webhooks/twilio/gfc-tp" }),
    );
    assert.equal(wrong.status, 401, "the platform token does not sign for the clinic");
    await wrong.body?.cancel();
  });

  await t.step("a failed insert → 503 with Retry-After (the provider retries)", async () => {
    await db.sql`
      create function public.fail_inbox() returns trigger language plpgsql as
      $$ begin raise exception 'disk full' using errcode = '53100'; end $$`;
    await db.sql`
      create trigger fail before insert on public.webhook_inbox
      for each row execute function public.fail_inbox()`;
    try {
      const res = await app.request(...await stripeRequest(stripeEvent("x.y", {})));
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      const answer = await res.json();
      assert.equal(answer.error.code, "ingest_failed");
      assert.doesNotMatch(JSON.stringify(answer), /disk full/);
    } finally {
      await db.sql`drop trigger fail on public.webhook_inbox`;
    }
  });
});

Deno.test("50 concurrent deliveries of one event → one inbox row, one job, one processing", async () => {
  await using db = await freshDatabase({ seed: true });
  const app = testApp(db.sql);
  const body = stripeEvent("payment_intent.succeeded", {
    id: "pi_concurrent",
    amount: 4200,
    currency: "sgd",
    metadata: { clinic_id: CLINIC_A, patient_id: PATIENT_LIM },
  }, { id: "evt_concurrent" });
  const [path, init] = await stripeRequest(body);
  // Over real sockets, all in flight at once.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  let answers: { status: number; body: { duplicate: boolean; id: string } }[];
  try {
    answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await fetch(`http://127.0.0.1:${server.addr.port}${path}`, init);
        return { status: res.status, body: await res.json() };
      }),
    );
  } finally {
    await server.shutdown();
  }
  assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
  assert.equal(answers.filter((a) => !a.body.duplicate).length, 1);
  assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
  assert.equal(await count(db.sql, "public.webhook_inbox"), 1);
  assert.equal(await count(db.sql, "public.jobs where kind = 'webhook.process'"), 1);

  // Several workers draining at once: the row is claimed and applied once.
  const results = (await Promise.all(
    ["w1", "w2", "w3", "w4"].map((workerId) => drainInbox(db.sql, { workerId })),
  )).flat();
  assert.equal(results.length, 1);
  assert.deepEqual(results[0], { status: "processed", outcome: "created" });
  const [inbox] = await db.sql`select status, attempts from public.webhook_inbox`;
  assert.deepEqual({ ...inbox }, { status: "processed", attempts: 1 });
  const payments = await db.sql`
    select amount::text, status from public.payments where provider_payment_id = 'pi_concurrent'`;
  assert.deepEqual(payments.map((p) => ({ ...p })), [{ amount: "42.00", status: "paid" }]);
  assert.equal(
    await count(db.sql, "audit.logs where table_name = 'payments' and action = 'INSERT'"),
    1,
    "applied once",
  );
});
