-- Operations: the job queue, Idempotency-Key records, feature flags, system settings and user
-- feedback.

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
-- every transaction that enqueued anything would serialize on it (bench/booking: ~300–400/s
-- instead of ~800/s with bookings enqueuing jobs due later). A job due later is started by the
-- worker's poll (its claim skips `run_at > now()` anyway); a deduplicated job needs no wake-up.
-- And only one transaction at a time per queue notifies (private.webhook_ingest takes the same
-- lock): the others' jobs are claimed by the worker that notification wakes, or by its
-- follow-up claim shortly after (edge/jobs/worker.ts), so bookings by patients who consent to
-- SMS or e-mail — each enqueues a delivery due now — do not queue up behind each other's
-- commits (+17% DB-only booking throughput for such patients).
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

-- Idempotency-Key records (IETF httpapi draft): per caller and endpoint, kept at least 24
-- hours (api.book; purged by api.purge_expired_auth_state).
create table public.idempotency_keys (
  user_id uuid not null references public.users (id) on delete cascade,
  key text not null check (length(key) between 1 and 255),
  endpoint text not null,
  request_hash text not null,
  response_status integer not null,
  response_body jsonb not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '24 hours',
  primary key (user_id, endpoint, key),
  check (expires_at >= created_at + interval '24 hours')
);

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

create table public.user_feedback (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete set null,
  clinic_id uuid references public.clinics (id) on delete cascade,
  rating integer check (rating between 1 and 5),
  feedback_text text check (length(feedback_text) <= 5000),
  page_url text,
  created_at timestamptz not null default now()
);

create trigger touch before update on public.jobs
  for each row execute function private.touch_updated_at();
create trigger touch before update on public.feature_flags
  for each row execute function private.touch_updated_at();
create trigger audit after insert or update or delete on public.feature_flags
  for each row execute function audit.log_change();
create trigger touch before update on public.system_settings
  for each row execute function private.touch_updated_at();
create trigger audit after insert or update or delete on public.system_settings
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------------------

alter table public.jobs enable row level security;
alter table public.jobs force row level security;
-- No client policy: service_role only.

alter table public.idempotency_keys enable row level security;
alter table public.idempotency_keys force row level security;
create policy idempotency_own on public.idempotency_keys for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

alter table public.feature_flags enable row level security;
alter table public.feature_flags force row level security;
create policy flags_read on public.feature_flags for select to authenticated using (true);

alter table public.system_settings enable row level security;
alter table public.system_settings force row level security;
create policy settings_read on public.system_settings for select to authenticated
  using (is_public or clinic_id in (select private.admin_clinic_ids()));
create policy settings_admin_write on public.system_settings for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids()))
  with check (clinic_id in (select private.admin_clinic_ids()));

alter table public.user_feedback enable row level security;
alter table public.user_feedback force row level security;
-- Feedback is about a clinic the author belongs to (or none): no writing into another tenant.
create policy feedback_own on public.user_feedback for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid())
    and (clinic_id is null or clinic_id in (select private.member_clinic_ids())));
create policy feedback_admin_read on public.user_feedback for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

-- Nothing but what follows: a target's default privileges (Supabase grants everything in
-- public to anon, authenticated and service_role) are taken back first, table by table.
revoke all on public.jobs, public.idempotency_keys, public.feature_flags, public.system_settings,
  public.user_feedback
  from anon, authenticated, service_role;
revoke all on sequence public.jobs_id_seq from anon, authenticated, service_role;
grant select, insert, update, delete on public.jobs, public.idempotency_keys,
  public.feature_flags, public.system_settings, public.user_feedback
  to authenticated, service_role;
grant usage, select on sequence public.jobs_id_seq to authenticated, service_role;
-- Written by the service only.
revoke insert, update, delete on public.jobs from authenticated;
