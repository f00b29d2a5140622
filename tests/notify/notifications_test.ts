/**
 * Notifications: created in the transaction of their cause (bookings, calls, "N away"),
 * clinic-local times in the texts, consent and preferences deciding the channels, reminders
 * sent by the recurring sweep, and deliveries sent by the worker through its transports (the
 * development one, a failing or refusing provider, none).
 */
import assert from "node:assert/strict";
import { freshDatabase, type Sql } from "../support/db.ts";
import {
  defaultHandlers,
  PermanentJobError,
  startWorker,
  type WorkerOptions,
} from "../../edge/jobs/mod.ts";
import {
  developmentTransports,
  memoryTransport,
  type Transport,
  type Transports,
} from "../../edge/notify/transport.ts";
import { addAppointment, addPatients, asDemoUser, middayClinic } from "../support/clinic.ts";
import { CLINIC_A, PATIENTS, USERS } from "../support/demo.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Tue 24 Nov 2026 at 10:30" in a fixed-offset Etc/GMT zone, computed here independently. */
function local(at: Date, zone: string, withDate = true): string {
  const m = /^Etc\/GMT(?:([+-])(\d+))?$/.exec(zone)!;
  const offsetHours = m[1] ? (m[1] === "-" ? 1 : -1) * Number(m[2]) : 0;
  const d = new Date(at.getTime() + offsetHours * 3_600_000);
  const time = `${String(d.getUTCHours()).padStart(2, "0")}:${
    String(d.getUTCMinutes()).padStart(2, "0")
  }`;
  if (!withDate) return time;
  return `${DAYS[d.getUTCDay()]} ${d.getUTCDate()} ${
    MONTHS[d.getUTCMonth()]
  } ${d.getUTCFullYear()} at ${time}`;
}

async function notificationsOf(sql: Sql, userId = USERS.patientLim) {
  return await sql`
    select id, kind, title, body, data, created_at from public.notifications
    where user_id = ${userId} order by created_at, id`;
}

async function deliveriesOf(sql: Sql, notificationId: string) {
  const rows = await sql`
    select channel::text as channel, recipient, status from public.notification_deliveries
    where notification_id = ${notificationId} order by channel`;
  return rows.map((r) => ({ ...r }));
}

/** A worker of the service's own job kinds sending through `transports`. */
function notifyWorker(
  sql: Sql,
  transports: Transports,
  options: Partial<WorkerOptions> = {},
) {
  return startWorker({
    sql,
    handlers: defaultHandlers({ transports }),
    schedules: [],
    pollMs: 20,
    log: () => {},
    ...options,
  });
}

async function startOf(sql: Sql, appointment: string): Promise<Date> {
  const [row] = await sql`select lower(period) as start from public.appointments
    where id = ${appointment}`;
  return row.start;
}

