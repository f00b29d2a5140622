/**
 * Property-based fuzzing of the realtime websocket (issue #13): random joins with random
 * bindings and filters (control characters, U+0000, lone surrogates, huge numbers, deep
 * nesting, wrong types), leaves, token pushes, broadcasts, presence, binary and garbage
 * frames, socket closes, for vsn 1.0.0 and 2.0.0, against the real database.
 *
 * Whatever one socket sends: the process stays up (an uncaught error or rejection fails the
 * test), no handler fails unexpectedly (every bad input has its own answer), the server lets
 * go of everything the socket held once it is gone, and a canary realtime-js subscriber keeps
 * receiving the changes made in the database. Seeded and bounded: the same runs every time.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { RealtimeClient } from "@supabase/realtime-js";
import { createMemoryFeed } from "../../realtime/mod.ts";
import { dbHarness, insertAppointment, tokens, type World } from "./db_support.ts";
import { testAuthorizer } from "./fixtures.ts";
import {
  client,
  closeClient,
  eventually,
  held,
  holds,
  rawClient,
  sign,
  startServer,
  subscribed,
  type TestServer,
} from "./support.ts";

// Explore further with e.g. `FUZZ_RUNS=5000 FUZZ_SEED=7 deno run -A tests/run.ts <this file>`.
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 1313);
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 150);

// ---- values -----------------------------------------------------------------------------

/** Characters that have broken parsers, keys and encoders before. */
const nasty = fc.constantFrom(
  "\u0000",
  "\uD800",
  "\uDFFF",
  "\uFFFF",
  "\u0001",
  "\u001f",
  "\u007f",
  "\n",
  "\u2028",
  ",",
  ".",
  "(",
  ")",
  '"',
  "\\",
  "%",
  "*",
  "=",
  ":",
  "é",
  "😀",
);
const char = fc.oneof(nasty, fc.string({ minLength: 1, maxLength: 1, unit: "binary" }));
const text = fc.string({ unit: char, maxLength: 16 });

const digits = fc.oneof(
  fc.constantFrom("0", "-0", "+7", "007", "9223372036854775808", "1e400", "NaN", "Infinity"),
  fc.integer({ min: 20, max: 20_000 }).map((n) => "9".repeat(n)),
  fc.integer({ min: 1, max: 5_000 }).map((n) => "0".repeat(n) + "1"),
);

const number = fc.oneof(
  fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53 + 2, 5e-324, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/**
 * Nested arrays or objects, around and far past the accepted depth: built when the frame
 * is serialized (`toJSON`), and shown by its depth in a counterexample.
 */
class Deep {
  constructor(readonly depth: number, readonly asArray: boolean) {}
  toJSON(): unknown {
    let value: unknown = "bottom";
    for (let i = 0; i < this.depth; i++) value = this.asArray ? [value] : { a: value };
    return value;
  }
  [fc.toStringMethod](): string {
    return `Deep(${this.depth}, ${this.asArray ? "arrays" : "objects"})`;
  }
}
const deep = fc.tuple(fc.oneof(fc.integer({ min: 40, max: 80 }), fc.constant(3_000)), fc.boolean())
  .map(([depth, asArray]) => new Deep(depth, asArray));

/** Mostly `valid`, sometimes `wrong`: frames should mostly get past the first check. */
function rarely<T, W = unknown>(
  valid: fc.Arbitrary<T>,
  wrong = anything as fc.Arbitrary<W>,
): fc.Arbitrary<T | W> {
  return fc.oneof({ arbitrary: valid, weight: 12 }, wrong);
}

/** Almost always `valid`: for a frame's envelope, whose errors end the socket. */
function seldom<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight: 50 }, anything);
}

/** Anything JSON can carry: the wrong type wherever a field is expected. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: text, weight: 6 },
  { arbitrary: digits, weight: 4 },
  { arbitrary: number, weight: 4 },
  { arbitrary: fc.boolean(), weight: 2 },
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  deep,
);

// ---- frames -----------------------------------------------------------------------------

interface Context {
  world: World;
  /** Tokens of every kind of principal. */
  valid: string[];
  /** Those, and expired, short-lived and garbage ones. */
  tokens: string[];
}

