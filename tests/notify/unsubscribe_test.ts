/**
 * One-click unsubscribe and provider feedback, end to end with a real SMTP server: the link in
 * a sent e-mail (GET asks, POST withdraws the consent through private.set_consent, and the
 * next e-mail is not sent); tokens that are not ours are 400/404, never more; bounces and
 * complaints through the signed status webhook suppress the address, withdraw its consents and
 * stop every e-mail still queued for it.
 */
import assert from "node:assert/strict";
import { unsubscribeToken, verifyUnsubscribeToken } from "../../edge/notify/unsubscribe.ts";
import { smtpTransport, UNSUBSCRIBE_LABEL } from "../../edge/notify/smtp.ts";
import { UNSUBSCRIBE_PAGE_TEXTS } from "../../edge/routes/unsubscribe.ts";
import { drainInbox } from "../../edge/webhooks/inbound/process.ts";
import { addAppointment, middayClinic } from "../support/clinic.ts";
import { drain, emailConfig, type ReceivedMail, startSmtpServer } from "../support/smtp.ts";
import { CLINIC_A, PATIENTS, testApp, USERS } from "../edge/_support.ts";
import { RESEND_SECRET, standardRequest } from "../webhooks/_support.ts";

const SECRET = "test-secret-for-the-edge-api-tests-0123456789";

Deno.test("unsubscribe tokens: only ours verify, and they name the patient and channel", async () => {
  const token = await unsubscribeToken(SECRET, { patientId: PATIENTS.lim, channel: "email" });
  assert.match(token, /^[A-Za-z0-9_-]{44}$/);
  assert.deepEqual(await verifyUnsubscribeToken(SECRET, token), {
    patientId: PATIENTS.lim,
    channel: "email",
  });
  const sms = await unsubscribeToken(SECRET, { patientId: PATIENTS.lim, channel: "sms" });
  assert.notEqual(sms, token);
  assert.equal(await verifyUnsubscribeToken("another-secret", token), null);
  // Any one character changed (the patient, the channel or the MAC) no longer verifies.
  for (let i = 0; i < token.length; i++) {
    const c = token[i] === "A" ? "B" : "A";
    const changed = token.slice(0, i) + c + token.slice(i + 1);
    assert.equal(await verifyUnsubscribeToken(SECRET, changed), null, `position ${i}`);
  }
  assert.equal(await verifyUnsubscribeToken(SECRET, `${token}A`), null);
});

Deno.test("the footer and the page speak every language patients may choose", async () => {
  await using app = await testApp();
  const [{ languages }] = await app.sql`select private.languages() as languages`;
  assert.deepEqual(Object.keys(UNSUBSCRIBE_LABEL).sort(), [...languages].sort());
  assert.deepEqual(Object.keys(UNSUBSCRIBE_PAGE_TEXTS).sort(), [...languages].sort());
});

const oneClick = {
  body: "List-Unsubscribe=One-Click",
  headers: { "content-type": "application/x-www-form-urlencoded" },
};

function linkOf(mail: ReceivedMail): string {
  const match = /^<http:\/\/clinic\.test(\/api\/unsubscribe\/[A-Za-z0-9_-]+)>/.exec(
    mail.header("list-unsubscribe") ?? "",
  );
  assert.ok(match, mail.header("list-unsubscribe"));
  return match[1];
}

