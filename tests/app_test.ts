/** The API's common surface: health, config, OpenAPI, and the one JSON error shape. */
import assert from "node:assert/strict";
import { createApp } from "../edge/app.ts";
import { loadConfig } from "../edge/config.ts";
import { createTokenService } from "../edge/auth/tokens.ts";
import { freshDatabase } from "./support/db.ts";

const config = loadConfig({ APP_ENV: "test", JWT_SECRET: "test-secret-test-secret-test-secret!" });

Deno.test("API surface and error shape", async (t) => {
  await using db = await freshDatabase();
  const app = createApp({ config, sql: db.sql });

  await t.step("GET /api/health is healthy with the database up", async () => {
    const res = await app.request("/api/health");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "healthy");
    assert.equal(body.database, "up");
    assert.ok(res.headers.get("x-request-id"));
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  });

  await t.step("GET /api/config returns an anon key our token service accepts", async () => {
    const res = await app.request("/api/config");
    assert.equal(res.status, 200);
    const { anon_key } = await res.json();
    const { claims } = await createTokenService(config).verify(anon_key);
    assert.equal(claims.role, "anon");
  });

  await t.step("GET /api/openapi.json documents the API", async () => {
    const res = await app.request("/api/openapi.json");
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.paths["/api/health"]);
  });

  const errorCases: [string, RequestInit, number, string][] = [
    ["/api/no-such-route", {}, 404, "not_found"],
    ["/api/health", { method: "DELETE" }, 405, "method_not_allowed"],
    [
      "/api/health",
      {
        method: "POST",
        body: "x".repeat(config.bodyLimit + 1),
        headers: { "content-type": "text/plain" },
      },
      413,
      "payload_too_large",
    ],
    [
      "/api/health",
      {
        method: "POST",
        body: "x".repeat(config.bodyLimit + 1),
        headers: {
          "content-type": "text/plain",
          "content-length": String(config.bodyLimit + 1),
        },
      },
      413,
      "payload_too_large",
    ],
    ["/api/health", { headers: { authorization: "Bearer not-a-jwt" } }, 401, "token_malformed"],
  ];
  for (const [path, init, status, code] of errorCases) {
    const declared = new Headers(init.headers).has("content-length") ? " (Content-Length)" : "";
    await t.step(`${init.method ?? "GET"} ${path}${declared} → ${status} ${code}`, async () => {
      const res = await app.request(path, init);
      assert.equal(res.status, status);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      const body = await res.json();
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, "string");
    });
  }

  await t.step("405 names the allowed methods", async () => {
    const res = await app.request("/api/health", { method: "PUT" });
    assert.equal(res.headers.get("allow"), "GET");
    await res.body?.cancel();
  });
});

Deno.test("configuration refuses a production start with a missing or weak secret", () => {
  assert.throws(() => loadConfig({ APP_ENV: "production" }), /JWT_SECRET is required/);
  assert.throws(() => loadConfig({ APP_ENV: "production", JWT_SECRET: "short" }), /too weak/);
  assert.throws(
    () => loadConfig({ APP_ENV: "production", JWT_SECRET: "super-secret-jwt-token" }),
    /too weak/,
  );
  const ok = loadConfig({ APP_ENV: "production", JWT_SECRET: "a".repeat(40) });
  assert.equal(ok.env, "production");
  assert.equal(ok.passwordIterations, 600_000);
  assert.throws(() => loadConfig({ APP_ENV: "staging", JWT_SECRET: "x" }), /APP_ENV/);
  assert.throws(() => loadConfig({ JWT_SECRET: "x", PORT: "eighty" }), /PORT/);
});

Deno.test("PUBLIC_URL: the origin of e-mailed links; none in production unless set", () => {
  assert.equal(loadConfig({ JWT_SECRET: "x", PORT: "8123" }).publicUrl, "http://localhost:8123");
  const secret = "a".repeat(40);
  assert.equal(loadConfig({ APP_ENV: "production", JWT_SECRET: secret }).publicUrl, undefined);
  assert.equal(
    loadConfig({ APP_ENV: "production", JWT_SECRET: secret, PUBLIC_URL: "https://c.example/" })
      .publicUrl,
    "https://c.example",
  );
  assert.throws(() => loadConfig({ JWT_SECRET: "x", PUBLIC_URL: "c.example" }), /PUBLIC_URL/);
  assert.throws(() => loadConfig({ JWT_SECRET: "x", PUBLIC_URL: "ftp://c.example" }), /PUBLIC_URL/);
});

Deno.test("auth.uid() ignores an emptied per-claim setting and reads request.jwt.claims", async () => {
  await using db = await freshDatabase();
  const [row] = await db.sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claim.sub', '', true),
      set_config('request.jwt.claims', ${
      JSON.stringify({ sub: "a0000000-0000-4000-8000-000000000001", role: "authenticated" })
    }, true)`;
    return await tx`select auth.uid() as uid, auth.role() as role`;
  });
  assert.equal(row.uid, "a0000000-0000-4000-8000-000000000001");
  assert.equal(row.role, "authenticated");
});

Deno.test("malformed JSON is a 400 invalid_request", async () => {
  await using db = await freshDatabase({ seed: true });
  const app = createApp({ config, sql: db.sql });
  const res = await app.request("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{not json",
  });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, "invalid_request");
});

Deno.test("provider webhooks may exceed the general body limit, up to their own", async () => {
  await using db = await freshDatabase();
  const app = createApp({ config, sql: db.sql });
  const body = JSON.stringify({ pad: "x".repeat(config.bodyLimit + 10) });
  const general = await app.request("/api/auth/login", { method: "POST", body });
  assert.equal(general.status, 413);
  await general.body?.cancel();
  // Past the general limit, a webhook route answers for itself (here: no signature).
  const webhook = await app.request("/api/webhooks/stripe", { method: "POST", body });
  assert.notEqual(webhook.status, 413);
  await webhook.body?.cancel();
  const huge = await app.request("/api/webhooks/stripe", {
    method: "POST",
    body: "x".repeat(config.webhookBodyLimit + 1),
  });
  assert.equal(huge.status, 413);
  await huge.body?.cancel();
});
