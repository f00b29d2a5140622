/**
 * `deno task bench notify`: notifications through the job worker to real providers on this
 * machine — e-mail to an SMTP server (npm smtp-server, ./providers.ts) through our SMTP
 * transport (nodemailer), web push to a push service (npm web-push-testing: VAPID checked,
 * aes128gcm decrypted) through our push transport.
 *
 * - Sustained rate: a backlog of `ticket_called` notifications written by `private.notify`
 *   (texts rendered per channel), drained by one worker: e-mails/s and pushes/s, from the worker
 *   ready to the last message's arrival at the provider. With the service's worker settings
 *   (10 jobs at once, claims of 10) and with claims of 500 for 50 at once.
 * - Latency: queue calls at 50/s (each one `private.notify` transaction, e-mail and push) with
 *   a worker running 50 jobs at once (alone, and over a backlog of reminders), from just
 *   before the call is sent to the provider receiving the message (SMTP: the transaction's
 *   MAIL FROM; push: the push service's request), per channel.
 * Also, as the floor of the same run, the transports alone (no job queue): the same messages
 * sent straight through `Transport.send` with the same parallelism; and the push service's own
 * capacity (pushes encrypted beforehand), with the CPU each side spends per push; and our side
 * of a push alone, against a push service that does nothing (./push_sink.ts): CPU per push of
 * the former encryption (the library's, every push) and today's (subscriber keys kept), taking
 * turns, and of the transport's whole `send`.
 * Targets (issue 15): ≥ 500 e-mails/s, ≥ 1,000 pushes/s, queue call p95 ≤ 500 ms at 50/s.
 */
import { encryptNotification, vapidHeaders } from "@block65/webcrypto-web-push";
import type postgres from "postgres";
import type { EmailConfig } from "../../edge/config.ts";
import { generateVapidKeys } from "../../edge/config/push.ts";
import { defaultHandlers, startWorker } from "../../edge/jobs/mod.ts";
import { webPushTransport } from "../../edge/notify/push.ts";
import { encryptPush, subscriberKeys } from "../../edge/notify/push_encryption.ts";
import { smtpTransport } from "../../edge/notify/smtp.ts";
import type { Channel, Transport, Transports } from "../../edge/notify/transport.ts";
import { connectionPool } from "../../edge/webhooks/ssrf/pool.ts";
import { safeFetch } from "../../edge/webhooks/ssrf/safe_fetch.ts";
import {
  type Bench,
  cpuMeter,
  latencySummary,
  ms,
  postmasterOf,
  procStat,
  runLanes,
  table,
  TICKS_PER_SECOND,
} from "../support.ts";
import { now, pause } from "../jobs/measure.ts";
import {
  type Provider,
  PUSH_SERVICE_CA,
  startPushReceiver,
  startPushSink,
  startSmtpReceiver,
} from "./providers.ts";

const CLINIC = "11111111-1111-4111-8111-111111111111";
const BACKLOG = Number(Deno.env.get("BENCH_NOTIFY_BACKLOG") ?? 3_000);
const CALLS_PER_SECOND = 50;
const CALL_SECONDS = 10;
const SETTINGS = [
  { label: "10 at once, claims of 10 (the service's default)", concurrency: 10, batchSize: 10 },
  { label: "50 at once, claims of 500", concurrency: 50, batchSize: 500 },
];

/** `n` patients of the clinic with accounts, consenting to e-mail and/or push. */
async function patients(
  sql: postgres.Sql,
  tag: string,
  n: number,
  consent: { email: boolean; push: boolean },
): Promise<{ id: string; user_id: string }[]> {
  return await sql<{ id: string; user_id: string }[]>`
    with u as (
      insert into public.users (email, full_name)
      select 'bench.' || ${tag}::text || '.' || g || '@bench.example', 'Bench ' || g
      from generate_series(1, ${n}::int) g
      returning id, email
    )
    insert into public.patients (clinic_id, user_id, patient_number, full_name, date_of_birth,
      gender, email, email_consent, push_consent)
    select ${CLINIC}::uuid, u.id, 'BN-' || ${tag}::text || '-' || row_number() over (),
      'Bench patient', '1980-01-01', 'female', u.email, ${consent.email}::boolean,
      ${consent.push}::boolean
    from u
    returning id, user_id`;
}

