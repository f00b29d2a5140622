/**
 * AUTH_MODE=supabase end to end on a Supabase-shaped database: a user signed up in Supabase
 * Auth (an insert into auth.users) has a linked patient; a token shaped like Supabase Auth's,
 * signed with the project's JWT secret, books through our API and the stock realtime-js client
 * receives the change from our realtime server (connected as `postgres`, with its own
 * publication); ES256 tokens from the project's JWKS (served on 127.0.0.1) work the same; the
 * anon key reads public data; other Supabase roles are refused.
 */
import assert from "node:assert/strict";
import * as jose from "jose";
import type { RealtimeClient } from "@supabase/realtime-js";
import { loadConfig } from "../../edge/config.ts";
import { createApp } from "../../edge/app.ts";
import { call } from "../support/app.ts";
import { signUp, supabaseCluster } from "../support/supabase.ts";
import { DOCTORS } from "../support/demo.ts";
import { nextWeekday, sgt } from "../edge/_support.ts";
import { client, closeClient, eventually, startServer, subscribed } from "../realtime/support.ts";

const PROJECT_SECRET = "the-supabase-projects-jwt-secret-0123456789";
const ISSUER = "http://127.0.0.1:54321/auth/v1";

/** Claims as Supabase Auth puts them in a user's access token. */
function supabaseClaims(sub: string, email: string | null): jose.JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    sub,
    aud: "authenticated",
    exp: now + 3600,
    iat: now,
    email: email ?? "",
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: {},
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: now }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
  };
}

const hs256 = (claims: jose.JWTPayload, secret = PROJECT_SECRET) =>
  new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));

Deno.test("AUTH_MODE=supabase: Supabase Auth users book through the API and see it live", async (t) => {
  await using supabase = await supabaseCluster();
  const db = await supabase.database({ seed: true });
  const sql = db.sql();

  // The project's JWKS (asymmetric signing keys), on loopback.
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const jwk = { ...await jose.exportJWK(publicKey), kid: "project-key", alg: "ES256", use: "sig" };
  const jwksServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ keys: [jwk] }),
  );
  const jwksUrl = `http://127.0.0.1:${jwksServer.addr.port}/auth/v1/.well-known/jwks.json`;
  const es256 = (claims: jose.JWTPayload) =>
    new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "project-key", typ: "JWT" })
      .sign(privateKey);

  const config = loadConfig({
    APP_ENV: "test",
    JWT_SECRET: "our-own-secret-for-the-api-0123456789abcdef",
    AUTH_MODE: "supabase",
    SUPABASE_JWT_SECRET: PROJECT_SECRET,
    SUPABASE_JWKS_URL: jwksUrl,
  });
  const app = createApp({ config, sql });
  const realtime = await startServer({
    databaseUrl: db.url(),
    publication: "clinic_realtime",
    supabaseAuth: config.supabaseAuth,
    tickIntervalMs: 200,
    sweepIntervalMs: 200,
  });
  const clients: RealtimeClient[] = [];
  try {
    const nadia = await signUp(db, {
      email: "nadia@example.com",
      meta: {
        clinic_code: "GFC-TP",
        full_name: "Nadia Rahman",
        date_of_birth: "1990-05-06",
        gender: "female",
      },
    });
    const token = await hs256(supabaseClaims(nadia, "nadia@example.com"));

    await t.step("the signed-up user is ours: /api/auth/me answers with the same id", async () => {
      const res = await call(app, "GET", "/api/auth/me", { token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user.id, nadia);
      assert.equal(res.body.user.patients.length, 1);
    });

    await t.step("books through the API and receives the change over realtime-js", async () => {
      const c = client(realtime, { apikey: token });
      clients.push(c);
      const seen: string[] = [];
      const channel = c.channel("mine").on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "appointments" },
        (p) => seen.push((p as unknown as { new: { id: string } }).new.id),
      );
      await subscribed(channel);
      const day = await nextWeekday(sql);
      const res = await call(app, "POST", "/api/bookings", {
        token,
        headers: { "idempotency-key": crypto.randomUUID() },
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: sgt(day, "10:00") },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const id = res.body.appointment.id;
      await eventually(() => seen.includes(id), 10_000, "the booking over realtime");
    });

    await t.step("ES256 tokens from the project's JWKS: the API and realtime", async () => {
      const token = await es256(supabaseClaims(nadia, "nadia@example.com"));
      const res = await call(app, "GET", "/api/auth/me", { token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user.id, nadia);
      const c = client(realtime, { apikey: token });
      clients.push(c);
      await subscribed(c.channel("es256"));
    });

    await t.step("a phone-only user: signed in, no e-mail", async () => {
      const phone = await signUp(db, { phone: "6598765432" });
      const res = await call(app, "GET", "/api/auth/me", {
        token: await hs256(supabaseClaims(phone, null)),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user.email, null);
    });

    await t.step(
      "the anon key reads public data; service_role and others are refused",
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const anonKey = await hs256({ iss: "supabase", role: "anon", iat: now, exp: now + 3600 });
        const clinic = await call(app, "GET", "/api/clinics/GFC-TP", {
          headers: { apikey: anonKey },
        });
        assert.equal(clinic.status, 200, JSON.stringify(clinic.body));
        const serviceKey = await hs256({ iss: "supabase", role: "service_role", exp: now + 60 });
        const refused = await call(app, "GET", "/api/clinics/GFC-TP", { token: serviceKey });
        assert.equal(refused.status, 401);
        assert.equal(refused.body.error.code, "token_invalid_claims");
        const c = client(realtime, { apikey: anonKey });
        clients.push(c);
        const channel = c.channel("service");
        c.setAuth(serviceKey);
        await assert.rejects(() => subscribed(channel), /InvalidJWTToken/);
        const forged = await hs256(supabaseClaims(nadia, null), "x".repeat(43));
        const bad = await call(app, "GET", "/api/auth/me", { token: forged });
        assert.equal(bad.status, 401);
      },
    );
  } finally {
    for (const c of clients) await closeClient(c);
    await realtime.close();
    await jwksServer.shutdown();
  }
});
