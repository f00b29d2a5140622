/**
 * Property-based fuzzing of the whole API (issue #13): every documented operation, its path,
 * query, headers and body drawn from its JSON schema plus hostile mutations, sent as an
 * anonymous caller, a patient, a staff member and now and then with a forged token → never a
 * 5xx, and every error in the contract's shape. The inbound webhooks are fuzzed again with
 * bodies that verify: a signed event is stored (200) or refused as unusable (400), never a
 * 503 its provider would retry forever; what was stored then processes without a data
 * exception ever being retried.
 *
 * Seeded and bounded: FUZZ_SEED and FUZZ_RUNS (per operation) explore further. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { hashPassword } from "../../edge/auth/password.ts";
import { createTokenService } from "../../edge/auth/tokens.ts";
import { sha256 } from "../../edge/webhooks/crypto.ts";
import { encodeHex } from "../../edge/webhooks/encoding.ts";
import { sign, stripeSignatureHeader } from "../../edge/webhooks/mod.ts";
import { drainInbox } from "../../edge/webhooks/inbound/process.ts";
import {
  contractBreach,
  type FuzzRequest,
  headerSafe,
  hostileString,
  hostileValue,
  invalidUtf8Body,
  malformedBody,
  mutated,
  type OpenApiDocument,
  type Operation,
  operations,
  requestsFor,
} from "../support/fuzz.ts";
import {
  CLERK_SECRET,
  ENV,
  nowSeconds,
  STRIPE_CLINIC_SECRET,
  STRIPE_SECRET,
  stripeEvent,
  stripeRequest,
  TWILIO_TOKEN,
  TWILIO_URL,
  twilioRequest,
} from "../webhooks/_support.ts";
import {
  CLINIC_A,
  DOCTORS,
  nextWeekday,
  PATIENTS,
  sgt,
  type TestApp,
  testApp,
  USERS,
} from "./_support.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 1303);
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 45);

interface Pools {
  days: string[];
  appointments: string[];
  holds: string[];
  tickets: string[];
  notifications: string[];
  boardTokens: string[];
  endpoints: string[];
  deliveries: string[];
  inbox: string[];
}

async function send(
  app: TestApp,
  req: FuzzRequest,
  authorization?: string,
): Promise<{ status: number; breach: string | null }> {
  const headers: Record<string, string> = { ...req.headers };
  if (authorization) headers.authorization = authorization;
  const res = await app.app.request(req.path, {
    method: req.method,
    headers,
    body: req.body,
  }, { remoteAddr: { hostname: "192.0.2.7", port: 1, transport: "tcp" } });
  const text = await res.text();
  return {
    status: res.status,
    breach: contractBreach(res.status, res.headers.get("content-type") ?? "", text),
  };
}

/** Demo state for the generated requests to act on (through the API, as clients make it). */
async function seedState(app: TestApp, lim: string, staff: string): Promise<Pools> {
  const day = await nextWeekday(app.sql);
  const later = await nextWeekday(app.sql, 9);
  const ok = async (method: string, path: string, token: string, body: unknown) => {
    const res = await app.call(method, path, {
      token,
      body,
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const booking = { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan };
  await ok("POST", "/api/clinics/GFC-TP/webhook-endpoints", staff, {
    url: "http://127.0.0.1:9/hook",
    events: ["*"],
  });
  await ok("POST", "/api/bookings", lim, { ...booking, start: sgt(day, "09:00") });
  await ok("POST", "/api/bookings", lim, { ...booking, start: sgt(later, "09:15") });
  await ok("POST", "/api/holds", lim, { ...booking, start: sgt(day, "10:00") });
  await ok("POST", "/api/clinics/GFC-TP/queue/walk-ins", staff, { patient_id: PATIENTS.lim });
  await ok("POST", "/api/clinics/GFC-TP/board-tokens", staff, { label: "Waiting room" });
  const [path, init] = await stripeRequest(stripeEvent("customer.created", {}));
  assert.equal((await app.app.request(path, init)).status, 200);
  await app.sql`update public.webhook_inbox set status = 'dead'`;
  const ids = async (table: string, where = "true") =>
    (await app.sql.unsafe(`select id::text from ${table} where ${where}`)).map((r) => r.id);
  return {
    days: [day, later],
    appointments: await ids("public.appointments", "status <> 'held'"),
    holds: await ids("public.appointments", "status = 'held'"),
    tickets: await ids("public.queue_tickets"),
    notifications: await ids("public.notifications"),
    boardTokens: await ids("public.board_tokens"),
    endpoints: await ids("public.webhook_endpoints"),
    deliveries: await ids("public.webhook_deliveries"),
    inbox: await ids("public.webhook_inbox"),
  };
}

/** Realistic values by field name, so that requests pass validation and reach SQL. */
function hints(pools: Pools) {
  const some = (ids: string[]) =>
    ids.length ? fc.oneof(fc.constantFrom(...ids), fc.uuid()) : fc.uuid();
  const idsByPath: [string, string[]][] = [
    ["/webhooks/inbox/", pools.inbox],
    ["/webhook-endpoints/", pools.endpoints],
    ["/board-tokens/", pools.boardTokens],
    ["/queue/tickets/", pools.tickets],
    ["/notifications/", pools.notifications],
    ["/holds/", pools.holds],
    ["/appointments/", pools.appointments],
  ];
  const clinics = fc.constantFrom("GFC-TP", "GFC-BD", "gfc-tp", "NOPE-1");
  const byName: Record<string, fc.Arbitrary<unknown>> = {
    code: clinics,
    clinic_code: clinics,
    clinic: clinics,
    doctor_id: fc.constantFrom(...Object.values(DOCTORS)),
    patient_id: fc.constantFrom(PATIENTS.lim, PATIENTS.chan),
    hold_id: some(pools.holds),
    delivery_id: some(pools.deliveries),
    start: fc.tuple(fc.constantFrom(...pools.days), fc.constantFrom("09:00", "09:15", "11:45"))
      .map(([day, time]) => sgt(day, time)),
    date: fc.constantFrom(...pools.days),
    date_of_birth: fc.constant("1990-01-01"),
    email: fc.oneof(
      fc.constant("patient.lim@demo.com"),
      fc.nat(1_000_000).map((n) => `fuzz${n}@example.com`),
    ),
    password: fc.constantFrom("password", "not the password"),
    q: fc.constantFrom("lim", "TP-P", "9000"),
    room: fc.constantFrom("Room 1", "Room 2"),
    url: fc.constantFrom(
      "http://127.0.0.1:9/hook",
      "https://hooks.invalid/x",
      "ftp://127.0.0.1/",
      "http://user:pw@127.0.0.1/",
      "not a url",
    ),
    events: fc.constantFrom(["*"], ["appointment.created", "queue.ticket_called"], ["nope"]),
    source: fc.constantFrom("clerk", "svix", "vector-one", "nope"),
    cursor: fc.tuple(
      fc.constantFrom("0", "1", "9223372036854775807", "9999999999999999999"),
      fc.uuid(),
    ).map(([us, id]) => btoa(`${us}|${id}`)),
    "idempotency-key": fc.uuid(),
  };
  return (op: Operation, name: string) => {
    if (name !== "id") return byName[name];
    const ids = idsByPath.find(([prefix]) => op.path.includes(prefix))?.[1];
    return ids ? some(ids) : undefined;
  };
}

Deno.test("fuzz: every operation, every caller → never a 5xx, errors in the contract's shape", async (t) => {
  await using app = await testApp({ config: ENV });
  // The demo accounts' hashes at the test work factor: fuzzed logins stay cheap.
  const hash = await hashPassword("password", app.config.passwordIterations);
  await app.sql`update private.credentials set password_hash = ${hash}`;
  const patient = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.admin);
  const pools = await seedState(app, patient, staff);
  const stranger = await createTokenService({ ...app.config, jwtSecret: "x".repeat(40) })
    .signAccess({ userId: USERS.admin, email: "admin@demo.com", sessionId: "s", appMetadata: {} });
  // Anonymous, a patient, a staff member (the clinic's admin); now and then a forged token.
  const caller = fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(undefined, `Bearer ${patient}`, `Bearer ${staff}`) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(
          `Bearer ${stranger.token}`,
          `Bearer ${patient.split(".").slice(0, 2).join(".")}.`,
          `Bearer ${btoa('{"alg":"none"}')}.${patient.split(".")[1]}.`,
          "Bearer",
          "Basic YWRtaW46YWRtaW4=",
        ),
        hostileString.filter(headerSafe).map((s) => `Bearer ${s}`),
      ),
    },
  );
  const doc = (await app.call("GET", "/api/openapi.json")).body as OpenApiDocument;
  const ops = operations(doc);

  await t.step("the document lists every registered route", () => {
    const documented = new Set(ops.map((op) => `${op.method} ${op.path}`));
    const registered = app.app.routes
      .filter((r) => r.method !== "ALL" && r.path !== "/api/openapi.json")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    assert.deepEqual(registered.filter((r) => !documented.has(r)), []);
  });

  const hint = hints(pools);
  for (const [i, op] of ops.entries()) {
    await t.step(`${op.method} ${op.path}`, async () => {
      await fc.assert(
        fc.asyncProperty(requestsFor(op, hint), caller, async (req, authorization) => {
          const { breach } = await send(app, req, authorization);
          assert.equal(breach, null);
        }),
        { seed: SEED + i, numRuns: RUNS },
      );
    });
  }

  // -------------------------------------------------------------------------------------
  // Inbound webhooks with bodies that verify
  // -------------------------------------------------------------------------------------

  /** Usually the valid value, sometimes anything at all. */
  const field = <T>(valid: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 3, arbitrary: valid as fc.Arbitrary<unknown> }, {
      weight: 1,
      arbitrary: hostileValue,
    });
  const id = (prefix: string) => fc.stringMatching(new RegExp(`^${prefix}_[A-Za-z0-9]{8,20}$`));
  const anyBody = (event: fc.Arbitrary<unknown>): fc.Arbitrary<string | Uint8Array<ArrayBuffer>> =>
    fc.oneof(
      { weight: 4, arbitrary: event.map((e) => JSON.stringify(e)) },
      { weight: 3, arbitrary: mutated(event).map((e) => JSON.stringify(e)) },
      { weight: 1, arbitrary: invalidUtf8Body(event) },
      { weight: 1, arbitrary: malformedBody },
    );
  const bytes = (body: string | Uint8Array<ArrayBuffer>) =>
    typeof body === "string" ? new TextEncoder().encode(body) : body;
  const signing = fc.constantFrom("valid", "valid", "valid", "wrong", "stale", "missing");
  /** A verified delivery is stored (200) or refused as unusable (400); any other is a 401. */
  const expectAnswer = (verified: boolean, status: number) => {
    if (verified) assert.ok(status === 200 || status === 400, `verified → ${status}`);
    else assert.equal(status, 401);
  };

  await t.step("signed Stripe events: 200 stored or 400 unusable, never 5xx", async () => {
    const event = fc.record({
      id: field(id("evt")),
      object: fc.constant("event"),
      type: field(
        fc.constantFrom(
          "payment_intent.succeeded",
          "payment_intent.payment_failed",
          "checkout.session.completed",
          "charge.refunded",
          "customer.created",
        ),
      ),
      created: field(fc.constant(nowSeconds())),
      data: fc.record({
        object: fc.record({
          id: field(id("pi")),
          payment_intent: field(id("pi")),
          amount: field(fc.nat(100_000)),
          amount_refunded: field(fc.nat(1_000)),
          refunded: field(fc.boolean()),
          payment_status: field(fc.constantFrom("paid", "unpaid")),
          currency: field(fc.constantFrom("sgd", "jpy", "bhd")),
          metadata: fc.record({
            clinic_id: field(fc.constant(CLINIC_A)),
            patient_id: field(fc.constant(PATIENTS.lim)),
            appointment_id: field(fc.constantFrom(...pools.appointments)),
          }, { requiredKeys: [] }),
        }, { requiredKeys: [] }),
      }),
    }, { requiredKeys: ["object", "data"] });
    await fc.assert(
      fc.asyncProperty(anyBody(event), signing, fc.boolean(), async (body, how, perClinic) => {
        const raw = bytes(body);
        const t0 = how === "stale" ? nowSeconds() - 3600 : nowSeconds();
        const secret = how === "wrong"
          ? "whsec_wrong"
          : perClinic
          ? STRIPE_CLINIC_SECRET
          : STRIPE_SECRET;
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (how !== "missing") {
          headers["stripe-signature"] = await stripeSignatureHeader(secret, t0, raw);
        }
        const path = perClinic ? "/api/webhooks/stripe/GFC-TP" : "/api/webhooks/stripe";
        const { status, breach } = await send(app, { method: "POST", path, headers, body: raw });
        assert.equal(breach, null);
        expectAnswer(how === "valid", status);
        if (how === "valid" && typeof body === "string") {
          const sent = parse(body);
          if (typeof sent?.id === "string" && sent.id.includes("\u0000")) assert.equal(status, 400);
        }
      }),
      { seed: SEED + 1000, numRuns: RUNS * 4 },
    );
  });

  await t.step("signed Twilio callbacks (form and bodySHA256 JSON): 200 or 400", async () => {
    const value = (valid: fc.Arbitrary<string>) => field(valid).map(String);
    const params = fc.record({
      MessageSid: value(id("SM")),
      MessageStatus: value(fc.constantFrom("queued", "sent", "delivered", "failed")),
      CallSid: value(id("CA")),
      CallStatus: value(fc.constantFrom("ringing", "completed")),
      ErrorCode: value(fc.constantFrom("30003", "")),
      To: value(fc.constant("+6590000003")),
    }, { requiredKeys: [] });
    const json = anyBody(fc.record({ MessageSid: field(id("SM")), Payload: field(fc.string()) }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(params, json),
        signing,
        fc.boolean(),
        async (input, how, perClinic) => {
          const token = how === "wrong"
            ? "not-the-token"
            : perClinic
            ? ENV.TWILIO_AUTH_TOKEN_GFC_TP
            : TWILIO_TOKEN;
          const suffix = perClinic ? "/GFC-TP" : "";
          let req: FuzzRequest;
          if (typeof input === "object" && !(input instanceof Uint8Array)) {
            const [path, init] = await twilioRequest(input as Record<string, string>, {
              token,
              path: `/api/webhooks/twilio${suffix}`,
              url: `${TWILIO_URL}${suffix}`,
            });
            req = {
              method: "POST",
              path,
              headers: init.headers as Record<string, string>,
              body: String(init.body),
            };
          } else {
            const raw = bytes(input);
            const query = `?bodySHA256=${encodeHex(await sha256(raw))}`;
            const [path, init] = await twilioRequest({}, {
              token,
              query,
              path: `/api/webhooks/twilio${suffix}`,
              url: `${TWILIO_URL}${suffix}${query}`,
            });
            req = {
              method: "POST",
              path,
              headers: {
                ...init.headers as Record<string, string>,
                "content-type": "application/json",
              },
              body: raw,
            };
          }
          if (how === "missing") delete req.headers["x-twilio-signature"];
          const { status, breach } = await send(app, req);
          assert.equal(breach, null);
          // Twilio signs no timestamp: "stale" is as valid as "valid".
          expectAnswer(how === "valid" || how === "stale", status);
        },
      ),
      { seed: SEED + 2000, numRuns: RUNS * 2 },
    );
  });

  await t.step("signed Standard Webhooks (Clerk): 200 or 400", async () => {
    // A header sent as it is (Headers trims), so that its signature still matches.
    const asHeader = (s: string) => s.length > 0 && s === s.trim() && headerSafe(s);
    const headerSafeId = fc.oneof(
      { weight: 3, arbitrary: id("msg") },
      { weight: 1, arbitrary: hostileString.filter(asHeader) },
    );
    const event = fc.record({
      type: field(fc.constantFrom("user.created", "user.updated", "email.delivered")),
      timestamp: field(fc.constant(Date.now())),
      data: fc.record({
        id: field(id("user")),
        email_addresses: field(fc.constant([{ email_address: "fuzz@example.com" }])),
        first_name: field(fc.string()),
      }, { requiredKeys: [] }),
    }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(anyBody(event), headerSafeId, signing, async (body, msgId, how) => {
        const raw = bytes(body);
        const t0 = how === "stale" ? nowSeconds() - 3600 : nowSeconds();
        const secret = how === "wrong"
          ? "whsec_" + btoa("another-secret-0123456789abcdef")
          : CLERK_SECRET;
        const headers: Record<string, string> = {
          "content-type": "application/json",
          "webhook-id": msgId,
          "webhook-timestamp": String(t0),
        };
        if (how !== "missing") headers["webhook-signature"] = await sign([secret], msgId, t0, raw);
        const { status, breach } = await send(app, {
          method: "POST",
          path: "/api/webhooks/standard/clerk",
          headers,
          body: raw,
        });
        assert.equal(breach, null);
        expectAnswer(how === "valid", status);
      }),
      { seed: SEED + 3000, numRuns: RUNS * 2 },
    );
  });

  await t.step(
    "what was stored processes; a data exception is dead-lettered, not retried",
    async () => {
      const results = await drainInbox(app.sql, { workerId: "fuzz", limit: 1000 });
      assert.ok(results.length > 0);
      const retried = results.filter((r) => r.status === "retry" && /error 22/.test(r.error));
      assert.deepEqual(retried, []);
    },
  );
});

function parse(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}
