-- Operations: notifications and their channel deliveries, inbound webhook inbox, outbound
-- webhook endpoints/outbox/deliveries, jobs, feature flags, system settings, feedback.

create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  user_id uuid not null references public.users (id) on delete cascade,
  kind text not null, -- booking_confirmed, ticket_called, queue_near, reminder, …
  title text not null,
  body text not null,
  data jsonb not null default '{}',
  read_at timestamptz,
  created_at timestamptz not null default now()
);
create index notifications_user on public.notifications (user_id, created_at desc);
create index notifications_unread on public.notifications (user_id) where read_at is null;

create type public.delivery_channel as enum ('email', 'sms', 'whatsapp', 'push');

create table public.notification_deliveries (
  id uuid primary key default gen_random_uuid(),
  notification_id uuid not null references public.notifications (id) on delete cascade,
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  channel public.delivery_channel not null,
  recipient text not null,
  status text not null default 'pending'
    check (status in ('pending', 'sent', 'delivered', 'failed', 'skipped')),
  provider text,
  provider_message_id text,
  provider_event_at timestamptz, -- latest provider status applied (order-tolerant updates)
  attempts integer not null default 0,
  last_error text,
  sent_at timestamptz,
  delivered_at timestamptz,
  failed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (notification_id, channel),
  unique (provider, provider_message_id)
);

-- Inbound provider webhooks: stored first (raw body), processed by the worker.
create table public.webhook_inbox (
  id uuid primary key default gen_random_uuid(),
  source text not null, -- stripe, twilio, clerk, svix, …
  event_id text not null,
  event_type text,
  clinic_id uuid references public.clinics (id) on delete set null,
  headers jsonb not null default '{}',
  body text not null,
  status text not null default 'pending'
    check (status in ('pending', 'processing', 'processed', 'dead')),
  attempts integer not null default 0,
  max_attempts integer not null default 8,
  run_at timestamptz not null default now(),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  unique (source, event_id)
);
create index webhook_inbox_ready on public.webhook_inbox (run_at) where status = 'pending';

-- Rejected deliveries (bad signature, stale timestamp); rate-limited by the writer.
create table public.webhook_security_log (
  id bigint generated always as identity primary key,
  source text not null,
  reason text not null,
  remote_addr text,
  created_at timestamptz not null default now()
);

create table public.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  url text not null check (url ~ '^https?://' and length(url) <= 2000),
  description text,
  events text[] not null default '{}',
  secret text not null check (secret like 'whsec_%'),
  previous_secret text,
  previous_secret_expires_at timestamptz,
  enabled boolean not null default true,
  disabled_at timestamptz,
  disabled_reason text,
  failing_since timestamptz,
  created_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Outbound events, written in the same transaction as the change they describe.
create table public.webhook_outbox (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  event_type text not null,
  payload jsonb not null,
  created_at timestamptz not null default now()
);

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  event_id uuid not null references public.webhook_outbox (id) on delete cascade,
  endpoint_id uuid not null references public.webhook_endpoints (id) on delete cascade,
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  status text not null default 'pending'
    check (status in ('pending', 'succeeded', 'failed', 'dead', 'cancelled')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_status_code integer,
  last_error text,
  succeeded_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (event_id, endpoint_id)
);
create index webhook_deliveries_due on public.webhook_deliveries (next_attempt_at)
  where status in ('pending', 'failed');

create table public.webhook_delivery_attempts (
  id bigint generated always as identity primary key,
  delivery_id uuid not null references public.webhook_deliveries (id) on delete cascade,
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  attempted_at timestamptz not null default now(),
  status_code integer,
  duration_ms integer,
  response_body text check (length(response_body) <= 2048),
  error text
);

create type public.job_status as enum ('queued', 'running', 'succeeded', 'dead');

-- The job queue: claimed with FOR UPDATE SKIP LOCKED under a lease (`locked_until`).
create table public.jobs (
  id bigint generated always as identity primary key,
  queue text not null default 'default',
  kind text not null,
  payload jsonb not null default '{}',
  clinic_id uuid references public.clinics (id) on delete cascade,
  status public.job_status not null default 'queued',
  priority integer not null default 0,
  attempts integer not null default 0,
  max_attempts integer not null default 5 check (max_attempts > 0),
  run_at timestamptz not null default now(),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  dedupe_key text unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);
create index jobs_ready on public.jobs (queue, priority desc, run_at) where status = 'queued';
create index jobs_leased on public.jobs (locked_until) where status = 'running';

