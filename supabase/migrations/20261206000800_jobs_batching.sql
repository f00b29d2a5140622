-- The job worker's claims and completions, batched (edge/jobs/worker.ts).

-- A claim takes the next ready jobs in (priority desc, run_at, id) order. With `id` in the
-- index the order is the index's own, so a claim of N jobs reads about N entries; without it,
-- every ready job sharing a run_at (all those enqueued by one transaction) had to be sorted
-- for each claim.
drop index public.jobs_ready;
create index jobs_ready on public.jobs (queue, priority desc, run_at, id) where status = 'queued';

-- Most jobs have no dedupe key: index only those that do, so claiming and completing a job
-- (each writes a new row version) adds no entry for its null key. Inserts name the index's
-- predicate to use it as their ON CONFLICT arbiter (private.enqueue_job below, enqueue.ts).
alter table public.jobs drop constraint jobs_dedupe_key_key;
create unique index jobs_dedupe_key on public.jobs (dedupe_key) where dedupe_key is not null;

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
  on conflict (dedupe_key) where dedupe_key is not null do nothing
  returning id into v_id;
  -- Wake the workers only when there is something for them to claim now.
  if v_id is not null and p_run_at <= now()
    and pg_try_advisory_xact_lock(pg_catalog.hashtext('jobs_notify:' || p_queue)) then
    perform pg_notify('jobs', p_queue);
  end if;
  return v_id;
end
$$;

-- The worker's claim and outcome statements set updated_at themselves: the trigger (a
-- PL/pgSQL call per row) cost a fifth of their database time. It still stamps every other
-- change, which leaves updated_at as it was.
drop trigger touch on public.jobs;
create trigger touch before update on public.jobs
  for each row when (new.updated_at = old.updated_at)
  execute function private.touch_updated_at();

-- Claims the due rows among `p_ids` — the `webhook.process` jobs a worker runs at once,
-- applied together in one transaction (edge/webhooks/inbound/process.ts) — as
-- private.webhook_inbox_claim claims one: pending rows whose `run_at` has come and rows whose
-- worker's lease ran out (counted as an attempt), SKIP LOCKED.
create or replace function private.webhook_inbox_claim_ids(
  p_worker text,
  p_lease_seconds integer,
  p_ids uuid[]
) returns setof public.webhook_inbox
  language sql
  security definer
  set search_path = ''
  as $$
  update public.webhook_inbox i
  set status = 'processing', locked_by = p_worker,
      locked_until = now() + make_interval(secs => p_lease_seconds),
      attempts = i.attempts + 1
  where i.id = any (array(
    select d.id from public.webhook_inbox d
    where d.id = any (p_ids)
      and ((d.status = 'pending' and d.run_at <= now())
        or (d.status = 'processing' and d.locked_until < now()))
    order by d.id
    for update skip locked))
  returning i.*;
$$;
revoke all on function private.webhook_inbox_claim_ids(text, integer, uuid[]) from public;
grant execute on function private.webhook_inbox_claim_ids(text, integer, uuid[]) to service_role;
