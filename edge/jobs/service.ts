/**
 * The service's job worker as `deno task start` and `edge/jobs/main.ts` run it: every job kind
 * and recurring job, sending through the transports the configuration chose.
 */
import type postgres from "postgres";
import type {
  EmailConfig,
  NotifyTransport,
  TwilioConfig,
  VapidConfig,
  WebhookConfig,
} from "../config.ts";
import {
  type ChannelStatus,
  channelStatus,
  closeTransports,
  configuredTransports,
  describeChannels,
} from "../notify/transport.ts";
import { serviceHandlers, serviceSchedules } from "./handlers.ts";
import { startWorker, type Worker, type WorkerOptions } from "./worker.ts";

export interface ServiceWorker extends Worker {
  /** Each channel's transport, `off` where none is configured (for `/api/health`). */
  readonly channels: ChannelStatus;
}

/** Logs which channels are off (nothing is dropped silently); `stop` closes the transports. */
export function startServiceWorker(
  sql: postgres.Sql,
  config: {
    notifyTransport: NotifyTransport;
    webhooks: WebhookConfig;
    twilio?: TwilioConfig;
    email?: EmailConfig;
    vapid?: VapidConfig;
  },
  options: Omit<WorkerOptions, "sql" | "handlers" | "schedules"> = {},
): ServiceWorker {
  const transports = configuredTransports(config.notifyTransport, sql, config);
  const channels = channelStatus(transports);
  console.log(describeChannels(channels));
  const worker = startWorker({
    ...options,
    sql,
    handlers: serviceHandlers({ transports, webhooks: { config: config.webhooks } }),
    schedules: serviceSchedules,
  });
  return {
    ...worker,
    channels,
    stop: async (stopOptions) => {
      await worker.stop(stopOptions);
      await closeTransports(transports);
    },
  };
}
