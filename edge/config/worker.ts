/**
 * The job worker's configuration when it runs alone (edge/jobs/main.ts, for scale-out); the
 * worker inside `deno task start` takes `StartConfig`'s.
 */
import {
  appEnv,
  type AppEnvName,
  databaseSocket,
  databaseUrl,
  type Env,
  int,
  jwtSecret,
  list,
  type NotifyTransport,
  notifyTransport,
  url as absoluteUrl,
} from "./env.ts";
import { loadTwilioConfig, type TwilioConfig, twilioVariables } from "./twilio.ts";
import { type EmailConfig, emailVariables, loadEmailConfig } from "./email.ts";
import { loadVapid, type VapidConfig, vapidVariables } from "./push.ts";
import { loadWebhookConfig, type WebhookConfig, webhookVariables } from "./webhooks.ts";

export interface WorkerConfig {
  env: AppEnvName;
  /** `DATABASE_URL` (required). */
  databaseUrl: string;
  /** `DATABASE_SOCKET`: a Unix socket of that server, as for the API. */
  databaseSocket?: string;
  /** `WORKER_CONCURRENCY`: jobs run at once (default 10). */
  concurrency: number;
  /** `WORKER_QUEUES`: the queues it claims from, comma-separated (default `default`). */
  queues: string[];
  /** Channel transports (by `APP_ENV`). */
  notifyTransport: NotifyTransport;
  /** `SMTP_URL`, `EMAIL_FROM`…: e-mail over SMTP (with `PUBLIC_URL` and `JWT_SECRET`). */
  email?: EmailConfig;
  /** Outbound webhook delivery settings. */
  webhooks: WebhookConfig;
  /** The Twilio SMS/WhatsApp transport, when configured. */
  twilio?: TwilioConfig;
  /** Web push (VAPID) keys and contact; unset: no push transport. */
  vapid?: VapidConfig;
}

/** The variables {@linkcode loadWorkerConfig} reads (README "Environment", column `worker`). */
export const workerVariables = [
  "APP_ENV",
  "DATABASE_URL",
  "DATABASE_SOCKET",
  "WORKER_CONCURRENCY",
  "WORKER_QUEUES",
  ...emailVariables,
  "PUBLIC_URL",
  "JWT_SECRET",
  ...vapidVariables,
  ...webhookVariables,
  ...twilioVariables,
] as const;

/** Reads the worker's configuration; throws, naming the variable, when one is missing or bad. */
export function loadWorkerConfig(env: Env = Deno.env.toObject()): WorkerConfig {
  const name = appEnv(env);
  const url = databaseUrl(env);
  const concurrency = int(env, "WORKER_CONCURRENCY", 10, 1);
  const queues = list(env, "WORKER_QUEUES");
  const webhooks = loadWebhookConfig(env);
  const twilio = loadTwilioConfig(env);
  const email = loadEmailConfig(env, () => ({
    publicUrl: absoluteUrl(env, "PUBLIC_URL", ["http:", "https:"]),
    secret: jwtSecret(env, name),
  }));
  const vapid = loadVapid(env);
  if (!url) throw new Error("DATABASE_URL is required");
  return {
    env: name,
    databaseUrl: url,
    databaseSocket: databaseSocket(env),
    concurrency,
    queues: queues.length ? queues : ["default"],
    notifyTransport: notifyTransport(name),
    email,
    webhooks,
    twilio,
    vapid,
  };
}
