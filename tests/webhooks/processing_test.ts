/**
 * Processing of the inbox: the handlers (Stripe → payments and the appointment's payment
 * status; Twilio/e-mail status → notification deliveries; Clerk → users and memberships) are
 * idempotent and order-tolerant; unknown types are acknowledged; failures retry with backoff
 * and end dead-lettered with their reason; redrive is an audited admin action.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { serviceCall, withClaims } from "../../edge/db/claims.ts";
import { ingest } from "../../edge/webhooks/inbound/ingest.ts";
import type { InboundRecord } from "../../edge/webhooks/inbound/parse.ts";
import {
  drainInbox,
  handlerFor,
  processInboxBatch,
  type ProcessResult,
} from "../../edge/webhooks/inbound/process.ts";
import { NotYetError, PermanentEventError } from "../../edge/webhooks/inbound/errors.ts";
import type { BatchEventHandler } from "../../edge/webhooks/inbound/handlers/types.ts";
import { purge, sweep } from "../../edge/webhooks/jobs.ts";
import { freshDatabase } from "../support/db.ts";
import {
  ADMIN_A,
  ADMIN_B,
  CLINIC_A,
  CLINIC_B,
  count,
  makeAppointment,
  PATIENT_LIM,
  PATIENT_USER_A,
  stripeEvent,
  testApp,
  testConfig,
  tokenFor,
} from "./_support.ts";

type Sql = postgres.Sql;

let seq = 0;

/** Stores an event as the routes would, and returns its inbox id. */
async function put(
  sql: Sql,
  source: string,
  body: string,
  options: Partial<InboundRecord> = {},
): Promise<string> {
  const json = source === "twilio" ? {} : JSON.parse(body);
  const { inboxId } = await ingest({ serviceCall: serviceCall(sql) }, {
    source,
    eventId: options.eventId ?? json.id ?? `ev_${seq++}_${crypto.randomUUID()}`,
    eventType: options.eventType ?? json.type ?? null,
    clinicId: options.clinicId ?? null,
    clinicCode: options.clinicCode ?? null,
    headers: options.headers ?? {},
    body,
  });
  return inboxId;
}

/** Processes everything due, one at a time (deterministic order: by run_at). */
async function processAll(sql: Sql, workerId = "test"): Promise<ProcessResult[]> {
  return await drainInbox(sql, { workerId, concurrency: 1 });
}

async function processOne(sql: Sql, body: string, source = "stripe", options = {}) {
  const id = await put(sql, source, body, options);
  const results = await processAll(sql);
  assert.equal(results.length, 1);
  const [row] =
    await sql`select status, outcome, last_error from public.webhook_inbox where id = ${id}`;
  return { id, ...row } as { id: string; status: string; outcome: string; last_error: string };
}

function intent(
  type: string,
  id: string,
  created: number,
  extra: Record<string, unknown> = {},
  metadata: Record<string, unknown> = { clinic_id: CLINIC_A, patient_id: PATIENT_LIM },
) {
  return stripeEvent(type, { id, amount: 5000, currency: "sgd", metadata, ...extra }, {
    created,
  });
}

async function payment(sql: Sql, id: string) {
  const [row] = await sql`
    select status, amount::text, refunded_amount::text, provider_event_at, paid_at, appointment_id
    from public.payments where provider = 'stripe' and provider_payment_id = ${id}`;
  return row;
}

