/**
 * Sign-up, login (PBKDF2, rate limits), refresh-token rotation and reuse detection, logout and
 * me, through `app.request` against the real database. Wrong-password throttling, known devices
 * and unlock links: lockout_test.ts.
 */
import assert from "node:assert/strict";
import * as jose from "jose";
import { sha256Hex } from "../../edge/auth/opaque.ts";
import { authLimits } from "../../edge/auth/limits.ts";
import { CLINIC_A, testApp, USERS } from "./_support.ts";

const signup = (email: string, extra: Record<string, unknown> = {}) => ({
  clinic_code: "GFC-TP",
  email,
  password: "correct horse battery",
  full_name: "Tan Ah Kow",
  date_of_birth: "1970-05-04",
  gender: "male",
  ...extra,
});

Deno.test("sign-up", async (t) => {
  await using app = await testApp();

  await t.step("201: session, patient record, PBKDF2 hash with a per-user salt", async () => {
    const res = await app.call("POST", "/api/auth/signup", {
      body: signup("ah.kow@example.com", { phone: "+65 8123 4567" }),
      ip: "198.51.100.1",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.token_type, "bearer");
    assert.equal(res.body.expires_in, app.config.accessTokenTtl);
    assert.equal(res.body.user.email, "ah.kow@example.com");
    assert.equal(res.body.user.role, "patient");
    assert.equal(res.body.user.clinic_id, CLINIC_A);
    assert.ok(res.body.user.patient_id);
    const claims = jose.decodeJwt(res.body.access_token);
    assert.equal(claims.sub, res.body.user.id);
    assert.equal(claims.role, "authenticated");
    assert.equal(claims.aud, "authenticated");
    assert.equal(claims.email, "ah.kow@example.com");
    assert.ok(typeof claims.exp === "number" && typeof claims.iat === "number");
    assert.deepEqual(claims.app_metadata, {
      provider: "email",
      clinic_id: CLINIC_A,
      clinic_ids: [CLINIC_A],
      role: "patient",
    });

    const [patient] = await app.sql`select patient_number, full_name, date_of_birth::text dob
      from public.patients where id = ${res.body.user.patient_id}`;
    assert.deepEqual({ ...patient }, {
      patient_number: "TP-P-000002",
      full_name: "Tan Ah Kow",
      dob: "1970-05-04",
    });
    const second = await app.call("POST", "/api/auth/signup", {
      body: signup("ah.beng@example.com"),
      ip: "198.51.100.1",
    });
    assert.equal(second.status, 201);
    const hashes = await app.sql`select c.password_hash from private.credentials c
      join public.users u on u.id = c.user_id where u.email in
      ('ah.kow@example.com', 'ah.beng@example.com')`;
    assert.equal(hashes.length, 2);
    for (const { password_hash } of hashes) {
      assert.match(password_hash, /^pbkdf2_sha256\$1000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    }
    assert.notEqual(hashes[0].password_hash, hashes[1].password_hash); // same password
    const [refresh] = await app.sql`select token_hash from private.refresh_tokens
      where user_id = ${res.body.user.id}`;
    assert.equal(refresh.token_hash, await sha256Hex(res.body.refresh_token));
  });

  await t.step("400 invalid fields, 404 unknown clinic, 409 existing email", async () => {
    const bad = await app.call("POST", "/api/auth/signup", {
      body: signup("not-an-email", { password: "short", gender: "x", date_of_birth: "1970-13-01" }),
      ip: "198.51.100.2",
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "invalid_request");
    const paths = bad.body.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ["date_of_birth", "email", "gender", "password"]);
    const notJson = await app.call("POST", "/api/auth/signup", {
      body: "{nope",
      ip: "198.51.100.2",
    });
    assert.equal(notJson.status, 400);
    const clinic = await app.call("POST", "/api/auth/signup", {
      body: signup("x@example.com", { clinic_code: "NOPE-1" }),
      ip: "198.51.100.2",
    });
    assert.equal(clinic.status, 404);
    assert.equal(clinic.body.error.code, "clinic_not_found");
    const taken = await app.call("POST", "/api/auth/signup", {
      body: signup("Patient.Lim@Demo.com"),
      ip: "198.51.100.2",
    });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.error.code, "email_taken");
  });

  await t.step("429 after too many sign-ups from one address", async () => {
    const ip = "198.51.100.3";
    for (let i = 0; i < authLimits.signupPerIp.limit; i++) {
      const res = await app.call("POST", "/api/auth/signup", {
        body: signup(`bulk${i}@example.com`),
        ip,
      });
      assert.equal(res.status, 201);
    }
    const res = await app.call("POST", "/api/auth/signup", {
      body: signup("one-more@example.com"),
      ip,
    });
    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, "rate_limited");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    const elsewhere = await app.call("POST", "/api/auth/signup", {
      body: signup("one-more@example.com"),
      ip: "198.51.100.4",
    });
    assert.equal(elsewhere.status, 201);
  });
});