Deno.test("booking notifications", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const zone = await middayClinic(db.sql);

  await t.step("confirmed: in-app, with clinic-local time, e-mail and SMS by consent", async () => {
    const id = await addAppointment(db.sql, { startMin: 45 });
    const [n] = await notificationsOf(db.sql);
    assert.equal(n.kind, "booking_confirmed");
    assert.equal(n.title, "Appointment confirmed");
    const when = local(await startOf(db.sql, id), zone);
    assert.ok(n.body.includes(when), `${n.body} mentions ${when}`);
    assert.ok(n.body.includes("Dr Tan Wei Ming"));
    assert.equal(n.data.appointment_id, id);
    assert.deepEqual(await deliveriesOf(db.sql, n.id), [
      { channel: "email", recipient: "patient.lim@demo.com", status: "pending" },
      { channel: "sms", recipient: "+65 9000 0003", status: "pending" },
    ]);
    const jobs = await db.sql`
      select payload from public.jobs where kind = 'notification.deliver' order by id`;
    assert.equal(jobs.length, 2, "one delivery job per channel, in the same transaction");
  });

  await t.step("rolled back with its cause", async () => {
    const before = (await notificationsOf(db.sql)).length;
    await db.sql.begin(async (tx) => {
      await tx`
        insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
        values (${CLINIC_A}, ${PATIENTS.lim}, 'd0000000-0000-4000-8000-000000000002',
          tstzrange(now() + interval '3 hours', now() + interval '3 hours 15 minutes'),
          'confirmed')`;
      await tx`select 1/0`;
    }).catch(() => {});
    assert.equal((await notificationsOf(db.sql)).length, before);
  });

  await t.step("a hold says nothing; the booking that confirms it does", async () => {
    const before = (await notificationsOf(db.sql)).length;
    const id = await addAppointment(db.sql, { startMin: 200, status: "held" });
    assert.equal((await notificationsOf(db.sql)).length, before);
    await db.sql`update public.appointments set status = 'confirmed' where id = ${id}`;
    const all = await notificationsOf(db.sql);
    assert.equal(all.length, before + 1);
    assert.equal(all.at(-1)!.kind, "booking_confirmed");
  });

  await t.step("rescheduled and cancelled", async () => {
    const id = await addAppointment(db.sql, { startMin: 300 });
    await db.sql`
      update public.appointments
      set period = tstzrange(lower(period) + interval '1 hour', upper(period) + interval '1 hour')
      where id = ${id}`;
    let all = await notificationsOf(db.sql);
    const moved = all.at(-1)!;
    assert.equal(moved.kind, "booking_rescheduled");
    assert.ok(moved.body.includes(local(await startOf(db.sql, id), zone)));

    await db.sql`update public.appointments set status = 'cancelled', cancelled_at = now()
      where id = ${id}`;
    all = await notificationsOf(db.sql);
    assert.equal(all.at(-1)!.kind, "booking_cancelled");
    assert.ok(all.at(-1)!.body.includes("cancelled"));
    assert.ok(all.at(-1)!.body.includes(local(await startOf(db.sql, id), zone)));
  });
});

/** Runs the reminder sweep as if the clock read `at`; how many it sent. */
async function sweep(sql: Sql, at: Date): Promise<number> {
  const [{ n }] = await sql`select private.send_due_reminders(${at}) as n`;
  return n;
}

async function remindersOf(sql: Sql, appointment: string) {
  return (await notificationsOf(sql)).filter((n) =>
    n.kind === "appointment_reminder" && n.data.appointment_id === appointment
  );
}

const MIN = 60_000;

