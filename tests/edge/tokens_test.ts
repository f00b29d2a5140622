/**
 * Token handling: every rejected token is a 401 with a code saying why; external RS256/ES256
 * tokens verified against a JWKS served by this test and mapped to our users and clinics;
 * TV board tokens issued by staff that read one clinic's board and nothing else.
 */
import assert from "node:assert/strict";
import * as jose from "jose";
import { withClaims } from "../../edge/db/claims.ts";
import { CLINIC_A, CLINIC_B, testApp, USERS } from "./_support.ts";

const ISSUER = "https://clerk.test.example";
const AUDIENCE = "clinic-edge";

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

Deno.test("rejected tokens: each a 401 with a clear code", async (t) => {
  await using app = await testApp();
  const secret = new TextEncoder().encode(app.config.jwtSecret);
  const now = Math.floor(Date.now() / 1000);
  const base = {
    sub: USERS.patientLim,
    role: "authenticated",
    aud: "authenticated",
    iss: app.config.jwtIssuer,
    iat: now,
    exp: now + 600,
  };
  const hs = (claims: Record<string, unknown>, key: Uint8Array = secret, alg = "HS256") =>
    new jose.SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(key);
  const expect401 = async (token: string, code: string, via: "bearer" | "apikey" = "bearer") => {
    const res = await app.call("GET", "/api/auth/me", {
      ...(via === "bearer" ? { token } : { headers: { apikey: token } }),
    });
    assert.equal(res.status, 401, `${code}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, code);
    assert.match(res.headers.get("www-authenticate") ?? "", /invalid_token/);
  };

  await t.step("a good token passes (control)", async () => {
    const res = await app.call("GET", "/api/auth/me", { token: await hs(base) });
    assert.equal(res.status, 200);
  });
  await t.step("expired", async () => {
    await expect401(await hs({ ...base, iat: now - 3600, exp: now - 60 }), "token_expired");
  });
  await t.step("not yet valid", async () => {
    await expect401(await hs({ ...base, nbf: now + 3600 }), "token_not_yet_valid");
  });
  await t.step("wrong audience", async () => {
    await expect401(await hs({ ...base, aud: "someone-else" }), "token_invalid_audience");
  });
  await t.step("wrong issuer", async () => {
    await expect401(await hs({ ...base, iss: "https://evil.example" }), "token_invalid_issuer");
  });
  await t.step("alg none (unsigned)", async () => {
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(base)}.`;
    await expect401(unsigned, "token_invalid_algorithm");
    await expect401(unsigned, "token_invalid_algorithm", "apikey");
  });
  await t.step("another HMAC algorithm (HS512)", async () => {
    await expect401(await hs(base, secret, "HS512"), "token_invalid_algorithm");
  });
  await t.step("tampered payload", async () => {
    const [h, , s] = (await hs(base)).split(".");
    await expect401(
      `${h}.${b64url({ ...base, sub: USERS.admin })}.${s}`,
      "token_invalid_signature",
    );
  });
  await t.step("signed with another secret", async () => {
    await expect401(
      await hs(base, new TextEncoder().encode("x".repeat(40))),
      "token_invalid_signature",
    );
  });
  await t.step("RS256 when no identity provider is configured", async () => {
    const { privateKey } = await jose.generateKeyPair("RS256");
    const token = await new jose.SignJWT(base).setProtectedHeader({ alg: "RS256" }).sign(
      privateKey,
    );
    await expect401(token, "token_invalid_algorithm");
  });
  await t.step("malformed and missing claims", async () => {
    await expect401("not.a.jwt", "token_malformed");
    await expect401(await hs({ ...base, role: "postgres" }), "token_invalid_claims");
    const { exp: _exp, ...noExp } = base;
    await expect401(await hs(noExp), "token_invalid_claims");
  });
  await t.step("a subject that is empty or not a uuid (auth.uid() would raise)", async () => {
    for (const sub of ["", "user_tan", "not-a-uuid", 42, null]) {
      await expect401(await hs({ ...base, sub }), "token_invalid_claims");
      await expect401(await hs({ ...base, role: "anon", sub }), "token_invalid_claims", "apikey");
    }
    const res = await app.call("GET", "/api/clinics/GFC-TP", {
      token: await hs({ ...base, sub: "" }),
    });
    assert.equal(res.status, 401, "on a route anon may call too");
  });
});

