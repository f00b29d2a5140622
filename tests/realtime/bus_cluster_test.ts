/**
 * Realtime over a 3-server NATS cluster (R3 stream): the server leading the stream is killed
 * with SIGKILL in the middle of a workload; stock supabase-js clients on two nodes still receive
 * every change, once each and in commit order. Every process is started by the test on loopback.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { RealtimeClient } from "@supabase/realtime-js";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freshDatabase } from "../support/db.ts";
import { startNatsCluster } from "../support/nats.ts";
import { type RealtimeProcess, spawnRealtime } from "../support/realtime_process.ts";
import { dropSlots, insertAppointment, populate, tokens } from "./db_support.ts";
import { closeClient, eventually, SECRET, sign } from "./support.ts";

const STREAM = "realtime";

/** Waits (≤ 30 s) until the process's /health reports `status`. */
async function reaches(process: RealtimeProcess, status: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await process.health().catch(String);
    if ((last as { status?: string }).status === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${process.origin} never ${status}: ${JSON.stringify(last)}\n${process.output()}`,
  );
}

/** A stock supabase-js client on a node, with an app's session token (kept across rejoins). */
async function stockClient(node: RealtimeProcess, token: string): Promise<SupabaseClient> {
  const supabase = createClient(node.origin, await sign({ role: "anon" }), {
    accessToken: () => Promise.resolve(token),
    realtime: { heartbeatIntervalMs: 60_000, logger: () => {} },
  });
  await supabase.realtime.setAuth();
  return supabase;
}

/** Subscribes to clinic A's appointment INSERTs; `seen` gets their ids in arrival order. */
function follow(supabase: SupabaseClient, clinic: string, seen: string[]): Promise<void> {
  const channel = supabase.channel(`cluster-${crypto.randomUUID()}`).on(
    "postgres_changes",
    { event: "INSERT", schema: "public", table: "appointments", filter: `clinic_id=eq.${clinic}` },
    (p) => seen.push(String((p.new as { id: string }).id)),
  ).on("system", {}, (p) => statuses.push(`system:${JSON.stringify(p)}`));
  return new Promise((resolve, reject) =>
    channel.subscribe((status, error) => {
      statuses.push(`${status}:${error?.message ?? ""}`);
      if (status === "SUBSCRIBED") resolve();
      else if (status !== "CLOSED") reject(error ?? new Error(status));
    })
  );
}
const statuses: string[] = [];

/** The name of the cluster member leading the stream's replica group. */
async function streamLeader(urls: string[]): Promise<string> {
  const nc = await connect({ servers: urls, timeout: 5_000 });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(STREAM);
    assert.equal(info.config.num_replicas, 3);
    return info.cluster!.leader!;
  } finally {
    await nc.close();
  }
}

Deno.test("3-server NATS cluster: the stream's leader killed mid-workload, nothing lost", async () => {
  const db = await freshDatabase();
  const world = await populate(db.sql);
  const cluster = await startNatsCluster(3);
  const processes: RealtimeProcess[] = [];
  const clients: SupabaseClient[] = [];
  try {
    const env = {
      JWT_SECRET: SECRET,
      DATABASE_URL: db.url,
      NATS_URL: cluster.urls.join(","),
      REALTIME_STREAM: STREAM,
      REALTIME_STREAM_REPLICAS: "3",
      REALTIME_HEARTBEAT_MS: "250",
    };
    const feeder = await spawnRealtime({ ...env, REALTIME_ROLE: "feeder" });
    processes.push(feeder);
    await reaches(feeder, "leader");
    for (let i = 0; i < 2; i++) {
      const node = await spawnRealtime({ ...env, REALTIME_ROLE: "node" });
      processes.push(node);
      await reaches(node, "healthy");
    }
    const nodes = processes.slice(1);

    const token = await tokens(world).staffA();
    const seen: string[][] = [[], [], [], []];
    for (const [i, node] of [...nodes, ...nodes].entries()) {
      const supabase = await stockClient(node, token);
      clients.push(supabase);
      await follow(supabase, world.clinicA, seen[i]);
    }

    const written: string[] = [];
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        written.push(await insertAppointment(db.sql, world.clinicA, world.patientA, world.doctorA));
      }
    };
    await write(10);
    await eventually(() => seen.every((s) => s.length >= 10), 20_000, "the first rows");

    // Writes go on while the member leading the stream dies and the other two elect a leader.
    const leader = await streamLeader(cluster.urls);
    const victim = cluster.servers.find((s) => s.name === leader)!;
    const writer = write(40);
    await new Promise((r) => setTimeout(r, 50));
    await victim.kill();
    await writer;
    await write(10);

    await eventually(() => seen.every((s) => s.length >= written.length), 60_000, "every row")
      .catch(async (error) => {
        const health = await Promise.all(processes.map((p) => p.health().catch(String)));
        throw new Error(
          `${error.message}: ${
            seen.map((s) => s.length)
          } of ${written.length}; ${statuses}; health ` +
            `${JSON.stringify(health)}\n${processes.map((p) => p.output()).join("\n")}`,
        );
      });
    // The stream moved to another member, and lost nothing on the way.
    assert.notEqual(await streamLeader(cluster.urls), leader);
    // Exactly once each, in commit order, on both nodes.
    for (const s of seen) assert.deepEqual(s, written);
  } finally {
    for (const c of clients) await closeClient(c.realtime as unknown as RealtimeClient);
    for (const p of processes.reverse()) await p.stop();
    await cluster.close();
    await dropSlots(db.sql);
    await db.drop();
  }
});