Deno.test("login and its rate limit", async (t) => {
  await using app = await testApp();
  const login = (body: Record<string, unknown>, ip = "203.0.113.1") =>
    app.call("POST", "/api/auth/login", { body, ip });

  await t.step("200 for a demo user (seeded 600k-iteration hash); role and clinic", async () => {
    const res = await login({ email: "ADMIN@demo.com", password: "Demo123!" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.id, USERS.admin);
    assert.equal(res.body.user.role, "admin");
    assert.equal(res.body.user.clinic_code, "GFC-TP");
    const [u] = await app.sql`select last_login_at is not null as seen from public.users
      where id = ${USERS.admin}`;
    assert.equal(u.seen, true);
    const inClinic = await login({
      email: "patient.lim@demo.com",
      password: "Demo123!",
      clinic_code: "gfc-tp",
    });
    assert.equal(inClinic.status, 200);
    assert.equal(inClinic.body.user.role, "patient");
  });

  await t.step("401 wrong password or unknown email (same answer); 403/404 clinic", async () => {
    const wrong = await login({ email: "doctor.tan@demo.com", password: "nope-nope" });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, "invalid_credentials");
    const unknown = await login({ email: "nobody@demo.com", password: "Demo123!" });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body, wrong.body);
    const other = await login({
      email: "patient.lim@demo.com",
      password: "Demo123!",
      clinic_code: "GFC-BD",
    });
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, "not_a_member");
    const none = await login({
      email: "patient.lim@demo.com",
      password: "Demo123!",
      clinic_code: "NOPE-1",
    });
    assert.equal(none.status, 404);
    const bad = await login({ email: "patient.lim@demo.com" });
    assert.equal(bad.status, 400);
  });

  await t.step("429 per client address", async () => {
    const ip = "203.0.113.3";
    for (let i = 0; i < authLimits.loginPerIp.limit; i++) {
      const res = await login({ email: `spray${i}@example.com`, password: "guess-1234" }, ip);
      assert.equal(res.status, 401);
    }
    const res = await login({ email: "patient.lim@demo.com", password: "Demo123!" }, ip);
    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, "rate_limited");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
  });
});

Deno.test("rate limits behind a trusted proxy: per forwarded client, spoofing ignored", async (t) => {
  await using app = await testApp({ config: { TRUSTED_PROXIES: "10.0.0.0/8" } });
  let n = 0; // a new account each time: only the per-address limit applies
  const login = (forwardedFor: string, peer = "10.0.0.7") =>
    app.call("POST", "/api/auth/login", {
      body: { email: `nobody${n++}@example.com`, password: "guess-1234" },
      headers: { "x-forwarded-for": forwardedFor },
      ip: peer,
    });
  const spend = async (forwardedFor: string, peer?: string) => {
    for (let i = 0; i < authLimits.loginPerIp.limit; i++) {
      assert.equal((await login(forwardedFor, peer)).status, 401);
    }
  };

  await t.step("clients behind the proxy have a bucket each, not the proxy's", async () => {
    await spend("198.51.100.10");
    assert.equal((await login("198.51.100.10")).status, 429);
    assert.equal((await login("198.51.100.11")).status, 401, "another client is not limited");
  });

  await t.step("a client's own X-Forwarded-For entry does not give it a fresh bucket", async () => {
    assert.equal((await login("192.0.2.99, 198.51.100.10")).status, 429);
  });

  await t.step("from outside the trusted proxies the header is ignored", async () => {
    await spend("198.51.100.20", "203.0.113.50");
    assert.equal((await login("198.51.100.21", "203.0.113.50")).status, 429);
  });
});

