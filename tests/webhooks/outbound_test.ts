/**
 * Outbound webhooks: clinic admins register endpoints (secret shown once); events are written
 * to the outbox in the same transaction as the change and fanned out to subscribed enabled
 * endpoints; deliveries to a local receiver (started here, allow-listed) that succeeds, fails,
 * times out, answers 410, redirects or rate-limits: signatures (verified with the
 * `standardwebhooks` library), schedule, attempt logs and disabling behave as specified.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { Webhook } from "standardwebhooks";
import { startWorker } from "../../edge/jobs/worker.ts";
import { webhookHandlers } from "../../edge/webhooks/jobs.ts";
import { deliverById } from "../../edge/webhooks/outbound/deliver.ts";
import { decodeBase64 } from "../../edge/webhooks/encoding.ts";
import { asUser, claimsFor, freshDatabase } from "../support/db.ts";
import {
  ADMIN_A,
  ADMIN_B,
  CLINIC_A,
  count,
  makeAppointment,
  PATIENT_LIM,
  PATIENT_USER_A,
  type Receiver,
  startReceiver,
  testApp,
  testConfig,
  tokenFor,
  until,
} from "./_support.ts";

type Sql = postgres.Sql;

const config = testConfig();
const webhooks = config.webhooks;

function receiver(): Receiver {
  return startReceiver(async (request) => {
    const path = new URL(request.url).pathname;
    switch (path) {
      case "/fail":
        return new Response("boom: upstream exploded", { status: 500 });
      case "/slow":
        await new Promise((r) => setTimeout(r, 1500));
        return new Response("late");
      case "/big":
        return new Response("x".repeat(5000), { status: 500 });
      case "/gone":
        return new Response("gone for good", { status: 410 });
      case "/redirect":
        return new Response(null, { status: 302, headers: { location: "/ok" } });
      case "/limited":
        return new Response("slow down", { status: 429, headers: { "retry-after": "120" } });
      case "/unavailable":
        return new Response("maintenance", {
          status: 503,
          headers: { "retry-after": new Date(Date.now() + 600_000).toUTCString() },
        });
      default:
        return new Response(null, { status: 204 });
    }
  });
}

/** The endpoint's newest delivery; `wait` = seconds from its last attempt to the next one. */
async function latestDelivery(sql: Sql, endpointId: string) {
  const [row] = await sql`
    select d.id, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
           d.event_id,
           extract(epoch from d.next_attempt_at - coalesce((
             select max(a.attempted_at) from public.webhook_delivery_attempts a
             where a.delivery_id = d.id), now()))::float8 as wait
    from public.webhook_deliveries d where d.endpoint_id = ${endpointId}
    order by d.created_at desc limit 1`;
  return row;
}

async function attempts(sql: Sql, deliveryId: string) {
  return await sql`
    select status_code, response_body, error, duration_ms from public.webhook_delivery_attempts
    where delivery_id = ${deliveryId} order by id`;
}

/** Registers an endpoint directly (tests of delivery behaviour). */
async function endpoint(
  sql: Sql,
  url: string,
  events: string[] = ["*"],
  secret = "whsec_" + btoa("0123456789abcdef0123456789abcdef"),
): Promise<{ id: string; secret: string }> {
  const [row] = await sql`
    insert into public.webhook_endpoints (clinic_id, url, events, secret)
    values (${CLINIC_A}, ${url}, ${events}, ${secret}) returning id`;
  return { id: row.id, secret };
}

const deliver = (sql: Sql, id: string, overrides: Partial<typeof webhooks> = {}) =>
  deliverById(sql, id, { workerId: "test", config: { ...webhooks, ...overrides } });

const due = (sql: Sql, id: string) =>
  sql`update public.webhook_deliveries set next_attempt_at = now() where id = ${id}`;