/**
 * The realtime tables and some of their columns: uuid and text ones are indexed by equality
 * filters, the others are compared by type.
 */
const TABLES: Record<string, string[]> = {
  appointments: ["id", "clinic_id", "patient_id", "doctor_id", "status", "service_date"],
  queue_tickets: ["id", "clinic_id", "patient_id", "code", "priority", "service_date"],
  queue_board: ["ticket_id", "clinic_id", "code", "room", "position", "version"],
  queue_board_versions: ["clinic_id", "service_date", "version"],
  notifications: ["id", "user_id", "kind", "title", "read_at"],
  clinic_members: ["id", "user_id", "clinic_id", "is_primary"],
  board_tokens: ["id", "clinic_id", "label"],
};

const operators = rarely(
  fc.oneof(
    { arbitrary: fc.constant("eq"), weight: 6 },
    fc.constantFrom("neq", "lt", "gte", "in", "like", "ilike", "not.eq", "not.in"),
  ),
  fc.constantFrom("is", "isdistinct", "match", "", "not."),
);

/** A filter value: control characters, U+0000 and lone surrogates, but no filter syntax. */
const filterValue = (ids: string[]) =>
  fc.oneof(
    fc.string({
      unit: fc.oneof(nasty.filter((c) => !',()"\\'.includes(c)), fc.constantFrom("a", "B", "7")),
      maxLength: 12,
    }),
    digits,
    fc.constantFrom(...ids),
    { arbitrary: fc.constantFrom(...ids).map((id) => `${id}\u0000`), weight: 3 },
    { arbitrary: fc.constant("a\u0000b"), weight: 2 },
    { arbitrary: text, weight: 1 },
  );

/** A binding of a realtime table: filters on its columns, maybe a select of them. */
function tableBinding(ctx: Context): fc.Arbitrary<unknown> {
  const value = filterValue(Object.values(ctx.world));
  return fc.constantFrom(...Object.keys(TABLES)).chain((table) => {
    const column = rarely(
      fc.constantFrom(...TABLES[table]),
      fc.constantFrom("internal_notes", "x"),
    );
    const condition = fc.tuple(column, operators, value, value).map(([c, op, a, b]) =>
      op.endsWith("in") ? `${c}=${op}.(${a},"${b}")` : `${c}=${op}.${a}`
    );
    return fc.record({
      event: fc.constantFrom("*", "INSERT", "update", "DELETE"),
      schema: fc.constant("public"),
      table: fc.constant(table),
      filter: fc.oneof(
        fc.constant(undefined),
        { arbitrary: condition, weight: 4 },
        fc.array(condition, { minLength: 2, maxLength: 3 }).map((parts) => parts.join(",")),
      ),
      select: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 4 },
        fc.array(column, { maxLength: 3 }),
      ),
    }, { requiredKeys: ["event", "schema", "table"] });
  });
}

/** A binding with any field wrong: unknown events, schemas, tables, types. */
const wildBinding = fc.record({
  event: rarely(fc.constantFrom("*", "INSERT", "TRUNCATE")),
  schema: rarely(fc.constantFrom("public", "private", "pg_catalog")),
  table: rarely(fc.constantFrom("*", "users", "pg_class", "appointments")),
  filter: anything,
  select: anything,
}, { requiredKeys: [] });

function bindings(ctx: Context): fc.Arbitrary<unknown> {
  const binding = fc.oneof(
    { arbitrary: tableBinding(ctx), weight: 12 },
    fc.constant({ event: "*", schema: "public", table: "*" }),
    wildBinding,
    anything,
  );
  return rarely(
    fc.array(binding, { minLength: 1, maxLength: 3 }),
    fc.oneof(fc.constant([]), anything),
  );
}

