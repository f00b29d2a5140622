/**
 * What a notification says (supabase/migrations/…_notification_templates.sql): the shipped
 * templates of every kind × channel × language, rendered by private.notify in the patient's
 * language with clinic-local dates, a clinic's own templates before the shipped ones, English
 * when a language has none, nothing clinical in SMS/WhatsApp/push texts, walk-ins without an
 * account told by SMS, and reminders held back in the clinic's quiet hours (queue calls never).
 */
import assert from "node:assert/strict";
import { freshDatabase, type Sql } from "../support/db.ts";
import { addAppointment, asDemoUser, middayClinic } from "../support/clinic.ts";
import { CLINIC_A, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";
import { deliverNotification } from "../../edge/notify/deliver.ts";
import { memoryTransport } from "../../edge/notify/transport.ts";
import { queueApp } from "../queue/_support.ts";

const KINDS = [
  "booking_confirmed",
  "booking_rescheduled",
  "booking_cancelled",
  "appointment_reminder",
  "ticket_called",
  "queue_near",
];
/** The templates' kinds: the notifications' and how queue_near says "nobody ahead". */
const TEMPLATE_KINDS = [...KINDS, "queue_next"];
const CHANNELS = ["in_app", "email", "sms", "whatsapp", "push"];
const LANGUAGES = ["en", "zh", "ms", "ta"];
const VISIT_REASON = "Chest pain and breathlessness";
const SPECIALTY = "Cardiology";

/** Every value a caller may give, so that any placeholder a template uses has one. */
const SAMPLE = {
  ref: "GFC-TP-261206-001",
  doctor: "Dr Tan Wei Ming",
  code: "W004",
  room: "3",
  people_ahead: 2,
  clinic: "Gabriel Family Clinic (Tampines)",
};

async function deliveries(sql: Sql, notification: string) {
  return (await sql`
    select channel::text as channel, recipient, subject, body, html, language
    from public.notification_deliveries where notification_id = ${notification}
    order by channel`).map((r) => ({ ...r })); // alphabetically
}

async function latest(sql: Sql, kind: string, patient = PATIENTS.lim) {
  const [n] = await sql`
    select id, user_id, title, body, data from public.notifications
    where patient_id = ${patient} and kind = ${kind} order by created_at desc, id desc limit 1`;
  return n;
}

/** Lim's consent to push and a browser subscription of his account: push deliveries. */
async function pushReady(sql: Sql) {
  await sql`select private.set_consent(${PATIENTS.lim}, 'push', true, 'app')`;
  await sql`
    insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
    values (${USERS.patientLim}, 'https://push.example/send/lim', ${"B" + "A".repeat(86)},
      ${"A".repeat(22)})`;
}

/** Clinic-local "HH:MM" of `at` in the clinic's zone. */
async function localHm(sql: Sql, at: Date): Promise<string> {
  const [r] = await sql`
    select to_char(${at}::timestamptz at time zone c.timezone, 'HH24:MI') as hm
    from public.clinics c where c.id = ${CLINIC_A}`;
  return r.hm;
}

Deno.test("account e-mails: every kind in every language, by e-mail only", async (t) => {
  await using db = await freshDatabase({ seed: false });
  const kinds = ["password_reset", "email_verify", "email_change", "login_unlock"];
  const rows = await db.sql`select kind, channel, language from public.notification_templates
    where clinic_id is null and kind = any(${kinds})`;
  assert.equal(rows.length, kinds.length * LANGUAGES.length);
  assert.ok(rows.every((r) => r.channel === "email"));
  const link = "https://clinic.example/reset-password#tok&en";
  for (const kind of kinds) {
    for (const language of LANGUAGES) {
      const [r] = await db.sql`
        select private.render_template(t.subject, v.vars, false) as subject,
          private.render_template(t.body, v.vars, false) as body,
          private.render_template(t.html, v.vars, true) as html
        from private.notification_template(null, ${kind}, 'email', ${language}) t,
          (select jsonb_build_object('link', ${link}::text, 'minutes', 30) as vars) v`;
      const where = `${kind}/${language}`;
      for (const text of [r.subject, r.body, r.html]) {
        assert.ok(!text.includes("{{"), `${where}: unfilled placeholder in ${text}`);
      }
      assert.ok(r.body.includes(link) && r.body.includes("30"), where);
      assert.ok(r.html.includes('href="https://clinic.example/reset-password#tok&amp;en"'), where);
    }
  }
  await t.step("no account kind may be written for another channel", async () => {
    await assert.rejects(
      db.sql`insert into public.notification_templates (kind, channel, language, body)
        values ('password_reset', 'sms', 'en', 'Reset: {{link}}')`,
      (e: { code?: string }) => e.code === "23514",
    );
  });
});

Deno.test("the staff invitation e-mail: every language, by e-mail only", async () => {
  await using db = await freshDatabase({ seed: false });
  const rows = await db.sql`select channel, language from public.notification_templates
    where clinic_id is null and kind = 'staff_invite'`;
  assert.deepEqual(rows.map((r) => r.language).sort(), [...LANGUAGES].sort());
  assert.ok(rows.every((r) => r.channel === "email"));
  const link = "https://clinic.example/accept-invite#tok&en";
  for (const language of LANGUAGES) {
    const [r] = await db.sql`
      select private.render_template(t.subject, v.vars, false) as subject,
        private.render_template(t.body, v.vars, false) as body,
        private.render_template(t.html, v.vars, true) as html
      from private.notification_template(null, 'staff_invite', 'email', ${language}) t,
        (select jsonb_build_object('link', ${link}::text, 'days', 7, 'clinic', 'Tampines <GP>')
          as vars) v`;
    for (const text of [r.subject, r.body, r.html]) {
      assert.ok(!text.includes("{{"), `${language}: unfilled placeholder in ${text}`);
    }
    assert.ok(r.body.includes(link) && r.body.includes("7") && r.subject.includes("Tampines"));
    assert.ok(r.html.includes("Tampines &lt;GP&gt;"), language);
    assert.ok(r.html.includes('href="https://clinic.example/accept-invite#tok&amp;en"'), language);
  }
});

Deno.test("every kind × channel × language has a template that renders completely", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const rows = await db.sql`select kind, channel, language from public.notification_templates
    where clinic_id is null and kind = any(${TEMPLATE_KINDS})`;
  assert.equal(rows.length, TEMPLATE_KINDS.length * CHANNELS.length * LANGUAGES.length);
  for (const kind of TEMPLATE_KINDS) {
    await t.step(kind, async () => {
      for (const channel of CHANNELS) {
        for (const language of LANGUAGES) {
          const [r] = await db.sql`
            select * from private.render_notification(${CLINIC_A}, ${kind}, ${channel},
              ${language}, ${db.sql.json(SAMPLE)}, now(), 'Asia/Singapore')`;
          const where = `${kind}/${channel}/${language}`;
          assert.equal(r.used_language, language, `${where}: its own template`);
          for (const text of [r.subject, r.body, r.html]) {
            assert.ok(!text?.includes("{{"), `${where}: unfilled placeholder in ${text}`);
          }
          const [raw] = await db.sql`
            select concat_ws(' ', subject, body) as text
            from private.notification_template(${CLINIC_A}, ${kind}, ${channel}, ${language})`;
          const rendered = `${r.subject ?? ""} ${r.body}`;
          for (const [name, value] of Object.entries(SAMPLE)) {
            if (name !== "room" && raw.text.includes(`{{${name}}}`)) {
              assert.ok(rendered.includes(String(value)), `${where}: ${name} in ${rendered}`);
            }
          }
          assert.ok(r.body.length > 0);
          assert.equal(r.subject !== null, ["in_app", "email", "push"].includes(channel), where);
          assert.equal(r.html !== null, channel === "email", where);
        }
      }
    });
  }

  await t.step("the callers give every variable their kind's templates use", async () => {
    await middayClinic(db.sql);
    await db.sql`update public.clinics set settings = '{"queue": {"near_threshold": 0}}'
      where id = ${CLINIC_A}`;
    const id = await addAppointment(db.sql, { startMin: 25 * 60 });
    await db.sql`update public.appointments
      set period = tstzrange(lower(period) + interval '1 hour', upper(period) + interval '1 hour')
      where id = ${id}`;
    const [start] = await db.sql`select lower(period) as at from public.appointments
      where id = ${id}`;
    const due = new Date(start.at.getTime() - 24 * 3_600_000 + 60_000);
    assert.equal((await db.sql`select private.send_due_reminders(${due}) as n`)[0].n, 1);
    await db.sql`update public.appointments set status = 'cancelled' where id = ${id}`;
    await asDemoUser(db.sql, USERS.staffKoh, async (tx) => {
      await tx`select private.queue_walk_in(${CLINIC_A}, ${PATIENTS.lim}, null, 0)`;
      await tx`select private.queue_call_next(${CLINIC_A}, '3', null)`;
    });
    const missing = await db.sql`
      select n.kind, c.channel, v.name
      from public.notifications n
      cross join unnest(${CHANNELS}::text[]) as c (channel)
      cross join unnest(private.template_variables(n.kind, c.channel)) as v (name)
      where n.patient_id = ${PATIENTS.lim}
        and v.name not in ('clinic', 'date', 'time') and not n.data ? v.name`;
    assert.deepEqual(missing.map((m) => ({ ...m })), []);
    const kinds = await db.sql`select distinct kind from public.notifications
      where patient_id = ${PATIENTS.lim} order by kind`;
    assert.deepEqual(kinds.map((k) => k.kind), [...KINDS].sort());
  });
});

