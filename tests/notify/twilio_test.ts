/**
 * SMS and WhatsApp through Twilio's Messages API, against a local stand-in for Twilio
 * (tests/notify/_twilio.ts): the exact request, each documented answer (201 queued, 429 with
 * Retry-After, 400 code 21211, 500), the per-channel rate limit, the status callbacks and
 * inbound messages Twilio would post — signed by the `twilio` library — through our real
 * webhook route and the job worker, WhatsApp's 24-hour window, and STOP/START.
 */
import assert from "node:assert/strict";
import { createApp } from "../../edge/app.ts";
import { loadTwilioConfig } from "../../edge/config.ts";
import { enqueue, RetryLaterError, serviceHandlers, startWorker } from "../../edge/jobs/mod.ts";
import { twilioTransports } from "../../edge/notify/twilio.ts";
import { freshDatabase, type Sql } from "../support/db.ts";
import { addAppointment, middayClinic } from "../support/clinic.ts";
import { CLINIC_A, PATIENTS, USERS } from "../support/demo.ts";
import { testConfig, until } from "../webhooks/_support.ts";
import { ACCOUNT_SID, AUTH_TOKEN, type SeenRequest, startTwilioStandIn } from "./_twilio.ts";

const SMS_FROM = "+6560000000";
const WHATSAPP_FROM = "+6560000001";
const PER_SECOND = 20;

/** A notification for patient Lim with one delivery on `channel` to `recipient`, its text
 * rendered as private.notify renders an SMS (title, then body). */
async function newDelivery(
  sql: Sql,
  channel: "sms" | "whatsapp",
  recipient: string,
  body = "Your appointment is tomorrow at 10:30.",
): Promise<string> {
  const [row] = await sql`
    with n as (
      insert into public.notifications (clinic_id, user_id, kind, title, body)
      values (${CLINIC_A}, ${USERS.patientLim}, 'appointment_reminder', 'Reminder', ${body})
      returning id
    )
    insert into public.notification_deliveries
      (notification_id, clinic_id, channel, recipient, subject, body, language)
    select n.id, ${CLINIC_A}, ${channel}, ${recipient}, 'Reminder', ${`Reminder\n${body}`}, 'en'
    from n
    returning id`;
  return row.id;
}

async function deliver(sql: Sql, deliveryId: string): Promise<void> {
  await enqueue(sql, "notification.deliver", { delivery_id: deliveryId });
}

interface DeliveryRow {
  status: string;
  provider: string | null;
  provider_message_id: string | null;
  attempts: number;
  last_error: string | null;
  sms_encoding: string | null;
  sms_segments: number | null;
}

async function delivery(sql: Sql, id: string): Promise<DeliveryRow> {
  const [row] = await sql<DeliveryRow[]>`
    select status, provider, provider_message_id, attempts, last_error, sms_encoding,
      sms_segments
    from public.notification_deliveries where id = ${id}`;
  return row;
}

async function untilStatus(sql: Sql, id: string, status: string): Promise<DeliveryRow> {
  await until(`delivery ${status}`, async () => (await delivery(sql, id)).status === status);
  return await delivery(sql, id);
}

async function deliverJob(sql: Sql, id: string) {
  const [job] = await sql`
    select status::text, attempts, run_at, last_error from public.jobs
    where kind = 'notification.deliver' and payload ->> 'delivery_id' = ${id}`;
  return job;
}