-- Enqueue from any transaction (triggers, handlers): the job commits or rolls back with it.
-- `NOTIFY jobs` only for a job it inserted that is due now: a notifying commit takes
-- PostgreSQL's global notify lock (PreCommit_Notify) and holds it through its WAL flush, so
-- every transaction that enqueued anything would serialize on it (bench/booking ran at
-- ~300–400/s instead of ~800/s when bookings enqueued jobs due later). A job due later is
-- started by the worker's poll (its claim skips `run_at > now()` anyway); a deduplicated job
-- needs no wake-up. And only one transaction at a time per queue notifies (as
-- private.webhook_ingest does): the others' jobs are claimed by the worker that notification
-- wakes, or by its follow-up claim shortly after (edge/jobs/worker.ts), so bookings by
-- patients who consent to SMS or e-mail — each enqueues a delivery due now — do not queue up
-- behind each other's commits (DB-only booking throughput for such patients +17%).
create or replace function private.enqueue_job(
  p_kind text,
  p_payload jsonb default '{}',
  p_run_at timestamptz default now(),
  p_clinic uuid default null,
  p_dedupe_key text default null,
  p_queue text default 'default'
) returns bigint
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_id bigint;
begin
  insert into public.jobs (queue, kind, payload, run_at, clinic_id, dedupe_key)
  values (p_queue, p_kind, p_payload, p_run_at, p_clinic, p_dedupe_key)
  on conflict (dedupe_key) do nothing
  returning id into v_id;
  -- Wake the workers only when there is something for them to claim now.
  if v_id is not null and p_run_at <= now()
    and pg_try_advisory_xact_lock(pg_catalog.hashtext('jobs_notify:' || p_queue)) then
    perform pg_notify('jobs', p_queue);
  end if;
  return v_id;
end
$$;
revoke all on function private.enqueue_job(text, jsonb, timestamptz, uuid, text, text) from public;

create table public.feature_flags (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  description text,
  is_enabled boolean not null default false,
  rollout_percentage integer not null default 0 check (rollout_percentage between 0 and 100),
  enabled_for_clinics uuid[] not null default '{}',
  configuration jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.system_settings (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid references public.clinics (id) on delete cascade, -- null = global
  category text not null,
  key text not null,
  value jsonb not null,
  description text,
  is_public boolean not null default false,
  updated_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique nulls not distinct (clinic_id, category, key)
);

-- Seed 000 pointed this at a non-existent public.users of another schema (003's finding);
-- here it references the one users table.
create table public.user_feedback (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete set null,
  clinic_id uuid references public.clinics (id) on delete cascade,
  rating integer check (rating between 1 and 5),
  feedback_text text check (length(feedback_text) <= 5000),
  page_url text,
  created_at timestamptz not null default now()
);

do $$
declare
  t text;
begin
  foreach t in array array[
    'notification_deliveries', 'webhook_endpoints', 'webhook_deliveries', 'jobs',
    'feature_flags', 'system_settings'
  ] loop
    execute format(
      'create trigger touch before update on public.%I for each row execute function private.touch_updated_at()',
      t);
  end loop;
  foreach t in array array[
    'notifications', 'notification_deliveries', 'webhook_inbox', 'webhook_security_log',
    'webhook_endpoints', 'webhook_outbox', 'webhook_deliveries', 'webhook_delivery_attempts',
    'jobs', 'feature_flags', 'system_settings', 'user_feedback'
  ] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
  end loop;
end
$$;

create policy notifications_own_read on public.notifications for select to authenticated
  using (user_id = (select auth.uid()));
create policy notifications_own_mark_read on public.notifications for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

create policy deliveries_own_read on public.notification_deliveries for select to authenticated
  using (notification_id in (
    select n.id from public.notifications n where n.user_id = (select auth.uid())
  ));
create policy deliveries_admin_read on public.notification_deliveries for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

create policy inbox_admin_read on public.webhook_inbox for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

create policy endpoints_admin on public.webhook_endpoints for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids()))
  with check (clinic_id in (select private.admin_clinic_ids()));
create policy outbox_admin_read on public.webhook_outbox for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));
create policy deliveries_out_admin_read on public.webhook_deliveries for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));
create policy attempts_admin_read on public.webhook_delivery_attempts for select
  to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

-- jobs and webhook_security_log: no client policy at all (service_role only).

create policy flags_read on public.feature_flags for select to authenticated using (true);

create policy settings_read on public.system_settings for select to authenticated
  using (is_public or clinic_id in (select private.admin_clinic_ids()));
create policy settings_admin_write on public.system_settings for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids()))
  with check (clinic_id in (select private.admin_clinic_ids()));

-- Feedback is about a clinic the author belongs to (or none): no writing into another tenant.
create policy feedback_own on public.user_feedback for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid())
    and (clinic_id is null or clinic_id in (select private.member_clinic_ids())));
create policy feedback_admin_read on public.user_feedback for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));