Deno.test("rendered in the patient's language; the app in the account's", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await db.sql`update public.patients set whatsapp_consent = true where id = ${PATIENTS.lim}`;
  await pushReady(db.sql);
  const expected: Record<string, { title: string; date: RegExp }> = {
    zh: { title: "预约已确认", date: /\d{4}年\d{1,2}月\d{1,2}日（周.）/ },
    ms: { title: "Temujanji disahkan", date: /(Ahad|Isnin|Selasa|Rabu|Khamis|Jumaat|Sabtu), / },
    ta: { title: "சந்திப்பு உறுதிசெய்யப்பட்டது", date: /, \d{1,2} \S+ \d{4}/ },
  };
  for (const [language, want] of Object.entries(expected)) {
    await t.step(language, async () => {
      await db.sql`update public.patients set preferred_language = ${language}
        where id = ${PATIENTS.lim}`;
      await db.sql`update public.users set language = ${language} where id = ${USERS.patientLim}`;
      await addAppointment(db.sql, { startMin: 60 + Object.keys(expected).indexOf(language) });
      const n = await latest(db.sql, "booking_confirmed");
      assert.equal(n.title, want.title);
      assert.match(n.body, want.date);
      const sent = await deliveries(db.sql, n.id);
      assert.deepEqual(sent.map((d) => [d.channel, d.language]), [
        ["email", language],
        ["push", language],
        ["sms", language],
        ["whatsapp", language],
      ]);
      assert.equal(sent[0].subject, want.title);
      assert.equal(sent[1].subject, want.title);
      for (const d of sent) assert.match(d.body, want.date);
    });
  }

  await t.step("the account's language for the app, the patient's for the channels", async () => {
    await db.sql`update public.users set language = 'en' where id = ${USERS.patientLim}`;
    await db.sql`update public.patients set preferred_language = 'zh' where id = ${PATIENTS.lim}`;
    await addAppointment(db.sql, { startMin: 90 });
    const n = await latest(db.sql, "booking_confirmed");
    assert.equal(n.title, "Appointment confirmed");
    assert.ok((await deliveries(db.sql, n.id)).every((d) => d.language === "zh"));
  });

  await t.step("a language without a template: English", async () => {
    await db.sql`update public.patients set preferred_language = 'ms' where id = ${PATIENTS.lim}`;
    await db.sql`delete from public.notification_templates
      where clinic_id is null and kind = 'booking_confirmed' and channel = 'sms'
        and language = 'ms'`;
    await addAppointment(db.sql, { startMin: 110 });
    const sent = await deliveries(db.sql, (await latest(db.sql, "booking_confirmed")).id);
    assert.deepEqual(sent.map((d) => [d.channel, d.language]), [
      ["email", "ms"],
      ["push", "ms"],
      ["sms", "en"],
      ["whatsapp", "ms"],
    ]);
  });
});