Deno.test("Twilio Messages: requests, answers, rate limit, callbacks, WhatsApp window, STOP", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  await middayClinic(sql);
  const twilio = startTwilioStandIn();

  // Our service on 127.0.0.1: the route Twilio's callbacks reach (the app needs its URL).
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => app.fetch(request),
  );
  const webhookUrl = `http://127.0.0.1:${server.addr.port}/api/webhooks/twilio`;
  const env = {
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_WEBHOOK_URL: webhookUrl,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_SMS_FROM: SMS_FROM,
    TWILIO_WHATSAPP_FROM: `whatsapp:${WHATSAPP_FROM}`,
    TWILIO_API_URL: twilio.url,
    TWILIO_MESSAGES_PER_SECOND: String(PER_SECOND),
  };
  const config = testConfig(env);
  const app = createApp({ config, sql });
  const twilioConfig = loadTwilioConfig({ ...env, APP_ENV: "test" })!;
  const transports = twilioTransports(sql, twilioConfig);
  const worker = startWorker({
    sql,
    handlers: serviceHandlers({ transports, webhooks: { config: config.webhooks } }),
    schedules: [],
    pollMs: 20,
    log: () => {},
  });
  await worker.ready;

  const requestsTo = (to: string) => twilio.seen.filter((r) => r.form.get("To") === to);
  const lastTo = (to: string): SeenRequest => requestsTo(to).at(-1)!;

  try {
    await t.step("201 queued: the exact request, then sent with the SID", async () => {
      const id = await newDelivery(sql, "sms", "+65 9111 0001");
      await deliver(sql, id);
      const row = await untilStatus(sql, id, "sent");
      const [request] = requestsTo("+6591110001");
      assert.equal(request.method, "POST");
      assert.equal(request.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
      assert.equal(request.authorization, `Basic ${btoa(`${ACCOUNT_SID}:${AUTH_TOKEN}`)}`);
      assert.equal(request.contentType, "application/x-www-form-urlencoded");
      assert.deepEqual(Object.fromEntries(request.form), {
        To: "+6591110001",
        From: SMS_FROM,
        Body: "Reminder\nYour appointment is tomorrow at 10:30.",
        StatusCallback: webhookUrl,
      });
      assert.deepEqual(
        [row.provider, row.provider_message_id, row.attempts, row.sms_encoding, row.sms_segments],
        ["twilio", request.sid, 1, "GSM-7", 1],
      );
    });

    await t.step("status callbacks through our route: sent → delivered", async () => {
      const id = await newDelivery(sql, "sms", "+6591110002");
      await deliver(sql, id);
      await untilStatus(sql, id, "sent");
      const request = lastTo("+6591110002");
      assert.equal(await twilio.statusCallback(request, "sent"), 200);
      assert.equal(await twilio.statusCallback(request, "delivered"), 200);
      await untilStatus(sql, id, "delivered");
      // A late "sent" never undoes "delivered".
      assert.equal(await twilio.statusCallback(request, "queued"), 200);
      await until("callbacks processed", async () => {
        const [{ n }] = await sql`
          select count(*)::int as n from public.webhook_inbox
          where source = 'twilio' and status <> 'processed'`;
        return n === 0;
      });
      assert.equal((await delivery(sql, id)).status, "delivered");
    });

    await t.step("status callback undelivered → failed with Twilio's error code", async () => {
      const id = await newDelivery(sql, "sms", "+6591110003");
      await deliver(sql, id);
      await untilStatus(sql, id, "sent");
      assert.equal(await twilio.statusCallback(lastTo("+6591110003"), "undelivered", "30003"), 200);
      const row = await untilStatus(sql, id, "failed");
      assert.equal(row.last_error, "twilio undelivered 30003");
    });

    await t.step("a forged callback is refused by our route", async () => {
      const response = await fetch(webhookUrl, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        },
        body: "MessageSid=SM1&MessageStatus=delivered",
      });
      await response.body?.cancel();
      assert.equal(response.status, 401);
    });

    await t.step("429 with Retry-After: the job runs again no sooner, then sends", async () => {
      twilio.script("+6591110004", [{ kind: "too_many", retryAfter: "3" }]);
      const id = await newDelivery(sql, "sms", "+6591110004");
      await deliver(sql, id);
      await until("the 429", async () => (await deliverJob(sql, id)).last_error !== null);
      const [refused] = requestsTo("+6591110004");
      const job = await deliverJob(sql, id);
      assert.equal(job.status, "queued");
      assert.ok(
        job.run_at.getTime() >= refused.answeredAt + 3000,
        "the retry is due no sooner than Retry-After",
      );
      assert.match(job.last_error, /twilio 429 20429: Too Many Requests/);
      const [paused] = await sql`
        select next_at from private.message_rate_limits where channel = 'sms'`;
      assert.ok(paused.next_at.getTime() >= refused.answeredAt + 3000, "the channel pauses");
      assert.equal((await delivery(sql, id)).status, "pending");

      const row = await untilStatus(sql, id, "sent");
      const [, accepted] = requestsTo("+6591110004");
      assert.ok(accepted.at >= refused.answeredAt + 3000, "no request before Retry-After");
      assert.equal(row.attempts, 2);
      assert.equal(row.last_error, null);
    });

    await t.step("400 code 21211: failed with Twilio's reason, no retry", async () => {
      twilio.script("+6591110005", [{ kind: "invalid_to" }]);
      const id = await newDelivery(sql, "sms", "+6591110005");
      await deliver(sql, id);
      const row = await untilStatus(sql, id, "failed");
      assert.equal(
        row.last_error,
        "twilio 400 21211: The 'To' number [number] is not a valid phone number.",
      );
      await until("the job dead", async () => (await deliverJob(sql, id)).status === "dead");
      assert.equal((await deliverJob(sql, id)).attempts, 1);
      assert.equal(requestsTo("+6591110005").length, 1);
    });

    await t.step("500: retried with backoff, then sent", async () => {
      twilio.script("+6591110006", [{ kind: "server_error" }]);
      const id = await newDelivery(sql, "sms", "+6591110006");
      await deliver(sql, id);
      const row = await untilStatus(sql, id, "sent");
      assert.equal(row.attempts, 2);
      assert.equal(requestsTo("+6591110006").length, 2);
      assert.equal(row.provider_message_id, requestsTo("+6591110006")[1].sid);
    });

    await t.step(
      "a send killed mid-request is not repeated within the window, then once",
      async () => {
        // What a worker killed between its request and recording the answer leaves behind.
        const id = await newDelivery(sql, "sms", "+6591110008");
        const [{ started }] = await sql`
        update public.notification_deliveries set send_started_at = now(), attempts = 1
        where id = ${id} returning send_started_at as started`;
        await deliver(sql, id);
        await until("the retry deferred", async () => (await deliverJob(sql, id)).last_error);
        const job = await deliverJob(sql, id);
        assert.match(job.last_error, /outcome is unknown; not resent within its retry window/);
        assert.equal(job.status, "queued");
        assert.equal(job.attempts, 0, "waiting is no attempt");
        const window = 2 * twilioConfig.requestTimeoutMs;
        assert.ok(job.run_at.getTime() >= started.getTime() + window - 1);
        assert.deepEqual(
          [(await delivery(sql, id)).status, (await delivery(sql, id)).attempts],
          ["pending", 1],
        );
        assert.equal(requestsTo("+6591110008").length, 0, "no second request in the window");

        // The window has passed (as if): one request, then sent.
        await sql`
        update public.notification_deliveries
        set send_started_at = send_started_at - ${window} * interval '1 millisecond'
        where id = ${id}`;
        await sql`update public.jobs set run_at = now() where payload ->> 'delivery_id' = ${id}`;
        worker.wake();
        const row = await untilStatus(sql, id, "sent");
        assert.equal(requestsTo("+6591110008").length, 1);
        assert.equal(row.attempts, 2);
      },
    );

    await t.step("a request timeout: retried, but not within the send window", async () => {
      const release = twilio.hold("+6591110009");
      try {
        const quick = twilioTransports(sql, { ...twilioConfig, requestTimeoutMs: 100 }).sms!;
        const id = await newDelivery(sql, "sms", "+6591110009");
        const message = {
          channel: "sms" as const,
          to: "+6591110009",
          subject: "Reminder",
          text: "Reminder",
          idempotencyKey: id,
        };
        await assert.rejects(quick.send(message), /^Error: twilio: no answer \(TimeoutError\)$/);
        // Twilio may have taken it: a second send inside the window makes no request.
        await assert.rejects(
          quick.send(message),
          (error) =>
            error instanceof RetryLaterError && !error.attempted &&
            /outcome is unknown/.test(error.message),
        );
        assert.equal(requestsTo("+6591110009").length, 1);
      } finally {
        release();
      }
    });

    await t.step("an invalid number fails before any request", async () => {
      const before = twilio.seen.length;
      const id = await newDelivery(sql, "sms", "+65 1234 5678");
      await deliver(sql, id);
      const row = await untilStatus(sql, id, "failed");
      assert.match(row.last_error!, /invalid phone number/);
      assert.equal(twilio.seen.length, before);
    });

    await t.step(
      "segments stored: a Tamil text of 71 characters is two UCS-2 segments",
      async () => {
        const id = await newDelivery(sql, "sms", "+6591110007", "த".repeat(62));
        await deliver(sql, id);
        const row = await untilStatus(sql, id, "sent");
        // "Reminder\n" (9) + 62 Tamil letters = 71 UTF-16 units.
        assert.deepEqual([row.sms_encoding, row.sms_segments], ["UCS-2", 2]);
      },
    );

    await t.step(
      `a burst of 30 at ${PER_SECOND}/s: spaced by the rate limit, none fails`,
      async () => {
        const numbers = Array.from(
          { length: 30 },
          (_, i) => `+659222${String(i).padStart(4, "0")}`,
        );
        const started = Date.now();
        const ids = [];
        for (const to of numbers) {
          ids.push(await newDelivery(sql, "sms", to));
        }
        for (const id of ids) await deliver(sql, id);
        for (const id of ids) await untilStatus(sql, id, "sent");
        const arrivals = numbers.map((to) => requestsTo(to)[0].at).sort((a, b) => a - b);
        // The 30th slot is 29 intervals after the first, and the first no sooner than the start.
        assert.ok(arrivals[29] - started >= 29 * (1000 / PER_SECOND) - 1, "the burst is spread");
        for (const id of ids) assert.equal((await delivery(sql, id)).attempts, 1);
      },
    );

    const lim = "+6590000003";

    await t.step(
      "WhatsApp outside the 24 h window without a template: failed, no request",
      async () => {
        const id = await newDelivery(sql, "whatsapp", lim);
        await deliver(sql, id);
        const row = await untilStatus(sql, id, "failed");
        assert.match(row.last_error!, /outside the 24-hour window/);
        assert.equal(requestsTo(`whatsapp:${lim}`).length, 0);
      },
    );

    await t.step("WhatsApp outside the window with an approved template", async () => {
      const id = await newDelivery(sql, "whatsapp", lim);
      const result = await transports.whatsapp!.send({
        channel: "whatsapp",
        to: lim,
        subject: "Reminder",
        text: "Reminder",
        idempotencyKey: id,
        template: { name: "HX" + "a".repeat(32), variables: { "1": "10:30" } },
      });
      const request = lastTo(`whatsapp:${lim}`);
      assert.deepEqual(Object.fromEntries(request.form), {
        To: `whatsapp:${lim}`,
        From: `whatsapp:${WHATSAPP_FROM}`,
        ContentSid: "HX" + "a".repeat(32),
        ContentVariables: '{"1":"10:30"}',
        StatusCallback: webhookUrl,
      });
      assert.equal(result.providerMessageId, request.sid);
    });

    await t.step("an inbound WhatsApp message opens the window: free text goes", async () => {
      assert.equal(await twilio.inbound(webhookUrl, `whatsapp:${lim}`, "Hello"), 200);
      await until("the window recorded", async () => {
        const rows = await sql`select 1 from private.whatsapp_inbound where phone = ${lim}`;
        return rows.length === 1;
      });
      const id = await newDelivery(sql, "whatsapp", "+65 9000 0003");
      await deliver(sql, id);
      await untilStatus(sql, id, "sent");
      const request = lastTo(`whatsapp:${lim}`);
      assert.equal(request.form.get("Body"), "Reminder\nYour appointment is tomorrow at 10:30.");
      assert.equal(request.form.get("From"), `whatsapp:${WHATSAPP_FROM}`);
      assert.equal(request.form.get("ContentSid"), null);
    });

    await t.step("STOP withdraws SMS consent: the next reminder is not sent by SMS", async () => {
      const appointment = await addAppointment(sql, { startMin: 2 * 24 * 60 });
      const [{ start }] = await sql`
        select lower(period) as start from public.appointments where id = ${appointment}`;
      const reminderChannels = async () => {
        const rows = await sql`
          select d.channel::text as channel from public.notification_deliveries d
          join public.notifications n on n.id = d.notification_id
          where n.kind = 'appointment_reminder' and n.data ->> 'appointment_id' = ${appointment}
          order by n.created_at desc, d.channel limit 2`;
        return rows.map((r) => r.channel);
      };
      // With consent: the 24 h reminder goes by SMS.
      await sql`select private.send_due_reminders(${new Date(start.getTime() - 1439 * 60_000)})`;
      assert.ok((await reminderChannels()).includes("sms"));

      assert.equal(await twilio.inbound(webhookUrl, lim, " stop "), 200);
      await until("consent withdrawn", async () => {
        const [p] = await sql`select sms_consent from public.patients where id = ${PATIENTS.lim}`;
        return p.sms_consent === false;
      });
      const [history] = await sql`
        select channel, granted, source from public.consent_history
        where patient_id = ${PATIENTS.lim} order by id desc limit 1`;
      assert.deepEqual({ ...history }, { channel: "sms", granted: false, source: "stop_keyword" });

      const before = requestsTo(lim).length;
      await sql`select private.send_due_reminders(${new Date(start.getTime() - 119 * 60_000)})`;
      const [{ n }] = await sql`
        select count(*)::int as n from public.notification_deliveries d
        join public.notifications n on n.id = d.notification_id
        where n.data ->> 'lead_minutes' = '120' and n.data ->> 'appointment_id' = ${appointment}
          and d.channel = 'sms'`;
      assert.equal(n, 0, "no SMS delivery for the 2 h reminder");
      await until("no delivery job left", async () => {
        const [{ n }] = await sql`
          select count(*)::int as n from public.jobs
          where kind = 'notification.deliver' and status in ('queued', 'running')`;
        return n === 0;
      });
      assert.equal(requestsTo(lim).length, before, "nothing sent to the number");
    });

    await t.step("START restores it", async () => {
      assert.equal(await twilio.inbound(webhookUrl, lim, "START"), 200);
      await until("consent restored", async () => {
        const [p] = await sql`select sms_consent from public.patients where id = ${PATIENTS.lim}`;
        return p.sms_consent === true;
      });
    });

    await t.step(
      "STOP reaches a phone stored without its country code, not another's",
      async () => {
        const [local] = await sql`
        insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender,
          phone, sms_consent)
        values (${CLINIC_A}, 'TW-1', 'Walk-in One', '1990-01-01', 'other', '9111 2222', true),
               (${CLINIC_A}, 'TW-2', 'Walk-in Two', '1990-01-01', 'other', '+44 9111 2222', true)
        returning id`;
        assert.equal(await twilio.inbound(webhookUrl, "+6591112222", "Unsubscribe"), 200);
        await until("consent withdrawn", async () => {
          const [p] = await sql`select sms_consent from public.patients where id = ${local.id}`;
          return p.sms_consent === false;
        });
        const [other] =
          await sql`select sms_consent from public.patients where patient_number = 'TW-2'`;
        assert.equal(other.sms_consent, true);
      },
    );
  } finally {
    await worker.stop();
    await server.shutdown();
    await twilio.close();
  }
});
