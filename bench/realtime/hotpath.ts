/**
 * The fan-out's own cost per delivery, in process and without sockets: the database
 * authorizer (catalog + in-process clinic rules + directory) and the fan-out of
 * `realtime/`, 1,000 staff subscribers across 50 clinics (one filtered `appointments`
 * binding each, as bench/realtime/main.ts), transactions of 10 appointment INSERTs. The
 * subscribers count the frames and copy them to UTF-8 (as `WebSocket.send` does with a
 * string), so the figure is the server's JavaScript per authorized delivery (decide,
 * filter, serialize, frame, the string copy), not the websocket write itself.
 *
 *     deno run -A bench/realtime/hotpath.ts [transactions]
 */
import { principalKey } from "../../realtime/auth/claims.ts";
import { createRetentionLog } from "../../realtime/catchup/retention.ts";
import { createDbAuthorizer } from "../../realtime/db/authorizer.ts";
import type { Catalog } from "../../realtime/db/catalog.ts";
import { clinicRules } from "../../realtime/db/clinic_rules.ts";
import { createDirectory } from "../../realtime/db/directory.ts";
import type { SqlPolicy } from "../../realtime/db/sql_policy.ts";
import { createFanout } from "../../realtime/fanout/fanout.ts";
import type { Subscriber } from "../../realtime/fanout/subscriber.ts";
import { parseBindings } from "../../realtime/changes/bindings.ts";
import { threadSeconds } from "./cpu.ts";
import type { Change, Column, Transaction } from "../../realtime/changes/types.ts";

const CLINICS = 50;
const STAFF = 20;
const PER_TXN = 10;
const TXNS = Number(Deno.args[0] ?? 4000);

const COLUMNS: Column[] = [
  ["id", "uuid"],
  ["clinic_id", "uuid"],
  ["patient_id", "uuid"],
  ["doctor_id", "uuid"],
  ["period", "tstzrange"],
  ["service_date", "date"],
  ["appointment_number", "text"],
  ["status", "appointment_status"],
  ["hold_expires_at", "timestamptz"],
  ["appointment_type", "text"],
  ["visit_reason", "text"],
  ["internal_notes", "text"],
  ["source", "text"],
  ["payment_status", "payment_status"],
  ["booked_by", "uuid"],
  ["cancelled_by", "uuid"],
  ["cancelled_at", "timestamptz"],
  ["cancellation_reason", "text"],
  ["rescheduled_from", "uuid"],
  ["checked_in_at", "timestamptz"],
  ["created_at", "timestamptz"],
  ["updated_at", "timestamptz"],
].map(([name, type]) => ({ name, type }));

const appointments = {
  schema: "public",
  table: "appointments",
  columns: COLUMNS,
  rls: true,
  selectable: new Map([["authenticated", new Set(COLUMNS.map((c) => c.name))]]),
};
const catalog: Catalog = {
  typeName: () => "text",
  table: (schema, table) =>
    schema === "public" && table === "appointments" ? appointments : undefined,
  tables: (schema) => (schema === "public" ? ["appointments"] : []),
  bypassesRls: (role) => role === "service_role",
  refresh: () => Promise.resolve(),
};

const directory = createDirectory();
const clinics = Array.from({ length: CLINICS }, () => crypto.randomUUID());
const staff = clinics.map((clinic) =>
  Array.from({ length: STAFF }, () => {
    const user = crypto.randomUUID();
    directory.apply({
      schema: "public",
      table: "clinic_members",
      type: "INSERT",
      columns: [],
      record: { id: crypto.randomUUID(), user_id: user, clinic_id: clinic, role: "staff" },
    });
    return user;
  })
);
const sqlPolicy: SqlPolicy = { evaluate: () => Promise.resolve([]) } as unknown as SqlPolicy;
const authorizer = createDbAuthorizer({ catalog, rules: clinicRules(directory), sqlPolicy });
const fanout = createFanout({ authorizer, retention: createRetentionLog({ windowMs: 60_000 }) });

let deliveries = 0;
let bytes = 0;
const encoder = new TextEncoder();
const wire = new Uint8Array(1 << 16);
const subscribers: Subscriber[] = [];
for (let c = 0; c < CLINICS; c++) {
  for (const user of staff[c]) {
    const topic = `realtime:clinic-${c}`;
    const s: Subscriber = {
      topic,
      topicJson: JSON.stringify(topic),
      vsn: "2.0.0",
      sendFrame(frame) {
        deliveries++;
        bytes += encoder.encodeInto(frame, wire).written;
      },
      fail() {},
      isOpen: () => true,
    };
    subscribers.push(s);
    const claims = {
      sub: user,
      role: "authenticated",
      aud: "authenticated",
      email: `${user}@bench.test`,
      app_metadata: { role: "staff", clinic_ids: [clinics[c]] },
    };
    const bindings = parseBindings([{
      event: "INSERT",
      schema: "public",
      table: "appointments",
      filter: `clinic_id=eq.${clinics[c]}`,
    }]);
    const access = await authorizer.tableAccess(claims, "public", "appointments");
    fanout.subscribe({
      subscriber: s,
      claims,
      principalKey: principalKey(claims),
      tables: bindings.map((binding) => ({
        binding,
        schema: "public",
        table: "appointments",
        access,
      })),
    });
  }
}

let lsn = 1000n;
fanout.begin(lsn);
let n = 0;
function txn(): Transaction {
  const changes: Change[] = [];
  for (let i = 0; i < PER_TXN; i++, n++) {
    const c = n % CLINICS;
    const at = new Date(Date.UTC(2031, 0, 1) + n * 3600_000).toISOString();
    changes.push({
      schema: "public",
      table: "appointments",
      type: "INSERT",
      columns: COLUMNS,
      record: {
        id: crypto.randomUUID(),
        clinic_id: clinics[c],
        patient_id: crypto.randomUUID(),
        doctor_id: crypto.randomUUID(),
        period: `["${at}","${at}")`,
        service_date: at.slice(0, 10),
        appointment_number: `A-${n}`,
        status: "scheduled",
        hold_expires_at: null,
        appointment_type: "consultation",
        visit_reason: null,
        internal_notes: null,
        source: "web",
        payment_status: "unpaid",
        booked_by: null,
        cancelled_by: null,
        cancelled_at: null,
        cancellation_reason: null,
        rescheduled_from: null,
        checked_in_at: null,
        created_at: at,
        updated_at: at,
      },
    });
  }
  return { lsn: lsn += 100n, commitTimestamp: new Date().toISOString(), changes };
}

const warm = Array.from({ length: 500 }, txn);
for (const t of warm) fanout.publish(t);
const work = Array.from({ length: TXNS }, txn);
deliveries = 0;
bytes = 0;
// CPU time of this thread, not wall time: other work on the machine does not count.
const cpu0 = threadSeconds(Deno.pid, Deno.pid);
const started = performance.now();
for (const t of work) fanout.publish(t);
await fanout.idle();
const elapsed = performance.now() - started;
const cpu = (threadSeconds(Deno.pid, Deno.pid) - cpu0) * 1000;
console.log(
  `${TXNS} transactions × ${PER_TXN} changes → ${deliveries} deliveries: ` +
    `${(cpu * 1000 / deliveries).toFixed(2)} µs CPU per delivery ` +
    `(${Math.round(deliveries / (cpu / 1000))}/s of one core; wall ${elapsed.toFixed(0)} ms; ` +
    `${Math.round(bytes / deliveries)} bytes per frame)`,
);