Deno.test("a clinic's own template wins; only its admins write it, and it is audited", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  const override = (userId: string, clinic: string, language = "en") =>
    asDemoUser(db.sql, userId, (tx) =>
      tx`
      insert into public.notification_templates (clinic_id, kind, channel, language, body)
      values (${clinic}, 'booking_confirmed', 'sms', ${language},
        'GFC: see you {{date}} {{time}}, ref {{ref}}')
      returning id`);

  await t.step("staff and other clinics' admins cannot", async () => {
    await assert.rejects(override(USERS.staffKoh, CLINIC_A), /row-level security/);
    await assert.rejects(
      override(USERS.adminBedok, CLINIC_A),
      /row-level security/,
    );
    const shipped = await asDemoUser(
      db.sql,
      USERS.admin,
      (tx) =>
        tx`update public.notification_templates set body = 'x' where clinic_id is null
        returning id`,
    );
    assert.equal(shipped.length, 0, "the shipped templates are not the admins' to change");
  });

  await t.step("the clinic's admin overrides; the patient gets it", async () => {
    const [row] = await override(USERS.admin, CLINIC_A);
    await addAppointment(db.sql, { startMin: 60 });
    const sent = await deliveries(db.sql, (await latest(db.sql, "booking_confirmed")).id);
    const sms = sent.find((d) => d.channel === "sms")!;
    assert.match(sms.body, /^GFC: see you \S+ \d+ \S+ \d{4} \d\d:\d\d, ref GFC-TP-/);
    assert.ok(sent.find((d) => d.channel === "email")!.body.startsWith("Hello,"), "shipped");
    const [audit] = await db.sql`select actor_id, clinic_id, action from audit.logs
      where table_name = 'notification_templates' and record_id = ${row.id}`;
    assert.deepEqual({ ...audit }, {
      actor_id: USERS.admin,
      clinic_id: CLINIC_A,
      action: "INSERT",
    });
  });

  await t.step("the patient's language before the clinic's English", async () => {
    await db.sql`update public.patients set preferred_language = 'zh' where id = ${PATIENTS.lim}`;
    await addAppointment(db.sql, { startMin: 70 });
    let sent = await deliveries(db.sql, (await latest(db.sql, "booking_confirmed")).id);
    assert.ok(sent.find((d) => d.channel === "sms")!.body.includes("您的预约已确认"));
    await override(USERS.admin, CLINIC_A, "zh");
    await addAppointment(db.sql, { startMin: 80 });
    sent = await deliveries(db.sql, (await latest(db.sql, "booking_confirmed")).id);
    assert.match(sent.find((d) => d.channel === "sms")!.body, /^GFC: see you \d{4}年/);
  });

  await t.step("texts are checked: known placeholders, nothing clinical off-app", async () => {
    const insert = (channel: string, body: string, subject: string | null = null) =>
      db.sql`insert into public.notification_templates
        (clinic_id, kind, channel, language, subject, body)
        values (${CLINIC_A}, 'appointment_reminder', ${channel}, 'ms', ${subject}, ${body})`;
    await assert.rejects(insert("sms", "See {{doctor}}"), /notification_templates_placeholders/);
    await assert.rejects(insert("push", "{{doctor}}", "t"), /notification_templates_placeholders/);
    await assert.rejects(
      insert("in_app", "{{visit_reason}}", "t"),
      /notification_templates_placeholders/,
    );
    await assert.rejects(insert("sms", "Hi", "a subject"), /notification_templates_shape/);
    await assert.rejects(
      db.sql`insert into public.notification_templates (clinic_id, kind, channel, language, body)
        values (${CLINIC_A}, 'no_such_kind', 'sms', 'en', 'Hi')`,
      /notification_templates_placeholders/,
    );
    await insert("in_app", "{{doctor}} {{ref}}", "Ingat");
  });
});