Deno.test("endpoint registration: clinic admins only, secret shown once", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const app = testApp(db.sql, config);
  const admin = await tokenFor(config, ADMIN_A);
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };
  const base = "/api/clinics/GFC-TP/webhook-endpoints";
  let id = "";
  let secret = "";

  await t.step("an admin registers: 201 with a whsec_ secret of 32 random bytes", async () => {
    const res = await call("POST", base, admin, {
      url: "https://hooks.example.org/clinic",
      events: ["appointment.created", "appointment.cancelled", "appointment.created"],
      description: "PMS sync",
    });
    assert.equal(res.status, 201);
    secret = res.body.secret;
    assert.match(secret, /^whsec_/);
    assert.equal(decodeBase64(secret.slice(6))?.byteLength, 32);
    id = res.body.endpoint.id;
    assert.deepEqual(res.body.endpoint.events, ["appointment.created", "appointment.cancelled"]);
    assert.equal(res.body.endpoint.enabled, true);
  });

  await t.step("never shown again: not in the list, not readable in SQL by the admin", async () => {
    const res = await call("GET", base, admin);
    assert.equal(res.status, 200);
    assert.equal(res.body.endpoints.length, 1);
    assert.doesNotMatch(JSON.stringify(res.body), /whsec_/);
    const one = await call("GET", `${base}/${id}`, admin);
    assert.doesNotMatch(JSON.stringify(one.body), /whsec_/);
    await assert.rejects(
      asUser(db.sql, claimsFor(ADMIN_A), (tx) => tx`select secret from public.webhook_endpoints`),
      (error: { code?: string }) => error.code === "42501",
    );
  });

  await t.step("others: 401 anonymous, 403 another clinic's admin or a patient", async () => {
    assert.equal((await call("GET", base)).status, 401);
    const other = await call("POST", base, await tokenFor(config, ADMIN_B), {
      url: "https://x.example.org/",
      events: ["*"],
    });
    assert.deepEqual([other.status, other.body.error.code], [403, "not_clinic_admin"]);
    assert.equal((await call("GET", base, await tokenFor(config, PATIENT_USER_A))).status, 403);
    assert.equal((await call("GET", "/api/clinics/NOPE/webhook-endpoints", admin)).status, 404);
  });

  await t.step("bad URLs and events are 400", async () => {
    const cases: [unknown, string][] = [
      [{ url: "ftp://x.example.org/", events: ["*"] }, "invalid_url"],
      [{ url: "not a url", events: ["*"] }, "invalid_url"],
      [{ url: "http://10.0.0.7/hook", events: ["*"] }, "invalid_url"],
      [{ url: "http://169.254.169.254/latest", events: ["*"] }, "invalid_url"],
      [{ url: "http://[::1]:8080/", events: ["*"] }, "invalid_url"],
      [{ url: "https://user:pw@x.example.org/", events: ["*"] }, "invalid_url"],
      [{ url: "https://x.example.org/", events: ["appointment.exploded"] }, "invalid_request"],
      [{ url: "https://x.example.org/", events: [] }, "invalid_request"],
    ];
    for (const [body, code] of cases) {
      const res = await call("POST", base, admin, body);
      assert.deepEqual([res.status, res.body.error.code], [400, code], JSON.stringify(body));
    }
  });

  await t.step("rotation: a new secret once, the old one signs for the grace period", async () => {
    const res = await call("PATCH", `${base}/${id}`, admin, { rotate_secret: true });
    assert.equal(res.status, 200);
    assert.match(res.body.secret, /^whsec_/);
    assert.notEqual(res.body.secret, secret);
    const grace = Date.parse(res.body.endpoint.previous_secret_expires_at) - Date.now();
    assert.ok(Math.abs(grace - 24 * 3600_000) < 60_000, `grace ${grace} ms`);
    const [row] = await db.sql`
      select secret, previous_secret from public.webhook_endpoints where id = ${id}`;
    assert.deepEqual([row.secret, row.previous_secret], [res.body.secret, secret]);
    const [audit] = await db.sql`
      select actor_id, changed_fields, new_values from audit.logs
      where table_name = 'webhook_endpoints' and action = 'UPDATE' and record_id = ${id}`;
    assert.equal(audit.actor_id, ADMIN_A);
    assert.ok(audit.changed_fields.includes("secret"));
    assert.doesNotMatch(JSON.stringify(audit.new_values), /whsec_/, "secrets are redacted");
  });

  await t.step("update, disable, re-enable, delete", async () => {
    const changed = await call("PATCH", `${base}/${id}`, admin, {
      events: ["*"],
      description: null,
      enabled: false,
    });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body.endpoint.events, ["*"]);
    assert.equal(changed.body.endpoint.enabled, false);
    assert.equal(changed.body.endpoint.disabled_reason, "disabled by an admin");
    assert.equal(changed.body.secret, undefined);
    const enabled = await call("PATCH", `${base}/${id}`, admin, { enabled: true });
    assert.equal(enabled.body.endpoint.enabled, true);
    assert.equal(enabled.body.endpoint.disabled_reason, null);
    assert.equal((await call("DELETE", `${base}/${id}`, admin)).status, 204);
    assert.equal((await call("GET", `${base}/${id}`, admin)).status, 404);
  });
});

