/**
 * E-mail over SMTP against a real SMTP server in the test (npm smtp-server, mails parsed with
 * mailparser): multipart text + HTML, the Message-ID made from the delivery id, the RFC 8058
 * headers and footer in the patient's language, replies classified (5xx permanent; 4xx,
 * timeouts and connection failures retried), a worker killed mid-send whose retry carries the
 * same Message-ID, and the demo patient's booking confirmation through the service's worker.
 */
import assert from "node:assert/strict";
import { PermanentJobError } from "../../edge/jobs/mod.ts";
import { startServiceWorker } from "../../edge/jobs/service.ts";
import { loadWebhookConfig } from "../../edge/config.ts";
import { messageIdFor, smtpTransport, textToHtml } from "../../edge/notify/smtp.ts";
import type { OutboundMessage } from "../../edge/notify/transport.ts";
import { verifyUnsubscribeToken } from "../../edge/notify/unsubscribe.ts";
import { freshDatabase } from "../support/db.ts";
import { addAppointment, middayClinic } from "../support/clinic.ts";
import { DOCTORS, PATIENTS, USERS } from "../support/demo.ts";
import {
  drain,
  emailConfig,
  LINK_SECRET,
  type ReceivedMail,
  startSmtpServer,
} from "../support/smtp.ts";
import { nextWeekday, sgt, testApp } from "../edge/_support.ts";

const message = (extra: Partial<OutboundMessage> = {}): OutboundMessage => ({
  channel: "email",
  to: "patient.lim@demo.com",
  subject: "Appointment confirmed",
  text:
    "Your appointment is on Tue 1 Dec.\nBring <your> card & ID.\n\nSee https://clinic.test/a?x=1&y=2",
  idempotencyKey: crypto.randomUUID(),
  patientId: PATIENTS.lim,
  ...extra,
});

async function unsubscribeTarget(mail: ReceivedMail) {
  const link = /^<(http:\/\/clinic\.test\/api\/unsubscribe\/([A-Za-z0-9_-]+))>/.exec(
    mail.header("list-unsubscribe") ?? "",
  );
  assert.ok(link, mail.header("list-unsubscribe"));
  return { url: link[1], target: await verifyUnsubscribeToken(LINK_SECRET, link[2]) };
}