/**
 * `count` notifications of `kind` (queue calls by default), round-robin over `patientIds`, in
 * one statement.
 */
async function notifyMany(
  sql: postgres.Sql,
  patientIds: string[],
  count: number,
  kind: "ticket_called" | "appointment_reminder" = "ticket_called",
) {
  await sql`
    select private.notify(${CLINIC}, p.ids[1 + g % cardinality(p.ids)], ${kind}, now(),
      jsonb_build_object('code', 'A' || g, 'room', '3', 'ticket_id', gen_random_uuid(),
        'ref', 'R' || g, 'doctor', 'Dr Bench'))
    from generate_series(0, ${count - 1}) g, (select ${patientIds}::uuid[] as ids) p`;
}

async function until(what: string, done: () => Promise<boolean>, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  while (!await done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(50);
  }
}

/** Runs a worker of `settings` over the backlog until `expected` messages have arrived. */
async function drain(
  sql: postgres.Sql,
  transports: Transports,
  provider: Provider,
  expected: number,
  settings: { concurrency: number; batchSize: number },
): Promise<number> {
  const before = await provider.count();
  const worker = startWorker({
    sql,
    handlers: defaultHandlers({ transports }),
    schedules: [],
    ...settings,
    pollMs: 200,
    log: () => {},
  });
  await worker.ready;
  const t0 = performance.now();
  try {
    await until("the backlog", async () => await provider.count() >= before + expected);
    return expected / ((performance.now() - t0) / 1000);
  } finally {
    await worker.stop();
  }
}

/** The floor: the same deliveries' messages sent straight through the transport. */
async function direct(
  sql: postgres.Sql,
  transport: Transport,
  channel: Channel,
  lanes: number,
): Promise<{ rate: number; errors: number }> {
  const rows = await sql<
    { id: string; recipient: string; subject: string; body: string; patient_id: string }[]
  >`
    select d.id, d.recipient, d.subject, d.body, n.patient_id
    from public.notification_deliveries d join public.notifications n on n.id = d.notification_id
    where d.channel = ${channel}
    order by d.created_at limit ${BACKLOG}`;
  const run = await runLanes(lanes, rows.length, async (i) => {
    const r = rows[i];
    await transport.send({
      channel,
      to: r.recipient,
      subject: r.subject,
      text: r.body,
      idempotencyKey: crypto.randomUUID(),
      clinicId: CLINIC,
      kind: "ticket_called",
      patientId: r.patient_id,
      userId: channel === "push" ? r.recipient : null,
      url: "/visit",
    });
  });
  return { rate: rows.length / run.seconds, errors: run.errors };
}

/** CPU ms per message of this process and of `pid` while `run` sends `count` messages. */
async function cpuPerMessage<T>(pid: number, count: number, run: () => Promise<T>) {
  const ticks = async () => [(await procStat(Deno.pid))!.ticks, (await procStat(pid))!.ticks];
  const [ours0, theirs0] = await ticks();
  const result = await run();
  const [ours1, theirs1] = await ticks();
  const perMessage = (t: number) => (t * 1000 / TICKS_PER_SECOND) / count;
  return { result, ours: perMessage(ours1 - ours0), theirs: perMessage(theirs1 - theirs0) };
}

type PushSubscriptionRow = { endpoint: string; p256dh: string; auth: string };

function asLibrary(s: PushSubscriptionRow) {
  return { endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } };
}

/**
 * The push service's own capacity: pushes encrypted beforehand (one per subscription), sent 50
 * at once over kept-alive connections — what remains is its work (VAPID check, decryption) and
 * the HTTP exchange.
 */