function joinPayload(ctx: Context) {
  const config = fc.record({
    broadcast: fc.record({ self: fc.boolean(), ack: fc.boolean(), replication_ready: anything }),
    presence: fc.record({ key: rarely(text), enabled: fc.boolean() }),
    postgres_changes: bindings(ctx),
    private: fc.oneof({ arbitrary: fc.constant(false), weight: 6 }, fc.constant(true), anything),
  }, { requiredKeys: [] });
  return fc.record({
    config: rarely(config),
    access_token: rarely(fc.constantFrom(...ctx.valid, ...ctx.valid, ...ctx.tokens)),
  }, { requiredKeys: [] });
}

/** The topics most pushes go to, so that joins, leaves and token pushes meet. */
const BUSY_TOPICS = ["realtime:a", "realtime:b"];

const topics = (ctx: Context) =>
  seldom(fc.oneof(
    { arbitrary: fc.constant(BUSY_TOPICS[0]), weight: 12 },
    { arbitrary: fc.constant(BUSY_TOPICS[1]), weight: 4 },
    fc.constantFrom(
      `realtime:clinic:${ctx.world.clinicA}`,
      `realtime:user:${ctx.world.patientUser}`,
      "realtime:",
      "phoenix",
    ),
    text.map((t) => `realtime:${t}`),
    fc.integer({ min: 250, max: 400 }).map((n) => `realtime:${"x".repeat(n)}`),
  ));

type Action =
  | { kind: "push"; event: unknown; topic: unknown; payload: unknown; ref: unknown }
  | { kind: "text"; data: string }
  | { kind: "bytes"; data: Uint8Array }
  | { kind: "wait" }
  | { kind: "close" };

function pushes(ctx: Context): fc.Arbitrary<Action> {
  const ref = seldom(fc.oneof(fc.nat({ max: 99 }).map(String), fc.constant(null)));
  const push = (event: fc.Arbitrary<unknown>, payload: fc.Arbitrary<unknown>) =>
    fc.record({ event, topic: topics(ctx), payload, ref })
      .map((p): Action => ({ kind: "push", ...p }));
  const token = rarely(fc.constantFrom(...ctx.tokens));

  return fc.oneof(
    { arbitrary: push(fc.constant("phx_join"), joinPayload(ctx)), weight: 24 },
    { arbitrary: push(fc.constant("phx_leave"), rarely(fc.constant({}))), weight: 9 },
    { arbitrary: push(fc.constant("access_token"), fc.record({ access_token: token })), weight: 9 },
    {
      arbitrary: push(
        fc.constant("broadcast"),
        fc.record({
          type: fc.constant("broadcast"),
          event: rarely(text),
          payload: anything,
          binary: rarely(fc.boolean()),
        }),
      ),
      weight: 6,
    },
    {
      arbitrary: push(
        fc.constant("presence"),
        fc.record({
          type: fc.constant("presence"),
          event: rarely(fc.constantFrom("track", "untrack")),
          payload: anything,
        }),
      ),
      weight: 6,
    },
    {
      arbitrary: push(
        fc.constantFrom("heartbeat", "phx_close", "phx_reply", "postgres_changes"),
        anything,
      ),
      weight: 2,
    },
    push(anything, anything),
  );
}

/** A kind 3 binary frame, well formed or not (lengths wrap, fields run short). */
const kind3 = fc.record({
  kind: fc.oneof({ arbitrary: fc.constant(3), weight: 4 }, fc.integer({ min: 0, max: 255 })),
  joinRef: text,
  ref: text,
  topic: fc.oneof(fc.constantFrom("realtime:a", "realtime:b"), text),
  event: text,
  meta: fc.oneof(
    fc.constant(""),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    text,
  ),
  encoding: fc.constantFrom(0, 1, 1, 2),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
  ),
  shortBy: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, fc.integer({ min: 1, max: 8 })),
}).map((f): Action => {
  const encode = (s: string) => new TextEncoder().encode(s);
  const parts = [f.joinRef, f.ref, f.topic, f.event, f.meta].map(encode);
  const header = [f.kind, ...parts.map((p) => p.length & 255), f.encoding];
  const bytes = new Uint8Array([...header, ...parts.flatMap((p) => [...p]), ...f.payload]);
  return { kind: "bytes", data: bytes.subarray(0, Math.max(0, bytes.length - f.shortBy)) };
});

