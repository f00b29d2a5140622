/**
 * The verified-token cache of edge/auth/tokens.ts: a token seen before is answered without
 * re-verifying its signature, but never past its `exp` or before its `nbf`, never for a
 * different token string, and its claims cannot be changed by one request for the next.
 */
import assert from "node:assert/strict";
import * as jose from "jose";
import { loadConfig } from "../../edge/config.ts";
import { createTokenService, TokenError } from "../../edge/auth/tokens.ts";

const SECRET = "token-cache-test-secret-0123456789abcdef";

function service() {
  const config = loadConfig({ APP_ENV: "test", JWT_SECRET: SECRET });
  return { config, tokens: createTokenService(config) };
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (error) {
    assert.ok(error instanceof TokenError, String(error));
    return error.code;
  }
}

function hs(claims: jose.JWTPayload, secret = SECRET): Promise<string> {
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

Deno.test("a cached token still expires at its exp", async () => {
  const { config, tokens } = service();
  const now = Math.floor(Date.now() / 1000);
  const token = await hs({
    sub: crypto.randomUUID(),
    role: "authenticated",
    aud: "authenticated",
    iss: config.jwtIssuer,
    iat: now,
    exp: now + 2,
  });
  const first = await tokens.verify(token);
  const second = await tokens.verify(token);
  assert.equal(second.claims, first.claims, "the second answer comes from the cache");
  await new Promise((r) => setTimeout(r, (now + 2) * 1000 - Date.now() + 50));
  assert.equal(await code(tokens.verify(token)), "token_expired");
  assert.equal(await code(tokens.verify(token)), "token_expired");
});

Deno.test("a cached token does not vouch for another string", async () => {
  const { config, tokens } = service();
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: crypto.randomUUID(),
    role: "authenticated",
    aud: "authenticated",
    iss: config.jwtIssuer,
    iat: now,
    exp: now + 600,
  };
  const token = await hs(claims);
  await tokens.verify(token);
  const [header, payload, signature] = token.split(".");
  const forged = [
    header,
    btoa(JSON.stringify({ ...claims, role: "service_role" })).replace(/\+/g, "-")
      .replace(/\//g, "_").replace(/=+$/, ""),
    signature,
  ].join(".");
  assert.equal(await code(tokens.verify(forged)), "token_invalid_signature");
  const flipped = `${header}.${payload}.${signature.slice(0, -2)}${
    signature.endsWith("AA") ? "AB" : "AA"
  }`;
  assert.equal(await code(tokens.verify(flipped)), "token_invalid_signature");
  assert.equal(
    await code(tokens.verify(await hs(claims, `${SECRET}-other`))),
    "token_invalid_signature",
  );
  // Another service (another key) has its own cache.
  const other = createTokenService(loadConfig({ APP_ENV: "test", JWT_SECRET: `${SECRET}-x` }));
  assert.equal(await code(other.verify(token)), "token_invalid_signature");
});

Deno.test("a cached token is not valid before its nbf", async () => {
  const { config, tokens } = service();
  const now = Math.floor(Date.now() / 1000);
  const token = await hs({
    sub: crypto.randomUUID(),
    role: "authenticated",
    aud: "authenticated",
    iss: config.jwtIssuer,
    iat: now,
    nbf: now + 1,
    exp: now + 600,
  });
  assert.equal(await code(tokens.verify(token)), "token_not_yet_valid");
  await new Promise((r) => setTimeout(r, (now + 1) * 1000 - Date.now() + 50));
  assert.equal((await tokens.verify(token)).claims.nbf, now + 1);
});

Deno.test("claims shared through the cache cannot be changed", async () => {
  const { tokens } = service();
  const { token } = await tokens.signAccess({
    userId: crypto.randomUUID(),
    email: "cache@example.com",
    sessionId: crypto.randomUUID(),
    appMetadata: { role: "patient", clinic_ids: [crypto.randomUUID()] },
  });
  const { claims } = await tokens.verify(token);
  assert.throws(() => {
    (claims as { role: string }).role = "service_role";
  }, TypeError);
  assert.throws(() => {
    claims.app_metadata!.clinic_ids!.push(crypto.randomUUID());
  }, TypeError);
  assert.equal((await tokens.verify(token)).claims.role, "authenticated");
});