async function pushServiceAlone(
  subscriptions: PushSubscriptionRow[],
  vapid: Parameters<typeof vapidHeaders>[1],
  total: number,
): Promise<{ rate: number; errors: number }> {
  const plaintext = new TextEncoder().encode(
    JSON.stringify({ title: "Ticket A1: please go to 3", body: "", url: "/visit", tag: "" }),
  );
  const prepared = await Promise.all(subscriptions.map(async (s) => ({
    endpoint: s.endpoint,
    body: await encryptNotification(asLibrary(s), plaintext),
    authorization: (await vapidHeaders(asLibrary(s), vapid)).headers.authorization,
  })));
  const pool = connectionPool();
  try {
    const run = await runLanes(50, total, async (i) => {
      const p = prepared[i % prepared.length];
      const response = await safeFetch(p.endpoint, {
        method: "POST",
        headers: {
          authorization: p.authorization,
          ttl: "900",
          "content-encoding": "aes128gcm",
          "content-type": "application/octet-stream",
        },
        body: p.body,
      }, { allow: ["127.0.0.1"], caCerts: [PUSH_SERVICE_CA], pool, maxBodyBytes: 512 });
      if (!response.ok || response.status >= 300) throw new Error("push refused");
    });
    return { rate: total / run.seconds, errors: run.errors };
  } finally {
    pool.close();
  }
}

/**
 * Our encryption of one push (RFC 8291: ECDH, HKDF, AES-GCM), ms each, one after another, by
 * the library and with kept subscriber keys (edge/notify/push_encryption.ts); and,
 * interleaved with it so that both see the same machine, the P-256 work inside it (Deno's
 * WebCrypto): exporting a fresh key pair's public key, and the ECDH agreement.
 */
async function encryptionProfile(subscription: PushSubscriptionRow, count: number) {
  const plaintext = new TextEncoder().encode(
    JSON.stringify({ title: "Ticket A1: please go to 3", body: "", url: "/visit", tag: "x" }),
  );
  const p256 = { name: "ECDH", namedCurve: "P-256" } as const;
  const browser = await crypto.subtle.generateKey(p256, false, ["deriveBits"]);
  const kept = await subscriberKeys(subscription.p256dh, subscription.auth);
  const spent = { encryptMs: 0, keptMs: 0, exportMs: 0, deriveMs: 0 };
  for (let i = 0; i < count; i++) {
    let t0 = performance.now();
    await encryptNotification(asLibrary(subscription), plaintext);
    spent.encryptMs += performance.now() - t0;
    t0 = performance.now();
    await encryptPush(kept, plaintext);
    spent.keptMs += performance.now() - t0;
    const pair = await crypto.subtle.generateKey(p256, true, ["deriveBits"]) as CryptoKeyPair;
    t0 = performance.now();
    await crypto.subtle.exportKey("raw", pair.publicKey);
    spent.exportMs += performance.now() - t0;
    t0 = performance.now();
    await crypto.subtle.deriveBits(
      { name: "ECDH", public: browser.publicKey },
      pair.privateKey,
      256,
    );
    spent.deriveMs += performance.now() - t0;
  }
  return {
    encryptMs: spent.encryptMs / count,
    keptMs: spent.keptMs / count,
    exportMs: spent.exportMs / count,
    deriveMs: spent.deriveMs / count,
  };
}

/** `n` browsers' subscriptions at `origin`: real P-256 keys and auth secrets. */
async function browserSubscriptions(origin: string, n: number): Promise<PushSubscriptionRow[]> {
  const p256 = { name: "ECDH", namedCurve: "P-256" } as const;
  const b64 = (bytes: Uint8Array) => bytes.toBase64({ alphabet: "base64url", omitPadding: true });
  return await Promise.all(Array.from({ length: n }, async (_, i) => {
    const pair = await crypto.subtle.generateKey(p256, true, ["deriveBits"]) as CryptoKeyPair;
    return {
      endpoint: `${origin}/push/${i}`,
      p256dh: b64(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))),
      auth: b64(crypto.getRandomValues(new Uint8Array(16))),
    };
  }));
}

/**
 * Our side of a push alone, against a push service that does nothing (./push_sink.ts): this
 * process's CPU per push, 50 at once over kept-alive connections, for the former per-push work
 * (the library's encryption, which imports the subscriber's keys and runs HKDF as HMACs each
 * time) and today's (keys kept per subscription, WebCrypto's HKDF), taking turns so that both
 * see the same machine; both with the VAPID token made once and the same HTTP client.
 */