Deno.test("events are written with the change, in its transaction, to subscribers only", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const appointments = await endpoint(sql, "http://127.0.0.1:9/a", ["appointment.created"]);
  const payments = await endpoint(sql, "http://127.0.0.1:9/p", ["payment.completed"]);
  const disabled = await endpoint(sql, "http://127.0.0.1:9/d", ["*"]);
  await sql`update public.webhook_endpoints set enabled = false where id = ${disabled.id}`;

  await t.step("a rolled-back change writes nothing", async () => {
    class Rollback extends Error {}
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`
          insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
          values (${CLINIC_A}, ${PATIENT_LIM}, ${"d0000000-0000-4000-8000-000000000002"},
            tstzrange(now() + interval '5 days', now() + interval '5 days 15 minutes'),
            'scheduled')`;
        assert.equal(await count(tx as unknown as Sql, "public.webhook_outbox"), 1);
        throw new Rollback();
      }),
      Rollback,
    );
    assert.equal(await count(sql, "public.webhook_outbox"), 0);
    assert.equal(await count(sql, "public.webhook_deliveries"), 0);
    assert.equal(await count(sql, "public.jobs where kind = 'webhook.deliver'"), 0);
  });

  await t.step("a committed booking: one event, one delivery, one job — thin payload", async () => {
    const id = await makeAppointment(sql);
    const events = await sql`select event_type, payload from public.webhook_outbox`;
    assert.equal(events.length, 1);
    assert.equal(events[0].event_type, "appointment.created");
    assert.deepEqual(Object.keys(events[0].payload).sort(), [
      "appointment_id",
      "appointment_number",
      "doctor_id",
      "end",
      "patient_id",
      "payment_status",
      "previous_start",
      "previous_status",
      "rescheduled_from",
      "start",
      "status",
    ]);
    assert.equal(events[0].payload.appointment_id, id);
    const deliveries = await sql`select endpoint_id from public.webhook_deliveries`;
    assert.deepEqual(deliveries.map((d) => d.endpoint_id), [appointments.id]);
    assert.equal(await count(sql, "public.jobs where kind = 'webhook.deliver'"), 1);
  });

  await t.step("cancel, reschedule, payment, queue call → their event types", async () => {
    await sql`update public.webhook_endpoints set events = '{*}' where id = ${appointments.id}`;
    const id = await makeAppointment(sql);
    await sql`
      update public.appointments set period = tstzrange(lower(period) + interval '1 day',
        upper(period) + interval '1 day') where id = ${id}`;
    await sql`update public.appointments set status = 'cancelled' where id = ${id}`;
    await sql`
      insert into public.payments (clinic_id, patient_id, appointment_id, amount, status,
        provider_payment_id)
      values (${CLINIC_A}, ${PATIENT_LIM}, ${id}, 35, 'pending', 'pi_t')`;
    await sql`update public.payments set status = 'paid' where provider_payment_id = 'pi_t'`;
    const [ticket] = await sql`
      insert into public.queue_tickets (clinic_id, service_date, code, kind)
      values (${CLINIC_A}, current_date, 'W901', 'walk_in') returning id`;
    await sql`
      update public.queue_tickets set status = 'called', called_at = now(), call_count = 1,
        room = 'Room 3' where id = ${ticket.id}`;
    const types = await sql`
      select o.event_type, count(*)::int as n from public.webhook_outbox o
      join public.webhook_deliveries d on d.event_id = o.id
      where d.endpoint_id = ${appointments.id}
      group by 1 order by 1`;
    assert.deepEqual(Object.fromEntries(types.map((r) => [r.event_type, r.n])), {
      "appointment.cancelled": 1,
      "appointment.created": 2,
      "appointment.rescheduled": 1,
      "payment.completed": 1,
      "queue.ticket_called": 1,
      "queue.ticket_created": 1,
    });
    const toPayments = await sql`
      select o.event_type, o.payload from public.webhook_deliveries d
      join public.webhook_outbox o on o.id = d.event_id where d.endpoint_id = ${payments.id}`;
    assert.equal(toPayments.length, 1);
    assert.equal(toPayments[0].event_type, "payment.completed");
    assert.equal(toPayments[0].payload.status, "paid");
    assert.equal(
      await count(sql, `public.webhook_deliveries where endpoint_id = '${disabled.id}'`),
      0,
    );
    const [called] = await sql`
      select payload from public.webhook_outbox where event_type = 'queue.ticket_called'`;
    assert.equal(called.payload.room, "Room 3");
    assert.equal(called.payload.patient_id, undefined, "no patient on a ticket event");
  });
});