Deno.test("the unsubscribe link of an e-mail works end to end", async (t) => {
  await using app = await testApp();
  await middayClinic(app.sql);
  await using server = await startSmtpServer();
  const email = smtpTransport(emailConfig(server, { linkSecret: app.config.jwtSecret }));
  const consent = async () =>
    (await app.sql`select email_consent from public.patients where id = ${PATIENTS.lim}`)[0]
      .email_consent;
  const history = () =>
    app.sql`select channel, granted, source, changed_by from public.consent_history
      where patient_id = ${PATIENTS.lim} order by id`;
  try {
    await addAppointment(app.sql, { startMin: 30 });
    await drain(app.sql, { email });
    const [mail] = await server.received(1);
    const link = linkOf(mail);

    await t.step("GET shows a button and changes nothing", async () => {
      const page = await app.call("GET", link);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(page.body, /<html lang="en">[^]*<p>Stop these messages from [^<]+\?<\/p>/);
      assert.match(
        page.body,
        /<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/,
      );
      assert.equal(await consent(), true);
    });

    await t.step("POST without the one-click body is refused", async () => {
      const res = await app.call("POST", link, { body: "x=1", headers: oneClick.headers });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, "invalid_request");
      assert.equal(await consent(), true);
    });

    await t.step(
      "POST List-Unsubscribe=One-Click withdraws the consent at once, once",
      async () => {
        const res = await app.call("POST", link, oneClick);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { unsubscribed: true, channel: "email" });
        assert.equal(await consent(), false);
        const form = new FormData();
        form.set("List-Unsubscribe", "One-Click");
        const again = await app.app.request(link, {
          method: "POST",
          body: form,
          headers: { accept: "text/html" },
        });
        assert.equal(again.status, 200, "multipart, from a browser: a page");
        assert.match(await again.text(), /You will no longer get these messages from/);
        assert.deepEqual((await history()).map((h) => ({ ...h })), [
          { channel: "email", granted: false, source: "unsubscribe_link", changed_by: null },
        ]);
        assert.match((await app.call("GET", link)).body, /You no longer get these messages from/);
      },
    );

    await t.step("the page speaks the patient's language", async () => {
      await app.sql`update public.patients set preferred_language = 'zh'
        where id = ${PATIENTS.lim}`;
      const page = await app.call("GET", link);
      assert.match(page.body, /<html lang="zh">[^]*<p>您已不再接收来自[^<]+的这些消息。<\/p>/);
      await app.sql`update public.patients set preferred_language = 'en'
        where id = ${PATIENTS.lim}`;
    });

    await t.step("the next e-mail is not sent", async () => {
      await addAppointment(app.sql, { startMin: 60 });
      await drain(app.sql, { email });
      assert.equal(server.mails.length, 1, "no second mail arrived");
      const [last] = await app.sql`
        select count(*) filter (where d.channel = 'email')::int as email,
               count(*) filter (where d.channel = 'sms')::int as sms
        from public.notification_deliveries d
        where d.notification_id = (select id from public.notifications
                                   order by created_at desc limit 1)`;
      assert.deepEqual({ ...last }, { email: 0, sms: 1 }, "SMS still goes; e-mail no more");
    });

    await t.step("tokens that are not ours: 400 or 404, never more", async () => {
      const forged = link.slice(0, -1) + (link.endsWith("A") ? "B" : "A");
      const nobody = await unsubscribeToken(app.config.jwtSecret, {
        patientId: crypto.randomUUID(),
        channel: "email",
      });
      const otherKey = await unsubscribeToken("not-the-service-secret", {
        patientId: PATIENTS.lim,
        channel: "email",
      });
      for (
        const [path, status] of [
          ["/api/unsubscribe/abc", 400],
          [`/api/unsubscribe/${"%".repeat(44)}`, 400],
          [forged, 404],
          [`/api/unsubscribe/${nobody}`, 404],
          [`/api/unsubscribe/${otherKey}`, 404],
        ] as const
      ) {
        for (const method of ["GET", "POST"]) {
          const res = await app.call(method, path, method === "POST" ? oneClick : {});
          assert.equal(res.status, status, `${method} ${path}`);
          assert.ok(res.body.error.code, `${method} ${path}: JSON error`);
        }
      }
      assert.equal((await history()).length, 1);
    });
  } finally {
    email.close();
  }
});