function actions(ctx: Context): fc.Arbitrary<Action[]> {
  const action: fc.Arbitrary<Action> = fc.oneof(
    { arbitrary: pushes(ctx), weight: 60 },
    { arbitrary: kind3, weight: 2 },
    fc.uint8Array({ maxLength: 32 }).map((data): Action => ({ kind: "bytes", data })),
    fc.oneof(text, fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))).map(
      (data): Action => ({ kind: "text", data }),
    ),
    fc.constant<Action>({ kind: "text", data: "x".repeat(1024 * 1024 + 1) }),
    { arbitrary: fc.constant<Action>({ kind: "wait" }), weight: 6 },
    fc.constant<Action>({ kind: "close" }),
  );
  return fc.array(action, { minLength: 1, maxLength: 20, size: "medium" });
}

// ---- running a socket -------------------------------------------------------------------

function frameOf(vsn: string, a: Extract<Action, { kind: "push" }>): string {
  if (vsn === "2.0.0") return JSON.stringify([a.ref, a.ref, a.topic, a.event, a.payload]);
  return JSON.stringify({ topic: a.topic, event: a.event, payload: a.payload, ref: a.ref });
}

/** Opens a socket, plays the actions, closes it and waits until the client saw it close. */
async function play(server: TestServer, apikey: string, vsn: string, script: Action[]) {
  const socket = new WebSocket(`${server.endpoint}/websocket?apikey=${apikey}&vsn=${vsn}`);
  socket.binaryType = "arraybuffer";
  const received: unknown[] = [];
  let closed = false;
  const gone = new Promise<void>((resolve) =>
    socket.addEventListener("close", () => {
      closed = true;
      resolve();
    })
  );
  socket.addEventListener("message", (event) => received.push(event.data));
  await new Promise<void>((resolve) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("close", () => resolve());
  });
  let barriers = 0;
  /**
   * Events of a topic are handled in order, and a presence push is always answered (ok, an
   * error, or "unmatched topic"): its reply means the pushes before it are done.
   */
  const barrier = async () => {
    const refs = BUSY_TOPICS.map((topic) => {
      const ref = `barrier-${barriers++}`;
      socket.send(frameOf(vsn, { kind: "push", topic, event: "presence", payload: {}, ref }));
      return ref;
    });
    const answered = (ref: string) =>
      received.some((d) => typeof d === "string" && d.includes(`"${ref}"`));
    await eventually(() => closed || refs.every(answered), 5000, "the barrier replies");
  };
  // A "close" action ends the script abruptly; otherwise its pushes are handled first.
  let abrupt = false;
  for (const action of script) {
    if (socket.readyState !== WebSocket.OPEN) break;
    if (action.kind === "close") {
      abrupt = true;
      break;
    }
    if (action.kind === "push") socket.send(frameOf(vsn, action));
    else if (action.kind === "text" || action.kind === "bytes") socket.send(action.data);
    else await barrier();
  }
  if (!abrupt && socket.readyState === WebSocket.OPEN) await barrier();
  if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
    socket.close();
  }
  await gone;
}

// ---- the property -----------------------------------------------------------------------