Deno.test("delivery against a local receiver", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const rx = receiver();
  try {
    await t.step(
      "2xx: signed per Standard Webhooks, verified by the standardwebhooks library",
      async () => {
        const ok = await endpoint(sql, `${rx.url}/ok`, ["appointment.created"]);
        const appointment = await makeAppointment(sql);
        const delivery = await latestDelivery(sql, ok.id);
        const result = await deliver(sql, delivery.id);
        assert.equal(result?.result, "succeeded");
        assert.equal(rx.seen.length, 1);
        const seen = rx.seen[0];
        assert.equal(seen.method, "POST");
        assert.equal(seen.headers.get("content-type"), "application/json");
        assert.equal(
          seen.headers.get("webhook-id"),
          `msg_${delivery.event_id.replaceAll("-", "")}`,
        );
        assert.ok(Math.abs(Number(seen.headers.get("webhook-timestamp")) - Date.now() / 1000) < 5);
        const verified = new Webhook(ok.secret).verify(seen.body, {
          "webhook-id": seen.headers.get("webhook-id")!,
          "webhook-timestamp": seen.headers.get("webhook-timestamp")!,
          "webhook-signature": seen.headers.get("webhook-signature")!,
        }) as { type: string; timestamp: string; data: Record<string, unknown> };
        assert.equal(verified.type, "appointment.created");
        assert.equal(verified.data.appointment_id, appointment);
        assert.equal(verified.data.visit_reason, undefined);
        const row = await latestDelivery(sql, ok.id);
        assert.deepEqual([row.status, row.attempts, row.last_status_code], ["succeeded", 1, 204]);
        const log = await attempts(sql, delivery.id);
        assert.equal(log.length, 1);
        assert.equal(log[0].status_code, 204);
        assert.equal(
          await deliver(sql, delivery.id),
          null,
          "a succeeded delivery is not sent again",
        );
        await sql`update public.webhook_endpoints set enabled = false where id = ${ok.id}`;
      },
    );

    await t.step(
      "5xx: logged (truncated body), retried 5 s ±10 % later, same id, fresh timestamp",
      async () => {
        const fail = await endpoint(sql, `${rx.url}/fail`);
        await makeAppointment(sql);
        const delivery = await latestDelivery(sql, fail.id);
        const before = rx.seen.length;
        const first = await deliver(sql, delivery.id);
        assert.equal(first?.result, "failed");
        let row = await latestDelivery(sql, fail.id);
        assert.equal(row.status, "failed");
        assert.ok(row.wait >= 4.5 && row.wait <= 5.5, `next in ${row.wait} s`);
        const jobs = await sql`
        select run_at from public.jobs
        where kind = 'webhook.deliver' and payload ->> 'delivery_id' = ${delivery.id}
        order by id`;
        assert.equal(jobs.length, 2, "the fan-out job and the retry's job");
        assert.equal(jobs[1].run_at.getTime(), row.next_attempt_at.getTime());
        assert.equal(await deliver(sql, delivery.id), null, "not before its time");

        await new Promise((r) => setTimeout(r, 1100)); // a later second for the next timestamp
        await due(sql, delivery.id);
        await deliver(sql, delivery.id);
        row = await latestDelivery(sql, fail.id);
        assert.equal(row.attempts, 2);
        assert.ok(row.wait >= 270 && row.wait <= 330, `next in ${row.wait} s (5 min)`);
        const [a, b] = rx.seen.slice(before);
        assert.equal(a.headers.get("webhook-id"), b.headers.get("webhook-id"));
        assert.equal(a.body, b.body, "the same payload");
        assert.ok(
          Number(b.headers.get("webhook-timestamp")) > Number(a.headers.get("webhook-timestamp")),
        );
        assert.notEqual(a.headers.get("webhook-signature"), b.headers.get("webhook-signature"));
        const log = await attempts(sql, delivery.id);
        assert.deepEqual(log.map((l) => [l.status_code, l.response_body]), [
          [500, "boom: upstream exploded"],
          [500, "boom: upstream exploded"],
        ]);

        // The rest of the schedule: 30 min, 2 h, 5 h, 10 h, 10 h, then dead after 8 attempts.
        for (const expected of [1800, 7200, 18000, 36000, 36000]) {
          await due(sql, delivery.id);
          await deliver(sql, delivery.id);
          row = await latestDelivery(sql, fail.id);
          assert.ok(
            row.wait >= expected * 0.9 && row.wait <= expected * 1.1,
            `attempt ${row.attempts}: next in ${row.wait} s, expected ~${expected}`,
          );
        }
        await due(sql, delivery.id);
        const last = await deliver(sql, delivery.id);
        assert.deepEqual([last?.attempt, last?.status], [8, "dead"]);
        assert.equal((await attempts(sql, delivery.id)).length, 8);
        const [ep] = await sql`
        select enabled, failing_since is not null as failing from public.webhook_endpoints
        where id = ${fail.id}`;
        assert.deepEqual({ ...ep }, { enabled: true, failing: true });
        await sql`update public.webhook_endpoints set enabled = false where id = ${fail.id}`;
      },
    );

    await t.step("a long answer is kept truncated to 2048 characters", async () => {
      const big = await endpoint(sql, `${rx.url}/big`);
      await makeAppointment(sql);
      const delivery = await latestDelivery(sql, big.id);
      await deliver(sql, delivery.id);
      const [log] = await attempts(sql, delivery.id);
      assert.equal(log.status_code, 500);
      assert.equal(log.response_body, "x".repeat(2048));
      await sql`update public.webhook_endpoints set enabled = false where id = ${big.id}`;
    });

    await t.step("timeout: logged without a status, retried", async () => {
      const slow = await endpoint(sql, `${rx.url}/slow`);
      await makeAppointment(sql);
      const delivery = await latestDelivery(sql, slow.id);
      const result = await deliver(sql, delivery.id);
      assert.equal(result?.result, "failed");
      assert.match(result?.error ?? "", /^timeout/);
      const [log] = await attempts(sql, delivery.id);
      assert.equal(log.status_code, null);
      assert.match(log.error, /^timeout/);
      assert.ok(
        log.duration_ms >= 750 && log.duration_ms < 1500,
        `${log.duration_ms} ms: before the 1.5 s answer`,
      );
      assert.equal((await latestDelivery(sql, slow.id)).status, "failed");
      await sql`update public.webhook_endpoints set enabled = false where id = ${slow.id}`;
    });

    await t.step("redirect: not followed, a failure", async () => {
      const redirect = await endpoint(sql, `${rx.url}/redirect`);
      await makeAppointment(sql);
      const delivery = await latestDelivery(sql, redirect.id);
      const before = rx.seen.length;
      const result = await deliver(sql, delivery.id);
      assert.deepEqual([result?.result, result?.statusCode], ["failed", 302]);
      assert.deepEqual(rx.seen.slice(before).map((s) => s.path), ["/redirect"]);
      assert.equal((await latestDelivery(sql, redirect.id)).last_status_code, 302);
      await sql`update public.webhook_endpoints set enabled = false where id = ${redirect.id}`;
    });

    await t.step("429/503 Retry-After is honoured (seconds and HTTP-date)", async () => {
      const limited = await endpoint(sql, `${rx.url}/limited`);
      await makeAppointment(sql);
      const d1 = await latestDelivery(sql, limited.id);
      await deliver(sql, d1.id);
      const row = await latestDelivery(sql, limited.id);
      assert.equal(row.wait, 120, "Retry-After 120 beats the 5 s step");
      await sql`update public.webhook_endpoints set enabled = false where id = ${limited.id}`;

      const unavailable = await endpoint(sql, `${rx.url}/unavailable`);
      await makeAppointment(sql);
      const d2 = await latestDelivery(sql, unavailable.id);
      await deliver(sql, d2.id);
      const row2 = await latestDelivery(sql, unavailable.id);
      assert.ok(
        row2.wait >= 590 && row2.wait <= 601,
        `next in ${row2.wait} s, Retry-After +10 min`,
      );
      await sql`update public.webhook_endpoints set enabled = false where id = ${unavailable.id}`;
    });

    await t.step(
      "410: dead, endpoint disabled, its other deliveries cancelled, admins notified",
      async () => {
        const gone = await endpoint(sql, `${rx.url}/gone`);
        await makeAppointment(sql);
        await makeAppointment(sql);
        const [d1, d2] = await sql`
        select id from public.webhook_deliveries where endpoint_id = ${gone.id} order by created_at`;
        const result = await deliver(sql, d1.id);
        assert.deepEqual([result?.result, result?.status, result?.endpointDisabled], [
          "gone",
          "dead",
          true,
        ]);
        const [ep] = await sql`
        select enabled, disabled_reason from public.webhook_endpoints where id = ${gone.id}`;
        assert.deepEqual({ ...ep }, {
          enabled: false,
          disabled_reason: "the receiver answered 410 Gone",
        });
        const [other] = await sql`select status from public.webhook_deliveries where id = ${d2.id}`;
        assert.equal(other.status, "cancelled");
        const notes = await sql`
        select user_id, data from public.notifications where kind = 'webhook_endpoint_disabled'`;
        assert.deepEqual(notes.map((n) => n.user_id), [ADMIN_A]);
        assert.equal(notes[0].data.endpoint_id, gone.id);
        await makeAppointment(sql);
        assert.equal(
          await count(sql, `public.webhook_deliveries where endpoint_id = '${gone.id}'`),
          2,
        );
      },
    );

    await t.step("failing for days: disabled and the clinic notified", async () => {
      const fail = await endpoint(sql, `${rx.url}/fail`);
      await makeAppointment(sql);
      const delivery = await latestDelivery(sql, fail.id);
      await sql`
        update public.webhook_endpoints set failing_since = now() - interval '6 days'
        where id = ${fail.id}`;
      const result = await deliver(sql, delivery.id);
      assert.equal(result?.endpointDisabled, true);
      assert.equal(result?.status, "cancelled");
      const [ep] = await sql`
        select enabled, disabled_reason from public.webhook_endpoints where id = ${fail.id}`;
      assert.equal(ep.enabled, false);
      assert.match(ep.disabled_reason, /^failing since \d{4}-\d\d-\d\d/);
      assert.equal(
        await count(
          sql,
          `public.notifications where kind = 'webhook_endpoint_disabled'
           and data ->> 'endpoint_id' = '${fail.id}'`,
        ),
        1,
      );
    });

    await t.step("a success clears the failing streak", async () => {
      const flaky = await endpoint(sql, `${rx.url}/ok`);
      await sql`
        update public.webhook_endpoints set failing_since = now() - interval '1 day'
        where id = ${flaky.id}`;
      await makeAppointment(sql);
      await deliver(sql, (await latestDelivery(sql, flaky.id)).id);
      const [ep] = await sql`
        select failing_since from public.webhook_endpoints where id = ${flaky.id}`;
      assert.equal(ep.failing_since, null);
      await sql`update public.webhook_endpoints set enabled = false where id = ${flaky.id}`;
    });

    await t.step(
      "SSRF guard at connect time: loopback refused without the allow-list",
      async () => {
        const internal = await endpoint(sql, `${rx.url}/ok`);
        await makeAppointment(sql);
        const delivery = await latestDelivery(sql, internal.id);
        const before = rx.seen.length;
        const result = await deliver(sql, delivery.id, { allowHosts: [] });
        assert.equal(result?.result, "failed");
        assert.match(result?.error ?? "", /^blocked_address: .*loopback/);
        assert.equal(rx.seen.length, before, "nothing reached the receiver");
        const [log] = await attempts(sql, delivery.id);
        assert.equal(log.status_code, null);
        await sql`update public.webhook_endpoints set enabled = false where id = ${internal.id}`;
      },
    );

    await t.step("rotation: two signatures during the grace period, each verifies", async () => {
      const oldSecret = "whsec_" + btoa("old-old-old-old-old-old-old-old!");
      const rotating = await endpoint(sql, `${rx.url}/ok`, ["*"], oldSecret);
      const newSecret = "whsec_" + btoa("new-new-new-new-new-new-new-new!");
      await sql`
        update public.webhook_endpoints set previous_secret = secret, secret = ${newSecret},
          previous_secret_expires_at = now() + interval '1 hour'
        where id = ${rotating.id}`;
      await makeAppointment(sql);
      const before = rx.seen.length;
      await deliver(sql, (await latestDelivery(sql, rotating.id)).id);
      const seen = rx.seen[before];
      const headers = {
        "webhook-id": seen.headers.get("webhook-id")!,
        "webhook-timestamp": seen.headers.get("webhook-timestamp")!,
        "webhook-signature": seen.headers.get("webhook-signature")!,
      };
      assert.equal(headers["webhook-signature"].split(" ").length, 2);
      new Webhook(newSecret).verify(seen.body, headers);
      new Webhook(oldSecret).verify(seen.body, headers);

      await sql`
        update public.webhook_endpoints set previous_secret_expires_at = now() - interval '1 s'
        where id = ${rotating.id}`;
      await makeAppointment(sql);
      await deliver(sql, (await latestDelivery(sql, rotating.id)).id);
      const after = rx.seen[rx.seen.length - 1];
      assert.equal(after.headers.get("webhook-signature")!.split(" ").length, 1);
      assert.throws(() =>
        new Webhook(oldSecret).verify(after.body, {
          "webhook-id": after.headers.get("webhook-id")!,
          "webhook-timestamp": after.headers.get("webhook-timestamp")!,
          "webhook-signature": after.headers.get("webhook-signature")!,
        })
      );
      await sql`update public.webhook_endpoints set enabled = false where id = ${rotating.id}`;
    });
  } finally {
    await rx.close();
  }
});