Deno.test("Stripe events → payments and the appointment's payment status", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const appointment = await makeAppointment(sql);
  const meta = { clinic_id: CLINIC_A, patient_id: PATIENT_LIM, appointment_id: appointment };
  const T = 1_800_000_000;

  await t.step("payment_intent.created → a pending payment; the appointment follows", async () => {
    const r = await processOne(sql, intent("payment_intent.created", "pi_1", T, {}, meta));
    assert.deepEqual([r.status, r.outcome], ["processed", "created"]);
    const p = await payment(sql, "pi_1");
    assert.equal(p.status, "pending");
    assert.equal(p.amount, "50.00");
    assert.equal(p.appointment_id, appointment);
    const [a] = await sql`select payment_status from public.appointments where id = ${appointment}`;
    assert.equal(a.payment_status, "pending");
  });

  await t.step("succeeded → paid (paid_at = event time)", async () => {
    const r = await processOne(sql, intent("payment_intent.succeeded", "pi_1", T + 10, {}, meta));
    assert.equal(r.outcome, "updated");
    const p = await payment(sql, "pi_1");
    assert.equal(p.status, "paid");
    assert.equal(p.paid_at.getTime(), (T + 10) * 1000);
    const [a] = await sql`select payment_status from public.appointments where id = ${appointment}`;
    assert.equal(a.payment_status, "paid");
  });

  await t.step("a late, older 'processing' never moves it back", async () => {
    const r = await processOne(sql, intent("payment_intent.processing", "pi_1", T + 5, {}, meta));
    assert.equal(r.outcome, "stale");
    assert.equal((await payment(sql, "pi_1")).status, "paid");
  });

  await t.step("a newer 'failed' cannot undo paid either", async () => {
    const r = await processOne(
      sql,
      intent("payment_intent.payment_failed", "pi_1", T + 60, {}, meta),
    );
    assert.equal(r.outcome, "stale");
    assert.equal((await payment(sql, "pi_1")).status, "paid");
  });

  await t.step("partial then full refund; an older refund event is stale", async () => {
    const charge = (created: number, refunded: number, full: boolean) =>
      stripeEvent("charge.refunded", {
        id: `ch_${created}`,
        payment_intent: "pi_1",
        amount: 5000,
        amount_refunded: refunded,
        refunded: full,
        currency: "sgd",
      }, { created });
    assert.equal((await processOne(sql, charge(T + 100, 2000, false))).outcome, "updated");
    let p = await payment(sql, "pi_1");
    assert.deepEqual([p.status, p.refunded_amount], ["partially_refunded", "20.00"]);
    assert.equal((await processOne(sql, charge(T + 200, 5000, true))).outcome, "updated");
    assert.equal((await processOne(sql, charge(T + 150, 3000, false))).outcome, "stale");
    p = await payment(sql, "pi_1");
    assert.deepEqual([p.status, p.refunded_amount], ["refunded", "50.00"]);
    const [a] = await sql`select payment_status from public.appointments where id = ${appointment}`;
    assert.equal(a.payment_status, "refunded");
  });

  await t.step("same second, reversed: the higher status wins either way", async () => {
    await processOne(sql, intent("payment_intent.succeeded", "pi_2", T, {}, meta));
    const r = await processOne(sql, intent("payment_intent.processing", "pi_2", T, {}, meta));
    assert.equal(r.outcome, "stale");
    assert.equal((await payment(sql, "pi_2")).status, "paid");
  });

  await t.step("another intent failing later does not unpay the appointment", async () => {
    const other = await makeAppointment(sql);
    const m = { ...meta, appointment_id: other };
    await processOne(sql, intent("payment_intent.succeeded", "pi_3", T, {}, m));
    await processOne(sql, intent("payment_intent.payment_failed", "pi_4", T + 500, {}, m));
    const [a] = await sql`select payment_status from public.appointments where id = ${other}`;
    assert.equal(a.payment_status, "paid");
  });

  await t.step("checkout.session.completed maps to its payment intent", async () => {
    const body = stripeEvent("checkout.session.completed", {
      id: "cs_1",
      payment_intent: "pi_5",
      amount_total: 1250,
      currency: "sgd",
      payment_status: "paid",
      metadata: meta,
    }, { created: T + 20 });
    assert.equal((await processOne(sql, body)).outcome, "created");
    assert.equal((await payment(sql, "pi_5")).status, "paid");
    assert.equal((await payment(sql, "pi_5")).amount, "12.50");
    const late = intent("payment_intent.created", "pi_5", T + 1, {}, meta);
    assert.equal((await processOne(sql, late)).outcome, "stale");
  });

  await t.step("zero-decimal currency amounts", async () => {
    const body = stripeEvent("payment_intent.succeeded", {
      id: "pi_jpy",
      amount: 5000,
      currency: "jpy",
      metadata: meta,
    }, { created: T });
    await processOne(sql, body);
    const p = await payment(sql, "pi_jpy");
    assert.equal(p.amount, "5000.00");
  });

  await t.step("no metadata and no known payment → acknowledged as unmatched", async () => {
    const r = await processOne(sql, intent("payment_intent.succeeded", "pi_unknown", T, {}, {}));
    assert.deepEqual([r.status, r.outcome], ["processed", "unmatched"]);
    assert.equal(await payment(sql, "pi_unknown"), undefined);
  });

  await t.step("a clinic's own account cannot write for another clinic", async () => {
    const body = intent("payment_intent.succeeded", "pi_other_clinic", T, {}, {
      clinic_id: CLINIC_B,
      patient_id: PATIENT_LIM,
    });
    const r = await processOne(sql, body, "stripe", { clinicId: CLINIC_A });
    assert.equal(r.outcome, "unmatched: clinic");
  });

  await t.step("unknown event types are stored and acknowledged", async () => {
    const r = await processOne(sql, stripeEvent("customer.created", { id: "cus_1" }));
    assert.deepEqual([r.status, r.outcome], ["processed", "ignored"]);
    const s = await processOne(sql, JSON.stringify({ type: "thing.happened" }), "acme");
    assert.deepEqual([s.status, s.outcome], ["processed", "ignored"]);
  });

  await t.step("a malformed event for its type is dead-lettered at once", async () => {
    const body = JSON.stringify({
      id: "evt_bad",
      type: "payment_intent.succeeded",
      data: { object: { id: "pi_x" } },
    });
    const id = await put(sql, "stripe", body);
    const [result] = await processAll(sql);
    assert.equal(result.status, "dead");
    const [row] = await sql`
      select status, attempts, last_error from public.webhook_inbox where id = ${id}`;
    assert.equal(row.status, "dead");
    assert.equal(row.attempts, 1);
    assert.match(row.last_error, /PermanentEventError: event without 'created'/);
  });
});