Deno.test("WhatsApp: the approved template and its numbered values reach the transport", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await db.sql`update public.patients set whatsapp_consent = true, preferred_language = 'zh'
    where id = ${PATIENTS.lim}`;
  await assert.rejects(
    db.sql`insert into public.notification_templates
      (clinic_id, kind, channel, language, body, provider_template)
      values (${CLINIC_A}, 'ticket_called', 'sms', 'zh', 'x', 'HX0')`,
    /notification_templates_shape/,
    "only WhatsApp has provider templates",
  );
  await db.sql`insert into public.notification_templates
    (clinic_id, kind, channel, language, body, provider_template)
    values (${CLINIC_A}, 'booking_confirmed', 'whatsapp', 'zh',
      '{{clinic}}：{{date}} {{time}} 预约已确认，编号 {{ref}}（{{clinic}}）', 'HX0123')`;
  await addAppointment(db.sql, { startMin: 60 });
  const n = await latest(db.sql, "booking_confirmed");
  const [whatsapp] = await db.sql`select id, body, template from public.notification_deliveries
    where notification_id = ${n.id} and channel = 'whatsapp'`;
  const [sms] = await db.sql`select template from public.notification_deliveries
    where notification_id = ${n.id} and channel = 'sms'`;
  assert.equal(sms.template, null);
  const vars = whatsapp.template.variables;
  assert.equal(whatsapp.template.name, "HX0123");
  assert.deepEqual(Object.keys(vars), ["1", "2", "3", "4"], "each placeholder once, in order");
  assert.equal(vars["1"], "Gabriel Family Clinic (Tampines)");
  assert.match(vars["2"], /^\d{4}年/);
  assert.match(vars["3"], /^\d\d:\d\d$/);
  assert.equal(
    whatsapp.body,
    `${vars["1"]}：${vars["2"]} ${vars["3"]} 预约已确认，编号 ${vars["4"]}（${vars["1"]}）`,
  );
  const transport = memoryTransport();
  await deliverNotification(db.sql, whatsapp.id, { whatsapp: transport });
  assert.deepEqual(transport.sent[0].template, whatsapp.template);
  assert.equal(transport.sent[0].text, whatsapp.body);
  assert.equal(transport.sent[0].language, "zh");
  assert.equal(transport.sent[0].patientId, PATIENTS.lim);
  assert.equal(transport.sent[0].userId, USERS.patientLim);
  assert.equal(transport.sent[0].url, `/appointments/${n.data.appointment_id}`);
});

