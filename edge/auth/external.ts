/**
 * External identity-provider tokens (Clerk organisation tokens, seed 004): after the token
 * service has verified an RS256/ES256 token against the configured JWKS, this maps it to our
 * claims — `sub` → users.external_id, the organisation (`org_id`, or `o.id` in Clerk's v2
 * tokens) → clinics.external_org_id — so RLS sees one of our users, with the role of their
 * membership in that clinic. Lookups are cached briefly per (subject, organisation).
 */
import type { ExternalResolver } from "../middleware/auth.ts";
import type { AppMetadata, AppRole, TokenClaims } from "./tokens.ts";
import { apiError } from "../errors.ts";

interface Identity {
  id: string;
  email: string;
  full_name: string;
  clinic_id: string | null;
  clinic_ids: string[];
  role: AppRole | null;
}

const failures: Record<string, [401 | 403, string]> = {
  external_user_unknown: [401, "The identity provider's user is not known here"],
  external_org_unknown: [401, "The identity provider's organisation is not a clinic here"],
  not_a_member: [403, "This account does not belong to that clinic"],
};

export function organisationOf(claims: TokenClaims): string | null {
  if (typeof claims.org_id === "string" && claims.org_id) return claims.org_id;
  const o = claims.o as { id?: unknown } | undefined;
  return typeof o?.id === "string" && o.id ? o.id : null;
}

export function createExternalResolver(options: { cacheMs?: number; maxEntries?: number } = {}) {
  const cacheMs = options.cacheMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { identity: Identity; until: number }>();

  const resolve: ExternalResolver = async (claims, c) => {
    const subject = claims.sub!;
    const org = organisationOf(claims);
    const key = `${subject}\u0000${org ?? ""}`;
    let identity = cache.get(key);
    if (!identity || identity.until < Date.now()) {
      const found = await c.get("db").service(async (tx) => {
        const [row] = await tx`select api.resolve_external(${subject}, ${org}) as r`;
        return row.r as Identity | { error: string };
      });
      if ("error" in found) {
        const [status, message] = failures[found.error] ?? [401, "Unknown external identity"];
        throw apiError(
          status,
          found.error,
          message,
          undefined,
          status === 401 ? { "www-authenticate": `Bearer error="invalid_token"` } : undefined,
        );
      }
      if (cache.size >= maxEntries) cache.clear();
      identity = { identity: found, until: Date.now() + cacheMs };
      cache.set(key, identity);
    }
    const user = identity.identity;
    const appMetadata: AppMetadata = {
      provider: typeof claims.iss === "string" && claims.iss.includes("clerk")
        ? "clerk"
        : "external",
      clinic_id: user.clinic_id,
      clinic_ids: user.clinic_ids,
      ...(user.role ? { role: user.role } : {}),
    };
    return {
      sub: user.id,
      role: "authenticated",
      aud: "authenticated",
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      email: user.email,
      session_id: typeof claims.sid === "string" ? claims.sid : undefined,
      app_metadata: appMetadata,
      external_sub: subject,
      ...(org ? { org_id: org } : {}),
    };
  };
  return resolve;
}