Deno.test("Twilio and e-mail delivery status → notification deliveries, never backwards", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const [n] = await sql`
    insert into public.notifications (clinic_id, user_id, kind, title, body)
    values (${CLINIC_A}, ${PATIENT_USER_A}, 'booking_confirmed', 'Booked', 'See you')
    returning id`;
  const [sms] = await sql`
    insert into public.notification_deliveries (notification_id, clinic_id, channel, recipient,
      status, provider, provider_message_id, sent_at)
    values (${n.id}, ${CLINIC_A}, 'sms', '+6590000003', 'sent', 'twilio', 'SM100', now())
    returning id`;
  const [mail] = await sql`
    insert into public.notification_deliveries (notification_id, clinic_id, channel, recipient,
      status, provider, provider_message_id, sent_at)
    values (${n.id}, ${CLINIC_A}, 'email', 'lim@example.com', 'sent', 'resend', 'em_1', now())
    returning id`;
  const status = async (id: string) =>
    (await sql`select status, last_error from public.notification_deliveries where id = ${id}`)[0];
  const twilio = (params: Record<string, string>) =>
    processOne(sql, new URLSearchParams(params).toString(), "twilio", {
      eventId: `${params.MessageSid}:${params.MessageStatus}:${seq++}`,
      eventType: `message.${params.MessageStatus}`,
    });

  await t.step("delivered applies; late 'sent' and 'queued' are stale", async () => {
    assert.equal(
      (await twilio({ MessageSid: "SM100", MessageStatus: "delivered" })).outcome,
      "updated",
    );
    assert.equal((await twilio({ MessageSid: "SM100", MessageStatus: "sent" })).outcome, "stale");
    assert.equal((await twilio({ MessageSid: "SM100", MessageStatus: "queued" })).outcome, "stale");
    assert.equal(
      (await twilio({ MessageSid: "SM100", MessageStatus: "delivered" })).outcome,
      "unchanged",
    );
    assert.equal((await status(sms.id)).status, "delivered");
  });

  await t.step("without provider times, the first final status stays", async () => {
    const r = await twilio({
      MessageSid: "SM100",
      MessageStatus: "undelivered",
      ErrorCode: "30003",
    });
    assert.equal(r.outcome, "stale");
    assert.equal((await status(sms.id)).status, "delivered");
  });

  await t.step("a callback before its message is recorded is retried, then unmatched", async () => {
    const r = await twilio({ MessageSid: "SM_LATER", MessageStatus: "sent" });
    assert.equal(r.status, "pending", "retried: the send may not be recorded yet");
    const [row] = await sql`
      select last_error, run_at > now() as later from public.webhook_inbox where id = ${r.id}`;
    assert.match(row.last_error, /NotYetError/);
    assert.equal(row.later, true);
    await sql`
      update public.webhook_inbox set run_at = now(), received_at = now() - interval '11 minutes'
      where id = ${r.id}`;
    await processAll(sql);
    const [done] = await sql`select status, outcome from public.webhook_inbox where id = ${r.id}`;
    assert.deepEqual({ ...done }, { status: "processed", outcome: "unmatched" });
  });

  await t.step("e-mail events with provider times: newer final status wins", async () => {
    const email = (type: string, createdAt: string) =>
      processOne(
        sql,
        JSON.stringify({ type, created_at: createdAt, data: { email_id: "em_1" } }),
        "resend",
      );
    assert.equal((await email("email.delivered", "2026-01-01T10:00:05Z")).outcome, "updated");
    assert.equal((await email("email.sent", "2026-01-01T10:00:00Z")).outcome, "stale");
    // A bounce suppresses the address even when its status is stale (see tests/notify/email_test.ts).
    assert.equal(
      (await email("email.bounced", "2026-01-01T09:59:59Z")).outcome,
      "stale; suppressed: bounce, 0 withdrawn",
    );
    assert.equal((await status(mail.id)).status, "delivered");
    assert.equal(
      (await email("email.bounced", "2026-01-01T10:05:00Z")).outcome,
      "updated; suppressed: bounce, 0 withdrawn",
    );
    const row = await status(mail.id);
    assert.deepEqual([row.status, row.last_error], ["failed", "email.bounced"]);
    assert.equal((await email("email.opened", "2026-01-01T10:06:00Z")).outcome, "ignored");
  });
});

