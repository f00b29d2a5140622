/**
 * Reads the caller's token (`Authorization: Bearer …`, or `apikey` as supabase-js sends it),
 * verifies it and sets `claims`; no token means anon. A bad token is a 401 with a code saying
 * why — never a silent downgrade to anon.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context.ts";
import { TokenError } from "../auth/tokens.ts";
import type { TokenClaims } from "../auth/tokens.ts";
import { apiError } from "../errors.ts";

/** Maps an external identity-provider token to our claims (user and clinic by external ids). */
export type ExternalResolver = (
  claims: TokenClaims,
  c: Parameters<Parameters<typeof createMiddleware<AppEnv>>[0]>[0],
) => Promise<TokenClaims>;

export function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match?.[1];
}

export function authenticate(resolveExternal?: ExternalResolver) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = bearer(c.req.header("authorization")) ?? c.req.header("apikey");
    if (!token) {
      c.set("claims", { role: "anon" });
      return next();
    }
    try {
      const { claims, external } = await c.get("tokens").verify(token);
      if (external) {
        if (!resolveExternal) {
          throw new TokenError("token_invalid_algorithm", "External tokens are not accepted");
        }
        c.set("claims", await resolveExternal(claims, c));
      } else {
        c.set("claims", claims);
      }
    } catch (error) {
      if (error instanceof TokenError) {
        throw apiError(401, error.code, error.message, undefined, {
          "www-authenticate": `Bearer error="invalid_token"`,
        });
      }
      throw error;
    }
    await next();
  });
}

/** Rejects anonymous callers (and TV board tokens) with 401 `auth_required`. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const { role, sub } = c.get("claims");
  if (role !== "authenticated" || !sub) {
    throw apiError(401, "auth_required", "Sign in to do this");
  }
  await next();
});