Deno.test("SMTP transport: text + HTML, Message-ID from the delivery id, RFC 8058", async (t) => {
  await using server = await startSmtpServer();
  const transport = smtpTransport(emailConfig(server));
  try {
    await t.step(
      "plain text rendered safe, footer and headers in the patient's language",
      async () => {
        const sent = message({ language: "zh" });
        const result = await transport.send(sent);
        const [mail] = await server.received(1);
        const id = `<${sent.idempotencyKey}@clinic.example>`;
        assert.deepEqual(result, { provider: "smtp", providerMessageId: id, status: "sent" });
        assert.equal(mail.parsed.messageId, id);
        assert.deepEqual(mail.envelopeTo, ["patient.lim@demo.com"]);
        assert.equal(mail.parsed.subject, "Appointment confirmed");
        assert.equal(mail.header("content-language"), "zh");
        assert.equal(mail.header("list-unsubscribe-post"), "List-Unsubscribe=One-Click");
        const { url, target } = await unsubscribeTarget(mail);
        assert.deepEqual(target, { patientId: PATIENTS.lim, channel: "email" });
        assert.equal(mail.header("list-unsubscribe"), `<${url}>`, "no mailto unless configured");
        assert.ok(mail.parsed.text?.startsWith(sent.text), mail.parsed.text);
        assert.ok(mail.parsed.text?.includes(`退订这些电子邮件: ${url}`), mail.parsed.text);
        const html = String(mail.parsed.html);
        assert.match(html, /<html lang="zh">/);
        assert.ok(html.includes("Bring &lt;your&gt; card &amp; ID."), html);
        assert.ok(html.includes('<a href="https://clinic.test/a?x=1&amp;y=2">'), html);
        assert.ok(html.includes(`<a href="${url}">退订这些电子邮件</a>`), html);
        assert.ok(!html.includes("<your>"), "the text never becomes markup");
      },
    );

    await t.step("rendered HTML is used as it is, with the footer added", async () => {
      const html = '<!doctype html><html lang="ms"><body><h1>Temujanji</h1></body></html>';
      await transport.send(message({ html, language: "ms", text: "Temujanji" }));
      const [, mail] = await server.received(2);
      const got = String(mail.parsed.html);
      assert.ok(got.startsWith('<!doctype html><html lang="ms"><body><h1>Temujanji</h1>'), got);
      assert.match(got, /Berhenti melanggan e-mel ini<\/a><\/p>\n<\/body><\/html>/);
      assert.match(mail.parsed.text ?? "", /^Temujanji\n\n-- \nBerhenti melanggan e-mel ini: /);
    });

    await t.step(
      "no patient (a sign-in unlock link): no unsubscribe header or footer",
      async () => {
        await transport.send(message({ patientId: null, idempotencyKey: "auth.unlock_link:42" }));
        const [, , mail] = await server.received(3);
        assert.equal(mail.parsed.messageId, "<auth.unlock_link-42@clinic.example>");
        assert.equal(mail.header("list-unsubscribe"), undefined);
        assert.equal(mail.parsed.text?.trim(), message().text);
      },
    );
  } finally {
    transport.close();
  }

  await t.step("EMAIL_UNSUBSCRIBE_MAILTO adds a mailto carrying the token", async () => {
    const withMailto = smtpTransport(
      emailConfig(server, { unsubscribeMailto: "unsubscribe@clinic.example" }),
    );
    try {
      await withMailto.send(message());
      const [, , , mail] = await server.received(4);
      const { url } = await unsubscribeTarget(mail);
      const token = url.split("/").pop();
      assert.equal(
        mail.header("list-unsubscribe"),
        `<${url}>, <mailto:unsubscribe@clinic.example?subject=unsubscribe%20${token}>`,
      );
    } finally {
      withMailto.close();
    }
  });

  await t.step("text to HTML: escaped, paragraphs, links", () => {
    assert.equal(
      textToHtml('a <b>\nc\n\nhttp://x.test/?a=1&b="2"'),
      '<p>a &lt;b&gt;<br>\nc</p>\n<p><a href="http://x.test/?a=1&amp;b=&quot;2&quot;">' +
        "http://x.test/?a=1&amp;b=&quot;2&quot;</a></p>",
    );
    assert.equal(messageIdFor("a:b c", "x.example"), "<a-b-c@x.example>");
  });
});

Deno.test("SMTP replies: 5xx is permanent; 4xx, timeouts and refused connections retry", async (t) => {
  await using server = await startSmtpServer({
    refuse: (address) =>
      address.startsWith("gone@")
        ? [550, "5.1.1 No such user"]
        : address.startsWith("busy@")
        ? [451, "4.3.0 Try again later"]
        : null,
  });
  const transport = smtpTransport(emailConfig(server));
  const fail = (to: string) => transport.send(message({ to })).then(() => null, (e) => e);
  try {
    await t.step("550: PermanentJobError with the reply", async () => {
      const error = await fail("gone@example.com");
      assert.ok(error instanceof PermanentJobError, String(error));
      assert.match(error.message, /^smtp refused the message: .*550.*No such user/);
    });
    await t.step("a recipient that is not one address: refused before any SMTP", async () => {
      for (const to of ["a@x.test, b@y.test", "Team: a@x.test;", "<a@x.test>", "nobody"]) {
        const error = await fail(to);
        assert.ok(error instanceof PermanentJobError, `${to}: ${error}`);
        assert.equal(error.message, "the recipient is not one e-mail address");
      }
      assert.equal(server.mails.length, 0);
    });
    await t.step("451: an ordinary error (the job queue retries)", async () => {
      const error = await fail("busy@example.com");
      assert.ok(error instanceof Error && !(error instanceof PermanentJobError), String(error));
      assert.match(error.message, /451/);
    });
  } finally {
    transport.close();
  }

  await t.step("a refused connection and a silent server are retried", async () => {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = closed.addr.port;
    closed.close();
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of silent) held.push(conn);
    })();
    for (const url of [`smtp://127.0.0.1:${port}`, `smtp://127.0.0.1:${silent.addr.port}`]) {
      const broken = smtpTransport(emailConfig({ url }), { connectMs: 300, socketMs: 300 });
      try {
        const error = await broken.send(message()).then(() => null, (e) => e);
        assert.ok(error instanceof Error && !(error instanceof PermanentJobError), String(error));
        assert.match(error.message, /^smtp (ECONNECTION|ETIMEDOUT|ESOCKET)/);
      } finally {
        broken.close();
      }
    }
    // nodemailer's pool looks at its queue again 100 ms after a failed connection, a timer
    // its close() does not clear: let it run out inside this test.
    await new Promise((r) => setTimeout(r, 150));
    silent.close();
    for (const conn of held) conn.close();
    await accepting;
  });
});

