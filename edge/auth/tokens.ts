/**
 * Access tokens: short-lived HS256 JWTs shaped like Supabase's, so the same token drives RLS
 * (`request.jwt.claims`) and realtime. Also the anon key, TV board tokens, and verification of
 * external identity-provider tokens (RS256/ES256 against a JWKS).
 */
import * as jose from "jose";
import type { Config } from "../config.ts";
import { validSubject } from "./subject.ts";

export type AppRole = "patient" | "doctor" | "nurse" | "staff" | "admin" | "superadmin";

export interface AppMetadata {
  clinic_id?: string | null;
  clinic_ids?: string[];
  role?: AppRole;
  board?: boolean;
  provider?: string;
}

/** The claims every verified token resolves to (what RLS sees). */
export interface TokenClaims {
  sub?: string;
  role: "anon" | "authenticated" | "service_role";
  aud?: string | string[];
  iss?: string;
  exp?: number;
  iat?: number;
  email?: string;
  session_id?: string;
  app_metadata?: AppMetadata;
  [claim: string]: unknown;
}

/** Why a token was refused, as the 401's error code. */
export type TokenErrorCode =
  | "token_expired"
  | "token_not_yet_valid"
  | "token_invalid_audience"
  | "token_invalid_issuer"
  | "token_invalid_algorithm"
  | "token_invalid_signature"
  | "token_malformed"
  | "token_invalid_claims";

export class TokenError extends Error {
  constructor(readonly code: TokenErrorCode, message: string) {
    super(message);
    this.name = "TokenError";
  }
}

const audiences = ["authenticated", "anon", "board"];

export interface TokenService {
  signAccess(input: {
    userId: string;
    email: string;
    sessionId: string;
    appMetadata: AppMetadata;
    fullName?: string;
  }): Promise<{ token: string; expiresIn: number }>;
  signAnonKey(): Promise<string>;
  signBoard(boardTokenId: string, clinicId: string, expiresAt?: Date): Promise<string>;
  /** Verifies one of our tokens (HS256) or, when configured, an external RS256/ES256 token. */
  verify(token: string): Promise<{ claims: TokenClaims; external: boolean }>;
}

export function createTokenService(config: Config): TokenService {
  // Imported once: handing jose the raw bytes would import an HMAC key on every call.
  let imported: Promise<CryptoKey> | undefined;
  const hmacKey = () =>
    imported ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(config.jwtSecret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
  const jwks = config.jwksUrl ? jose.createRemoteJWKSet(new URL(config.jwksUrl)) : undefined;
  const supabase = supabaseKeys(config);
  // Our tokens that verified, with their claims: HS256 verification through WebCrypto costs
  // ~40 µs of CPU per request, and a token that verified once verifies again with the same key
  // — only the time checks can change their answer, so a hit re-checks `exp` and `nbf` exactly
  // as jose does (and anything else goes through jose). Keyed by the whole token; bounded.
  const verified = new Map<string, { claims: TokenClaims; exp: number; nbf?: number }>();

  async function sign(claims: jose.JWTPayload, expiresIn: number | string) {
    return new jose.SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(config.jwtIssuer)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(await hmacKey());
  }

  return {
    async signAccess({ userId, email, sessionId, appMetadata, fullName }) {
      const token = await new jose.SignJWT({
        role: "authenticated",
        email,
        session_id: sessionId,
        app_metadata: { provider: "email", ...appMetadata },
        user_metadata: fullName ? { full_name: fullName } : {},
      })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(userId)
        .setAudience("authenticated")
        .setIssuer(config.jwtIssuer)
        .setIssuedAt()
        .setExpirationTime(`${config.accessTokenTtl}s`)
        .sign(await hmacKey());
      return { token, expiresIn: config.accessTokenTtl };
    },
    signAnonKey() {
      return sign({ role: "anon", aud: "anon" }, "3650d");
    },
    signBoard(boardTokenId, clinicId, expiresAt) {
      return sign(
        {
          role: "anon",
          aud: "board",
          sub: boardTokenId,
          app_metadata: { board: true, clinic_id: clinicId },
        },
        expiresAt ? Math.floor(expiresAt.getTime() / 1000) : "365d",
      );
    },
    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        const now = Math.floor(Date.now() / 1000);
        if (hit.exp > now && !(hit.nbf !== undefined && hit.nbf > now)) {
          return { claims: hit.claims, external: false };
        }
        verified.delete(token);
      }
      let header: jose.ProtectedHeaderParameters;
      try {
        header = jose.decodeProtectedHeader(token);
      } catch {
        throw new TokenError("token_malformed", "The token is not a JWT");
      }
      try {
        const fromSupabase = supabase && await supabase.key(token, header, config.jwtIssuer);
        if (fromSupabase) {
          const { payload } = await jose.jwtVerify(token, fromSupabase, {
            algorithms: ["HS256", "ES256", "RS256"],
            requiredClaims: ["exp", "role"],
          });
          return { claims: deepFreeze(checkSupabaseShape(payload)), external: false };
        }
        if (header.alg === "HS256") {
          const { payload } = await jose.jwtVerify(token, await hmacKey(), {
            algorithms: ["HS256"],
            issuer: config.jwtIssuer,
            audience: audiences,
            requiredClaims: ["exp", "role"],
          });
          const claims = deepFreeze(checkShape(payload));
          if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!);
          verified.set(token, {
            claims,
            exp: payload.exp!,
            nbf: typeof payload.nbf === "number" ? payload.nbf : undefined,
          });
          return { claims, external: false };
        }
        if (jwks && (header.alg === "RS256" || header.alg === "ES256")) {
          const { payload } = await jose.jwtVerify(token, jwks, {
            algorithms: ["RS256", "ES256"],
            issuer: config.jwksIssuer,
            audience: config.jwksAudience,
            requiredClaims: ["exp", "sub"],
          });
          return { claims: { ...payload, role: "authenticated" } as TokenClaims, external: true };
        }
        throw new TokenError(
          "token_invalid_algorithm",
          `Tokens signed with ${header.alg} are not accepted`,
        );
      } catch (error) {
        throw toTokenError(error);
      }
    },
  };
}

