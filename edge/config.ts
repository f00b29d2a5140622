/**
 * Configuration from the environment: one loader per process kind, each validating what it
 * reads at start (a bad value is an error naming the variable). README "Environment" lists
 * the same variables per kind (tests/config_test.ts holds the two together).
 *
 * | kind       | entry                                                | loader               |
 * | ---------- | ---------------------------------------------------- | -------------------- |
 * | `start`    | `deno task start` (edge/start.ts)                    | `loadStartConfig`    |
 * | `api`      | edge/main.ts, supabase/functions/api                 | `loadConfig`         |
 * | `worker`   | edge/jobs/main.ts                                    | `loadWorkerConfig`   |
 * | `realtime` | realtime/main.ts                                     | `loadRealtimeConfig` |
 */
import { apiVariables } from "./config/api.ts";
import { realtimeVariables } from "./config/realtime.ts";
import { startVariables } from "./config/start.ts";
import { workerVariables } from "./config/worker.ts";

export { apiVariables, type Config, defaultPoolSize, loadConfig } from "./config/api.ts";
export { loadStartConfig, type StartConfig, startVariables } from "./config/start.ts";
export { loadWorkerConfig, type WorkerConfig, workerVariables } from "./config/worker.ts";
export { loadRealtimeConfig, type RealtimeConfig, realtimeVariables } from "./config/realtime.ts";
export { loadWebhookConfig, type WebhookConfig, webhookVariables } from "./config/webhooks.ts";
export { loadTwilioConfig, type TwilioConfig, twilioVariables } from "./config/twilio.ts";
export { type EmailConfig, emailVariables, loadEmailConfig } from "./config/email.ts";
export type { AppEnvName, Env, NotifyTransport } from "./config/env.ts";
export type { VapidConfig } from "./config/push.ts";

export type ProcessKind = "start" | "api" | "worker" | "realtime";

/** Every variable each process kind reads (`<…>`: a family, any suffix). */
export const processVariables: Record<ProcessKind, readonly string[]> = {
  start: startVariables,
  api: apiVariables,
  worker: workerVariables,
  realtime: realtimeVariables,
};

/**
 * A process's configuration at its start: a bad or missing variable ends the process with
 * the loader's message (exit code 2) rather than a stack trace.
 */
export function configOrExit<T>(process: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    console.error(`${process}: ${error instanceof Error ? error.message : error}`);
    Deno.exit(2);
  }
}