const testdata = new URL("../../edge/webhooks/ssrf/testdata/", import.meta.url);

Deno.test("smtps://: TLS from the first byte, and only to a certificate we trust", async (t) => {
  const [key, cert, ca] = await Promise.all(
    ["server.key", "server.pem", "ca.pem"].map((f) => Deno.readTextFile(new URL(f, testdata))),
  );
  await using server = await startSmtpServer({ tls: { key, cert } });
  assert.match(server.url, /^smtps:/);

  await t.step(
    "a certificate no trusted CA signed: refused, retried later, nothing sent",
    async () => {
      const untrusting = smtpTransport(emailConfig(server));
      try {
        const error = await untrusting.send(message()).then(() => null, (e) => e);
        assert.ok(error instanceof Error && !(error instanceof PermanentJobError), String(error));
        assert.match(error.message, /certificate|self.signed|issuer/i);
      } finally {
        untrusting.close();
      }
      await new Promise((r) => setTimeout(r, 150)); // nodemailer's pool re-poll (see above)
      assert.equal(server.mails.length, 0);
    },
  );

  await t.step("trusted: sent over TLS", async () => {
    const trusting = smtpTransport(emailConfig(server), { ca });
    try {
      const sent = message();
      await trusting.send(sent);
      const [mail] = await server.received(1);
      assert.equal(mail.parsed.messageId, `<${sent.idempotencyKey}@clinic.example>`);
    } finally {
      trusting.close();
    }
  });
});

Deno.test("deliveries over SMTP through the job worker", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  let busy = 0;
  await using server = await startSmtpServer({
    refuse: (address) =>
      address.startsWith("gone@")
        ? [550, "5.1.1 No such user"]
        : address.startsWith("busy@") && busy-- > 0
        ? [451, "4.3.0 Try again later"]
        : null,
  });
  const email = smtpTransport(emailConfig(server));
  const deliveries = () =>
    db.sql`select id, status, provider, provider_message_id, attempts, last_error
      from public.notification_deliveries where channel = 'email' order by created_at`;
  try {
    await t.step("sent once; the provider id is the Message-ID", async () => {
      await addAppointment(db.sql, { startMin: 30 });
      await drain(db.sql, { email });
      const [d] = await deliveries();
      assert.deepEqual([d.status, d.provider, d.attempts], ["sent", "smtp", 1]);
      assert.equal(d.provider_message_id, `<${d.id}@clinic.example>`);
      const [mail] = await server.received(1);
      assert.equal(mail.parsed.messageId, d.provider_message_id);
      assert.deepEqual((await unsubscribeTarget(mail)).target, {
        patientId: PATIENTS.lim,
        channel: "email",
      });
    });

    await t.step("a 4xx is retried, then sent", async () => {
      await db
        .sql`update public.patients set email = 'busy@example.com' where id = ${PATIENTS.lim}`;
      busy = 1;
      await addAppointment(db.sql, { startMin: 60 });
      await drain(db.sql, { email });
      const d = (await deliveries())[1];
      assert.deepEqual([d.status, d.attempts], ["sent", 2]);
      assert.equal(server.mails.length, 2);
    });

    await t.step("a 5xx fails the delivery with the reply, at once", async () => {
      await db
        .sql`update public.patients set email = 'gone@example.com' where id = ${PATIENTS.lim}`;
      await addAppointment(db.sql, { startMin: 90 });
      await drain(db.sql, { email });
      const d = (await deliveries())[2];
      assert.deepEqual([d.status, d.attempts], ["failed", 1]);
      assert.match(d.last_error, /550.*No such user/);
      assert.equal(server.mails.length, 2);
    });
  } finally {
    email.close();
  }
});