Deno.test("nothing clinical in SMS, WhatsApp or push texts; e-mail HTML is escaped", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await db.sql`update public.clinics set name = 'Tan & Sons <Clinic>', branch_name = null
    where id = ${CLINIC_A}`;
  await db.sql`update public.doctors set specializations = ${[SPECIALTY]}
    where id = ${DOCTORS.tan}`;
  await db.sql`update public.patients set whatsapp_consent = true where id = ${PATIENTS.lim}`;
  await pushReady(db.sql);
  await db.sql`update public.clinics set settings = '{"queue": {"near_threshold": 0}}'
    where id = ${CLINIC_A}`;
  for (const language of LANGUAGES) {
    await db.sql`update public.patients set preferred_language = ${language}
      where id = ${PATIENTS.lim}`;
    const id = await addAppointment(db.sql, { startMin: 60 + LANGUAGES.indexOf(language) });
    await db.sql`update public.appointments set visit_reason = ${VISIT_REASON}
      where id = ${id}`;
    await db.sql`update public.appointments
      set period = tstzrange(lower(period) + interval '2 hours', upper(period) + interval '2 hours')
      where id = ${id}`;
    await db.sql`update public.appointments set status = 'cancelled' where id = ${id}`;
  }
  await asDemoUser(db.sql, USERS.staffKoh, async (tx) => {
    await tx`select private.queue_walk_in(${CLINIC_A}, ${PATIENTS.lim}, ${DOCTORS.tan}, 0)`;
    await tx`select private.queue_call_next(${CLINIC_A}, '3', ${DOCTORS.tan})`;
  });
  const sent = await db.sql`
    select n.kind, d.channel::text as channel, d.subject, d.body, d.html
    from public.notification_deliveries d join public.notifications n on n.id = d.notification_id`;
  const offApp = sent.filter((d) => d.channel !== "email");
  assert.deepEqual(
    [...new Set(sent.map((d) => d.kind))].sort(),
    [
      "booking_cancelled",
      "booking_confirmed",
      "booking_rescheduled",
      "queue_near",
      "ticket_called",
    ],
  );
  assert.deepEqual(
    [...new Set(offApp.map((d) => d.channel))].sort(),
    ["push", "sms", "whatsapp"],
  );
  for (const d of sent) {
    for (const text of [d.subject, d.body, d.html]) {
      assert.ok(!text?.includes(VISIT_REASON), `${d.kind}/${d.channel}: the visit reason`);
      assert.ok(!text?.includes(SPECIALTY), `${d.kind}/${d.channel}: the specialty`);
    }
  }
  for (const d of offApp) {
    assert.ok(!`${d.subject} ${d.body}`.includes("Dr Tan"), `${d.kind}/${d.channel}: the doctor`);
  }
  const mail = sent.find((d) => d.channel === "email" && d.kind === "booking_confirmed")!;
  assert.ok(mail.body.includes("Tan & Sons <Clinic>"), "text as it is");
  assert.ok(mail.html.includes("Tan &amp; Sons &lt;Clinic&gt;"), mail.html);
  assert.ok(!mail.html.includes("<Clinic>"));
});