Deno.test("Clerk events → users and clinic memberships, order-tolerant", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const clerk = (type: string, data: Record<string, unknown>, timestamp = Date.now()) =>
    processOne(sql, JSON.stringify({ type, object: "event", timestamp, data }), "clerk");
  const user = (id: string, email: string, first: string, updatedAt: number) => ({
    id,
    first_name: first,
    last_name: "Test",
    primary_email_address_id: "idn_1",
    email_addresses: [{ id: "idn_1", email_address: email }],
    phone_numbers: [],
    updated_at: updatedAt,
  });
  const T = 1_800_000_000_000;

  await t.step(
    "user.created creates; an older user.updated is stale; a newer applies",
    async () => {
      assert.equal(
        (await clerk("user.created", user("user_1", "new.person@example.com", "Nora", T))).outcome,
        "created",
      );
      assert.equal(
        (await clerk("user.updated", user("user_1", "new.person@example.com", "Old", T - 1000)))
          .outcome,
        "stale",
      );
      assert.equal(
        (await clerk("user.updated", user("user_1", "nora@example.com", "Nora", T + 1000))).outcome,
        "updated",
      );
      const [u] = await sql`select email, full_name from public.users where external_id = 'user_1'`;
      assert.deepEqual({ ...u }, { email: "nora@example.com", full_name: "Nora Test" });
    },
  );

  await t.step("an existing local account with that e-mail is linked", async () => {
    const r = await clerk("user.created", user("user_admin", "admin@demo.com", "Grace", T));
    assert.equal(r.outcome, "linked");
    const [u] = await sql`select id from public.users where external_id = 'user_admin'`;
    assert.equal(u.id, ADMIN_A);
  });

  await t.step("membership before its organization is linked: retried", async () => {
    const r = await clerk("organizationMembership.created", {
      id: "orgmem_1",
      role: "org:admin",
      organization: { id: "org_bd" },
      public_user_data: { user_id: "user_1" },
      updated_at: T,
    });
    assert.equal(r.status, "pending");
  });

  await t.step(
    "organization.created links the clinic by code; the membership then applies",
    async () => {
      const r = await clerk("organization.created", {
        id: "org_bd",
        slug: "gfc-bd",
        name: "Bedok",
      });
      assert.equal(r.outcome, "linked");
      await sql`update public.webhook_inbox set run_at = now() where status = 'pending'`;
      const [result] = await processAll(sql);
      assert.deepEqual(result, { status: "processed", outcome: "granted" });
      const roles = await sql`
      select m.role, m.revoked_at is null as active from public.clinic_members m
      join public.users u on u.id = m.user_id
      where u.external_id = 'user_1' and m.clinic_id = ${CLINIC_B}`;
      assert.deepEqual(roles.map((r) => ({ ...r })), [{ role: "admin", active: true }]);
    },
  );

  await t.step("role change revokes the old role; an older update is stale", async () => {
    const membership = (role: string, updatedAt: number) => ({
      id: "orgmem_1",
      role,
      organization: { id: "org_bd" },
      public_user_data: { user_id: "user_1" },
      updated_at: updatedAt,
    });
    assert.equal(
      (await clerk("organizationMembership.updated", membership("org:member", T + 10))).outcome,
      "granted",
    );
    assert.equal(
      (await clerk("organizationMembership.updated", membership("org:admin", T + 5))).outcome,
      "stale",
    );
    const roles = await sql`
      select m.role::text, m.revoked_at is null as active from public.clinic_members m
      join public.users u on u.id = m.user_id
      where u.external_id = 'user_1' and m.clinic_id = ${CLINIC_B} order by m.role`;
    assert.deepEqual(roles.map((r) => ({ ...r })), [
      { role: "staff", active: true },
      { role: "admin", active: false },
    ]);
  });

  await t.step("user.deleted deactivates for good; a late update is stale", async () => {
    const deleted = await clerk("user.deleted", { id: "user_1", deleted: true });
    assert.equal(
      deleted.outcome,
      "deactivated",
      deleted.last_error,
    );
    assert.equal(
      (await clerk("user.updated", user("user_1", "nora@example.com", "Back", T + 99_000))).outcome,
      "stale",
    );
    const [u] = await sql`
      select is_active, deleted_at is not null as deleted from public.users
      where external_id = 'user_1'`;
    assert.deepEqual({ ...u }, { is_active: false, deleted: true });
    assert.equal(
      await count(
        sql,
        `public.clinic_members m join public.users u on u.id = m.user_id
         where u.external_id = 'user_1' and m.revoked_at is null`,
      ),
      0,
    );
  });
});