Deno.test("reminders: sent by the sweep when due, once, never for moved-away or cancelled times", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const zone = await middayClinic(db.sql);
  const id = await addAppointment(db.sql, { startMin: 2 * 24 * 60 });
  const start = await startOf(db.sql, id);

  await t.step("booking writes no job: nothing per booking but the notification", async () => {
    const [{ n }] = await db.sql`
      select count(*)::int as n from public.jobs where kind like 'appointment.remind%'`;
    assert.equal(n, 0);
    assert.equal(await sweep(db.sql, new Date()), 0, "nothing is due yet");
  });

  await t.step("24 h before: one reminder with the clinic-local time, and only once", async () => {
    const at = new Date(start.getTime() - 24 * 60 * MIN + MIN);
    assert.equal(await sweep(db.sql, new Date(start.getTime() - 24 * 60 * MIN - MIN)), 0);
    assert.equal(await sweep(db.sql, at), 1);
    assert.equal(await sweep(db.sql, at), 0);
    const [r] = await remindersOf(db.sql, id);
    assert.ok(r.body.includes(local(start, zone)), r.body);
    assert.equal(r.data.lead_minutes, 1440);
  });

  await t.step("2 h before: the second reminder; both recorded", async () => {
    assert.equal(await sweep(db.sql, new Date(start.getTime() - 119 * MIN)), 1);
    assert.deepEqual((await remindersOf(db.sql, id)).map((r) => r.data.lead_minutes), [1440, 120]);
    const sent = await db.sql`
      select lead_minutes, notification_id is not null as linked
      from private.appointment_reminders where appointment_id = ${id} order by lead_minutes`;
    assert.deepEqual(sent.map((r) => ({ ...r })), [
      { lead_minutes: 120, linked: true },
      { lead_minutes: 1440, linked: true },
    ]);
  });

  await t.step("moved: the new time is reminded, the old one no more", async () => {
    await db.sql`
      update public.appointments
      set period = tstzrange(lower(period) + interval '1 day', upper(period) + interval '1 day')
      where id = ${id}`;
    const moved = await startOf(db.sql, id);
    assert.equal(await sweep(db.sql, new Date(start.getTime() - 119 * MIN)), 0);
    assert.equal(await sweep(db.sql, new Date(moved.getTime() - 24 * 60 * MIN + MIN)), 1);
    const last = (await remindersOf(db.sql, id)).at(-1)!;
    assert.ok(last.body.includes(local(moved, zone)), last.body);
  });

  await t.step("cancelled: nothing", async () => {
    const moved = await startOf(db.sql, id);
    await db.sql`update public.appointments set status = 'cancelled' where id = ${id}`;
    assert.equal(await sweep(db.sql, new Date(moved.getTime() - 119 * MIN)), 0);
  });

  await t.step("booked after a reminder came due: that reminder is skipped", async () => {
    const late = await addAppointment(db.sql, { startMin: 3 * 60, patient: PATIENTS.lim });
    const lateStart = await startOf(db.sql, late);
    assert.equal(await sweep(db.sql, new Date()), 0, "no 24 h reminder for a visit 3 h ahead");
    assert.equal(await sweep(db.sql, new Date(lateStart.getTime() - 119 * MIN)), 1);
    assert.deepEqual((await remindersOf(db.sql, late)).map((r) => r.data.lead_minutes), [120]);
  });

  await t.step("clinic lead times: settings decide, [] means none", async () => {
    const [{ custom, none, bad }] = await db.sql`
      select private.reminder_leads('{"notifications":{"reminder_minutes_before":[30,30,90]}}')
               as custom,
             private.reminder_leads('{"notifications":{"reminder_minutes_before":[]}}') as none,
             private.reminder_leads('{"notifications":{"reminder_minutes_before":"x"}}') as bad`;
    assert.deepEqual(custom, [30, 90]);
    assert.deepEqual(none, []);
    assert.deepEqual(bad, [1440, 120]);
  });
});

