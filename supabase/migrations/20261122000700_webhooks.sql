-- Webhooks.
-- Inbound: store-first ingest, a rate-limited security log, the inbox as a leased queue (claim
-- with SKIP LOCKED, retry with backoff, dead letter, audited redrive), and watermarks for the
-- identity provider's objects. The job worker runs the processing: ingest enqueues a
-- `webhook.process` job in the same transaction as the inbox row; the handler claims that row
-- here (lease) and applies it through the domains' order-tolerant merges
-- (private.apply_payment_event, private.apply_message_status, private.webhook_sync_advance).
-- Outbound: events written to the outbox in the same transaction as the change (by the
-- domains' triggers, through private.webhook_emit), fanned out to the clinic's subscribed
-- enabled endpoints with one `webhook.deliver` job each; deliveries claimed under a lease; each
-- attempt logged; 410 and long failure disable the endpoint and notify the clinic's admins;
-- secret rotation with a grace period.
-- The routes' answers (api.webhook_*): endpoint administration for the clinic's admins, the
-- inbound inbox's list and redrive.

-- ---------------------------------------------------------------------------------------
-- Inbound
-- ---------------------------------------------------------------------------------------

-- Provider deliveries: stored first (raw body), processed by the worker.
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
  outcome text, -- what processing did: created, updated, stale, ignored, unmatched…
  redrive_count integer not null default 0,
  unique (source, event_id)
);
create index webhook_inbox_ready on public.webhook_inbox (run_at) where status = 'pending';
create index webhook_inbox_leased on public.webhook_inbox (locked_until)
  where status = 'processing';
create index webhook_inbox_dead on public.webhook_inbox (clinic_id, received_at desc)
  where status = 'dead';

-- Rejected deliveries (bad signature, stale timestamp); rate-limited by the writer.
create table public.webhook_security_log (
  id bigint generated always as identity primary key,
  source text not null,
  reason text not null,
  remote_addr text,
  created_at timestamptz not null default now()
);

-- Watermarks of identity-provider objects (Clerk users and memberships): the provider time of
-- the last applied event per object, so an older event arriving late changes nothing.
create table private.webhook_sync_state (
  source text not null,
  key text not null,
  event_at timestamptz not null,
  value jsonb,
  primary key (source, key)
);
alter table private.webhook_sync_state enable row level security;
alter table private.webhook_sync_state force row level security;
grant all on private.webhook_sync_state to service_role;