Deno.test("fuzzed realtime frames never take the server down", async (t) => {
  const h = await dbHarness();
  const { world: w, db } = h;
  const tk = tokens(w);
  let canary: RealtimeClient | undefined;
  try {
    const staff = await tk.staffA();
    canary = client(h.server, { apikey: staff });
    const seen: unknown[] = [];
    const channel = canary.channel("canary").on(
      "postgres_changes",
      {
        event: "INSERT",
        schema: "public",
        table: "appointments",
        filter: `clinic_id=eq.${w.clinicA}`,
      },
      (p) => seen.push((p.new as { id: unknown }).id),
    );
    await subscribed(channel);
    const received = async () => {
      const id = await insertAppointment(db.sql, w.clinicA, w.patientA, w.doctorA);
      await eventually(() => seen.includes(id), 10_000, "the canary's row");
    };
    await received();
    const baseline = held(h.server.realtime);

    const valid = [
      staff,
      await tk.patient(),
      await tk.board(),
      await tk.anon(),
      await tk.otherPatient(),
    ];
    const ctx: Context = {
      world: w,
      valid,
      tokens: [
        ...valid,
        await tk.patient(1), // valid for a second: armed, then expired
        await sign({ sub: w.patientUser, expiresIn: -30 }),
        await sign({ role: "service_role" }),
        "garbage",
        "",
      ],
    };
    const apikeys = fc.constantFrom(...valid);

    await t.step("random sockets: the server lets go of all they held", async () => {
      await fc.assert(
        fc.asyncProperty(
          apikeys,
          fc.constantFrom("1.0.0", "2.0.0"),
          actions(ctx),
          async (apikey, vsn, script) => {
            await play(h.server, apikey, vsn, script);
            await holds(h.server.realtime, baseline);
          },
        ),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    });

    await t.step("the canary still receives changes made in the database", async () => {
      await received();
      await received();
    });
  } finally {
    if (canary) await closeClient(canary);
    await h.close();
  }
});

// ---- REST broadcast ---------------------------------------------------------------------

/** A path segment as a client may encode it, or not (stray and broken escapes). */
const segment = fc.oneof(
  text.map((t) => encodeURIComponent(t.toWellFormed())),
  fc.constantFrom("%", "%Z", "%E0%A4%A", "%C0%80", "%00", "%ED%A0%80", "..", ""),
  fc.integer({ min: 250, max: 400 }).map((n) => "x".repeat(n)),
);

const restRequest = fc.record({
  method: fc.oneof({ arbitrary: fc.constant("POST"), weight: 8 }, fc.constantFrom("GET", "PUT")),
  path: fc.oneof(
    fc.constant(""),
    fc.tuple(segment, segment).map(([topic, event]) => `/${topic}/events/${event}`),
    fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join("/")}`),
  ),
  query: fc.constantFrom("", "?private=true", "?private=%"),
  type: fc.constantFrom("application/json", "application/octet-stream", "text/plain"),
  body: fc.oneof(
    fc.record({
      messages: rarely(fc.array(
        rarely(fc.record({
          topic: rarely(fc.constantFrom("room", "room", `clinic:x`, "x".repeat(300))),
          event: rarely(fc.oneof(text, fc.constant("e".repeat(300)))),
          payload: anything,
          private: rarely(fc.boolean()),
        }, { requiredKeys: [] })),
        { maxLength: 3 },
      )),
    }).map((v) => JSON.stringify(v)),
    anything.map((v) => JSON.stringify(v) ?? ""),
    fc.uint8Array({ maxLength: 64 }),
  ),
});

Deno.test("fuzzed REST broadcasts are answered in JSON, never with a 500", async () => {
  const server = await startServer({ feed: createMemoryFeed(), authorizer: testAuthorizer() });
  const token = await sign({ sub: crypto.randomUUID() });
  // Listeners of both protocol versions on the topics most requests name.
  const listeners = [await rawClient(server, token, "1.0.0"), await rawClient(server, token)];
  try {
    for (const [i, topic] of ["realtime:room", `realtime:${"x".repeat(300)}`].entries()) {
      listeners[0].send({ topic, event: "phx_join", payload: {}, ref: `${i}` });
      listeners[1].send([`${i}`, `${i}`, topic, "phx_join", {}]);
    }
    await fc.assert(
      fc.asyncProperty(restRequest, async (r) => {
        const res = await fetch(`${server.origin}/realtime/v1/api/broadcast${r.path}${r.query}`, {
          method: r.method,
          headers: { apikey: token, "content-type": r.type },
          body: r.method === "GET" ? undefined : r.body,
        });
        const body = await res.text();
        assert.ok(res.status < 500, `${res.status} ${body}`);
        if (res.status !== 202) {
          assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
          assert.equal(typeof JSON.parse(body).error.code, "string");
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.equal(held(server.realtime).handlerErrors, 0);
  } finally {
    for (const listener of listeners) await listener.close();
    await server.close();
  }
});