Deno.test("retries with backoff, dead letter with the reason, audited redrive", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const config = testConfig();
  const app = testApp(sql, config);
  let failures = 0;
  const failing = () => () => {
    failures++;
    const error = Object.assign(new Error("duplicate key value: (email)=(someone@x.com)"), {
      code: "23505",
      table_name: "users",
      constraint_name: "users_email_key",
    });
    return Promise.reject(error);
  };
  const drainFailing = () => drainInbox(sql, { workerId: "w", concurrency: 1, handlers: failing });

  const id = await put(sql, "stripe", stripeEvent("payment_intent.succeeded", { id: "pi_r" }), {
    clinicId: CLINIC_A,
  });
  await sql`update public.webhook_inbox set max_attempts = 3 where id = ${id}`;

  await t.step("a failure goes back to pending ~5 s later (±20 %), with a job then", async () => {
    const [result] = await drainFailing();
    assert.equal(result.status, "retry");
    const [row] = await sql`
      select status, attempts, last_error, extract(epoch from run_at - now()) as wait
      from public.webhook_inbox where id = ${id}`;
    assert.equal(row.status, "pending");
    assert.equal(row.attempts, 1);
    assert.ok(row.wait > 2.5 && row.wait <= 6.1, `waits ${row.wait} s (5 s ± 20 %)`);
    assert.equal(row.last_error, "database error 23505 (users.users_email_key)", "no values");
    const jobs = await sql`
      select run_at from public.jobs where kind = 'webhook.process' and run_at > now()`;
    assert.equal(jobs.length, 1);
  });

  await t.step("the next failure waits twice as long; the last one is dead", async () => {
    await sql`update public.webhook_inbox set run_at = now() where id = ${id}`;
    await drainFailing();
    const [second] = await sql`
      select attempts, extract(epoch from run_at - now()) as wait
      from public.webhook_inbox where id = ${id}`;
    assert.equal(second.attempts, 2);
    assert.ok(second.wait > 6 && second.wait <= 12.1, `waits ${second.wait} s (10 s ± 20 %)`);
    await sql`update public.webhook_inbox set run_at = now() where id = ${id}`;
    const [third] = await drainFailing();
    assert.equal(third.status, "dead");
    const [row] =
      await sql`select status, attempts, last_error from public.webhook_inbox where id = ${id}`;
    assert.deepEqual({ ...row }, {
      status: "dead",
      attempts: 3,
      last_error: "database error 23505 (users.users_email_key)",
    });
    assert.equal(failures, 3);
    assert.deepEqual(await drainFailing(), [], "a dead event is not claimed again");
  });

  const post = async (path: string, token?: string, body?: unknown) =>
    await app.request(path, {
      method: "POST",
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });

  await t.step("dead letters are listed for the clinic's admins, without bodies", async () => {
    const res = await app.request("/api/webhooks/inbox?status=dead", {
      headers: { authorization: `Bearer ${await tokenFor(config, ADMIN_A)}` },
    });
    assert.equal(res.status, 200);
    const { events } = await res.json();
    assert.equal(events.length, 1);
    assert.equal(events[0].id, id);
    assert.equal(events[0].body, undefined);
    const other = await app.request("/api/webhooks/inbox?status=dead", {
      headers: { authorization: `Bearer ${await tokenFor(config, ADMIN_B)}` },
    });
    assert.deepEqual((await other.json()).events, []);
  });

  await t.step("redrive: anonymous 401, another clinic's admin or a patient 404", async () => {
    const anon = await post(`/api/webhooks/inbox/${id}/redrive`);
    assert.equal(anon.status, 401);
    await anon.body?.cancel();
    for (const user of [ADMIN_B, PATIENT_USER_A]) {
      const res = await post(`/api/webhooks/inbox/${id}/redrive`, await tokenFor(config, user));
      assert.equal(res.status, 404);
      await res.body?.cancel();
    }
    const [row] = await sql`select status from public.webhook_inbox where id = ${id}`;
    assert.equal(row.status, "dead");
  });

  await t.step("redrive by the clinic's admin: back in line, audited, then processed", async () => {
    const token = await tokenFor(config, ADMIN_A);
    const res = await post(`/api/webhooks/inbox/${id}/redrive`, token, { reason: "fixed data" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id, status: "pending" });
    const [row] = await sql`
      select status, attempts, redrive_count from public.webhook_inbox where id = ${id}`;
    assert.deepEqual({ ...row }, { status: "pending", attempts: 0, redrive_count: 1 });
    const [audit] = await sql`
      select actor_id, clinic_id, old_values, new_values from audit.logs
      where table_name = 'webhook_inbox' and record_id = ${id}`;
    assert.equal(audit.actor_id, ADMIN_A);
    assert.equal(audit.clinic_id, CLINIC_A);
    assert.equal(audit.old_values.status, "dead");
    assert.equal(audit.new_values.reason, "fixed data");
    const again = await post(`/api/webhooks/inbox/${id}/redrive`, token);
    assert.equal(again.status, 409);
    assert.equal((await again.json()).error.code, "not_dead_lettered");
    const [result] = await drainInbox(sql, { workerId: "w" });
    assert.equal(result.status, "processed");
  });

  await t.step("events of no clinic: only a superadmin may redrive", async () => {
    const orphan = await put(sql, "acme", JSON.stringify({ type: "x" }));
    await sql`
      update public.webhook_inbox set status = 'dead', last_error = 'x' where id = ${orphan}`;
    const admin = await post(
      `/api/webhooks/inbox/${orphan}/redrive`,
      await tokenFor(config, ADMIN_A),
    );
    assert.equal(admin.status, 404);
    await admin.body?.cancel();
    await sql`update public.users set is_superadmin = true where id = ${ADMIN_B}`;
    const superadmin = await post(
      `/api/webhooks/inbox/${orphan}/redrive`,
      await tokenFor(config, ADMIN_B),
    );
    assert.equal(superadmin.status, 200);
    await superadmin.body?.cancel();
  });

  await t.step("PermanentEventError text is kept as written", () => {
    assert.equal(new PermanentEventError("x").name, "PermanentEventError");
  });
});

