/**
 * The service's job worker as `deno task start` and `edge/jobs/main.ts` run it: every job kind
 * and recurring job, sending through the transports the configuration chose.
 */
import type postgres from "postgres";
import type { NotifyTransport, VapidConfig, WebhookConfig } from "../config.ts";
import { configuredTransports } from "../notify/transport.ts";
import { serviceHandlers, serviceSchedules } from "./handlers.ts";
import { startWorker, type Worker, type WorkerOptions } from "./worker.ts";

export function startServiceWorker(
  sql: postgres.Sql,
  config: { notifyTransport: NotifyTransport; webhooks: WebhookConfig; vapid?: VapidConfig },
  options: Omit<WorkerOptions, "sql" | "handlers" | "schedules"> = {},
): Worker {
  const transports = configuredTransports(config.notifyTransport, sql, config);
  return startWorker({
    ...options,
    sql,
    handlers: serviceHandlers({ transports, webhooks: { config: config.webhooks } }),
    schedules: serviceSchedules,
  });
}
