/**
 * `deno task start`'s configuration (edge/start.ts): the API's, plus the embedded cluster, the
 * listening address, and what its job worker and realtime server take.
 */
import { apiVariables, type Config, loadConfig } from "./api.ts";
import { type EmailConfig, emailVariables, loadEmailConfig } from "./email.ts";
import {
  appEnv,
  type Env,
  int,
  type NotifyTransport,
  notifyTransport,
  realtimeMaxSocketsPerAddress,
  text,
} from "./env.ts";
import { loadTwilioConfig, type TwilioConfig, twilioVariables } from "./twilio.ts";
import { fileVapid, loadVapid, type VapidConfig, vapidVariables } from "./push.ts";

export interface StartConfig extends Config {
  /** `DATA_DIR`: the embedded cluster and the development secret (default `.data/`). */
  dataDir: string;
  /** `PG_PORT`: the embedded cluster's port (default: a free one). */
  pgPort?: number;
  /** `HOST`: the address to listen on (default `0.0.0.0`). */
  host: string;
  /** The job worker's channel transports (by `APP_ENV`). */
  notifyTransport: NotifyTransport;
  /** `SMTP_URL`, `EMAIL_FROM`…: e-mail over SMTP (unset: the development transport, or none). */
  email?: EmailConfig;
  /** `REALTIME_MAX_SOCKETS_PER_ADDRESS` (unset: the realtime server's default). */
  realtimeMaxSocketsPerAddress?: number;
  /** The Twilio SMS/WhatsApp transport of its job worker, when configured. */
  twilio?: TwilioConfig;
  /** The job worker's web push keys (development: a pair kept in `dataDir`). */
  vapid?: VapidConfig;
}

/** The variables {@linkcode loadStartConfig} reads (README "Environment", column `start`). */
export const startVariables = [
  ...apiVariables,
  "DATA_DIR",
  "PG_PORT",
  "HOST",
  "REALTIME_MAX_SOCKETS_PER_ADDRESS",
  ...twilioVariables,
  ...emailVariables,
  ...vapidVariables.slice(1),
] as const;

const defaultDataDir = new URL("../../.data", import.meta.url).pathname;

/** Development's JWT secret: generated once, kept in `dataDir`. */
function fileSecret(dataDir: string): string {
  const file = `${dataDir}/jwt_secret`;
  Deno.mkdirSync(dataDir, { recursive: true });
  try {
    return Deno.readTextFileSync(file).trim();
  } catch {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    Deno.writeTextFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}

/**
 * Reads `deno task start`'s configuration. Outside production without `JWT_SECRET`, the
 * secret is `developmentSecret(dataDir)`: by default generated once into `DATA_DIR`; likewise
 * the VAPID pair without any `VAPID_*` variable (`developmentVapid`).
 */
export function loadStartConfig(
  env: Env = Deno.env.toObject(),
  options: {
    developmentSecret?: (dataDir: string) => string;
    developmentVapid?: (dataDir: string) => VapidConfig;
  } = {},
): StartConfig {
  const name = appEnv(env);
  const dataDir = text(env, "DATA_DIR") ?? defaultDataDir;
  const generate = name !== "production" && !text(env, "JWT_SECRET");
  const jwtSecret = generate ? (options.developmentSecret ?? fileSecret)(dataDir) : undefined;
  const vapid = loadVapid(
    env,
    () => name === "production" ? undefined : (options.developmentVapid ?? fileVapid)(dataDir),
  );
  const config = loadConfig(env, { jwtSecret, vapidPublicKey: vapid?.publicKey });
  return {
    ...config,
    dataDir,
    pgPort: int(env, "PG_PORT"),
    host: text(env, "HOST") ?? "0.0.0.0",
    notifyTransport: notifyTransport(name),
    email: loadEmailConfig(env, () => ({ publicUrl: config.publicUrl, secret: config.jwtSecret })),
    realtimeMaxSocketsPerAddress: realtimeMaxSocketsPerAddress(env),
    twilio: loadTwilioConfig(env),
    vapid,
  };
}