async function senderCost(
  subscriptions: PushSubscriptionRow[],
  vapid: Parameters<typeof vapidHeaders>[1],
  perRound: number,
  rounds = 3,
) {
  const plaintext = new TextEncoder().encode(
    JSON.stringify({ title: "Ticket A1: please go to 3", body: "", url: "/visit", tag: "x" }),
  );
  const authorization = (await vapidHeaders(asLibrary(subscriptions[0]), vapid)).headers
    .authorization;
  const kept = await Promise.all(subscriptions.map((s) => subscriberKeys(s.p256dh, s.auth)));
  const variants = {
    library: (i: number) => encryptNotification(asLibrary(subscriptions[i]), plaintext),
    kept: (i: number) => encryptPush(kept[i], plaintext),
  };
  const spent = { library: { ticks: 0, seconds: 0 }, kept: { ticks: 0, seconds: 0 } };
  const pool = connectionPool();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of ["library", "kept"] as const) {
        const before = (await procStat(Deno.pid))!.ticks;
        const run = await runLanes(50, perRound, async (i) => {
          const s = i % subscriptions.length;
          const response = await safeFetch(subscriptions[s].endpoint, {
            method: "POST",
            headers: {
              authorization,
              ttl: "900",
              urgency: "high",
              "content-encoding": "aes128gcm",
              "content-type": "application/octet-stream",
            },
            body: await variants[name](s),
          }, { allow: ["127.0.0.1"], caCerts: [PUSH_SERVICE_CA], pool, maxBodyBytes: 512 });
          if (!response.ok || response.status !== 201) throw new Error("sink refused");
        });
        if (run.errors) throw new Error(`${run.errors} pushes to the sink failed`);
        spent[name].ticks += (await procStat(Deno.pid))!.ticks - before;
        spent[name].seconds += run.seconds;
      }
    }
  } finally {
    pool.close();
  }
  const total = perRound * rounds;
  const per = (v: { ticks: number; seconds: number }) => ({
    cpuUs: v.ticks * 1e6 / TICKS_PER_SECOND / total,
    rate: total / v.seconds,
  });
  return { library: per(spent.library), kept: per(spent.kept) };
}

/**
 * The push transport's whole `send` against the no-op push service: the account's
 * subscriptions read, the push encrypted and sent, the outcome recorded; CPU per push of this
 * process and of PostgreSQL, 50 sends at once.
 */
async function transportCost(
  sql: postgres.Sql,
  transport: Transport,
  userIds: string[],
  count: number,
) {
  const meter = cpuMeter(await postmasterOf(sql));
  await meter.start();
  const run = await runLanes(50, count, (i) =>
    transport.send({
      channel: "push",
      to: userIds[i % userIds.length],
      subject: "Ticket A1: please go to 3",
      text: "",
      idempotencyKey: crypto.randomUUID(),
      clinicId: CLINIC,
      kind: "ticket_called",
      patientId: null,
      userId: userIds[i % userIds.length],
      url: "/visit",
    }).then(() => {}));
  const cpu = await meter.stop();
  return {
    rate: count / run.seconds,
    errors: run.errors,
    oursUs: cpu.selfMs * 1000 / count,
    postgresUs: cpu.postgresMs * 1000 / count,
  };
}

/**
 * Queue calls at 50/s (a worker running 50 at once: each send mostly waits on the network):
 * per channel, from just before the call is sent to its message's arrival at the provider.
 */
async function queueCalls(
  sql: postgres.Sql,
  transports: Transports,
  callers: { id: string }[],
  providers: { smtp: Provider; push: Provider },
): Promise<{ email: number[]; push: number[]; missing: number }> {
  const { smtp, push } = providers;
  const worker = startWorker({
    sql,
    handlers: defaultHandlers({ transports }),
    schedules: [],
    concurrency: 50,
    batchSize: 50,
    log: () => {},
  });
  await worker.ready;
  const calls: { notification: string; t0: number }[] = [];
  try {
    const total = CALLS_PER_SECOND * CALL_SECONDS;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const wait = start + i * (1000 / CALLS_PER_SECOND) - performance.now();
      if (wait > 0) await pause(wait);
      const patient = callers[i % callers.length].id;
      const t0 = now();
      pending.push(
        sql`
          select private.notify(${CLINIC}, ${patient}, 'ticket_called', now(),
            jsonb_build_object('code', ${`B${i}`}::text, 'room', '3',
              'ticket_id', gen_random_uuid())) as id`
          .then(([row]) => void calls.push({ notification: row.id, t0 })),
      );
    }
    await Promise.all(pending);
    await until("the queue calls", async () => {
      const [r] = await sql`
        select count(*)::int as n from public.notification_deliveries
        where notification_id = any(${calls.map((c) => c.notification)}::uuid[])
          and status = 'pending'`;
      return r.n === 0;
    });
  } finally {
    await worker.stop();
  }
  const deliveries = await sql<{ id: string; channel: Channel; notification_id: string }[]>`
    select id, channel, notification_id from public.notification_deliveries
    where notification_id = any(${calls.map((c) => c.notification)}::uuid[])`;
  const t0s = new Map(calls.map((c) => [c.notification, c.t0]));
  const arrived = { email: await smtp.arrivals(), push: await push.arrivals() };
  const latency: Record<"email" | "push", number[]> = { email: [], push: [] };
  let missing = 0;
  for (const d of deliveries) {
    if (d.channel !== "email" && d.channel !== "push") continue;
    const at = arrived[d.channel].get(d.id);
    if (at === undefined) missing++;
    else latency[d.channel].push(at - t0s.get(d.notification_id)!);
  }
  return { ...latency, missing };
}