Deno.test("refresh rotation, reuse detection, logout, me", async (t) => {
  await using app = await testApp();
  const created = await app.call("POST", "/api/auth/signup", {
    body: signup("rotating@example.com"),
    ip: "192.0.2.50",
  });
  assert.equal(created.status, 201);
  const refresh = (token: string) =>
    app.call("POST", "/api/auth/refresh", { body: { refresh_token: token } });

  let first = { body: { refresh_token: "" } } as Awaited<ReturnType<typeof refresh>>;
  await t.step("200: new access and refresh tokens, same session", async () => {
    first = await refresh(created.body.refresh_token);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.notEqual(first.body.refresh_token, created.body.refresh_token);
    const a = jose.decodeJwt(created.body.access_token);
    const b = jose.decodeJwt(first.body.access_token);
    assert.equal(b.session_id, a.session_id);
    assert.equal(b.sub, a.sub);
  });

  await t.step("reusing the rotated token: 401 and the whole family is revoked", async () => {
    const reuse = await refresh(created.body.refresh_token);
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.error.code, "refresh_token_reused");
    const next = await refresh(first.body.refresh_token);
    assert.equal(next.status, 401);
    assert.equal(next.body.error.code, "refresh_token_revoked");
    const [n] = await app.sql`select count(*) filter (where revoked_at is null)::int live,
        count(*)::int total from private.refresh_tokens where user_id = ${created.body.user.id}`;
    assert.deepEqual({ ...n }, { live: 0, total: 2 });
  });

  await t.step("401 unknown or expired token; 400 malformed body", async () => {
    const unknown = await refresh("x".repeat(43));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.code, "invalid_refresh_token");
    const session = await app.call("POST", "/api/auth/login", {
      body: { email: "rotating@example.com", password: "correct horse battery" },
    });
    await app.sql`update private.refresh_tokens set expires_at = now() - interval '1 second'
      where token_hash = ${await sha256Hex(session.body.refresh_token)}`;
    const expired = await refresh(session.body.refresh_token);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error.code, "refresh_token_expired");
    assert.equal((await app.call("POST", "/api/auth/refresh", { body: {} })).status, 400);
  });

  await t.step("logout with the refresh token, or with the access token: 204", async () => {
    const s1 = await app.call("POST", "/api/auth/login", {
      body: { email: "rotating@example.com", password: "correct horse battery" },
    });
    const out1 = await app.call("POST", "/api/auth/logout", {
      body: { refresh_token: s1.body.refresh_token },
    });
    assert.equal(out1.status, 204);
    assert.equal((await refresh(s1.body.refresh_token)).body.error.code, "refresh_token_revoked");

    const s2 = await app.call("POST", "/api/auth/login", {
      body: { email: "rotating@example.com", password: "correct horse battery" },
    });
    const out2 = await app.call("POST", "/api/auth/logout", { token: s2.body.access_token });
    assert.equal(out2.status, 204);
    assert.equal((await refresh(s2.body.refresh_token)).status, 401);
    const nothing = await app.call("POST", "/api/auth/logout");
    assert.equal(nothing.status, 401);
  });

  await t.step("me: 200 with the session's user; 401 anonymous", async () => {
    const s = await app.call("POST", "/api/auth/login", {
      body: { email: "rotating@example.com", password: "correct horse battery" },
    });
    const me = await app.call("GET", "/api/auth/me", { token: s.body.access_token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, "rotating@example.com");
    assert.equal(me.body.user.role, "patient");
    assert.equal(me.body.user.memberships[0].clinic_code, "GFC-TP");
    assert.equal(me.body.user.patients.length, 1);
    const anon = await app.call("GET", "/api/auth/me");
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, "auth_required");
  });
});