Deno.test("sweep re-enqueues overdue work; purge keeps dead letters, drops old processed events", async () => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const overdue = await put(sql, "acme", JSON.stringify({ type: "a" }));
  const fresh = await put(sql, "acme", JSON.stringify({ type: "b" }));
  await sql`delete from public.jobs`;
  await sql`
    update public.webhook_inbox set run_at = now() - interval '10 minutes' where id = ${overdue}`;
  assert.deepEqual(await sweep(sql), { inbox: 1, deliveries: 0 });
  const jobs = await sql`select payload from public.jobs where kind = 'webhook.process'`;
  assert.deepEqual(jobs.map((j) => j.payload.inbox_id), [overdue]);

  await processAll(sql);
  const dead = await put(sql, "acme", JSON.stringify({ type: "c" }));
  await sql`update public.webhook_inbox set status = 'dead' where id = ${dead}`;
  await sql`
    update public.webhook_inbox set processed_at = now() - interval '31 days'
    where id = ${overdue}`;
  assert.deepEqual(await purge(sql), { inbox: 1, outbox: 0, securityLog: 0 });
  const left = await sql`select id from public.webhook_inbox order by received_at`;
  assert.deepEqual(left.map((r) => r.id), [fresh, dead]);
});

Deno.test("a batch of events: each applied once under its own savepoint; one failing touches no other", async () => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const created = Math.floor(Date.now() / 1000);
  const ok: string[] = [];
  for (let i = 0; i < 3; i++) {
    ok.push(await put(sql, "stripe", intent("payment_intent.succeeded", `pi_batch_${i}`, created)));
  }
  const malformed = await put(
    sql,
    "stripe",
    JSON.stringify({ id: "evt_bad_b", type: "payment_intent.succeeded", data: { object: {} } }),
  );
  const early = await put(sql, "stripe", intent("payment_intent.succeeded", "pi_early", created));
  const done = await put(sql, "stripe", intent("payment_intent.succeeded", "pi_done", created));
  const held = await put(sql, "stripe", intent("payment_intent.succeeded", "pi_held", created));
  const broken = await put(sql, "stripe", intent("payment_intent.succeeded", "pi_broken", created));
  await sql`update public.webhook_inbox set status = 'processed' where id = ${done}`;
  await sql`
    update public.webhook_inbox
    set status = 'processing', locked_by = 'other', locked_until = now() + interval '1 minute'
    where id = ${held}`;

  // A handler that fails in the database for one event after writing (its savepoint rolls
  // back, not the batch) and says "not yet" for another.
  const results = await processInboxBatch(
    sql,
    [ok[0], malformed, broken, ok[1], early, done, held, ok[2]],
    {
      workerId: "batcher",
      handlers: (source, type) => {
        const stripe = handlerFor(source, type)!;
        return async (tx, event) => {
          if (event.id === early) throw new NotYetError("its appointment is not stored yet");
          if (event.id === broken) await stripe(tx, event);
          if (event.id === broken) await tx`select 1 / 0`; // after writing, as a handler might
          return await stripe(tx, event);
        };
      },
    },
  );
  for (const id of ok) {
    assert.deepEqual(results.get(id), { status: "processed", outcome: "created" });
  }
  assert.equal(results.get(malformed)?.status, "dead");
  assert.equal(results.get(broken)?.status, "dead", "a value the database refuses: permanent");
  assert.equal(results.get(early)?.status, "retry");
  assert.deepEqual(results.get(done), { status: "done" });
  assert.deepEqual(results.get(held), { status: "leased" });

  for (let i = 0; i < 3; i++) assert.equal((await payment(sql, `pi_batch_${i}`)).status, "paid");
  assert.equal(
    await count(sql, "public.payments where provider_payment_id in ('pi_early', 'pi_broken')"),
    0,
    "the broken event's write rolled back with its savepoint",
  );
  const rows = await sql`
    select id, status, attempts, locked_by from public.webhook_inbox
    where id = any(${[...ok, malformed, early]}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const id of ok) {
    assert.deepEqual({ ...byId.get(id) }, {
      id,
      status: "processed",
      attempts: 1,
      locked_by: null,
    });
  }
  assert.equal(byId.get(malformed)!.status, "dead");
  assert.equal(byId.get(early)!.status, "pending", "retried later with a job of its own");
  assert.equal(
    await count(sql, "audit.logs where table_name = 'payments' and action = 'INSERT'"),
    3,
    "exactly the three payments, once each",
  );
  // The row another worker holds gets a job for when that lease ends.
  assert.equal(
    await count(sql, `public.jobs where payload->>'inbox_id' = '${held}' and run_at > now()`),
    1,
  );

  // Run again (as a job would after a crash): nothing is applied twice.
  const again = await processInboxBatch(sql, ok, { workerId: "batcher" });
  for (const id of ok) assert.deepEqual(again.get(id), { status: "done" });
  assert.equal(await count(sql, "public.payments where provider_payment_id like 'pi_batch_%'"), 3);
});

Deno.test("Stripe events of a batch in one statement: in order, a poison event dead-letters alone, a redelivery changes nothing", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const created = Math.floor(Date.now() / 1000);
  const toEvent = (id: string, body: string) => ({
    id,
    source: "stripe",
    eventId: JSON.parse(body).id,
    eventType: JSON.parse(body).type,
    clinicId: null,
    headers: {},
    body,
    json: JSON.parse(body),
    receivedAt: new Date(),
    attempts: 1,
  });

  await t.step("`many` applies each event in order, a later one seeing the earlier", async () => {
    const stripe = handlerFor("stripe", null) as BatchEventHandler;
    const outcomes = await withClaims(sql, { role: "service_role" }, (tx) =>
      stripe.many(tx, [
        toEvent("a", intent("payment_intent.created", "pi_many", created)),
        toEvent("b", intent("payment_intent.succeeded", "pi_many", created + 1)),
        toEvent("c", stripeEvent("customer.created", { id: "cus_1" })),
        toEvent("d", intent("payment_intent.processing", "pi_many", created)),
      ]));
    assert.deepEqual(outcomes, ["created", "updated", "ignored", "stale"]);
    assert.equal((await payment(sql, "pi_many")).status, "paid");
  });

  const first = await put(sql, "stripe", intent("payment_intent.created", "pi_run", created));
  const second = await put(
    sql,
    "stripe",
    intent("payment_intent.succeeded", "pi_run", created + 1),
  );
  const poisonBody = intent("payment_intent.succeeded", "pi_\u0000poison", created);
  const poison = await put(sql, "stripe", poisonBody);
  const other = await put(sql, "acme", JSON.stringify({ type: "a" }));
  const lastBody = intent("payment_intent.succeeded", "pi_last", created);
  const last = await put(sql, "stripe", lastBody);
  const batch = [first, second, poison, other, last];

  await t.step("a poison event fails alone: the others of its run applied one by one", async () => {
    const applied: string[] = [];
    const results = await processInboxBatch(sql, batch, {
      workerId: "batcher",
      afterApply: (event) => Promise.resolve(void applied.push(event.id)),
    });
    assert.deepEqual(results.get(first), { status: "processed", outcome: "created" });
    assert.deepEqual(results.get(second), { status: "processed", outcome: "updated" });
    assert.deepEqual(results.get(poison), { status: "dead", error: "database error 22P05" });
    assert.deepEqual(results.get(other), { status: "processed", outcome: "ignored" });
    assert.deepEqual(results.get(last), { status: "processed", outcome: "created" });
    assert.deepEqual(applied, [first, second, other, last], "in the order received");
    assert.equal((await payment(sql, "pi_run")).status, "paid");
    assert.equal((await payment(sql, "pi_last")).status, "paid");
    assert.equal(
      await count(sql, "public.payments where provider_payment_id like 'pi_%poison'"),
      0,
    );
  });

  await t.step("a redelivered event and a repeated job: nothing applied twice", async () => {
    const audit = () => count(sql, "audit.logs where table_name = 'payments'");
    const before = await audit();
    const { inboxId, inserted } = await ingest({ serviceCall: serviceCall(sql) }, {
      source: "stripe",
      eventId: JSON.parse(lastBody).id,
      eventType: "payment_intent.succeeded",
      clinicId: null,
      clinicCode: null,
      headers: {},
      body: lastBody,
    });
    assert.equal(inboxId, last);
    assert.equal(inserted, false);
    const again = await processInboxBatch(sql, [last, first, second, last], {
      workerId: "batcher",
    });
    for (const id of [first, second, last]) assert.deepEqual(again.get(id), { status: "done" });
    assert.equal(await audit(), before);
    assert.equal(await count(sql, "public.payments where provider_payment_id = 'pi_last'"), 1);
  });
});