/** Verified tokens kept (the oldest goes first): ~10k callers active within a token's life. */
const MAX_VERIFIED = 10_000;

/** Claims shared by every request with the same token: nobody may change them. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * AUTH_MODE=supabase: the key of a token issued by the project's Supabase Auth, or undefined
 * for anything else. HS256 tokens are Supabase's unless their `iss` is ours (the two secrets may
 * be one, as on the Edge Function); ES256/RS256 ones when the project's JWKS has their key
 * (else they go to `JWKS_URL`'s provider, if any).
 */
function supabaseKeys(config: Config) {
  const auth = config.supabaseAuth;
  if (!auth) return undefined;
  const secret = auth.jwtSecret ? new TextEncoder().encode(auth.jwtSecret) : undefined;
  const jwks = auth.jwksUrl ? jose.createRemoteJWKSet(new URL(auth.jwksUrl)) : undefined;
  return {
    async key(
      token: string,
      header: jose.ProtectedHeaderParameters,
      ourIssuer: string,
    ): Promise<Uint8Array | jose.CryptoKey | undefined> {
      if (header.alg === "HS256") {
        if (!secret) return undefined;
        let issuer: unknown;
        try {
          issuer = jose.decodeJwt(token).iss;
        } catch {
          return undefined;
        }
        return issuer === ourIssuer ? undefined : secret;
      }
      if (!jwks || (header.alg !== "ES256" && header.alg !== "RS256")) return undefined;
      try {
        return await jwks(header, { payload: "", signature: "" } as jose.FlattenedJWSInput);
      } catch (error) {
        if ((error as { code?: string }).code === "ERR_JWKS_NO_MATCHING_KEY") return undefined;
        throw error;
      }
    },
  };
}

/** A Supabase Auth token: a user (`authenticated`, uuid `sub`) or the anon key; nothing else. */
function checkSupabaseShape(payload: jose.JWTPayload): TokenClaims {
  if (payload.role !== "anon" && payload.role !== "authenticated") {
    throw new TokenError("token_invalid_claims", "The token's role is not accepted");
  }
  return checkShape(payload);
}

function checkShape(payload: jose.JWTPayload): TokenClaims {
  const role = payload.role;
  if (role !== "anon" && role !== "authenticated" && role !== "service_role") {
    throw new TokenError("token_invalid_claims", "The token's role is not recognised");
  }
  if (role === "authenticated" && typeof payload.sub !== "string") {
    throw new TokenError("token_invalid_claims", "The token has no subject");
  }
  if (!validSubject(payload.sub)) {
    throw new TokenError("token_invalid_claims", "The token's subject is not a user id");
  }
  return payload as TokenClaims;
}

function toTokenError(error: unknown): TokenError {
  if (error instanceof TokenError) return error;
  const e = error as { code?: string; claim?: string };
  switch (e.code) {
    case "ERR_JWT_EXPIRED":
      return new TokenError("token_expired", "The token has expired");
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (e.claim === "nbf" || e.claim === "iat") {
        return new TokenError("token_not_yet_valid", "The token is not valid yet");
      }
      if (e.claim === "aud") {
        return new TokenError("token_invalid_audience", "Wrong token audience");
      }
      if (e.claim === "iss") return new TokenError("token_invalid_issuer", "Wrong token issuer");
      return new TokenError("token_invalid_claims", "The token's claims are not valid");
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
    case "ERR_JWKS_NO_MATCHING_KEY":
      return new TokenError(
        "token_invalid_algorithm",
        "The token's algorithm or key is not accepted",
      );
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new TokenError("token_invalid_signature", "The token's signature is invalid");
  }
  return new TokenError("token_malformed", "The token could not be read");
}
