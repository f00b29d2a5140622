/**
 * Password hashing: PBKDF2-HMAC-SHA256 (Web Crypto) with a random 16-byte salt per user,
 * stored as `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>` (the seed's format), and a
 * constant-time comparison.
 */

const encoder = new TextEncoder();
const HASH_BYTES = 32;
/** Refuse stored hashes that would make one login cost minutes (a corrupted or hostile row). */
const MAX_ITERATIONS = 10_000_000;

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function derive(
  password: string,
  salt: Uint8Array,
  iterations: number,
  bytes: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

/** Compares two byte strings in time that depends only on their length (hashes: fixed). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function hashPassword(password: string, iterations: number): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations, HASH_BYTES);
  return `pbkdf2_sha256$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

export interface Verification {
  ok: boolean;
  /** The stored hash uses fewer iterations than configured: re-hash after a good login. */
  needsRehash: boolean;
}

/**
 * Checks `password` against a stored hash. No hash (no such account) and malformed hashes never
 * match, after the same work as a real check, so the answer's timing does not tell them apart.
 */
export async function verifyPassword(
  password: string,
  stored: string | null,
  configuredIterations: number,
): Promise<Verification> {
  const parts = (stored ?? "").split("$");
  const iterations = Number(parts[1]);
  if (
    parts.length !== 4 || parts[0] !== "pbkdf2_sha256" || !Number.isInteger(iterations) ||
    iterations < 1 || iterations > MAX_ITERATIONS
  ) {
    await burn(password, configuredIterations);
    return { ok: false, needsRehash: false };
  }
  let salt: Uint8Array;
  let expected: Uint8Array;
  try {
    salt = fromBase64(parts[2]);
    expected = fromBase64(parts[3]);
  } catch {
    await burn(password, configuredIterations);
    return { ok: false, needsRehash: false };
  }
  const actual = await derive(password, salt, iterations, expected.length || HASH_BYTES);
  const ok = timingSafeEqual(actual, expected);
  return { ok, needsRehash: ok && iterations < configuredIterations };
}

const dummySalt = crypto.getRandomValues(new Uint8Array(16));

/** Spends the same work as a real check, so an unknown email answers no faster than a known one. */
async function burn(password: string, iterations: number): Promise<void> {
  await derive(password, dummySalt, iterations, HASH_BYTES);
}