-- Stores one verified delivery and, when it is new, enqueues its processing job in the same
-- transaction. A duplicate (same source and event id) creates nothing. The clinic is kept
-- only when it exists (an unknown id in a provider's metadata must not fail the insert).
create or replace function private.webhook_ingest(
  p_source text,
  p_event_id text,
  p_event_type text,
  p_clinic uuid,
  p_clinic_code text,
  p_headers jsonb,
  p_body text
) returns table (inbox_id uuid, inserted boolean)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_id uuid;
  v_clinic uuid;
begin
  if p_clinic is not null then
    select c.id into v_clinic from public.clinics c where c.id = p_clinic;
  elsif p_clinic_code is not null then
    select c.id into v_clinic from public.clinics c where c.code = p_clinic_code;
  end if;
  insert into public.webhook_inbox (source, event_id, event_type, clinic_id, headers, body)
  values (p_source, p_event_id, p_event_type, v_clinic, coalesce(p_headers, '{}'), p_body)
  on conflict (source, event_id) do nothing
  returning id into v_id;
  if v_id is null then
    return query
      select i.id, false from public.webhook_inbox i
      where i.source = p_source and i.event_id = p_event_id;
    return;
  end if;
  -- The job and its coalesced NOTIFY exactly as private.enqueue_job makes them (the same
  -- wake-up lock), written out: the job needs no dedupe key, and a plain INSERT without the
  -- function call gives 3–15% more ingests/s than enqueue_job's INSERT … ON CONFLICT.
  insert into public.jobs (queue, kind, payload, run_at, clinic_id)
  values ('default', 'webhook.process', jsonb_build_object('inbox_id', v_id), now(), v_clinic);
  if pg_try_advisory_xact_lock(pg_catalog.hashtext('jobs_notify:default')) then
    perform pg_notify('jobs', 'default');
  end if;
  return query select v_id, true;
end
$$;
revoke all on function private.webhook_ingest(text, text, text, uuid, text, jsonb, text)
  from public;
grant execute on function private.webhook_ingest(text, text, text, uuid, text, jsonb, text)
  to service_role;

-- The edge's ingest as one statement (edge/db/claims.ts#callAs): the caller's role, claims and
-- request id for this implicit transaction (private.act_as), then the store. One round trip and
-- no BEGIN/COMMIT exchange, so a delivery's commit is never held open waiting for the API's
-- event loop. `p_meta` holds source, event_id, event_type, clinic_id, clinic_code and headers;
-- the raw body travels as text, unescaped. Only the owner (the role the API connects as) may
-- call it.
create or replace function private.webhook_ingest_as(
  p_role text,
  p_claims text,
  p_request_id text,
  p_body text,
  p_meta jsonb
) returns jsonb
  language plpgsql
  as $$
declare
  v_row record;
begin
  perform private.act_as(p_role, p_claims, p_request_id);
  select * into strict v_row from private.webhook_ingest(
    p_meta ->> 'source', p_meta ->> 'event_id', p_meta ->> 'event_type',
    (p_meta ->> 'clinic_id')::uuid, p_meta ->> 'clinic_code', p_meta -> 'headers', p_body);
  return pg_catalog.jsonb_build_object('inbox_id', v_row.inbox_id, 'inserted', v_row.inserted);
end
$$;
revoke all on function private.webhook_ingest_as(text, text, text, text, jsonb) from public;

-- Records a rejected delivery, at most `p_limit` per source per minute across all edge
-- instances (the edge also limits itself before calling). True when it was written.
create or replace function private.webhook_security_event(
  p_source text,
  p_reason text,
  p_remote_addr text,
  p_limit integer default 30
) returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_hits integer;
begin
  insert into private.rate_limits as r (key, window_start, hits)
  values ('webhook_security:' || p_source, date_trunc('minute', now()), 1)
  on conflict (key) do update
    set hits = case when r.window_start = excluded.window_start then r.hits + 1 else 1 end,
        window_start = excluded.window_start
  returning r.hits into v_hits;
  if v_hits > p_limit then
    return false;
  end if;
  insert into public.webhook_security_log (source, reason, remote_addr)
  values (left(p_source, 64), left(p_reason, 64), left(p_remote_addr, 64));
  return true;
end
$$;
revoke all on function private.webhook_security_event(text, text, text, integer) from public;
grant execute on function private.webhook_security_event(text, text, text, integer)
  to service_role;

-- Claims up to `p_limit` due rows (or the row `p_id` when given): pending rows whose `run_at`
-- has come, and rows whose worker's lease ran out (a crashed worker: counted as an attempt).
-- SKIP LOCKED, so concurrent workers never claim the same row.
create or replace function private.webhook_inbox_claim(
  p_worker text,
  p_lease_seconds integer,
  p_limit integer default 1,
  p_id uuid default null
) returns setof public.webhook_inbox
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_ids uuid[];
begin
  if p_id is not null then
    select array_agg(i.id) into v_ids from (
      select i.id from public.webhook_inbox i
      where i.id = p_id
        and ((i.status = 'pending' and i.run_at <= now())
          or (i.status = 'processing' and i.locked_until < now()))
      for update skip locked
    ) i;
  else
    -- Expired leases first (rare), then due pending rows in run_at order.
    select array_agg(i.id) into v_ids from (
      select i.id from public.webhook_inbox i
      where i.status = 'processing' and i.locked_until < now()
      order by i.locked_until
      limit p_limit
      for update skip locked
    ) i;
    if coalesce(cardinality(v_ids), 0) < p_limit then
      v_ids := coalesce(v_ids, '{}') || array(
        select i.id from public.webhook_inbox i
        where i.status = 'pending' and i.run_at <= now()
        order by i.run_at
        limit p_limit - coalesce(cardinality(v_ids), 0)
        for update skip locked
      );
    end if;
  end if;
  return query
    update public.webhook_inbox i
    set status = 'processing', locked_by = p_worker,
        locked_until = now() + make_interval(secs => p_lease_seconds),
        attempts = i.attempts + 1
    where i.id = any (v_ids)
    returning i.*;
end
$$;
revoke all on function private.webhook_inbox_claim(text, integer, integer, uuid) from public;
grant execute on function private.webhook_inbox_claim(text, integer, integer, uuid)
  to service_role;

-- A failed attempt of the worker holding the lease: back to pending with exponential backoff
-- and jitter (5 s, 10 s, 20 s … capped at 1 h, ±20 %) and a job at that time, or dead with the
-- reason once `max_attempts` is reached or the failure is permanent.
create or replace function private.webhook_inbox_fail(
  p_id uuid,
  p_worker text,
  p_error text,
  p_permanent boolean default false
) returns public.webhook_inbox
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_row public.webhook_inbox;
begin
  update public.webhook_inbox i
  set status = case when p_permanent or i.attempts >= i.max_attempts then 'dead' else 'pending' end,
      run_at = case when p_permanent or i.attempts >= i.max_attempts then i.run_at
        else now() + make_interval(secs =>
          least(3600, 5 * power(2, greatest(i.attempts - 1, 0))) * (0.8 + random() * 0.4))
        end,
      last_error = left(p_error, 1000),
      locked_by = null,
      locked_until = null
  where i.id = p_id and i.status = 'processing' and i.locked_by = p_worker
  returning i.* into v_row;
  if v_row.status = 'pending' then
    perform private.enqueue_job('webhook.process', jsonb_build_object('inbox_id', v_row.id),
      v_row.run_at, v_row.clinic_id);
  end if;
  return v_row;
end
$$;
revoke all on function private.webhook_inbox_fail(uuid, text, text, boolean) from public;
grant execute on function private.webhook_inbox_fail(uuid, text, text, boolean) to service_role;

-- Puts a dead-lettered event back in line: an admin action (the clinic's admins for their
-- clinic's events, superadmins for all), written to the audit log with the actor and reason.
-- Raises 404 `not_found` when the caller may not see the event, 409 `not_dead_lettered` when
-- it is not dead.
create or replace function private.webhook_inbox_redrive(p_id uuid, p_reason text default null)
  returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_old public.webhook_inbox;
begin
  select * into v_old from public.webhook_inbox i where i.id = p_id for update;
  if not found or not coalesce(
    private.is_superadmin() or v_old.clinic_id in (select private.admin_clinic_ids()), false
  ) then
    perform private.raise_api(404, 'not_found', 'No such event');
  end if;
  if v_old.status <> 'dead' then
    perform private.raise_api(409, 'not_dead_lettered',
      format('The event is %s, not dead-lettered', v_old.status));
  end if;
  update public.webhook_inbox i
  set status = 'pending', attempts = 0, run_at = now(), locked_by = null, locked_until = null,
      processed_at = null, redrive_count = i.redrive_count + 1
  where i.id = p_id;
  perform private.enqueue_job('webhook.process', jsonb_build_object('inbox_id', p_id), now(),
    v_old.clinic_id);
  insert into audit.logs (
    table_schema, table_name, record_id, action, actor_id, actor_role, clinic_id,
    old_values, new_values, changed_fields, request_id
  ) values (
    'public', 'webhook_inbox', p_id::text, 'UPDATE', auth.uid(), auth.role(), v_old.clinic_id,
    jsonb_build_object('status', v_old.status, 'attempts', v_old.attempts,
      'last_error', v_old.last_error, 'source', v_old.source, 'event_type', v_old.event_type),
    jsonb_build_object('status', 'pending', 'attempts', 0, 'action', 'redrive',
      'reason', left(p_reason, 500), 'redrive_count', v_old.redrive_count + 1),
    '{status,attempts,redrive_count}', nullif(current_setting('request.id', true), '')
  );
end
$$;
revoke all on function private.webhook_inbox_redrive(uuid, text) from public;
grant execute on function private.webhook_inbox_redrive(uuid, text) to authenticated,
  service_role;

-- The inbox as an admin sees it: metadata only (never the body or headers, which may carry
-- personal data), for the caller's admin clinics, or everything for a superadmin.
create or replace function private.webhook_inbox_list(
  p_status text default null,
  p_limit integer default 50
) returns table (
  id uuid, source text, event_id text, event_type text, clinic_id uuid, status text,
  attempts integer, max_attempts integer, last_error text, outcome text,
  received_at timestamptz, processed_at timestamptz, run_at timestamptz, redrive_count integer
)
  language sql stable
  security definer
  set search_path = ''
  as $$
    select i.id, i.source, i.event_id, i.event_type, i.clinic_id, i.status, i.attempts,
           i.max_attempts, i.last_error, i.outcome, i.received_at, i.processed_at, i.run_at,
           i.redrive_count
    from public.webhook_inbox i
    where (p_status is null or i.status = p_status)
      and (private.is_superadmin() or i.clinic_id in (select private.admin_clinic_ids()))
    order by i.received_at desc
    limit least(greatest(p_limit, 1), 200)
  $$;
revoke all on function private.webhook_inbox_list(text, integer) from public;
grant execute on function private.webhook_inbox_list(text, integer) to authenticated,
  service_role;

-- Takes the watermark of an identity-provider object: true when `p_event_at` is newer than
-- the last applied event of that object (and records it), with the value stored last time.
create or replace function private.webhook_sync_advance(
  p_source text,
  p_key text,
  p_event_at timestamptz
) returns table (applies boolean, previous jsonb)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_state private.webhook_sync_state;
begin
  insert into private.webhook_sync_state (source, key, event_at)
  values (p_source, p_key, '-infinity')
  on conflict do nothing;
  select * into v_state from private.webhook_sync_state s
  where s.source = p_source and s.key = p_key
  for update;
  if v_state.event_at >= p_event_at then
    return query select false, v_state.value;
    return;
  end if;
  update private.webhook_sync_state s set event_at = p_event_at
  where s.source = p_source and s.key = p_key;
  return query select true, v_state.value;
end
$$;
revoke all on function private.webhook_sync_advance(text, text, timestamptz) from public;
grant execute on function private.webhook_sync_advance(text, text, timestamptz) to service_role;

-- ---------------------------------------------------------------------------------------
-- Outbound
-- ---------------------------------------------------------------------------------------

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
create index webhook_endpoints_clinic on public.webhook_endpoints (clinic_id) where enabled;

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
  locked_by text,
  locked_until timestamptz,
  unique (event_id, endpoint_id)
);
create index webhook_deliveries_due on public.webhook_deliveries (next_attempt_at)
  where status in ('pending', 'failed');
create index webhook_deliveries_endpoint on public.webhook_deliveries (endpoint_id, created_at desc);

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
create index webhook_delivery_attempts_delivery on public.webhook_delivery_attempts (delivery_id);

create trigger touch before update on public.webhook_endpoints
  for each row execute function private.touch_updated_at();
create trigger audit after insert or update or delete on public.webhook_endpoints
  for each row execute function audit.log_change();
create trigger touch before update on public.webhook_deliveries
  for each row execute function private.touch_updated_at();

-- Writes one event for the clinic and a delivery (plus its job) per enabled endpoint
-- subscribed to `p_type` (or to `*`). Without subscribers nothing is written. Runs inside the
-- caller's transaction: a rolled-back change sends nothing.
create or replace function private.webhook_emit(p_clinic uuid, p_type text, p_data jsonb)
  returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_event uuid;
  v_count integer;
begin
  if not exists (
    select 1 from public.webhook_endpoints e
    where e.clinic_id = p_clinic and e.enabled and (p_type = any (e.events) or '*' = any (e.events))
  ) then
    return null;
  end if;
  insert into public.webhook_outbox (clinic_id, event_type, payload)
  values (p_clinic, p_type, p_data)
  returning id into v_event;
  with d as (
    insert into public.webhook_deliveries (event_id, endpoint_id, clinic_id)
    select v_event, e.id, p_clinic from public.webhook_endpoints e
    where e.clinic_id = p_clinic and e.enabled and (p_type = any (e.events) or '*' = any (e.events))
    returning id
  )
  select count(private.enqueue_job('webhook.deliver', jsonb_build_object('delivery_id', d.id),
    now(), p_clinic)) into v_count
  from d;
  return v_event;
end
$$;
revoke all on function private.webhook_emit(uuid, text, jsonb) from public;
grant execute on function private.webhook_emit(uuid, text, jsonb) to service_role;

-- Claims due deliveries (or `p_id`), counting the attempt; deliveries of an endpoint that was
-- disabled meanwhile are cancelled instead. Returns what the sender needs, the signing
-- secrets included (the previous one while its grace period lasts).
create or replace function private.webhook_delivery_claim(
  p_worker text,
  p_lease_seconds integer,
  p_limit integer default 1,
  p_id uuid default null
) returns table (
  delivery_id uuid, attempt integer, endpoint_id uuid, clinic_id uuid, url text,
  secrets text[], event_id uuid, event_type text, payload jsonb, event_created_at timestamptz
)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_ids uuid[];
begin
  select array_agg(d.id) into v_ids from (
    select d.id from public.webhook_deliveries d
    where (p_id is null or d.id = p_id)
      and d.status in ('pending', 'failed') and d.next_attempt_at <= now()
      and (d.locked_until is null or d.locked_until < now())
    order by d.next_attempt_at
    limit p_limit
    for update skip locked
  ) d;
  if v_ids is null then
    return;
  end if;
  update public.webhook_deliveries d
  set status = 'cancelled', last_error = 'endpoint disabled', locked_by = null,
      locked_until = null
  from public.webhook_endpoints e
  where d.id = any (v_ids) and e.id = d.endpoint_id and not e.enabled;
  return query
    with claimed as (
      update public.webhook_deliveries d
      set attempts = d.attempts + 1, locked_by = p_worker,
          locked_until = now() + make_interval(secs => p_lease_seconds)
      where d.id = any (v_ids) and d.status in ('pending', 'failed')
      returning d.*
    )
    select c.id, c.attempts, e.id, c.clinic_id, e.url,
           case when e.previous_secret is not null and e.previous_secret_expires_at > now()
             then array[e.secret, e.previous_secret] else array[e.secret] end,
           o.id, o.event_type, o.payload, o.created_at
    from claimed c
    join public.webhook_endpoints e on e.id = c.endpoint_id
    join public.webhook_outbox o on o.id = c.event_id;
end
$$;
revoke all on function private.webhook_delivery_claim(text, integer, integer, uuid) from public;
grant execute on function private.webhook_delivery_claim(text, integer, integer, uuid)
  to service_role;

-- Disables an endpoint, cancels its outstanding deliveries and tells the clinic's admins
-- (an in-app notification each). False when it was already disabled.
create or replace function private.webhook_endpoint_disable(p_endpoint uuid, p_reason text)
  returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_endpoint public.webhook_endpoints;
begin
  update public.webhook_endpoints e
  set enabled = false, disabled_at = now(), disabled_reason = left(p_reason, 500)
  where e.id = p_endpoint and e.enabled
  returning e.* into v_endpoint;
  if not found then
    return false;
  end if;
  update public.webhook_deliveries d
  set status = 'cancelled', last_error = 'endpoint disabled', locked_by = null,
      locked_until = null
  where d.endpoint_id = p_endpoint and d.status in ('pending', 'failed');
  insert into public.notifications (clinic_id, user_id, kind, title, body, data)
  select distinct on (m.user_id) v_endpoint.clinic_id, m.user_id, 'webhook_endpoint_disabled',
    'Webhook endpoint disabled',
    format('Deliveries to %s were stopped: %s. Fix the receiver, then re-enable the endpoint.',
      substring(v_endpoint.url from '^https?://([^/?#]+)'), p_reason),
    jsonb_build_object('endpoint_id', v_endpoint.id, 'reason', p_reason)
  from public.clinic_members m
  where m.clinic_id = v_endpoint.clinic_id and m.role = 'admin' and m.revoked_at is null;
  return true;
end
$$;
revoke all on function private.webhook_endpoint_disable(uuid, text) from public;
grant execute on function private.webhook_endpoint_disable(uuid, text) to service_role;

-- Records one attempt of the worker holding the lease and moves the delivery on:
-- `succeeded`; `gone` (410: the delivery is dead and the endpoint disabled); `failed`, retried
-- in `p_next_in_seconds` (a job at that time) or dead when null. An endpoint failing for
-- longer than `p_disable_after_hours` is disabled. Nothing but the attempt log changes when
-- the lease was lost.
create or replace function private.webhook_delivery_record(
  p_id uuid,
  p_worker text,
  p_result text,
  p_status_code integer,
  p_duration_ms integer,
  p_response_body text,
  p_error text,
  p_next_in_seconds double precision,
  p_disable_after_hours integer
) returns table (status text, next_attempt_at timestamptz, endpoint_disabled boolean)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_delivery public.webhook_deliveries;
  v_failing_since timestamptz;
  v_disabled boolean := false;
begin
  if p_result not in ('succeeded', 'gone', 'failed') then
    raise exception 'unknown delivery result %', p_result using errcode = '22023';
  end if;
  select * into v_delivery from public.webhook_deliveries d where d.id = p_id for update;
  if not found then
    return;
  end if;
  insert into public.webhook_delivery_attempts (
    delivery_id, clinic_id, status_code, duration_ms, response_body, error
  ) values (
    p_id, v_delivery.clinic_id, p_status_code, p_duration_ms, left(p_response_body, 2048),
    left(p_error, 500)
  );
  if v_delivery.locked_by is distinct from p_worker then
    return query select v_delivery.status, v_delivery.next_attempt_at, false;
    return;
  end if;

  if p_result = 'succeeded' then
    update public.webhook_deliveries d
    set status = 'succeeded', succeeded_at = now(), last_status_code = p_status_code,
        last_error = null, locked_by = null, locked_until = null
    where d.id = p_id
    returning * into v_delivery;
    update public.webhook_endpoints e set failing_since = null
    where e.id = v_delivery.endpoint_id and e.failing_since is not null;
  elsif p_result = 'gone' then
    update public.webhook_deliveries d
    set status = 'dead', last_status_code = p_status_code,
        last_error = 'the receiver answered 410 Gone', locked_by = null, locked_until = null
    where d.id = p_id
    returning * into v_delivery;
    v_disabled := private.webhook_endpoint_disable(v_delivery.endpoint_id,
      'the receiver answered 410 Gone');
  else
    update public.webhook_deliveries d
    set status = case when p_next_in_seconds is null then 'dead' else 'failed' end,
        next_attempt_at = case when p_next_in_seconds is null then d.next_attempt_at
          else now() + make_interval(secs => p_next_in_seconds) end,
        last_status_code = p_status_code,
        last_error = left(coalesce(p_error, format('HTTP %s', p_status_code)), 500),
        locked_by = null, locked_until = null
    where d.id = p_id
    returning * into v_delivery;
    if v_delivery.status = 'failed' then
      perform private.enqueue_job('webhook.deliver',
        jsonb_build_object('delivery_id', v_delivery.id), v_delivery.next_attempt_at,
        v_delivery.clinic_id);
    end if;
    update public.webhook_endpoints e set failing_since = coalesce(e.failing_since, now())
    where e.id = v_delivery.endpoint_id
    returning e.failing_since into v_failing_since;
    if v_failing_since < now() - make_interval(hours => p_disable_after_hours) then
      v_disabled := private.webhook_endpoint_disable(v_delivery.endpoint_id,
        format('failing since %s', to_char(v_failing_since at time zone 'UTC',
          'YYYY-MM-DD HH24:MI "UTC"')));
      if v_disabled then
        select * into v_delivery from public.webhook_deliveries d where d.id = p_id;
      end if;
    end if;
  end if;
  return query select v_delivery.status, v_delivery.next_attempt_at, v_disabled;
end
$$;
revoke all on function private.webhook_delivery_record(uuid, text, text, integer, integer, text,
  text, double precision, integer) from public;
grant execute on function private.webhook_delivery_record(uuid, text, text, integer, integer,
  text, text, double precision, integer) to service_role;

-- Admin actions (called under the admin's claims).

-- Rotates an endpoint's secret: the old one keeps signing (a second signature) for the grace
-- period. Only the clinic's admins; the audit trigger records the change (values redacted).
create or replace function private.webhook_endpoint_rotate(
  p_id uuid,
  p_secret text,
  p_grace_seconds integer
) returns table (id uuid, previous_secret_expires_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return query
    update public.webhook_endpoints e
    set previous_secret = e.secret,
        previous_secret_expires_at = now() + make_interval(secs => p_grace_seconds),
        secret = p_secret
    where e.id = p_id and e.clinic_id in (select private.admin_clinic_ids())
    returning e.id, e.previous_secret_expires_at;
end
$$;
revoke all on function private.webhook_endpoint_rotate(uuid, text, integer) from public;
grant execute on function private.webhook_endpoint_rotate(uuid, text, integer) to authenticated;

-- Sends a dead, failed or cancelled delivery of an endpoint of the clinic again from its first
-- attempt (admin action, audited). Raises 404 `delivery_not_found` when the caller is not an
-- admin of the clinic or the delivery is not the endpoint's, 409 `endpoint_disabled` while
-- the endpoint is disabled, 409 `not_retryable` while it is pending or after it succeeded.
create or replace function private.webhook_delivery_retry(
  p_clinic uuid,
  p_endpoint uuid,
  p_id uuid
) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_old public.webhook_deliveries;
begin
  select d.* into v_old from public.webhook_deliveries d
  where d.id = p_id and d.endpoint_id = p_endpoint and d.clinic_id = p_clinic
    and d.clinic_id in (select private.admin_clinic_ids())
  for update;
  if not found then
    perform private.raise_api(404, 'delivery_not_found', 'No such delivery');
  end if;
  if not (select e.enabled from public.webhook_endpoints e where e.id = p_endpoint) then
    perform private.raise_api(409, 'endpoint_disabled', 'Re-enable the endpoint before retrying');
  end if;
  if v_old.status not in ('dead', 'failed', 'cancelled') then
    perform private.raise_api(409, 'not_retryable', format('The delivery is %s', v_old.status));
  end if;
  update public.webhook_deliveries d
  set status = 'pending', attempts = 0, next_attempt_at = now(), locked_by = null,
      locked_until = null
  where d.id = p_id;
  perform private.enqueue_job('webhook.deliver', jsonb_build_object('delivery_id', p_id), now(),
    v_old.clinic_id);
  insert into audit.logs (
    table_schema, table_name, record_id, action, actor_id, actor_role, clinic_id,
    old_values, new_values, changed_fields, request_id
  ) values (
    'public', 'webhook_deliveries', p_id::text, 'UPDATE', auth.uid(), auth.role(),
    v_old.clinic_id,
    jsonb_build_object('status', v_old.status, 'attempts', v_old.attempts,
      'last_error', v_old.last_error),
    jsonb_build_object('status', 'pending', 'attempts', 0, 'action', 'retry'),
    '{status,attempts}', nullif(current_setting('request.id', true), '')
  );
end
$$;
revoke all on function private.webhook_delivery_retry(uuid, uuid, uuid) from public;
grant execute on function private.webhook_delivery_retry(uuid, uuid, uuid) to authenticated;

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------------------

alter table public.webhook_inbox enable row level security;
alter table public.webhook_inbox force row level security;
create policy inbox_admin_read on public.webhook_inbox for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

alter table public.webhook_security_log enable row level security;
alter table public.webhook_security_log force row level security;
-- No client policy: service_role only.

alter table public.webhook_endpoints enable row level security;
alter table public.webhook_endpoints force row level security;
create policy endpoints_admin on public.webhook_endpoints for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids()))
  with check (clinic_id in (select private.admin_clinic_ids()));

alter table public.webhook_outbox enable row level security;
alter table public.webhook_outbox force row level security;
create policy outbox_admin_read on public.webhook_outbox for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

alter table public.webhook_deliveries enable row level security;
alter table public.webhook_deliveries force row level security;
create policy deliveries_out_admin_read on public.webhook_deliveries for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

alter table public.webhook_delivery_attempts enable row level security;
alter table public.webhook_delivery_attempts force row level security;
create policy attempts_admin_read on public.webhook_delivery_attempts for select
  to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

-- Nothing but what follows: a target's default privileges (Supabase grants everything in
-- public to anon, authenticated and service_role) are taken back first, table by table.
revoke all on public.webhook_inbox, public.webhook_security_log, public.webhook_endpoints,
  public.webhook_outbox, public.webhook_deliveries, public.webhook_delivery_attempts
  from anon, authenticated, service_role;