Deno.test("sign-up: optional consents per channel and language, recorded with source signup", async (t) => {
  await using app = await testApp();
  const stateOf = async (patientId: string) => {
    const [row] = await app.sql`select p.preferred_language, p.phone, p.email_consent,
      p.sms_consent, p.whatsapp_consent, p.push_consent, u.language
      from public.patients p join public.users u on u.id = p.user_id where p.id = ${patientId}`;
    const history = await app.sql`select channel, granted, source from public.consent_history
      where patient_id = ${patientId} order by id`;
    return { row: { ...row }, history: history.map((h) => ({ ...h })) };
  };

  await t.step("without: no consent, English, no history", async () => {
    const res = await app.call("POST", "/api/auth/signup", {
      body: signup("no.consent@example.com"),
      ip: "198.51.100.31",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(await stateOf(res.body.user.patient_id), {
      row: {
        preferred_language: "en",
        phone: null,
        email_consent: false,
        sms_consent: false,
        whatsapp_consent: false,
        push_consent: false,
        language: "en",
      },
      history: [],
    });
  });

  await t.step("with: the consents given, the language, the phone in E.164", async () => {
    const res = await app.call("POST", "/api/auth/signup", {
      body: signup("consents@example.com", {
        phone: "8123 4567",
        language: "ms",
        consents: { sms: true, email: true, whatsapp: false },
      }),
      ip: "198.51.100.32",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(await stateOf(res.body.user.patient_id), {
      row: {
        preferred_language: "ms",
        phone: "+6581234567",
        email_consent: true,
        sms_consent: true,
        whatsapp_consent: false,
        push_consent: false,
        language: "ms",
      },
      history: [
        { channel: "email", granted: true, source: "signup" },
        { channel: "sms", granted: true, source: "signup" },
      ],
    });
  });

  await t.step("400 naming the field; no account made", async () => {
    for (
      const [extra, field] of [
        [{ phone: "12345" }, "phone"],
        [{ phone: "+1 555 0100 9999 12" }, "phone"],
        [{ language: "zh-CN" }, "language"],
        [{ consents: { sms: "true" } }, "consents.sms"],
        [{ consents: { pager: true } }, "consents"],
        [{ consents: true }, "consents"],
      ] as const
    ) {
      const res = await app.call("POST", "/api/auth/signup", {
        body: signup("refused@example.com", extra),
        ip: "198.51.100.33",
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "invalid_request");
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path.startsWith(field)),
        JSON.stringify(res.body),
      );
    }
    const [n] = await app.sql`select count(*)::int as n from public.users
      where email = 'refused@example.com'`;
    assert.equal(n.n, 0);
  });
});

Deno.test("sign-up at a clinic not taking new patients: 409, nothing created", async () => {
  await using app = await testApp();
  await app.sql`update public.clinics set accepts_new_patients = false where id = ${CLINIC_A}`;
  const before = await app.sql`select
    (select count(*) from public.users)::int as users,
    (select count(*) from public.patients)::int as patients`;
  const res = await app.call("POST", "/api/auth/signup", {
    body: signup("closed.door@example.com"),
    ip: "198.51.100.9",
  });
  assert.deepEqual([res.status, res.body.error?.code], [409, "not_accepting_patients"]);
  const after = await app.sql`select
    (select count(*) from public.users)::int as users,
    (select count(*) from public.patients)::int as patients`;
  assert.deepEqual(after, before);
  await app.sql`update public.clinics set accepts_new_patients = true where id = ${CLINIC_A}`;
  const open = await app.call("POST", "/api/auth/signup", {
    body: signup("closed.door@example.com"),
    ip: "198.51.100.9",
  });
  assert.equal(open.status, 201, JSON.stringify(open.body));
});
