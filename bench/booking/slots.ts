/**
 * Slot reads for bench/booking: `GET /api/clinics/:code/slots` for a full day of a two-doctor
 * clinic (the demo's hours: 62 slots) at 50 keep-alive connections — cold (no
 * `If-None-Match`: the grid is computed) and cached (the current ETag: 304 without the grid) —
 * with the HTTP floor (`GET /api/health`) measured in the same run, on the same server, the
 * three taking turns in rounds.
 */
import type postgres from "postgres";
import { latencySummary, ms, table } from "../support.ts";
import { HttpConnection } from "./http.ts";

const CONNECTIONS = 50;
const WARMUP = 1_000;
const REQUESTS = 6_000;
/** The three reads take turns, so a change in the shared machine's load hits all of them. */
const ROUNDS = 3;
const CODE = "BENCH-SLOTS";

interface Read {
  name: string;
  requests: number;
  seconds: number;
  latencies: number[];
  statuses: Record<number, number>;
}

/** The demo clinic's schedule in a clinic of its own; returns a weekday 2+ days ahead. */
async function slotsClinic(sql: postgres.Sql): Promise<string> {
  const [clinic] = await sql`insert into public.clinics (code, name, timezone)
    values (${CODE}, 'Bench slots', 'Asia/Singapore') returning id`;
  await sql`insert into public.doctors (clinic_id, display_name)
    select ${clinic.id}, 'Slots Dr ' || g from generate_series(1, 2) g`;
  await sql`insert into public.doctor_schedules (doctor_id, clinic_id)
    select id, clinic_id from public.doctors where clinic_id = ${clinic.id}`;
  await sql`insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind, starts,
      ends)
    select d.id, d.clinic_id, w, h.kind, h.starts, h.ends
    from public.doctors d, generate_series(1, 6) w,
      (values ('work', time '09:00', time '13:00'), ('work', time '14:00', time '18:00'),
              ('break', time '10:30', time '10:45')) h (kind, starts, ends)
    where d.clinic_id = ${clinic.id}`;
  const [row] = await sql`
    select to_char(d, 'YYYY-MM-DD') as d from generate_series(
      (now() at time zone 'Asia/Singapore')::date + 2,
      (now() at time zone 'Asia/Singapore')::date + 9, interval '1 day') d
    where extract(dow from d) between 1 and 5 order by d limit 1`;
  return row.d;
}

async function read(
  url: string,
  name: string,
  total: number,
  path: string,
  headers: Record<string, string>,
): Promise<Read> {
  const lanes = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => HttpConnection.open(url)),
  );
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const start = performance.now();
  try {
    await Promise.all(lanes.map(async (lane) => {
      while (next++ < total) {
        const t = performance.now();
        const { status } = await lane.request("GET", path, headers);
        latencies.push(performance.now() - t);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }));
  } finally {
    for (const lane of lanes) lane.close();
  }
  return {
    name,
    requests: total,
    seconds: (performance.now() - start) / 1000,
    latencies,
    statuses,
  };
}

function empty(name: string): Read {
  return { name, requests: 0, seconds: 0, latencies: [], statuses: {} };
}

/** Adds a round's figures to a read's totals. */
function add(total: Read, round: Read): void {
  total.requests += round.requests;
  total.seconds += round.seconds;
  total.latencies.push(...round.latencies);
  for (const [s, n] of Object.entries(round.statuses)) {
    total.statuses[Number(s)] = (total.statuses[Number(s)] ?? 0) + n;
  }
}

/** Runs the three reads against the bench server; returns the section's markdown lines. */
export async function slotReads(sql: postgres.Sql, url: string): Promise<string[]> {
  const day = await slotsClinic(sql);
  const path = `/api/clinics/${CODE}/slots?date=${day}`;
  const first = await fetch(`${url}${path}`);
  const slots = (await first.json()).slots.length as number;
  const etag = first.headers.get("etag") ?? "";
  await read(url, "warm-up", WARMUP, path, {});
  await read(url, "warm-up", WARMUP, path, { "if-none-match": etag });
  const specs: { name: string; path: string; headers: Record<string, string> }[] = [
    { name: "HTTP floor: `GET /api/health`", path: "/api/health", headers: {} },
    { name: "Slots, cold (no `If-None-Match`)", path, headers: {} },
    {
      name: "Slots, cached (`If-None-Match` current → 304)",
      path,
      headers: { "if-none-match": etag },
    },
  ];
  const runs = specs.map((r) => ({ ...r, total: empty(r.name) }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs) {
      add(r.total, await read(url, r.name, REQUESTS / ROUNDS, r.path, r.headers));
    }
  }
  const [floor, cold, cached] = runs.map((r) => r.total);
  const rate = (r: Read) => r.requests / r.seconds;
  const row = (r: Read) => {
    const l = latencySummary(r.latencies);
    return [
      r.name,
      r.requests.toLocaleString("en"),
      Math.round(rate(r)).toLocaleString("en"),
      `${(rate(r) / rate(floor)).toFixed(2)} ×`,
      ms(l.p50),
      ms(l.p95),
      ms(l.p99),
      Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(", "),
    ];
  };
  const c = latencySummary(cached.latencies);
  return [
    "",
    `**Slot reads** (\`${path.replace(day, "<day>")}\`, a full day of 2 doctors: ${slots} ` +
    `slots) at ${CONNECTIONS} keep-alive connections, anonymous, on the same server as the ` +
    `floor, the three taking turns in ${ROUNDS} rounds of ${REQUESTS / ROUNDS} requests:`,
    "",
    table(
      ["run", "requests", "req/s", "of the floor", "p50", "p95", "p99", "statuses"],
      [floor, cold, cached].map(row),
    ),
    "",
    `Cached reads run at ${(rate(cached) / rate(floor)).toFixed(2)} × the floor with p95 ` +
    `${ms(c.p95)} (goal: ≥ 0.6 × and ≤ 20 ms); cold reads at ` +
    `${(rate(cold) / rate(floor)).toFixed(2)} ×. A cached read is one statement without a ` +
    `transaction (\`private.slots_version_as\`: the caller's claims, then \`api.slots_version\` — ` +
    `two index lookups in availability_versions, a count of lapsed holds, the clinic's largest ` +
    `notice), where the floor is a \`select 1\` transaction (BEGIN, statement, COMMIT); a cold ` +
    `read computes the grid in a transaction.`,
  ];
}
