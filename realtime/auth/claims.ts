/**
 * Access-token claims as the realtime server uses them. Tokens are shaped like Supabase's:
 * `{sub, role, aud, exp, iat, email, app_metadata: {clinic_id, clinic_ids, role, board}}`.
 */

export type AppRole = "patient" | "doctor" | "nurse" | "staff" | "admin" | "superadmin";

export interface AppMetadata {
  clinic_id?: string;
  clinic_ids?: string[];
  role?: AppRole | string;
  /** TV board tokens: `{board: true, clinic_id}`. */
  board?: boolean;
  [key: string]: unknown;
}

export interface Claims {
  sub?: string;
  /** Database role: `anon`, `authenticated`, `service_role`. */
  role: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  email?: string;
  app_metadata?: AppMetadata;
  [key: string]: unknown;
}

/** Claims that change on every refresh and never influence authorization. */
const VOLATILE = new Set(["exp", "iat", "nbf", "jti", "session_id"]);

/**
 * A stable key for "the same principal": two tokens with equal keys are authorized
 * identically, so their subscribers can share one authorization decision.
 */
export function principalKey(claims: Claims): string {
  return stableJson(claims, VOLATILE);
}

/** JSON with sorted object keys (and optional top-level keys left out). */
export function stableJson(value: unknown, omitTopLevel?: Set<string>): string {
  return JSON.stringify(sortKeys(value, omitTopLevel));
}

function sortKeys(value: unknown, omit?: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (omit?.has(key)) continue;
    out[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return out;
}

/** Every clinic the token names (`clinic_ids` plus `clinic_id`). */
export function clinicIds(claims: Claims): string[] {
  const meta = claims.app_metadata ?? {};
  const ids = new Set<string>();
  if (Array.isArray(meta.clinic_ids)) {
    for (const id of meta.clinic_ids) if (typeof id === "string") ids.add(id);
  }
  if (typeof meta.clinic_id === "string") ids.add(meta.clinic_id);
  return [...ids];
}

/** True for a TV board token. */
export function isBoard(claims: Claims): boolean {
  return claims.role === "anon" && claims.app_metadata?.board === true;
}