Deno.test("a worker killed mid-send: the retry carries the same Message-ID", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await db.sql`update public.patients set sms_consent = false where id = ${PATIENTS.lim}`;
  let child: Deno.ChildProcess | undefined;
  await using server = await startSmtpServer({
    // The first message is accepted only after its sender is dead: sent, never recorded.
    async beforeAccept() {
      if (!child) return;
      child.kill("SIGKILL");
      await child.status;
      child = undefined;
    },
  });
  await addAppointment(db.sql, { startMin: 30 });
  child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_smtp_crash_worker.ts", import.meta.url).pathname,
      db.url,
      server.url,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const [first] = await server.received(1);
  const [before] = await db.sql`select id, status from public.notification_deliveries`;
  assert.equal(before.status, "pending", "the crash came before the send was recorded");
  // The dead worker's lease ends; another worker takes the job over.
  await db.sql`update public.jobs set locked_until = now() where kind = 'notification.deliver'`;
  const email = smtpTransport(emailConfig(server));
  try {
    await drain(db.sql, { email });
  } finally {
    email.close();
  }
  const [, second] = await server.received(2);
  const [after] = await db.sql`
    select status, attempts, provider_message_id from public.notification_deliveries`;
  assert.equal(after.status, "sent");
  assert.equal(first.parsed.messageId, `<${before.id}@clinic.example>`);
  assert.equal(second.parsed.messageId, first.parsed.messageId, "one message to the mailbox");
  assert.equal(after.provider_message_id, first.parsed.messageId);
});

Deno.test("the demo patient's booking confirmation arrives by e-mail (SMTP_URL set)", async (t) => {
  await using app = await testApp();
  await using server = await startSmtpServer();
  const [lim] = await app.sql`
    select email, email_consent, sms_consent from public.patients where id = ${PATIENTS.lim}`;
  assert.deepEqual({ ...lim }, {
    email: "patient.lim@demo.com",
    email_consent: true,
    sms_consent: true,
  }, "the seed's demo patient consented to e-mail and SMS");
  const worker = startServiceWorker(app.sql, {
    notifyTransport: "development",
    email: emailConfig(server),
    webhooks: loadWebhookConfig({}),
  }, { pollMs: 20 });
  const token = await app.tokenFor(USERS.patientLim);
  const day = await nextWeekday(app.sql);
  /** Books `time` as Lim through the API; the e-mail that arrives, and its delivery. */
  async function book(time: string, count: number) {
    const res = await app.call("POST", "/api/bookings", {
      token,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, time) },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const mail = (await server.received(count))[count - 1];
    const [delivery] = await app.sql`
      select id, subject, body, html, language from public.notification_deliveries
      where channel = 'email' and id::text = ${mail.parsed.messageId?.slice(1, 37) ?? ""}`;
    assert.ok(delivery, `the mail's Message-ID names a delivery: ${mail.parsed.messageId}`);
    assert.deepEqual(mail.envelopeTo, ["patient.lim@demo.com"]);
    assert.equal(mail.parsed.messageId, `<${delivery.id}@clinic.example>`);
    assert.equal(mail.parsed.subject, delivery.subject);
    assert.ok(mail.parsed.text?.startsWith(delivery.body.trimEnd()), mail.parsed.text);
    assert.equal(mail.header("content-language"), delivery.language);
    const html = String(mail.parsed.html);
    assert.match(html, new RegExp(`<html lang="${delivery.language}">`));
    if (delivery.html) assert.ok(html.includes(delivery.html), html);
    return { mail, html, delivery };
  }
  try {
    assert.deepEqual(worker.channels, {
      email: "smtp",
      sms: "development",
      whatsapp: "development",
      push: "development",
    });

    await t.step("in English, with the unsubscribe footer", async () => {
      const { delivery, html } = await book("09:00", 1);
      assert.equal(delivery.language, "en");
      assert.equal(delivery.subject, "Appointment confirmed");
      assert.ok(html.includes("Unsubscribe from these e-mails"), html);
    });

    await t.step("in the patient's language (简体中文)", async () => {
      await app.sql`update public.patients set preferred_language = 'zh'
        where id = ${PATIENTS.lim}`;
      const { mail, delivery, html } = await book("09:30", 2);
      assert.equal(delivery.language, "zh");
      assert.equal(mail.parsed.subject, "预约已确认");
      assert.ok(html.includes("退订这些电子邮件"), html);
      assert.ok(mail.parsed.text?.includes("退订这些电子邮件: http://clinic.test/"));
    });
  } finally {
    await worker.stop();
  }
});
