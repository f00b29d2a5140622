/**
 * Access-token verification with jose: HS256 with the shared secret, and optionally
 * RS256/ES256 keys from a JWKS URL. Results are cached per token until it expires so that
 * thousands of sockets presenting the same board token cost one verification.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import { validSubject } from "../../edge/auth/subject.ts";
import type { Claims } from "./claims.ts";

export interface JwtOptions {
  /** HS256 secret shared with the edge API. */
  secret?: string;
  /** JWKS endpoint for asymmetric keys (RS256/ES256). */
  jwksUrl?: string;
  /** Expected `aud`, when set. */
  audience?: string | string[];
  /** Expected `iss` of HS256 tokens, when set. */
  issuer?: string;
  /** Expected `iss` / `aud` of JWKS (RS256/ES256) tokens, when set. */
  jwksIssuer?: string;
  jwksAudience?: string | string[];
  /**
   * AUTH_MODE=supabase: the project's Supabase Auth secret (HS256 tokens ours do not verify)
   * and JWKS (ES256/RS256 tokens whose key it has); anon and authenticated tokens only.
   */
  supabaseSecret?: string;
  supabaseJwksUrl?: string;
  /** Clock tolerance in seconds (default 0). */
  clockToleranceSeconds?: number;
}

export type VerifyResult =
  | { ok: true; claims: Claims }
  | { ok: false; code: "InvalidJWTToken" | "ExpiredJWTToken"; message: string };

export interface TokenVerifier {
  verify(token: string): Promise<VerifyResult>;
}

const MAX_CACHE = 10_000;

/** Creates a verifier; at least one of `secret` and `jwksUrl` is required. */
export function createVerifier(options: JwtOptions): TokenVerifier {
  if (!options.secret && !options.jwksUrl && !options.supabaseSecret && !options.supabaseJwksUrl) {
    throw new Error("realtime: a JWT secret or a JWKS URL is required");
  }
  const secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
  const jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const supabaseSecret = options.supabaseSecret
    ? new TextEncoder().encode(options.supabaseSecret)
    : undefined;
  const supabaseJwks = options.supabaseJwksUrl
    ? createRemoteJWKSet(new URL(options.supabaseJwksUrl))
    : undefined;

  /** A token of the project's Supabase Auth: a user or the anon key, nothing else. */
  async function supabaseToken(
    token: string,
    key: Uint8Array | ReturnType<typeof createRemoteJWKSet>,
  ) {
    const verify = {
      clockTolerance: options.clockToleranceSeconds ?? 0,
      algorithms: ["HS256", "ES256", "RS256"],
    };
    const { payload } = key instanceof Uint8Array
      ? await jwtVerify(token, key, verify)
      : await jwtVerify(token, key, verify);
    if (payload.role !== "anon" && payload.role !== "authenticated") {
      throw new errors.JWTClaimValidationFailed('"role" is not accepted', payload, "role");
    }
    return payload;
  }
  const cache = new Map<string, { claims: Claims; exp: number }>();

  async function verifyUncached(token: string): Promise<Claims> {
    const header = decodeHeader(token);
    const tolerance = options.clockToleranceSeconds ?? 0;
    let payload: JWTPayload;
    const asymmetric = header.alg === "RS256" || header.alg === "ES256";
    if (header.alg === "HS256" && (secret || supabaseSecret)) {
      try {
        if (!secret) throw new errors.JWSSignatureVerificationFailed();
        ({ payload } = await jwtVerify(token, secret, {
          audience: options.audience,
          issuer: options.issuer,
          clockTolerance: tolerance,
          algorithms: ["HS256"],
        }));
      } catch (error) {
        if (!supabaseSecret || error instanceof errors.JWTExpired) throw error;
        payload = await supabaseToken(token, supabaseSecret);
      }
    } else if (asymmetric && supabaseJwks && await hasKey(supabaseJwks, header)) {
      payload = await supabaseToken(token, supabaseJwks);
    } else if (jwks && asymmetric) {
      ({ payload } = await jwtVerify(token, jwks, {
        audience: options.jwksAudience,
        issuer: options.jwksIssuer,
        clockTolerance: tolerance,
        algorithms: ["RS256", "ES256"],
      }));
    } else {
      throw new errors.JOSEAlgNotAllowed(`algorithm ${String(header.alg)} is not accepted`);
    }
    if (typeof payload.role !== "string" || payload.role === "") {
      throw new errors.JWTClaimValidationFailed('missing "role" claim', payload, "role");
    }
    if (!validSubject(payload.sub)) {
      throw new errors.JWTClaimValidationFailed('"sub" is not a uuid', payload, "sub");
    }
    if (typeof payload.exp !== "number") {
      throw new errors.JWTClaimValidationFailed('missing "exp" claim', payload, "exp");
    }
    return payload as Claims;
  }

  return {
    async verify(token: string): Promise<VerifyResult> {
      const now = Date.now() / 1000;
      const hit = cache.get(token);
      if (hit) {
        if (hit.exp > now) return { ok: true, claims: hit.claims };
        cache.delete(token);
        return expired(now - hit.exp);
      }
      try {
        const claims = await verifyUncached(token);
        if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value!);
        cache.set(token, { claims, exp: claims.exp! });
        return { ok: true, claims };
      } catch (error) {
        if (error instanceof errors.JWTExpired) {
          const exp = Number((error.payload as JWTPayload).exp);
          return expired(Number.isFinite(exp) ? now - exp : 0);
        }
        return { ok: false, code: "InvalidJWTToken", message: describe(error) };
      }
    },
  };
}

/** Whether the key set has the token's key (a missing one is no error: another set may). */
async function hasKey(
  keys: ReturnType<typeof createRemoteJWKSet>,
  header: { alg?: unknown; kid?: unknown },
): Promise<boolean> {
  try {
    await keys(header as Parameters<typeof keys>[0]);
    return true;
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return false;
    throw error;
  }
}

function expired(agoSeconds: number): VerifyResult {
  return {
    ok: false,
    code: "ExpiredJWTToken",
    message: `Token has expired ${Math.max(0, Math.floor(agoSeconds))} seconds ago`,
  };
}

function decodeHeader(token: string): { alg?: unknown } {
  const part = token.split(".")[0] ?? "";
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const header = JSON.parse(json);
    return typeof header === "object" && header !== null ? header : {};
  } catch {
    throw new errors.JWSInvalid("malformed token header");
  }
}

/** A client-safe description of a verification failure (never echoes the token). */
function describe(error: unknown): string {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "Signature verification failed";
  }
  if (error instanceof errors.JWTClaimValidationFailed) return `Invalid claim: ${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "Algorithm not allowed";
  if (error instanceof errors.JOSEError) return "Malformed token";
  return "Token could not be verified";
}

/** Seconds until the claims expire (negative when already expired). */
export function secondsLeft(claims: Claims): number {
  return (claims.exp ?? Infinity) - Date.now() / 1000;
}
