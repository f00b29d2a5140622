/**
 * The service's job kinds and recurring jobs.
 *
 * | kind                      | payload                                   | what it does |
 * | ------------------------- | ----------------------------------------- | ------------ |
 * | `notification.deliver`    | `{delivery_id}`                           | sends one channel delivery of a notification (enqueued by `private.notify`) |
 * | `appointment.reminders`   | `{}`                                      | sends the reminders before visits that have come due (every minute) |
 * | `appointment.no_shows`    | `{}`                                      | marks visits not checked in by start + grace as no-shows (every minute) |
 * | `audit.ensure_partitions` | `{months_ahead?}`                         | monthly audit-log partitions ahead (daily) |
 * | `holds.purge_expired`     | `{}`                                      | deletes slot holds expired for over a minute (every 5 minutes) |
 * | `jobs.purge_finished`     | `{succeeded_days?, dead_days?}`           | deletes succeeded jobs after 7 days, dead ones after 30 (daily) |
 * | `auth.unlock_link`        | `{user_id, url}`                          | e-mails a sign-in unlock link (enqueued by `api.login_failed`) |
 * | `auth.account_email`      | `{purpose, url, user_id?, email?, invitation_id?}` | e-mails a password reset, e-mail verification, change-of-address or staff invitation link (edge/auth/account_mail.ts) |
 * | `auth.purge_expired`      | `{}`                                      | deletes expired rate-limit windows, refresh tokens, login throttling state, account links (hourly) |
 *
 * `serviceHandlers` adds the webhook kinds (`webhook.process`, `webhook.deliver`,
 * `webhook.sweep`, `webhook.purge`, see edge/webhooks/jobs.ts): every worker of the service —
 * the one inside `deno task start` and any started alone — must know every kind it may claim.
 *
 * A payload field of the wrong shape (job.ts's `uuidField`, `countField`) is a
 * `PermanentJobError` in every handler: the job is dead at its first attempt, since no retry
 * can change its payload.
 */
import { sendAccountEmail } from "../auth/account_mail.ts";
import { deliverNotification } from "../notify/deliver.ts";
import type { Transports } from "../notify/transport.ts";
import { type WebhookHandlerOptions, webhookHandlers, webhookSchedules } from "../webhooks/jobs.ts";
import { countField, type Handlers, type Schedule, uuidField } from "./job.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * 60 * MINUTE;

export function defaultHandlers(options: { transports: Transports }): Handlers {
  return {
    async "notification.deliver"(job, ctx) {
      const deliveryId = uuidField(job.payload, "delivery_id");
      const { finalAttempt } = ctx;
      await deliverNotification(ctx.sql, deliveryId, options.transports, { finalAttempt });
    },

    async "appointment.reminders"(_job, ctx) {
      await ctx.complete((tx) => tx`select private.send_due_reminders()`);
    },

    async "appointment.no_shows"(_job, ctx) {
      await ctx.complete((tx) => tx`select private.sweep_no_shows()`);
    },

    async "audit.ensure_partitions"(job, ctx) {
      const months = countField(job.payload, "months_ahead", 3);
      await ctx.complete((tx) => tx`select audit.ensure_partitions(${months})`);
    },

    async "holds.purge_expired"(_job, ctx) {
      await ctx.complete((tx) =>
        tx`
          delete from public.appointments
          where status = 'held' and hold_expires_at < now() - interval '1 minute'`
      );
    },

    async "jobs.purge_finished"(job, ctx) {
      const succeededDays = countField(job.payload, "succeeded_days", 7);
      const deadDays = countField(job.payload, "dead_days", 30);
      await ctx.complete((tx) =>
        tx`
          delete from public.jobs
          where (status = 'succeeded'
                 and finished_at < now() - ${succeededDays} * interval '1 day')
             or (status = 'dead' and finished_at < now() - ${deadDays} * interval '1 day')`
      );
    },

    "auth.unlock_link": (job, ctx) =>
      sendAccountEmail("login_unlock", job, ctx, options.transports.email),

    "auth.account_email": (job, ctx) =>
      sendAccountEmail(job.payload.purpose, job, ctx, options.transports.email),

    async "auth.purge_expired"(_job, ctx) {
      await ctx.complete((tx) =>
        tx`select api.purge_expired_auth_state(), private.purge_account_tokens()`
      );
    },
  };
}

export const defaultSchedules: Schedule[] = [
  { kind: "appointment.reminders", everyMs: MINUTE },
  { kind: "appointment.no_shows", everyMs: MINUTE },
  { kind: "audit.ensure_partitions", everyMs: DAY },
  { kind: "holds.purge_expired", everyMs: 5 * MINUTE },
  { kind: "jobs.purge_finished", everyMs: DAY },
  { kind: "auth.purge_expired", everyMs: HOUR },
];

/** Every job kind of the service: ours and the webhooks'. */
export function serviceHandlers(
  options: { transports: Transports; webhooks: WebhookHandlerOptions },
): Handlers {
  return { ...defaultHandlers(options), ...webhookHandlers(options.webhooks) };
}

/** Every recurring job of the service. */
export const serviceSchedules: Schedule[] = [...defaultSchedules, ...webhookSchedules];
