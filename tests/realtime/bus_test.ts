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

/** Subscribes to every appointment change of clinic A; returns what arrives, as `event:id:status`. */
async function watch(client: SupabaseClient, w: World, name: string): Promise<string[]> {
  await client.realtime.setAuth();
  const seen: string[] = [];
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
      if (status === "SUBSCRIBED") resolve();
      else if (status !== "CLOSED") reject(error ?? new Error(status));
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

/** The commit LSNs in the stream, in stream order. */
async function streamLsns(natsUrl: string): Promise<bigint[]> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM);
    const out: bigint[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(STREAM, { seq });
      if (m) out.push(BigInt(m.json<{ lsn: string }>().lsn));
    }
    return out;
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
    await eventually(
      () => seenA.length >= expected.length && seenB.length >= expected.length,
      30_000,
      "every change on both nodes",
    );
    await delay(300); // anything delivered twice would arrive now
    assert.deepEqual(seenA, expected);
    assert.deepEqual(seenB, expected);
    const lsns = await streamLsns(s.nats.url);
    assert.ok(lsns.every((lsn, i) => i === 0 || lsn > lsns[i - 1]), "one message per commit");
  } finally {
    await teardown(s);
  }
});