const bench: Bench = async (ctx) => {
  const db = await ctx.freshDatabase({ seed: true, max: 60 });
  const smtp = await startSmtpReceiver();
  const push = await startPushReceiver();
  const vapid = { ...generateVapidKeys(), subject: "mailto:ops@clinic.example" };
  const email: EmailConfig = {
    smtpUrl: smtp.url,
    from: "Clinic <no-reply@clinic.example>",
    senderDomain: "clinic.example",
    publicUrl: "http://127.0.0.1:8000",
    linkSecret: crypto.randomUUID(),
  };
  const transports = {
    email: smtpTransport(email),
    push: webPushTransport(db.sql, { vapid, allow: ["127.0.0.1"], caCerts: [PUSH_SERVICE_CA] }),
  };
  try {
    const mailers = (await patients(db.sql, "mail", 50, { email: true, push: false }))
      .map((p) => p.id);
    const pushed = await patients(db.sql, "push", 50, { email: false, push: true });
    const callers = await patients(db.sql, "call", 50, { email: true, push: true });
    for (const p of [...pushed, ...callers]) {
      const s = await push.subscribe(vapid.publicKey);
      await db.sql`
        insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
        values (${p.user_id}, ${s.endpoint}, ${s.keys.p256dh}, ${s.keys.auth})`;
    }

    // Warm-up (JIT, connections, VAPID token), not reported.
    await notifyMany(db.sql, mailers, 200);
    await drain(db.sql, transports, smtp, 200, SETTINGS[1]);
    await notifyMany(db.sql, pushed.map((p) => p.id), 200);
    await drain(db.sql, transports, push, 200, SETTINGS[1]);

    const rates: string[][] = [];
    const best = { email: 0, push: 0 };
    for (const settings of SETTINGS) {
      await notifyMany(db.sql, mailers, BACKLOG);
      const mails = await drain(db.sql, transports, smtp, BACKLOG, settings);
      await notifyMany(db.sql, pushed.map((p) => p.id), BACKLOG);
      const pushes = await drain(db.sql, transports, push, BACKLOG, settings);
      best.email = Math.max(best.email, mails);
      best.push = Math.max(best.push, pushes);
      rates.push([settings.label, Math.round(mails).toString(), Math.round(pushes).toString()]);
    }
    const floorMail = await direct(db.sql, transports.email, "email", 50);
    const floorPushCpu = await cpuPerMessage(
      push.pid,
      BACKLOG,
      () => direct(db.sql, transports.push, "push", 50),
    );
    const floorPush = floorPushCpu.result;
    const subscriptions = await db.sql<PushSubscriptionRow[]>`
      select endpoint, p256dh, auth from public.push_subscriptions order by created_at, id`;
    const serviceCpu = await cpuPerMessage(
      push.pid,
      BACKLOG,
      () => pushServiceAlone(subscriptions, vapid, BACKLOG),
    );
    const service = serviceCpu.result;
    const encryption = await encryptionProfile(subscriptions[0], 500);

    // Our side alone, against a push service that does nothing.
    const sink = await startPushSink();
    let sender: Awaited<ReturnType<typeof senderCost>>;
    let whole: Awaited<ReturnType<typeof transportCost>>;
    try {
      const browsers = await browserSubscriptions(sink.origin, 50);
      await senderCost(browsers, vapid, 200, 1); // warm-up
      sender = await senderCost(browsers, vapid, 1000);
      const sinkUsers = await patients(db.sql, "sink", browsers.length, {
        email: false,
        push: true,
      });
      for (const [i, p] of sinkUsers.entries()) {
        await db.sql`
          insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
          values (${p.user_id}, ${browsers[i].endpoint}, ${browsers[i].p256dh},
            ${browsers[i].auth})`;
      }
      const toSink = webPushTransport(db.sql, {
        vapid,
        allow: ["127.0.0.1"],
        caCerts: [PUSH_SERVICE_CA],
      });
      try {
        const users = sinkUsers.map((p) => p.user_id);
        await transportCost(db.sql, toSink, users, 200); // warm-up
        whole = await transportCost(db.sql, toSink, users, BACKLOG);
      } finally {
        toSink.close?.();
      }
    } finally {
      await sink.close();
    }
    rates.push([
      "floor: the transport alone, 50 sends at once (no job queue)",
      `${Math.round(floorMail.rate)}${floorMail.errors ? ` (${floorMail.errors} errors)` : ""}`,
      `${Math.round(floorPush.rate)}${floorPush.errors ? ` (${floorPush.errors} errors)` : ""}`,
    ]);
    rates.push([
      "floor: the push service alone (pushes encrypted beforehand, 50 at once, kept-alive " +
      "connections)",
      "",
      `${Math.round(service.rate)}${service.errors ? ` (${service.errors} errors)` : ""}`,
    ]);

    // Queue calls at 50/s, alone and over a backlog of reminders (e-mail and push) being sent.
    const alone = await queueCalls(db.sql, transports, callers, { smtp, push });
    await notifyMany(db.sql, mailers, BACKLOG, "appointment_reminder");
    await notifyMany(db.sql, pushed.map((p) => p.id), BACKLOG, "appointment_reminder");
    const busy = await queueCalls(db.sql, transports, callers, { smtp, push });
    const latencyRow = (label: string, samples: number[]) => {
      const l = latencySummary(samples);
      return [label, samples.length, ms(l.p50), ms(l.p95), ms(l.p99), ms(l.max)];
    };
    const p95 = Math.max(
      ...[alone, busy].flatMap((r) => [r.email, r.push]).map((x) => latencySummary(x).p95),
    );
    const missing = alone.missing + busy.missing;

    const markdown = [
      "Through the job worker (the service's `notification.deliver` handler) to providers on " +
      "this machine: e-mail through our SMTP transport (nodemailer, pool of 10 connections) to " +
      "an SMTP server (npm smtp-server in its own process); web push through our push " +
      "transport (VAPID, aes128gcm) to a push service (npm web-push-testing in its own process, " +
      "which checks the VAPID token and decrypts every push). Deliveries are written by " +
      "`private.notify` (`ticket_called`, texts rendered per channel and language). Everything " +
      "— worker, providers, PostgreSQL (fsync on) — shares the machine with other work.",
      "",
      `Sustained rate: a backlog of ${BACKLOG.toLocaleString("en")} deliveries per channel, ` +
      "drained by one worker, from the worker ready to the last message's arrival:",
      "",
      table(["worker", "e-mails/s", "pushes/s"], rates),
      "",
      `Targets: ≥ 500 e-mails/s — **${Math.round(best.email)}** ` +
      `(${best.email >= 500 ? "met" : "not met"}; ${(best.email / floorMail.rate).toFixed(2)}× ` +
      `the transport alone); ≥ 1,000 pushes/s — **${Math.round(best.push)}** ` +
      `(${best.push >= 1000 ? "met" : "not met"}; ${(best.push / floorPush.rate).toFixed(2)}× ` +
      `the transport alone, ${(best.push / service.rate).toFixed(2)}× the push service alone).`,
      "",
      "**Our side of a push alone**, against a push service on loopback that does nothing " +
      "but answer 201 (HTTPS, its own process): CPU per push of this process (and of " +
      "PostgreSQL), 50 at once over kept-alive connections; the former per-push work (the " +
      "library's `encryptNotification`, which imports the subscriber's key and runs HKDF as " +
      "HMAC imports and signatures every push) and today's (edge/notify/push_encryption.ts: " +
      "the same bytes, the subscriber's keys kept, WebCrypto's HKDF) took turns, " +
      "3 × 1,000 pushes each; the VAPID token is made once per push service either way:",
      "",
      table(
        ["our side, to a no-op push service", "pushes/s", "CPU µs/push", "PostgreSQL µs/push"],
        [
          [
            "encryption + request, former (library encryption every push)",
            Math.round(sender.library.rate),
            Math.round(sender.library.cpuUs),
            "",
          ],
          [
            "encryption + request, now (subscriber keys kept)",
            Math.round(sender.kept.rate),
            Math.round(sender.kept.cpuUs),
            "",
          ],
          [
            "the transport's `send` (subscriptions read, push, outcome recorded)",
            `${Math.round(whole.rate)}${whole.errors ? ` (${whole.errors} errors)` : ""}`,
            Math.round(whole.oursUs),
            Math.round(whole.postgresUs),
          ],
        ],
      ),
      "",
      "One after another, encrypting a push takes " +
      `${encryption.encryptMs.toFixed(2)} ms with the library and ` +
      `${encryption.keptMs.toFixed(2)} ms with kept keys; what is left is the fresh key pair ` +
      "RFC 8291 requires for every message, in Deno's WebCrypto P-256: exporting its public " +
      `key (computing it) ${encryption.exportMs.toFixed(2)} ms and the ECDH agreement ` +
      `${encryption.deriveMs.toFixed(2)} ms (HKDF and AES-GCM of the 4 KB record are a few ` +
      "hundredths of a ms each).",
      "",
      `**What limits pushes:** CPU, on both ends of each push. Our whole send costs ${
        Math.round(whole.oursUs + whole.postgresUs)
      } µs of CPU per push (this process and PostgreSQL, before the job queue's share). The ` +
      "push service (web-push-testing: VAPID signature check, ECDH and decryption in " +
      "JavaScript under Deno's Node compatibility) is one JavaScript thread: with nothing to " +
      `encrypt it took ${Math.round(serviceCpu.theirs * 1000)} µs per push and reached ${
        Math.round(service.rate)
      }/s, so even with a core to itself it would take at most ≈ ${
        Math.round(1000 / serviceCpu.theirs).toLocaleString("en")
      }/s. 1,000 pushes/s needs the receiver under 1,000 µs per push on its one thread and ` +
      `both ends under 2,000 µs per push on the 2 cores; here they need ${
        Math.round(whole.oursUs + whole.postgresUs + serviceCpu.theirs * 1000).toLocaleString("en")
      } µs (≈ ${
        Math.round(2e6 / (whole.oursUs + whole.postgresUs + serviceCpu.theirs * 1000))
          .toLocaleString("en")
      }/s with both cores and nothing else running) — out of reach through this receiver on ` +
      "this machine whatever the sender does; the machine is shared with other work besides.",
      "",
      `Queue calls at ${CALLS_PER_SECOND}/s for ${CALL_SECONDS} s (each one \`private.notify\` ` +
      "transaction: an e-mail and a push), one worker running 50 jobs at once " +
      "(`WORKER_CONCURRENCY=50`); from just before the call is sent to the provider receiving " +
      "the message (SMTP: MAIL FROM; push: the push service's request); alone, and while the " +
      `same worker sends a backlog of ${BACKLOG.toLocaleString("en")} reminders per channel ` +
      "enqueued just before (the calls' jobs have priority 10, the reminders' 0):",
      "",
      table(["queue calls", "messages", "p50", "p95", "p99", "max"], [
        latencyRow("alone: e-mail", alone.email),
        latencyRow("alone: push", alone.push),
        latencyRow(
          `over ${BACKLOG.toLocaleString("en")} reminders per channel: e-mail`,
          busy.email,
        ),
        latencyRow(`over ${BACKLOG.toLocaleString("en")} reminders per channel: push`, busy.push),
      ]),
      "",
      `Target: p95 ≤ 500 ms — **${ms(p95)}** (${p95 <= 500 ? "met" : "not met"})` +
      (missing ? `; ${missing} messages never arrived.` : "."),
    ].join("\n");
    return { title: "Notifications to real providers (bench/notify)", markdown };
  } finally {
    await transports.email.close?.();
    await smtp.close();
    await push.close();
    await db.drop();
  }
};

export default bench;
