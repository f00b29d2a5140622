/**
 * Realtime over NATS JetStream (realtime/bus/): a feeder, realtime nodes and nats-server, each
 * its own process on loopback, a real PostgreSQL, stock supabase-js clients. Failures are
 * real: kill -9 of a node or of the leading feeder, nats-server stopped for 10 s.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { RealtimeClient } from "@supabase/realtime-js";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type postgres from "postgres";
import { freshDatabase, type TestDatabase } from "../support/db.ts";
import { startNats } from "../support/nats.ts";
import { type RealtimeProcess, spawnRealtime } from "../support/realtime_process.ts";
import { parseLsn } from "../../realtime/changes/types.ts";
import { decodePart } from "../../realtime/bus/stream.ts";
import { openFeed } from "../../web/src/lib/live.ts";
import { dropSlots, insertAppointment, populate, tokens, type World } from "./db_support.ts";
import { closeClient, delay, eventually, SECRET, sign } from "./support.ts";

const STREAM = "realtime";

function env(db: TestDatabase, natsUrl: string, role: string): Record<string, string> {
  return {
    JWT_SECRET: SECRET,
    DATABASE_URL: db.url,
    NATS_URL: natsUrl,
    REALTIME_ROLE: role,
    REALTIME_HEARTBEAT_MS: "250",
    REALTIME_SWEEP_MS: "100",
  };
}

async function healthy(node: RealtimeProcess, status = "healthy"): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const body = await node.health().catch(() => ({}));
    if ((body as { status?: string }).status === status) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${node.origin} never became ${status}: ${JSON.stringify(body)}\n${node.output()}`,
      );
    }
    await delay(100);
  }
}

/** A stock supabase-js client on `origin` with a token (as an app with its own session). */
async function supabaseOn(origin: string, token: string): Promise<SupabaseClient> {
  const anonKey = await sign({ role: "anon" });
  return createClient(origin, anonKey, {
    accessToken: () => Promise.resolve(token),
    realtime: { heartbeatIntervalMs: 60_000, logger: () => {}, reconnectAfterMs: () => 200 },
  });
}

/** Points the client's next (re)connection at another node, as a load balancer would. */
function moveTo(client: SupabaseClient, origin: string): void {
  const socket = (client.realtime as unknown as {
    socketAdapter: { socket: { endPoint: string } };
  }).socketAdapter.socket;
  socket.endPoint = socket.endPoint.replace(/^ws:\/\/[^/]+/, origin.replace(/^http/, "ws"));
}

/**
 * Subscribes to every appointment change of clinic A; `seen` fills with what arrives, as
 * `event:id:status`, `joins` counts SUBSCRIBED (first join and every rejoin).
 */
async function watch(
  client: SupabaseClient,
  w: World,
  name: string,
): Promise<string[] & { joins: number }> {
  await client.realtime.setAuth();
  const seen = Object.assign([] as string[], { joins: 0 });
  const channel = client.channel(name).on(
    "postgres_changes",
    { event: "*", schema: "public", table: "appointments", filter: `clinic_id=eq.${w.clinicA}` },
    (p) => {
      const row = (p.eventType === "DELETE" ? p.old : p.new) as { id: string; status?: string };
      seen.push(`${p.eventType}:${row.id}:${row.status ?? ""}`);
    },
  );
  await new Promise<void>((resolve, reject) =>
    channel.subscribe((status, error) => {
      if (status === "SUBSCRIBED") {
        seen.joins++;
        resolve();
      } else if (status !== "CLOSED") reject(error ?? new Error(status));
    })
  );
  return seen;
}

/**
 * The scripted workload: `n` rounds, one after the other (so commit order is this order), of
 * an insert in its own transaction and, every third round, a transaction with two inserts and
 * an update. Returns the changes as clients see them, in commit order.
 */
async function workload(
  sql: postgres.Sql,
  w: World,
  n: number,
  between?: (round: number) => Promise<void>,
): Promise<string[]> {
  const expected: string[] = [];
  for (let round = 0; round < n; round++) {
    await between?.(round);
    const id = await insertAppointment(sql, w.clinicA, w.patientA, w.doctorA);
    expected.push(`INSERT:${id}:scheduled`);
    if (round % 3 === 2) {
      await sql.begin(async (t) => {
        const tx = t as unknown as postgres.Sql; // insertAppointment runs one statement
        const a = await insertAppointment(tx, w.clinicA, w.patientA, w.doctorA);
        const b = await insertAppointment(tx, w.clinicA, w.otherPatientA, w.doctorA);
        await tx`update public.appointments set status = 'confirmed' where id = ${a}`;
        expected.push(`INSERT:${a}:scheduled`, `INSERT:${b}:scheduled`, `UPDATE:${a}:confirmed`);
      });
    }
  }
  return expected;
}