Deno.test("deliveries run on the job worker; admins see attempts and can retry", async () => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const app = testApp(sql, config);
  const admin = await tokenFor(config, ADMIN_A);
  const rx = receiver();
  const worker = startWorker({
    sql,
    handlers: webhookHandlers({ config: webhooks }),
    schedules: [],
    pollMs: 50,
    workerId: "webhooks",
    log: () => {},
  });
  try {
    await worker.ready;
    const res = await app.request("/api/clinics/GFC-TP/webhook-endpoints", {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ url: `${rx.url}/ok`, events: ["appointment.created"] }),
    });
    assert.equal(res.status, 201);
    const { endpoint: ep, secret } = await res.json();
    const appointment = await makeAppointment(sql);
    await until("the worker to deliver", () => Promise.resolve(rx.seen.length === 1));
    const seen = rx.seen[0];
    const body = new Webhook(secret).verify(seen.body, {
      "webhook-id": seen.headers.get("webhook-id")!,
      "webhook-timestamp": seen.headers.get("webhook-timestamp")!,
      "webhook-signature": seen.headers.get("webhook-signature")!,
    }) as { data: { appointment_id: string } };
    assert.equal(body.data.appointment_id, appointment);
    await until(
      "the job to complete",
      async () =>
        (await count(
          sql,
          "public.jobs where kind = 'webhook.deliver' and status = 'succeeded'",
        )) ===
          1,
    );

    const list = await app.request(`/api/clinics/GFC-TP/webhook-endpoints/${ep.id}/deliveries`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const { deliveries } = await list.json();
    assert.equal(deliveries.length, 1);
    assert.equal(deliveries[0].status, "succeeded");
    assert.equal(deliveries[0].webhook_id, seen.headers.get("webhook-id"));
    assert.equal(deliveries[0].attempt_log.length, 1);
    assert.equal(deliveries[0].attempt_log[0].status_code, 204);

    const retry = (token: string) =>
      app.request(
        `/api/clinics/GFC-TP/webhook-endpoints/${ep.id}/deliveries/${deliveries[0].id}/retry`,
        { method: "POST", headers: { authorization: `Bearer ${token}` } },
      );
    const notRetryable = await retry(admin);
    assert.equal(notRetryable.status, 409);
    await notRetryable.body?.cancel();
    await sql`
      update public.webhook_deliveries set status = 'dead' where id = ${deliveries[0].id}`;
    const forbidden = await retry(await tokenFor(config, ADMIN_B));
    assert.equal(forbidden.status, 403);
    await forbidden.body?.cancel();
    const retried = await retry(admin);
    assert.equal(retried.status, 200);
    await retried.body?.cancel();
    await until("the retry to be delivered", () => Promise.resolve(rx.seen.length === 2));
    assert.equal(rx.seen[1].headers.get("webhook-id"), seen.headers.get("webhook-id"));
    assert.equal(
      await count(sql, `audit.logs where table_name = 'webhook_deliveries'`),
      1,
      "the retry is audited",
    );
  } finally {
    await worker.stop();
    await rx.close();
  }
});
