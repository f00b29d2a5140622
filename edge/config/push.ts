/**
 * Web push settings (RFC 8292 VAPID): the application server's P-256 key pair, which browsers
 * bind a subscription to, and the contact (`sub`) push services see in every request. The API
 * serves the public key (`GET /api/config`); the job worker signs with the pair.
 */
import { generateKeyPairSync } from "node:crypto";
import { type Env, text } from "./env.ts";

export interface VapidConfig {
  /** `VAPID_PUBLIC_KEY`: the uncompressed P-256 point, base64url (65 bytes). */
  publicKey: string;
  /** `VAPID_PRIVATE_KEY`: the private scalar, base64url (32 bytes). */
  privateKey: string;
  /** `VAPID_SUBJECT`: `mailto:` or `https:` contact of the operator. */
  subject: string;
}

/** The variables the job worker and `deno task start` read; the API reads the first. */
export const vapidVariables = ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"] as const;

const base64url = (bytes: number) => new RegExp(`^[A-Za-z0-9_-]{${Math.ceil(bytes * 4 / 3)}}$`);

/** `VAPID_PUBLIC_KEY`, checked; `fallback` when unset. */
export function vapidPublicKey(env: Env, fallback?: string): string | undefined {
  const key = text(env, "VAPID_PUBLIC_KEY") ?? fallback;
  if (key !== undefined && !(base64url(65).test(key) && key.startsWith("B"))) {
    throw new Error("VAPID_PUBLIC_KEY must be an uncompressed P-256 public key, base64url");
  }
  return key;
}

/**
 * The three VAPID variables: all set (checked), or none (web push is off; `fallback()`, e.g.
 * development's kept pair, stands in). One without the others is an error naming them.
 */
export function loadVapid(
  env: Env,
  fallback: () => VapidConfig | undefined = () => undefined,
): VapidConfig | undefined {
  const set = vapidVariables.filter((name) => text(env, name) !== undefined);
  if (set.length === 0) return fallback();
  if (set.length < vapidVariables.length) {
    const missing = vapidVariables.filter((name) => !set.includes(name));
    throw new Error(`${missing.join(" and ")} must be set with ${set.join(" and ")}`);
  }
  const privateKey = text(env, "VAPID_PRIVATE_KEY")!;
  if (!base64url(32).test(privateKey)) {
    throw new Error("VAPID_PRIVATE_KEY must be a P-256 private key (32 bytes), base64url");
  }
  const subject = text(env, "VAPID_SUBJECT")!;
  if (!/^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/.test(subject)) {
    throw new Error("VAPID_SUBJECT must be a mailto: address or an https: URL");
  }
  return { publicKey: vapidPublicKey(env)!, privateKey, subject };
}

/** A new VAPID key pair (base64url, as the variables take them). */
export function generateVapidKeys(): Omit<VapidConfig, "subject"> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const { x, y, d } = privateKey.export({ format: "jwk" });
  const coordinate = (b64url: string) => Uint8Array.fromBase64(b64url, { alphabet: "base64url" });
  const point = new Uint8Array([4, ...coordinate(x!), ...coordinate(y!)]);
  return {
    publicKey: point.toBase64({ alphabet: "base64url", omitPadding: true }),
    privateKey: d!,
  };
}

/**
 * Development's VAPID pair: generated once, kept in `dataDir` (like the JWT secret), so a
 * browser's subscription stays valid across restarts.
 */
export function fileVapid(dataDir: string): VapidConfig {
  const file = `${dataDir}/vapid.json`;
  Deno.mkdirSync(dataDir, { recursive: true });
  try {
    return JSON.parse(Deno.readTextFileSync(file));
  } catch {
    const keys = { ...generateVapidKeys(), subject: "mailto:push@localhost.invalid" };
    Deno.writeTextFileSync(file, JSON.stringify(keys), { mode: 0o600 });
    return keys;
  }
}