Deno.test("push: a delivery when the patient consented and the account has a subscription", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  const channels = async (startMin: number) => {
    await addAppointment(db.sql, { startMin });
    return (await deliveries(db.sql, (await latest(db.sql, "booking_confirmed")).id))
      .map((d) => d.channel);
  };
  await db.sql`select private.set_consent(${PATIENTS.lim}, 'push', true, 'app')`;
  assert.deepEqual(await channels(30), ["email", "sms"], "consent, no subscription");
  await db.sql`select private.set_consent(${PATIENTS.lim}, 'push', false, 'app')`;
  await db.sql`
    insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
    values (${USERS.patientLim}, 'https://push.example/send/lim', ${"B" + "A".repeat(86)},
      ${"A".repeat(22)})`;
  assert.deepEqual(await channels(40), ["email", "sms"], "a subscription, no consent");
  await db.sql`select private.set_consent(${PATIENTS.lim}, 'push', true, 'app')`;
  assert.deepEqual(await channels(50), ["email", "push", "sms"]);
  const [push] = (await deliveries(db.sql, (await latest(db.sql, "booking_confirmed")).id))
    .filter((d) => d.channel === "push");
  assert.equal(push.recipient, USERS.patientLim, "the account: all its subscriptions");
  assert.equal(push.subject, "Appointment confirmed");
  assert.match(push.body, /^Gabriel Family Clinic \(Tampines\): your appointment on /);
  await db.sql`update public.users set notification_preferences = '{"push": false}'
    where id = ${USERS.patientLim}`;
  assert.deepEqual(await channels(60), ["email", "sms"], "switched off by the account");
});