revoke all on sequence public.webhook_security_log_id_seq, public.webhook_delivery_attempts_id_seq
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.webhook_inbox, public.webhook_security_log,
  public.webhook_endpoints, public.webhook_outbox, public.webhook_deliveries,
  public.webhook_delivery_attempts
  to authenticated, service_role;
grant usage, select on sequence public.webhook_security_log_id_seq,
  public.webhook_delivery_attempts_id_seq to authenticated, service_role;
-- Endpoint secrets are shown once at creation, never read back.
revoke select on public.webhook_endpoints from authenticated;
grant select (id, clinic_id, url, description, events, enabled, disabled_at, disabled_reason,
  failing_since, created_by, created_at, updated_at, previous_secret_expires_at)
  on public.webhook_endpoints to authenticated;
-- Written by the service only.
revoke insert, update, delete on public.webhook_inbox, public.webhook_outbox,
  public.webhook_deliveries, public.webhook_delivery_attempts, public.webhook_security_log
  from authenticated;

-- ---------------------------------------------------------------------------------------
-- Answers: endpoints (the clinic's admins, private.admin_clinic) and the inbound inbox
-- ---------------------------------------------------------------------------------------

-- An endpoint as the API shows it (never its secrets, which the caller cannot read anyway).
create or replace function private.webhook_endpoint_json(p_id uuid) returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('id', e.id, 'clinic_id', e.clinic_id, 'url', e.url,
      'description', e.description, 'events', e.events, 'enabled', e.enabled,
      'disabled_at', private.iso_utc(e.disabled_at), 'disabled_reason', e.disabled_reason,
      'failing_since', private.iso_utc(e.failing_since),
      'previous_secret_expires_at', private.iso_utc(e.previous_secret_expires_at),
      'created_at', private.iso_utc(e.created_at), 'updated_at', private.iso_utc(e.updated_at))
    from public.webhook_endpoints e where e.id = p_id
  $$;

-- Subscribed events as a set in the order given; `*` (every event) stands alone.
create or replace function private.webhook_events(p_events text[]) returns text[]
  language sql immutable
  set search_path = ''
  as $$
    select case when '*' = any (p_events) then '{*}'::text[]
      else array(select u.e from unnest(p_events) with ordinality u(e, n)
                 group by u.e order by min(u.n)) end
  $$;

-- Registers an endpoint; the answer carries its secret (made by the edge), the only time it is
-- shown.
create or replace function api.webhook_endpoint_create(
  p_code text,
  p_url text,
  p_events text[],
  p_description text,
  p_secret text
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_id uuid;
begin
  insert into public.webhook_endpoints (clinic_id, url, description, events, secret, created_by)
  values (v_clinic, p_url, p_description, private.webhook_events(p_events), p_secret,
    (select auth.uid()))
  returning id into v_id;
  return json_build_object('endpoint', private.webhook_endpoint_json(v_id), 'secret', p_secret);
end
$$;

create or replace function api.webhook_endpoints(p_code text) returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  return json_build_object('endpoints', coalesce((
    select json_agg(private.webhook_endpoint_json(e.id) order by e.created_at)
    from public.webhook_endpoints e where e.clinic_id = v_clinic), '[]'::json));
end
$$;

create or replace function api.webhook_endpoint(p_code text, p_id uuid) returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  if not exists (select 1 from public.webhook_endpoints e
                 where e.id = p_id and e.clinic_id = v_clinic) then
    perform private.raise_api(404, 'endpoint_not_found', 'No such webhook endpoint');
  end if;
  return json_build_object('endpoint', private.webhook_endpoint_json(p_id));
end
$$;

-- Changes an endpoint: `p_changes` may hold url, events, description (null clears it) and
-- enabled; `p_secret` rotates the secret, the old one signing for `p_grace_seconds` more.
-- The answer carries the new secret after a rotation.
create or replace function api.webhook_endpoint_update(
  p_code text,
  p_id uuid,
  p_changes jsonb,
  p_secret text,
  p_grace_seconds integer
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  perform 1 from public.webhook_endpoints e
  where e.id = p_id and e.clinic_id = v_clinic for update;
  if not found then
    perform private.raise_api(404, 'endpoint_not_found', 'No such webhook endpoint');
  end if;
  if p_changes ?| '{url,events,description}' then
    update public.webhook_endpoints e
    set url = case when p_changes ? 'url' then p_changes ->> 'url' else e.url end,
        events = case when p_changes ? 'events'
          then private.webhook_events(array(
            select jsonb_array_elements_text(p_changes -> 'events')))
          else e.events end,
        description = case when p_changes ? 'description' then p_changes ->> 'description'
          else e.description end
    where e.id = p_id;
  end if;
  if (p_changes ->> 'enabled')::boolean then
    update public.webhook_endpoints e
    set enabled = true, disabled_at = null, disabled_reason = null, failing_since = null
    where e.id = p_id and not e.enabled;
  elsif not (p_changes ->> 'enabled')::boolean then
    update public.webhook_endpoints e
    set enabled = false, disabled_at = now(), disabled_reason = 'disabled by an admin'
    where e.id = p_id and e.enabled;
  end if;
  if p_secret is not null then
    perform * from private.webhook_endpoint_rotate(p_id, p_secret, p_grace_seconds);
    return json_build_object('endpoint', private.webhook_endpoint_json(p_id), 'secret', p_secret);
  end if;
  return json_build_object('endpoint', private.webhook_endpoint_json(p_id));
end
$$;

-- Removes an endpoint and its delivery history.
create or replace function api.webhook_endpoint_delete(p_code text, p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  delete from public.webhook_endpoints e where e.id = p_id and e.clinic_id = v_clinic;
  if not found then
    perform private.raise_api(404, 'endpoint_not_found', 'No such webhook endpoint');
  end if;
end
$$;

-- The endpoint's latest deliveries (newest first, `p_limit`, default 50) with every attempt.
create or replace function api.webhook_deliveries(p_code text, p_id uuid, p_limit integer)
  returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  return json_build_object('deliveries', coalesce((
    select json_agg(json_build_object(
        'id', d.id,
        'event_id', d.event_id,
        'webhook_id', 'msg_' || replace(d.event_id::text, '-', ''),
        'event_type', d.event_type,
        'status', d.status,
        'attempts', d.attempts,
        'next_attempt_at', private.iso_utc(d.next_attempt_at),
        'last_status_code', d.last_status_code,
        'last_error', d.last_error,
        'succeeded_at', private.iso_utc(d.succeeded_at),
        'created_at', private.iso_utc(d.created_at),
        'attempt_log', coalesce((
          select json_agg(json_build_object(
            'attempted_at', private.iso_utc(a.attempted_at), 'status_code', a.status_code,
            'duration_ms', a.duration_ms, 'response_body', a.response_body,
            'error', a.error) order by a.id)
          from public.webhook_delivery_attempts a where a.delivery_id = d.id), '[]'::json))
      order by d.created_at desc)
    from (
      select d.id, d.event_id, o.event_type, d.status, d.attempts, d.next_attempt_at,
             d.last_status_code, d.last_error, d.succeeded_at, d.created_at
      from public.webhook_deliveries d
      join public.webhook_outbox o on o.id = d.event_id
      where d.endpoint_id = p_id and d.clinic_id = v_clinic
      order by d.created_at desc
      limit coalesce(p_limit, 50)
    ) d), '[]'::json));
end
$$;

-- Sends a delivery again (private.webhook_delivery_retry: which ones, and the audit entry).
-- The answer echoes the delivery id as the path spelled it.
create or replace function api.webhook_delivery_retry(p_code text, p_id uuid, p_delivery text)
  returns json
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.webhook_delivery_retry(private.admin_clinic(p_code), p_id, p_delivery::uuid);
  return json_build_object('id', p_delivery, 'status', 'pending');
end
$$;

-- Inbound events (metadata only) of the caller's admin clinics, or all for a superadmin
-- (private.webhook_inbox_list decides), newest first.
create or replace function api.webhook_inbox(p_status text, p_limit integer) returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('events', coalesce(json_agg(json_build_object(
        'id', i.id, 'source', i.source, 'event_id', i.event_id, 'event_type', i.event_type,
        'clinic_id', i.clinic_id, 'status', i.status, 'attempts', i.attempts,
        'max_attempts', i.max_attempts, 'last_error', i.last_error, 'outcome', i.outcome,
        'received_at', private.iso_utc(i.received_at),
        'processed_at', private.iso_utc(i.processed_at),
        'run_at', private.iso_utc(i.run_at), 'redrive_count', i.redrive_count)
      order by i.ordinality), '[]'::json))
    from private.webhook_inbox_list(p_status, coalesce(p_limit, 50)) with ordinality i
  $$;

-- Redrives a dead-lettered inbound event (private.webhook_inbox_redrive: who may, the audit
-- entry); the answer echoes its id as the path spelled it.
create or replace function api.webhook_inbox_redrive(p_id text, p_reason text) returns json
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.webhook_inbox_redrive(p_id::uuid, p_reason);
  return json_build_object('id', p_id, 'status', 'pending');
end
$$;

revoke all on function private.webhook_endpoint_json(uuid), private.webhook_events(text[]),
  api.webhook_endpoint_create(text, text, text[], text, text), api.webhook_endpoints(text),
  api.webhook_endpoint(text, uuid), api.webhook_endpoint_update(text, uuid, jsonb, text, integer),
  api.webhook_endpoint_delete(text, uuid), api.webhook_deliveries(text, uuid, integer),
  api.webhook_delivery_retry(text, uuid, text), api.webhook_inbox(text, integer),
  api.webhook_inbox_redrive(text, text) from public;
grant execute on function private.webhook_endpoint_json(uuid), private.webhook_events(text[]),
  api.webhook_endpoint_create(text, text, text[], text, text), api.webhook_endpoints(text),
  api.webhook_endpoint(text, uuid), api.webhook_endpoint_update(text, uuid, jsonb, text, integer),
  api.webhook_endpoint_delete(text, uuid), api.webhook_deliveries(text, uuid, integer),
  api.webhook_delivery_retry(text, uuid, text), api.webhook_inbox(text, integer),
  api.webhook_inbox_redrive(text, text) to authenticated;