Deno.test("external identity provider (JWKS served by the test)", async (t) => {
  const rsa = await jose.generateKeyPair("RS256", { extractable: true });
  const ec = await jose.generateKeyPair("ES256", { extractable: true });
  const impostor = await jose.generateKeyPair("RS256", { extractable: true });
  const jwks = {
    keys: [
      { ...(await jose.exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await jose.exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ],
  };
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    fetches++;
    if (new URL(req.url).pathname !== "/.well-known/jwks.json") {
      return new Response("not found", { status: 404 });
    }
    return Response.json(jwks);
  });
  try {
    const { port } = server.addr as Deno.NetAddr;
    await using app = await testApp({
      config: {
        JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        JWKS_ISSUER: ISSUER,
        JWKS_AUDIENCE: AUDIENCE,
      },
    });
    await app.sql`update public.users set external_id = 'user_tan' where id = ${USERS.doctorTan}`;
    await app.sql`update public.users set external_id = 'user_lim' where id = ${USERS.patientLim}`;
    await app.sql`update public.clinics set external_org_id = 'org_tampines'
      where id = ${CLINIC_A}`;
    await app.sql`update public.clinics set external_org_id = 'org_bedok' where id = ${CLINIC_B}`;

    const now = Math.floor(Date.now() / 1000);
    const external = (
      claims: Record<string, unknown>,
      key: CryptoKey = rsa.privateKey,
      header: jose.JWTHeaderParameters = { alg: "RS256", kid: "rsa-1" },
    ) =>
      new jose.SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader(header).sign(key);

    await t.step("RS256 Clerk org token → our user, clinic and role (RLS applies)", async () => {
      const token = await external({ sub: "user_tan", org_id: "org_tampines", sid: "sess_1" });
      const me = await app.call("GET", "/api/auth/me", { token });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.body.user.id, USERS.doctorTan);
      assert.equal(me.body.user.role, "doctor");
      assert.equal(me.body.user.clinic_id, CLINIC_A);
      // Staff-only action under the mapped claims.
      const board = await app.call("POST", "/api/clinics/GFC-TP/board-tokens", { token });
      assert.equal(board.status, 201);
      assert.ok(fetches >= 1);
    });

    await t.step("ES256, Clerk v2 organisation claim (o.id)", async () => {
      const token = await external(
        { sub: "user_lim", o: { id: "org_tampines", rol: "member" } },
        ec.privateKey,
        { alg: "ES256", kid: "ec-1" },
      );
      const me = await app.call("GET", "/api/auth/me", { token });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.body.user.id, USERS.patientLim);
      assert.equal(me.body.user.role, "patient");
      const mine = await app.call("GET", "/api/me/appointments", { token });
      assert.equal(mine.status, 200);
    });

    await t.step(
      "unknown user or organisation: 401; another clinic's organisation: 403",
      async () => {
        const unknownUser = await app.call("GET", "/api/auth/me", {
          token: await external({ sub: "user_nobody", org_id: "org_tampines" }),
        });
        assert.equal(unknownUser.status, 401);
        assert.equal(unknownUser.body.error.code, "external_user_unknown");
        const unknownOrg = await app.call("GET", "/api/auth/me", {
          token: await external({ sub: "user_tan", org_id: "org_elsewhere" }),
        });
        assert.equal(unknownOrg.status, 401);
        assert.equal(unknownOrg.body.error.code, "external_org_unknown");
        const foreign = await app.call("GET", "/api/auth/me", {
          token: await external({ sub: "user_tan", org_id: "org_bedok" }),
        });
        assert.equal(foreign.status, 403);
        assert.equal(foreign.body.error.code, "not_a_member");
      },
    );

    await t.step("rejected external tokens", async () => {
      const cases: [string, Promise<string> | string][] = [
        ["token_expired", external({ sub: "user_tan", iat: now - 900, exp: now - 60 })],
        ["token_not_yet_valid", external({ sub: "user_tan", nbf: now + 600 })],
        ["token_invalid_issuer", external({ sub: "user_tan", iss: "https://evil.example" })],
        ["token_invalid_audience", external({ sub: "user_tan", aud: "another-app" })],
        // Same kid, different key: a forged signature.
        ["token_invalid_signature", external({ sub: "user_tan" }, impostor.privateKey)],
        // A key the JWKS does not have.
        [
          "token_invalid_algorithm",
          external({ sub: "user_tan" }, impostor.privateKey, { alg: "RS256", kid: "other" }),
        ],
        [
          "token_invalid_algorithm",
          `${b64url({ alg: "none", kid: "rsa-1" })}.${
            b64url({ sub: "user_tan", iss: ISSUER, aud: AUDIENCE, exp: now + 300 })
          }.`,
        ],
      ];
      for (const [code, token] of cases) {
        const res = await app.call("GET", "/api/auth/me", { token: await token });
        assert.equal(res.status, 401, `${code}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, code);
      }
    });

    await t.step("HS/RS confusion: HS256 signed with the provider's public key", async () => {
      // The classic attack: a verifier that trusts the header's alg would use the RSA public
      // key (which anyone can fetch) as an HMAC secret.
      const pem = new TextEncoder().encode(await jose.exportSPKI(rsa.publicKey));
      const jwkBytes = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
      for (const key of [pem, jwkBytes]) {
        const token = await new jose.SignJWT({
          sub: USERS.admin,
          role: "authenticated",
          aud: "authenticated",
          iss: app.config.jwtIssuer,
          exp: now + 300,
        }).setProtectedHeader({ alg: "HS256", kid: "rsa-1" }).sign(key);
        const res = await app.call("GET", "/api/auth/me", { token });
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, "token_invalid_signature");
      }
      // And the other way round: our HS256 secret is never a key for RS256.
      const [h, p, s] = (await external({ sub: "user_tan" })).split(".");
      const relabelled = `${b64url({ ...JSON.parse(atob(h)), alg: "HS256" })}.${p}.${s}`;
      const res = await app.call("GET", "/api/auth/me", { token: relabelled });
      assert.equal(res.status, 401);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("board tokens: issued by staff, read one clinic's board and nothing else", async (t) => {
  await using app = await testApp();
  const staff = await app.tokenFor(USERS.staffKoh);
  let issued = { token: "", id: "" };

  await t.step("201 for staff, with a board-shaped JWT", async () => {
    const res = await app.call("POST", "/api/clinics/GFC-TP/board-tokens", {
      token: staff,
      body: { label: "Lobby TV", expires_in_days: 30 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.label, "Lobby TV");
    issued = res.body;
    const claims = jose.decodeJwt(res.body.token);
    assert.equal(claims.role, "anon");
    assert.equal(claims.aud, "board");
    assert.equal(claims.sub, res.body.id);
    assert.deepEqual(claims.app_metadata, { board: true, clinic_id: CLINIC_A });
    const days = ((claims.exp as number) - Math.floor(Date.now() / 1000)) / 86_400;
    assert.ok(days > 29.9 && days <= 30, String(days));
    const noBody = await app.call("POST", "/api/clinics/GFC-TP/board-tokens", { token: staff });
    assert.equal(noBody.status, 201);
    assert.equal(noBody.body.label, "Waiting room");
  });

  await t.step("401 anonymous, 403 patient or another clinic's admin, 404, 400", async () => {
    const anon = await app.call("POST", "/api/clinics/GFC-TP/board-tokens");
    assert.equal(anon.status, 401);
    const patient = await app.call("POST", "/api/clinics/GFC-TP/board-tokens", {
      token: await app.tokenFor(USERS.patientLim),
    });
    assert.equal(patient.status, 403);
    const foreign = await app.call("POST", "/api/clinics/GFC-TP/board-tokens", {
      token: await app.tokenFor(USERS.adminBedok),
    });
    assert.equal(foreign.status, 403);
    const missing = await app.call("POST", "/api/clinics/NOPE-1/board-tokens", { token: staff });
    assert.equal(missing.status, 404);
    const bad = await app.call("POST", "/api/clinics/GFC-TP/board-tokens", {
      token: staff,
      body: { expires_in_days: -1 },
    });
    assert.equal(bad.status, 400);
  });

  await t.step("the board token is not a user: no me, no booking, no issuing", async () => {
    for (
      const [method, path] of [
        ["GET", "/api/auth/me"],
        ["GET", "/api/me/appointments"],
        ["POST", "/api/clinics/GFC-TP/board-tokens"],
      ]
    ) {
      const res = await app.call(method, path, { token: issued.token });
      assert.equal(res.status, 401, path);
      assert.equal(res.body.error.code, "auth_required");
    }
  });

  await t.step("under RLS it sees its clinic's board only, until revoked", async () => {
    const { claims } = await app.tokens.verify(issued.token);
    await app.sql`insert into public.queue_board_versions (clinic_id, service_date, version)
      values (${CLINIC_A}, current_date, 1), (${CLINIC_B}, current_date, 1)`;
    const visible = () =>
      withClaims(
        app.sql,
        claims as never,
        (tx) => tx`select clinic_id from public.queue_board_versions`,
      );
    assert.deepEqual((await visible()).map((r) => r.clinic_id), [CLINIC_A]);
    await assert.rejects(
      withClaims(app.sql, claims as never, (tx) => tx`select id from public.patients`),
      (e: { code?: string }) => e.code === "42501",
    );
    const list = await app.call("GET", "/api/clinics/GFC-TP/board-tokens", { token: staff });
    assert.equal(list.status, 200);
    assert.ok(list.body.board_tokens.some((b: { id: string }) => b.id === issued.id));
    const revoked = await app.call("DELETE", `/api/clinics/GFC-TP/board-tokens/${issued.id}`, {
      token: staff,
    });
    assert.equal(revoked.status, 204);
    assert.deepEqual([...await visible()], []);
    const again = await app.call(
      "DELETE",
      `/api/clinics/GFC-TP/board-tokens/${crypto.randomUUID()}`,
      { token: staff },
    );
    assert.equal(again.status, 404);
  });
});