Deno.test("a walk-in without an account is called by SMS when consented, else not at all", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await db.sql`update public.clinics set settings = '{"queue": {"near_threshold": 1}}'
    where id = ${CLINIC_A}`;
  const [consented, silent] = await db.sql`
    insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender,
      phone, email, sms_consent, email_consent, preferred_language)
    values (${CLINIC_A}, 'WI-1', 'Walk In One', '1970-01-01', 'other', '+65 8123 4567',
              'one@example.com', true, true, 'ms'),
           (${CLINIC_A}, 'WI-2', 'Walk In Two', '1970-01-01', 'other', '+65 8123 4568',
              null, false, false, 'en')
    returning id`;
  await asDemoUser(db.sql, USERS.staffKoh, async (tx) => {
    await tx`select private.queue_walk_in(${CLINIC_A}, ${silent.id}, null, 0)`;
    await tx`select private.queue_walk_in(${CLINIC_A}, ${consented.id}, null, 0)`;
    await tx`select private.queue_call_next(${CLINIC_A}, '3', null)`;
    await tx`select private.queue_call_next(${CLINIC_A}, '5', null)`;
  });
  const told = await db.sql`
    select n.id, n.kind, n.user_id, n.patient_id from public.notifications n
    order by n.kind`;
  assert.deepEqual(told.map((n) => [n.kind, n.patient_id, n.user_id]), [
    ["queue_near", consented.id, null],
    ["ticket_called", consented.id, null],
  ], "the unconsented walk-in is told nothing");
  const [near, called] = await Promise.all(told.map((n) => deliveries(db.sql, n.id)));
  assert.deepEqual(near.map((d) => [d.channel, d.recipient, d.language]), [
    ["sms", "+65 8123 4567", "ms"],
  ]);
  assert.deepEqual(called.map((d) => d.channel), ["sms"], "SMS only: no e-mail without account");
  assert.equal(
    called[0].body,
    "Gabriel Family Clinic (Tampines): tiket W002, giliran anda. Sila ke Bilik 5 sekarang.",
  );

  // Only queue calls: a booking of a patient without an account is told nobody.
  await addAppointment(db.sql, { startMin: 60, patient: consented.id });
  const [n] = await db.sql`select count(*)::int as n from public.notifications
    where patient_id = ${consented.id} and kind = 'booking_confirmed'`;
  assert.equal(n.n, 0);
});

Deno.test("through the API: the front desk's walk-in with a phone and SMS consent is called by SMS", async () => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const walkIn = await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
    token: staff,
    body: {
      patient: {
        full_name: "Sms Siew",
        date_of_birth: "1950-01-01",
        gender: "female",
        phone: "9876 5432",
        sms_consent: true,
      },
    },
  });
  assert.equal(walkIn.status, 201, JSON.stringify(walkIn.body));
  const call = await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
    token: staff,
    body: { room: "2" },
  });
  assert.equal(call.status, 200, JSON.stringify(call.body));
  const n = await latest(q.sql, "ticket_called", walkIn.body.ticket.patient_id);
  assert.equal(n.user_id, null);
  const sent = await deliveries(q.sql, n.id);
  assert.deepEqual(sent.map((d) => [d.channel, d.recipient, d.language]), [
    ["sms", "+6598765432", "en"],
  ]);
  assert.equal(
    sent[0].body,
    `Gabriel Family Clinic (Tampines): ticket ${walkIn.body.ticket.code}, it is your turn. ` +
      "Please go to Room 2 now.",
  );
});