/**
 * One transaction of `n` inserts, larger than NATS's max_payload (1 MiB) for n ≈ 1500: it
 * travels as several messages and must arrive as one transaction, in order.
 */
async function bulk(sql: postgres.Sql, w: World, n: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
    select ${w.clinicA}, ${w.patientA}, ${w.doctorA},
           tstzrange(t, t + interval '30 minutes', '[)'), 'scheduled'
    from generate_series(1, ${n}) as g,
         lateral (select '2040-01-01'::timestamptz + g * interval '1 hour' as t) as s
    order by g
    returning id`;
  return rows.map((r) => `INSERT:${r.id}:scheduled`);
}

interface Stage {
  db: TestDatabase;
  w: World;
  nats: Awaited<ReturnType<typeof startNats>>;
  procs: RealtimeProcess[];
  clients: SupabaseClient[];
}

async function stage(): Promise<Stage> {
  const db = await freshDatabase();
  const w = await populate(db.sql);
  const nats = await startNats();
  return { db, w, nats, procs: [], clients: [] };
}

async function teardown(s: Stage): Promise<void> {
  for (const c of s.clients) await closeClient(c.realtime as unknown as RealtimeClient);
  for (const p of s.procs) await p.stop();
  await s.nats.close();
  await dropSlots(s.db.sql);
  await s.db.drop();
}

/**
 * Whether the stream holds each transaction once, in commit order: each message is the next
 * part of the same transaction or the first of a later one.
 */
async function oncePerCommit(natsUrl: string): Promise<{ ok: boolean; split: number }> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM);
    let previous = { lsn: -1n, part: 0, parts: 1 };
    let split = 0;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(STREAM, { seq });
      if (!m) continue;
      const part = decodePart(m.string());
      const next = previous.part === previous.parts - 1
        ? part.lsn > previous.lsn && part.part === 0
        : part.lsn === previous.lsn && part.part === previous.part + 1;
      if (!next) return { ok: false, split };
      if (part.part === 1) split++;
      previous = part;
    }
    return { ok: true, split };
  } finally {
    await nc.close();
  }
}

Deno.test("1 feeder + 2 nodes: clients on both get every change once, in commit order", async () => {
  const s = await stage();
  try {
    const feeder = await spawnRealtime(env(s.db, s.nats.url, "feeder"));
    s.procs.push(feeder);
    await healthy(feeder, "leader");
    const a = await spawnRealtime(env(s.db, s.nats.url, "node"));
    const b = await spawnRealtime(env(s.db, s.nats.url, "node"));
    s.procs.push(a, b);
    await healthy(a);
    await healthy(b);
    const token = await tokens(s.w).staffA();
    const onA = await supabaseOn(a.origin, token);
    const onB = await supabaseOn(b.origin, token);
    s.clients.push(onA, onB);
    const seenA = await watch(onA, s.w, "staff-a");
    const seenB = await watch(onB, s.w, "staff-b");

    const expected = await workload(s.db.sql, s.w, 30);
    expected.push(...await bulk(s.db.sql, s.w, 1500), ...await workload(s.db.sql, s.w, 3));
    await eventually(
      () => seenA.length >= expected.length && seenB.length >= expected.length,
      30_000,
      "every change on both nodes",
    );
    await delay(300); // anything delivered twice would arrive now
    assert.deepEqual([...seenA], expected);
    assert.deepEqual([...seenB], expected);
    assert.ok((await oncePerCommit(s.nats.url)).ok, "each commit once in the stream, in order");
  } finally {
    await teardown(s);
  }
});

/** Each change once, in the order of first arrival. */
const firsts = (seen: string[]) => [...new Set(seen)];

Deno.test("kill -9 a node: its clients move to the other node, lose nothing, and see nothing they may no longer see", async () => {
  const s = await stage();
  try {
    const feeder = await spawnRealtime(env(s.db, s.nats.url, "feeder"));
    s.procs.push(feeder);
    await healthy(feeder, "leader");
    const a = await spawnRealtime(env(s.db, s.nats.url, "node"));
    const b = await spawnRealtime(env(s.db, s.nats.url, "node"));
    s.procs.push(a, b);
    await healthy(a);
    await healthy(b);
    // A second staff member of clinic A, whose membership ends while node A is down.
    const leaving = crypto.randomUUID();
    await s.db.sql`insert into public.users (id, email, full_name)
      values (${leaving}, ${`${leaving}@realtime.test`}, 'Leaving Staff')`;
    await s.db.sql`insert into public.clinic_members (user_id, clinic_id, role)
      values (${leaving}, ${s.w.clinicA}, 'staff')`;
    const stays = await supabaseOn(a.origin, await tokens(s.w).staffA());
    const goes = await supabaseOn(
      a.origin,
      await sign({ sub: leaving, app_metadata: { role: "staff", clinic_ids: [s.w.clinicA] } }),
    );
    s.clients.push(stays, goes);
    const seenStays = await watch(stays, s.w, "stays");
    const seenGoes = await watch(goes, s.w, "goes");
    const before = await workload(s.db.sql, s.w, 6);
    await eventually(
      () => seenStays.length >= before.length && seenGoes.length >= before.length,
      30_000,
      "the first changes on node A",
    );

    moveTo(stays, b.origin);
    moveTo(goes, b.origin);
    await a.kill();
    const whileAway = await workload(s.db.sql, s.w, 3);
    await s.db.sql`update public.clinic_members set revoked_at = now()
      where user_id = ${leaving}`;
    const revoked = await workload(s.db.sql, s.w, 6);
    await eventually(() => seenGoes.joins >= 2, 30_000, "the revoked client rejoined on node B");
    const last = await workload(s.db.sql, s.w, 1);
    const all = [...before, ...whileAway, ...revoked, ...last];
    await eventually(
      () => firsts(seenStays).length >= all.length,
      30_000,
      "every change on node B",
    );
    await delay(300);
    // Zero lost, in commit order; across the crash a few may arrive twice (the cursor node A
    // last wrote), never out of order.
    assert.deepEqual(firsts(seenStays), all);
    console.log(`  ${seenStays.length - all.length} of ${all.length} changes arrived twice`);
    const revokedOrLater = new Set([...revoked, ...last]);
    assert.deepEqual(seenGoes.filter((c) => revokedOrLater.has(c)), []);
    assert.deepEqual(firsts(seenGoes), firsts(seenGoes).filter((c) => !revokedOrLater.has(c)));
  } finally {
    await teardown(s);
  }
});

Deno.test("kill -9 the leading feeder: the standby takes over, nothing lost or repeated, the slot never confirmed past the stream", async () => {
  const s = await stage();
  const nc = await connect({ servers: s.nats.url });
  let sampling = true;
  let sampler: Promise<void> | undefined;
  try {
    const first = await spawnRealtime(env(s.db, s.nats.url, "feeder"));
    s.procs.push(first);
    await healthy(first, "leader");
    const standby = await spawnRealtime(env(s.db, s.nats.url, "feeder"));
    s.procs.push(standby);
    await healthy(standby, "standby");
    const node = await spawnRealtime(env(s.db, s.nats.url, "node"));
    s.procs.push(node);
    await healthy(node);
    const staff = await supabaseOn(node.origin, await tokens(s.w).staffA());
    s.clients.push(staff);
    const seen = await watch(staff, s.w, "staff");

    // The slot's confirmed LSN, sampled, against the last LSN the stream holds (read after it).
    const jsm = await jetstreamManager(nc);
    const [{ created }] = await s.db.sql<{ created: string }[]>`
      select confirmed_flush_lsn::text as created from pg_replication_slots`;
    const violations: string[] = [];
    let samples = 0;
    sampler = (async () => {
      while (sampling) {
        const [slot] = await s.db.sql<{ lsn: string }[]>`
          select confirmed_flush_lsn::text as lsn from pg_replication_slots`;
        const last = await jsm.streams.getMessage(STREAM, { last_by_subj: `${STREAM}.txn` });
        const held = last ? BigInt(last.json<{ lsn: string }>().lsn) : 0n;
        // A confirmed flush position is the byte after the last one the feeder confirmed.
        const confirmed = parseLsn(slot.lsn) - 1n;
        if (confirmed > held && confirmed >= parseLsn(created)) {
          violations.push(`${slot.lsn} > ${held}`);
        }
        samples++;
        await delay(20);
      }
    })();

    let killedAt = 0;
    const expected = await workload(s.db.sql, s.w, 24, async (round) => {
      if (round !== 8) return;
      await first.kill();
      killedAt = Date.now();
    });
    await healthy(standby, "leader");
    const took = Date.now() - killedAt;
    await eventually(() => seen.length >= expected.length, 30_000, "every change");
    await delay(300);
    assert.deepEqual([...seen], expected);
    const { feeder } = (await standby.health()) as { feeder: Record<string, number> };
    console.log(
      `  the standby led ${took} ms after the kill; it skipped ${feeder.skipped} ` +
        `transactions already in the stream, JetStream dropped ${feeder.duplicates} repeats`,
    );
    sampling = false;
    await sampler;
    assert.ok(samples > 0);
    assert.deepEqual(violations, []);
    assert.ok((await oncePerCommit(s.nats.url)).ok, "each commit once in the stream, in order");
  } finally {
    sampling = false;
    await sampler?.catch(() => {});
    await nc.close();
    await teardown(s);
  }
});

Deno.test("nats-server stopped for 10 s: nothing confirmed, nodes stale, boards offline; then all resumes without loss", async () => {
  const s = await stage();
  let board: ReturnType<typeof openFeed> | undefined;
  try {
    // A small queue: the outage's writes and heartbeats fill it, so the feeder pauses the slot.
    const feeder = await spawnRealtime({
      ...env(s.db, s.nats.url, "feeder"),
      REALTIME_FEEDER_MAX_QUEUED: "4",
    });
    s.procs.push(feeder);
    await healthy(feeder, "leader");
    const node = await spawnRealtime(env(s.db, s.nats.url, "node"));
    s.procs.push(node);
    await healthy(node);
    const staff = await supabaseOn(node.origin, await tokens(s.w).staffA());
    const tv = await supabaseOn(node.origin, await tokens(s.w).board());
    s.clients.push(staff, tv);
    const seen = await watch(staff, s.w, "staff");
    await tv.realtime.setAuth();
    // The TV board's own live feed (web/src/lib/live.ts): its offline marker shows staleSince.
    board = openFeed({
      client: tv.realtime as unknown as Parameters<typeof openFeed>[0]["client"],
      topic: "board",
      changes: [{ table: "queue_board", filter: `clinic_id=eq.${s.w.clinicA}` }],
      onChange: () => {},
      snapshot: () => Promise.resolve(),
      watchdogMs: 500,
    });
    await eventually(() => board!.staleSince.value === null, 30_000, "the board is live");
    const before = await workload(s.db.sql, s.w, 3);
    await eventually(() => seen.length >= before.length, 30_000, "the first changes");

    await s.nats.stop();
    const stoppedAt = Date.now();
    const [{ lsn: atStop }] = await s.db.sql<{ lsn: string }[]>`
      select pg_current_wal_lsn()::text as lsn`;
    const during = await workload(s.db.sql, s.w, 3);
    await healthy(node, "stale");
    await eventually(() => board!.staleSince.value !== null, 30_000, "the board shows offline");
    const confirmedDuring: bigint[] = [];
    while (Date.now() - stoppedAt < 10_000) {
      const [slot] = await s.db.sql<{ lsn: string }[]>`
        select confirmed_flush_lsn::text as lsn from pg_replication_slots`;
      confirmedDuring.push(parseLsn(slot.lsn));
      await delay(250);
    }
    // Nothing committed after the stop is confirmed while JetStream cannot hold it (a
    // confirmed flush position is the byte after the last one the feeder confirmed).
    assert.ok(
      confirmedDuring.every((lsn) => lsn - 1n <= parseLsn(atStop)),
      "slot confirmed past the stop",
    );

    const during10s = (await feeder.health()) as { feeder: { pauses: number } };
    assert.ok(during10s.feeder.pauses > 0, "the feeder paused the slot");

    await s.nats.restart();
    const after = await workload(s.db.sql, s.w, 3);
    const all = [...before, ...during, ...after];
    await eventually(() => seen.length >= all.length, 30_000, "every change after the restart");
    await healthy(node);
    await eventually(() => board!.staleSince.value === null, 30_000, "the board is live again");
    await delay(300);
    assert.deepEqual([...seen], all);
  } finally {
    await board?.close();
    await teardown(s);
  }
});

Deno.test("REALTIME_ROLE=both: one process feeds the stream and serves from it", async () => {
  const s = await stage();
  try {
    const both = await spawnRealtime(env(s.db, s.nats.url, "both"));
    s.procs.push(both);
    await healthy(both);
    const staff = await supabaseOn(both.origin, await tokens(s.w).staffA());
    s.clients.push(staff);
    const seen = await watch(staff, s.w, "staff");
    const expected = await workload(s.db.sql, s.w, 3);
    await eventually(() => seen.length >= expected.length, 30_000, "every change");
    await delay(300);
    assert.deepEqual([...seen], expected);
    assert.ok((await oncePerCommit(s.nats.url)).ok, "each commit once in the stream, in order");
  } finally {
    await teardown(s);
  }
});
