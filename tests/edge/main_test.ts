/**
 * Two `edge/main.ts` processes over one database, as several Deno Deploy / Edge Function
 * instances run: rate limits and Idempotency-Keys live in PostgreSQL, so hits on either process
 * count toward one limit and a key replays the same answer on either; 200 bookings of one slot
 * spread over both still make exactly one appointment. No timing assertions.
 */
import assert from "node:assert/strict";
import { authLimits } from "../../edge/auth/limits.ts";
import { type ServedEntry, serveEntry } from "../support/serve.ts";
import {
  addPatients,
  assertOneWinner,
  CLINIC_A,
  DOCTORS,
  nextWeekday,
  sgt,
  tally,
  type TestApp,
  testApp,
  USERS,
} from "./_support.ts";

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Headers;
}

async function request(
  server: ServedEntry,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** Two API processes over `app`'s database, with its token secret; loopback is a trusted proxy. */
async function twoProcesses(app: TestApp): Promise<[ServedEntry, ServedEntry]> {
  const env = {
    APP_ENV: "test",
    DATABASE_URL: app.db.url,
    JWT_SECRET: app.config.jwtSecret,
    TRUSTED_PROXIES: "127.0.0.1",
  };
  const first = await serveEntry("edge/main.ts", env);
  try {
    return [first, await serveEntry("edge/main.ts", env)];
  } catch (error) {
    await first.stop();
    throw error;
  }
}

Deno.test("two API processes over one database", async (t) => {
  await using app = await testApp();
  const servers = await twoProcesses(app);
  try {
    await t.step("login attempts on both count toward one per-address limit", async () => {
      const { limit } = authLimits.loginPerIp;
      // The same client (as the trusted proxy forwards it) alternating between the processes.
      const headers = { "x-forwarded-for": "198.51.100.23" };
      const body = { email: "nobody@example.com", password: "wrong-password" };
      for (let i = 0; i < limit; i++) {
        const r = await request(servers[i % 2], "POST", "/api/auth/login", { headers, body });
        assert.equal(r.status, 401, JSON.stringify(r.body));
      }
      for (const server of servers) {
        const r = await request(server, "POST", "/api/auth/login", { headers, body });
        assert.equal(r.status, 429, JSON.stringify(r.body));
        assert.equal(r.body.error.code, "rate_limited");
        assert.ok(Number(r.headers.get("retry-after")) > 0);
      }
      // Another client is not limited by it.
      const other = await request(servers[1], "POST", "/api/auth/login", {
        headers: { "x-forwarded-for": "198.51.100.24" },
        body,
      });
      assert.equal(other.status, 401);
    });

    await t.step("one Idempotency-Key on both: one booking, the same answer", async () => {
      const day = await nextWeekday(app.sql);
      const token = await app.tokenFor(USERS.patientLim);
      const booking = {
        token,
        headers: { "idempotency-key": "one-key-two-processes" },
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "15:00") },
      };
      // Racing retries spread over both: each ran first, met the first in flight, or replayed.
      const racing = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => request(servers[i % 2], "POST", "/api/bookings", booking),
        ),
      );
      const counts = tally(racing.map((r) => r.status));
      assert.equal((counts[201] ?? 0) + (counts[409] ?? 0), 20, JSON.stringify(counts));
      for (const r of racing.filter((r) => r.status === 409)) {
        assert.equal(r.body.error.code, "idempotency_key_in_use");
      }
      const created = racing.filter((r) => r.status === 201);
      assert.equal(created.filter((r) => !r.headers.get("idempotent-replayed")).length, 1);
      const original = created.find((r) => !r.headers.get("idempotent-replayed"))!;
      // Settled: each process replays exactly the first answer.
      for (const server of servers) {
        const replay = await request(server, "POST", "/api/bookings", booking);
        assert.equal(replay.status, 201);
        assert.equal(replay.headers.get("idempotent-replayed"), "true");
        assert.deepEqual(replay.body, original.body);
      }
      const [n] = await app.sql`select count(*)::int n from public.appointments
        where patient_id in (select id from public.patients where user_id = ${USERS.patientLim})`;
      assert.equal(n.n, 1);
    });

    await t.step("200 bookings of one slot across both: one 201, the rest 409", async () => {
      const day = await nextWeekday(app.sql);
      const patients = await addPatients(app.sql, CLINIC_A, 200);
      const tokens = await Promise.all(patients.map((p) => app.tokenFor(p.userId)));
      const start = sgt(day, "09:00");
      const results = await Promise.all(
        tokens.map((token, i) =>
          request(servers[i % 2], "POST", "/api/bookings", {
            token,
            headers: { "idempotency-key": crypto.randomUUID() },
            body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start },
          })
        ),
      );
      await assertOneWinner(app.sql, results, DOCTORS.tan, start);
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});