Deno.test("quiet hours hold a reminder back to their end; queue calls always go", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  const MIN = 60_000;
  const sweep = async (at: Date) =>
    (await db.sql`select private.send_due_reminders(${at}) as n`)[0].n as number;
  const setQuiet = async (quiet: unknown, extra: Record<string, unknown> = {}) => {
    await db.sql`update public.clinics
      set settings = ${db.sql.json({ notifications: { quiet_hours: quiet, ...extra } } as never)}
      where id = ${CLINIC_A}`;
  };
  const id = await addAppointment(db.sql, { startMin: 2 * 24 * 60 });
  const [{ start }] = await db.sql`select lower(period) as start from public.appointments
    where id = ${id}`;
  const due = new Date(start.getTime() - 24 * 60 * MIN);

  await t.step("due inside quiet hours: sent by the first sweep after they end", async () => {
    await setQuiet({
      start: await localHm(db.sql, new Date(due.getTime() - 10 * MIN)),
      end: await localHm(db.sql, new Date(due.getTime() + 30 * MIN)),
    });
    assert.equal(await sweep(new Date(due.getTime() + MIN)), 0);
    assert.equal(await sweep(new Date(due.getTime() + 20 * MIN)), 0);
    assert.equal(await sweep(new Date(due.getTime() + 31 * MIN)), 1);
  });

  await t.step("quiet hours that end after the visit started: never sent", async () => {
    const late = await addAppointment(db.sql, { startMin: 2 * 24 * 60 + 300 });
    const [{ at }] = await db.sql`select lower(period) as at from public.appointments
      where id = ${late}`;
    await setQuiet({
      start: await localHm(db.sql, new Date(at.getTime() - 60 * MIN)),
      end: await localHm(db.sql, new Date(at.getTime() + 30 * MIN)),
    }, { reminder_minutes_before: [30] });
    assert.equal(await sweep(new Date(at.getTime() - 29 * MIN)), 0);
    assert.equal(await sweep(new Date(at.getTime() + 31 * MIN)), 0);
    const [n] = await db.sql`select count(*)::int as n from private.appointment_reminders
      where appointment_id = ${late}`;
    assert.equal(n.n, 0);
  });

  await t.step("off (false), and the settings' shape is checked", async () => {
    assert.equal((await db.sql`select private.in_quiet_hours('{}', '22:00') as q`)[0].q, true);
    assert.equal((await db.sql`select private.in_quiet_hours('{}', '12:00') as q`)[0].q, false);
    assert.equal(
      (await db.sql`select private.in_quiet_hours(
        '{"notifications": {"quiet_hours": false}}', '23:00') as q`)[0].q,
      false,
    );
    assert.equal(
      (await db.sql`select private.in_quiet_hours(
        '{"notifications": {"quiet_hours": {"start": "09:00", "end": "09:00"}}}', '09:00') as q`)[0]
        .q,
      false,
    );
    await setQuiet(false, { reminder_minutes_before: [30] });
    const off = await addAppointment(db.sql, { startMin: 4 * 24 * 60 });
    const [{ at }] = await db.sql`select lower(period) as at from public.appointments
      where id = ${off}`;
    assert.equal(await sweep(new Date(at.getTime() - 20 * MIN)), 1, "no quiet hours: sent");
    for (const bad of [{ start: "21:00" }, { start: "25:00", end: "08:00" }, "night", 1]) {
      await assert.rejects(setQuiet(bad), /clinics_settings_valid/);
    }
  });

  await t.step("a queue call inside quiet hours is sent at once", async () => {
    const now = new Date();
    await setQuiet({
      start: await localHm(db.sql, new Date(now.getTime() - 60 * MIN)),
      end: await localHm(db.sql, new Date(now.getTime() + 60 * MIN)),
    });
    const [{ inside }] = await db.sql`
      select private.in_quiet_hours(c.settings, (now() at time zone c.timezone)::time) as inside
      from public.clinics c where c.id = ${CLINIC_A}`;
    assert.equal(inside, true);
    await asDemoUser(db.sql, USERS.staffKoh, async (tx) => {
      await tx`select private.queue_walk_in(${CLINIC_A}, ${PATIENTS.lim}, null, 0)`;
      await tx`select private.queue_call_next(${CLINIC_A}, '3', null)`;
    });
    const n = await latest(db.sql, "ticket_called");
    const jobs = await db.sql`
      select j.run_at <= now() as now from public.jobs j
      join public.notification_deliveries d on j.payload ->> 'delivery_id' = d.id::text
      where d.notification_id = ${n.id}`;
    assert.deepEqual(jobs.map((j) => j.now), [true, true]);
  });
});