Deno.test("bounces and complaints: the address is suppressed and its consents withdrawn", async (t) => {
  await using app = await testApp({ config: { STANDARD_WEBHOOK_SECRETS_RESEND: RESEND_SECRET } });
  await middayClinic(app.sql);
  await using server = await startSmtpServer();
  const email = smtpTransport(emailConfig(server, { linkSecret: app.config.jwtSecret }));
  const report = async (type: string, data: Record<string, unknown>) => {
    const body = JSON.stringify({ type, created_at: new Date().toISOString(), data });
    const res = await app.app.request(
      ...await standardRequest("resend", body, {
        secret: RESEND_SECRET,
      }),
    );
    assert.equal(res.status, 200, await res.text());
    const [result] = await drainInbox(app.sql, { workerId: "test", concurrency: 1 });
    return result;
  };
  const suppression = async () =>
    (await app.sql`select reason, provider from private.email_suppressions
      where address = 'patient.lim@demo.com'`)[0];
  try {
    await addAppointment(app.sql, { startMin: 30 });
    await drain(app.sql, { email });
    const [mail] = await server.received(1);
    const [sent] = await app.sql`
      select id, status, provider_message_id from public.notification_deliveries
      where channel = 'email'`;
    assert.equal(sent.provider_message_id, mail.parsed.messageId);

    await t.step("a transient bounce fails the delivery but suppresses nothing", async () => {
      const result = await report("email.bounced", {
        email_id: "re_1",
        message_id: mail.parsed.messageId,
        bounce: { type: "Transient" },
      });
      assert.deepEqual(result, { status: "processed", outcome: "updated" });
      assert.equal(await suppression(), undefined);
    });

    await t.step("a bounce of our Message-ID suppresses the recipient", async () => {
      await app.sql`update public.notification_deliveries set status = 'sent'
        where id = ${sent.id}`;
      const result = await report("email.bounced", {
        email_id: "re_1",
        message_id: mail.parsed.messageId,
        bounce: { type: "Permanent" },
      });
      assert.deepEqual(result, {
        status: "processed",
        outcome: "updated; suppressed: bounce, 1 withdrawn",
      });
      const [d] = await app.sql`select status, last_error from public.notification_deliveries
        where id = ${sent.id}`;
      assert.deepEqual({ ...d }, { status: "failed", last_error: "email.bounced" });
      assert.deepEqual({ ...await suppression() }, { reason: "bounce", provider: "resend" });
      const [h] = await app.sql`select channel, granted, source from public.consent_history
        where patient_id = ${PATIENTS.lim}`;
      assert.deepEqual({ ...h }, { channel: "email", granted: false, source: "bounce" });
    });

    await t.step("an e-mail queued before the bounce is never sent", async () => {
      const [n] = await app.sql`
        insert into public.notifications (clinic_id, user_id, kind, title, body)
        values (${CLINIC_A}, ${USERS.patientLim}, 'reminder', 'Reminder', 'Tomorrow at 9')
        returning id`;
      const [queued] = await app.sql`
        insert into public.notification_deliveries (notification_id, clinic_id, channel,
          recipient)
        values (${n.id}, ${CLINIC_A}, 'email', 'patient.lim@demo.com')
        returning id`;
      await app.sql`select private.enqueue_job('notification.deliver',
        jsonb_build_object('delivery_id', ${queued.id}::uuid), now(), ${CLINIC_A}::uuid,
        'notification.deliver:' || ${queued.id})`;
      await drain(app.sql, { email });
      const [d] = await app.sql`select status, last_error from public.notification_deliveries
        where id = ${queued.id}`;
      assert.deepEqual({ ...d }, {
        status: "skipped",
        last_error: "address suppressed after a bounce",
      });
      assert.equal(server.mails.length, 1);
    });

    await t.step("a complaint naming only the address: suppressed as a complaint", async () => {
      const result = await report("email.complained", { to: ["Patient.Lim@demo.com"] });
      assert.deepEqual(result, {
        status: "processed",
        outcome: "suppressed: complaint, 0 withdrawn",
      });
      assert.equal((await suppression()).reason, "complaint");
    });

    await t.step("consenting again, or registering the address anew, lifts it", async () => {
      const suppress = (reason: string) =>
        app.sql`select private.suppress_email('patient.lim@demo.com', ${reason}, 'resend')`;
      const register = (number: string, consent: boolean) =>
        app.sql`
          insert into public.patients (clinic_id, patient_number, full_name, date_of_birth,
            gender, email, email_consent)
          values (${CLINIC_A}, ${number}, 'Lim Junior', '2010-01-01', 'male',
            'patient.lim@demo.com', ${consent})`;
      await app.sql`select private.set_consent(${PATIENTS.lim}, 'email', true, 'app')`;
      assert.equal(await suppression(), undefined);
      await suppress("bounce");
      await register("TP-P-LIFT", false);
      assert.equal((await suppression()).reason, "bounce", "no consent given: still suppressed");
      await app.sql`update public.patients set email_consent = true
        where patient_number = 'TP-P-LIFT'`;
      assert.equal(await suppression(), undefined);
      await suppress("complaint");
      await register("TP-P-LIFT2", true);
      assert.equal(await suppression(), undefined, "registered with consent");
    });
  } finally {
    email.close();
  }
});
