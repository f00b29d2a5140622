/**
 * Tokens minted by the edge (access, anon key, TV board) are accepted by the realtime
 * verifier configured like the edge (issuer, audiences); foreign ones are not.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../edge/config.ts";
import { createTokenService } from "../../edge/auth/tokens.ts";
import { createVerifier } from "./jwt.ts";

Deno.test("realtime accepts the edge's tokens", async () => {
  const secret = "edge-and-realtime-share-this-secret-0123456789";
  const config = loadConfig({ APP_ENV: "test", JWT_SECRET: secret });
  const edge = createTokenService(config);
  const verifier = createVerifier({
    secret,
    issuer: config.jwtIssuer,
    audience: ["authenticated", "anon", "board"],
  });
  const user = crypto.randomUUID();
  const clinic = crypto.randomUUID();
  const { token } = await edge.signAccess({
    userId: user,
    email: "a@b.test",
    sessionId: crypto.randomUUID(),
    appMetadata: { role: "staff", clinic_id: clinic, clinic_ids: [clinic] },
  });
  const access = await verifier.verify(token);
  assert.ok(access.ok);
  assert.equal(access.claims.sub, user);
  assert.equal(access.claims.role, "authenticated");

  const anon = await verifier.verify(await edge.signAnonKey());
  assert.ok(anon.ok && anon.claims.role === "anon");

  const board = await verifier.verify(await edge.signBoard(user, clinic));
  assert.ok(board.ok && board.claims.app_metadata?.board === true);
  assert.equal(board.ok && board.claims.app_metadata?.clinic_id, clinic);

  const otherIssuer = createVerifier({ secret, issuer: "someone-else" });
  assert.ok(!(await otherIssuer.verify(token)).ok);
});