Deno.test("reminders: concurrent sweeps send each reminder once; the worker runs the sweep", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  /** Backdates visits' bookings (the touch trigger would set updated_at to now). */
  const bookedTwoDaysAgo = (ids: string[]) =>
    db.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        update public.appointments
        set updated_at = now() - interval '2 days', created_at = now() - interval '2 days'
        where id = any(${ids}::uuid[])`;
    });
  // Visits 23 h ahead, booked two days ago: their 24 h reminder is due now.
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await addAppointment(db.sql, { startMin: 23 * 60 + i }));
  await bookedTwoDaysAgo(ids);
  const at = new Date();
  const sent = await Promise.all(Array.from({ length: 4 }, () => sweep(db.sql, at)));
  assert.equal(sent.reduce((a, b) => a + b, 0), 20);
  for (const id of ids) assert.equal((await remindersOf(db.sql, id)).length, 1);

  // One more due visit, picked up by the worker's recurring `appointment.reminders` job.
  const next = await addAppointment(db.sql, { startMin: 23 * 60 + 30 });
  await bookedTwoDaysAgo([next]);
  const worker = notifyWorker(db.sql, {}, {
    schedules: [{ kind: "appointment.reminders", everyMs: 60_000 }],
  });
  await worker.ready;
  try {
    for (let i = 0; i < 400 && (await remindersOf(db.sql, next)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await worker.stop();
  }
  assert.equal((await remindersOf(db.sql, next)).length, 1);
});

Deno.test("consent flags and preferences decide the channels", async () => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await db.sql`
    update public.patients set whatsapp_consent = true, email_consent = false
    where id = ${PATIENTS.lim}`;
  await addAppointment(db.sql, { startMin: 30 });
  let [n] = (await notificationsOf(db.sql)).slice(-1);
  assert.deepEqual((await deliveriesOf(db.sql, n.id)).map((d) => d.channel), ["sms", "whatsapp"]);

  await db.sql`
    update public.users set notification_preferences = '{"sms": false}'
    where id = ${USERS.patientLim}`;
  await addAppointment(db.sql, { startMin: 35 });
  [n] = (await notificationsOf(db.sql)).slice(-1);
  assert.deepEqual((await deliveriesOf(db.sql, n.id)).map((d) => d.channel), ["whatsapp"]);

  await db.sql`
    update public.users
    set notification_preferences = '{"kinds": {"booking_confirmed": {"whatsapp": false}}}'
    where id = ${USERS.patientLim}`;
  await addAppointment(db.sql, { startMin: 40 });
  [n] = (await notificationsOf(db.sql)).slice(-1);
  assert.deepEqual((await deliveriesOf(db.sql, n.id)).map((d) => d.channel), ["sms"]);

  await db.sql`
    update public.patients set sms_consent = false, whatsapp_consent = false
    where id = ${PATIENTS.lim}`;
  await addAppointment(db.sql, { startMin: 50 });
  [n] = (await notificationsOf(db.sql)).slice(-1);
  assert.equal(n.kind, "booking_confirmed", "in-app always");
  assert.deepEqual(await deliveriesOf(db.sql, n.id), []);
});

Deno.test("queue notifications: 'you are N away' once, then 'please go to Room 3'", async () => {
  await using db = await freshDatabase({ seed: true });
  const zone = await middayClinic(db.sql);
  await db.sql`
    update public.clinics set settings = '{"queue": {"near_threshold": 1}}' where id = ${CLINIC_A}`;
  const others = await addPatients(db.sql, 3);
  const call = () =>
    asDemoUser(
      db.sql,
      USERS.staffKoh,
      (tx) => tx`select code, called_at from private.queue_call_next(${CLINIC_A}, '3', null)`,
    );
  await asDemoUser(db.sql, USERS.staffKoh, async (tx) => {
    for (const p of others) await tx`select private.queue_walk_in(${CLINIC_A}, ${p}, null, 0)`;
    await tx`select private.queue_walk_in(${CLINIC_A}, ${PATIENTS.lim}, null, 0)`;
  });
  const kinds = async () => (await notificationsOf(db.sql)).map((n) => n.kind);
  assert.deepEqual(await kinds(), [], "3 ahead: not yet");
  await call();
  assert.deepEqual(await kinds(), [], "2 ahead: not yet");
  await call();
  const near = await notificationsOf(db.sql);
  assert.deepEqual(near.map((n) => n.kind), ["queue_near"]);
  assert.equal(near[0].title, "Ticket W004: you are 1 away");
  assert.match(near[0].body, /^People ahead of you at Gabriel Family Clinic \(Tampines\): 1 /);
  assert.ok(near[0].body.includes(local(near[0].created_at, zone, false)));
  await call();
  assert.deepEqual(await kinds(), ["queue_near"], "told once");
  const [mine] = await call();
  assert.equal(mine.code, "W004");
  const all = await notificationsOf(db.sql);
  const called = all.at(-1)!;
  assert.equal(called.kind, "ticket_called");
  assert.equal(called.title, "Ticket W004: please go to Room 3");
  assert.ok(called.body.includes(`(called at ${local(mine.called_at, zone, false)}`), called.body);
  assert.equal(called.data.room, "3");
  assert.deepEqual((await deliveriesOf(db.sql, called.id)).map((d) => d.channel), ["email", "sms"]);
});

Deno.test("the worker delivers through the transports and records the status", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  await db.sql`update public.patients set whatsapp_consent = true where id = ${PATIENTS.lim}`;

  async function drain(worker: ReturnType<typeof startWorker>) {
    await worker.ready;
    try {
      for (let i = 0; i < 400; i++) {
        const [r] = await db.sql`
          select count(*)::int as n from public.jobs
          where kind = 'notification.deliver' and status in ('queued', 'running')`;
        if (r.n === 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await worker.stop();
    }
  }

  await t.step("development transport: recorded, delivered", async () => {
    await addAppointment(db.sql, { startMin: 30 });
    await drain(notifyWorker(db.sql, developmentTransports(db.sql)));
    const deliveries = await db.sql`
      select channel::text, status, provider, provider_message_id, attempts, delivered_at
      from public.notification_deliveries order by channel`;
    assert.deepEqual(deliveries.map((d) => [d.channel, d.status, d.provider, d.attempts]), [
      ["email", "delivered", "dev", 1],
      ["sms", "delivered", "dev", 1],
      ["whatsapp", "delivered", "dev", 1],
    ]);
    const sent = await db.sql`
      select channel::text, recipient, subject, body, provider_message_id
      from private.outbound_messages order by channel`;
    assert.equal(sent.length, 3);
    assert.equal(sent[0].recipient, "patient.lim@demo.com");
    assert.equal(sent[0].subject, "Appointment confirmed");
    assert.match(sent[1].body, /^Gabriel Family Clinic \(Tampines\): your appointment on /);
    assert.ok(!sent[1].body.includes("Dr Tan"), "no doctor in an SMS");
    assert.deepEqual(
      sent.map((s) => s.provider_message_id).sort(),
      deliveries.map((d) => d.provider_message_id).sort(),
    );
  });

  await t.step("a failing provider is retried; the last failure marks it failed", async () => {
    await db.sql`delete from public.notification_deliveries`;
    await db.sql`update public.patients set email_consent = false, whatsapp_consent = false
      where id = ${PATIENTS.lim}`;
    await addAppointment(db.sql, { startMin: 60 });
    await db.sql`update public.jobs set max_attempts = 2
      where kind = 'notification.deliver' and status = 'queued'`;
    const flaky = memoryTransport();
    flaky.fail = 1;
    await drain(notifyWorker(db.sql, { sms: flaky }, { backoff: { baseMs: 10, maxMs: 10 } }));
    let [d] = await db.sql`select status, attempts, last_error from public.notification_deliveries`;
    assert.equal(d.status, "sent");
    assert.equal(d.attempts, 2);
    assert.equal(flaky.sent.length, 1);

    await db.sql`delete from public.notification_deliveries`;
    await addAppointment(db.sql, { startMin: 90 });
    await db.sql`update public.jobs set max_attempts = 2
      where kind = 'notification.deliver' and status = 'queued'`;
    const broken = memoryTransport();
    broken.fail = 10;
    await drain(notifyWorker(db.sql, { sms: broken }, { backoff: { baseMs: 10, maxMs: 10 } }));
    [d] = await db.sql`select status, attempts, last_error, failed_at
      from public.notification_deliveries`;
    assert.equal(d.status, "failed");
    assert.equal(d.attempts, 2);
    assert.match(d.last_error, /simulated failure/);
    const [job] = await db.sql`select status::text from public.jobs
      where kind = 'notification.deliver' order by id desc limit 1`;
    assert.equal(job.status, "dead");
  });

  await t.step("a channel without a transport is skipped", async () => {
    await db.sql`delete from public.notification_deliveries`;
    await addAppointment(db.sql, { startMin: 120 });
    await drain(notifyWorker(db.sql, {}));
    const [d] = await db.sql`select status, last_error from public.notification_deliveries`;
    assert.equal(d.status, "skipped");
  });

  await t.step("a provider refusing for good: failed, and the job dead at once", async () => {
    await db.sql`delete from public.notification_deliveries`;
    await addAppointment(db.sql, { startMin: 150 });
    const refusing: Transport = {
      send: () => Promise.reject(new PermanentJobError("recipient unsubscribed")),
    };
    await drain(notifyWorker(db.sql, { sms: refusing }));
    const [d] = await db.sql`
      select status, attempts, last_error from public.notification_deliveries`;
    assert.deepEqual([d.status, d.attempts], ["failed", 1]);
    assert.match(d.last_error, /recipient unsubscribed/);
    const [job] = await db.sql`select status::text, attempts, max_attempts from public.jobs
      where kind = 'notification.deliver' order by id desc limit 1`;
    assert.deepEqual([job.status, job.attempts, job.max_attempts], ["dead", 1, 5]);
  });
});

Deno.test("queue calls go before a backlog of other deliveries", async (t) => {
  await using db = await freshDatabase({ seed: true });
  await middayClinic(db.sql);
  const callPatient = () =>
    db.sql`
      select private.notify(${CLINIC_A}, ${PATIENTS.lim}, 'ticket_called', now(),
        '{"code": "A7", "room": "Room 3"}') as id`;
  /** Records the kind of each message as it is sent; the first send waits for `release`. */
  function gatedTransport(gate: Promise<void>) {
    const kinds: string[] = [];
    const transport: Transport = {
      async send(message) {
        kinds.push(message.kind ?? "");
        if (kinds.length === 1) await gate;
        return { status: "delivered", provider: "test", providerMessageId: crypto.randomUUID() };
      },
    };
    return { kinds, transports: { email: transport, sms: transport } };
  }
  async function until(done: () => boolean | Promise<boolean>) {
    while (!await done()) await new Promise((r) => setTimeout(r, 20));
  }
  const pendingJobs = async () => {
    const [r] = await db.sql`select count(*)::int as n from public.jobs
      where kind = 'notification.deliver' and status in ('queued', 'running')`;
    return r.n;
  };

  await t.step("claimed first: enqueued after the backlog, sent before it", async () => {
    for (const startMin of [30, 35, 40]) await addAppointment(db.sql, { startMin });
    await callPatient();
    const { kinds, transports } = gatedTransport(Promise.resolve());
    const worker = notifyWorker(db.sql, transports, { concurrency: 1, batchSize: 1 });
    await worker.ready;
    await until(async () => await pendingJobs() === 0);
    await worker.stop();
    assert.deepEqual(kinds, [
      "ticket_called",
      "ticket_called",
      ...Array(6).fill("booking_confirmed"),
    ]);
  });

  await t.step("started first among the jobs a worker claimed ahead", async () => {
    for (const startMin of [45, 50, 55]) await addAppointment(db.sql, { startMin });
    let release!: () => void;
    const { kinds, transports } = gatedTransport(new Promise((r) => release = r));
    const worker = notifyWorker(db.sql, transports, { concurrency: 1, batchSize: 20 });
    await worker.ready;
    // One booking confirmation is being sent, the other five wait in the worker.
    await until(() => kinds.length === 1);
    const [call] = await callPatient();
    await until(async () => {
      const [r] = await db.sql`
        select count(*)::int as n from public.jobs j
        join public.notification_deliveries d on d.id = (j.payload ->> 'delivery_id')::uuid
        where d.notification_id = ${call.id} and j.status = 'running'`;
      return r.n === 2;
    });
    release();
    await until(async () => await pendingJobs() === 0);
    await worker.stop();
    assert.deepEqual(kinds, [
      "booking_confirmed",
      "ticket_called",
      "ticket_called",
      ...Array(5).fill("booking_confirmed"),
    ]);
  });
});
