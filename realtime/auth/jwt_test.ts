import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createVerifier } from "./jwt.ts";

const SECRET = "test-secret-for-realtime-0123456789abcdef";

/** An HS256 token of role `authenticated`, expiring `expiresIn` seconds from now. */
function sign(
  input: { sub?: string; expiresIn?: number },
  secret = SECRET,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const token = new SignJWT({ role: "authenticated", aud: "authenticated", sub: input.sub })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (input.expiresIn ?? 3600));
  return token.sign(new TextEncoder().encode(secret));
}

Deno.test("JWT verification", async () => {
  const verifier = createVerifier({ secret: SECRET });
  const user = crypto.randomUUID();
  const good = await verifier.verify(await sign({ sub: user }));
  assert.ok(good.ok && good.claims.sub === user);
  const expired = await verifier.verify(await sign({ expiresIn: -100 }));
  assert.ok(!expired.ok && expired.code === "ExpiredJWTToken");
  assert.match(expired.ok ? "" : expired.message, /^Token has expired 1\d\d seconds ago$/);
  const forged = await verifier.verify(await sign({}, "another-secret-another-secret-xx"));
  assert.ok(!forged.ok && forged.code === "InvalidJWTToken");
  const noRole = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h").sign(new TextEncoder().encode(SECRET));
  assert.ok(!(await verifier.verify(noRole)).ok);
  const none = "eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYW5vbiJ9.";
  assert.ok(!(await verifier.verify(none)).ok);
  assert.ok(!(await verifier.verify("garbage")).ok);
});
