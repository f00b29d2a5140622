-- Webhooks, inbound: store-first ingest, a rate-limited security log, the inbox as a leased
-- queue (claim with SKIP LOCKED, retry with backoff, dead letter, audited redrive), and the
-- order-tolerant state merges the event handlers use.
--
-- The job worker runs the processing: ingest enqueues a `webhook.process` job in the same
-- transaction as the inbox row; the handler claims that row here (lease) and applies it.

alter table public.webhook_inbox
  add column outcome text, -- what processing did: created, updated, stale, ignored, unmatched…
  add column redrive_count integer not null default 0;

create index webhook_inbox_leased on public.webhook_inbox (locked_until)
  where status = 'processing';
create index webhook_inbox_dead on public.webhook_inbox (clinic_id, received_at desc)
  where status = 'dead';

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

-- ---------------------------------------------------------------------------------------
-- Ingest
-- ---------------------------------------------------------------------------------------

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
  -- wake-up lock), written out: the job has no dedupe key, and the plain INSERT here instead of
  -- enqueue_job's INSERT … ON CONFLICT and function call measured 3–15% more ingests/s.
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

-- The edge's ingest as one statement (edge/db/claims.ts#callAs): set the role, claims and
-- request id for this implicit transaction as private.book_as does, then store. One round trip
-- and no BEGIN/COMMIT exchange, so a delivery's commit is never held open waiting for the API's
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

-- ---------------------------------------------------------------------------------------
-- The inbox as a leased queue
-- ---------------------------------------------------------------------------------------

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

-- ---------------------------------------------------------------------------------------
-- Order-tolerant merges used by the handlers
-- ---------------------------------------------------------------------------------------

-- Progress order of a payment: an update never moves a payment to a lower rank once it is
-- paid, and otherwise only a newer provider event (or an equally old one of higher rank)
-- applies.
create or replace function private.payment_status_rank(p_status public.payment_status)
  returns integer
  language sql immutable
  set search_path = ''
  as $$
    select case p_status
      when 'unpaid' then 0 when 'pending' then 1 when 'failed' then 2 when 'cancelled' then 3
      when 'paid' then 4 when 'partially_refunded' then 5 when 'refunded' then 6 end
  $$;

create or replace function private.payment_event_applies(
  p_old public.payment_status,
  p_old_at timestamptz,
  p_new public.payment_status,
  p_new_at timestamptz
) returns boolean
  language sql immutable
  set search_path = ''
  as $$
    select case
      when p_old_at is null then true
      when private.payment_status_rank(p_old) >= 4
        and private.payment_status_rank(p_new) < private.payment_status_rank(p_old) then false
      when p_new_at > p_old_at then true
      when p_new_at = p_old_at then private.payment_status_rank(p_new)
        > private.payment_status_rank(p_old)
      else false
    end
  $$;

-- Applies one provider payment event. Creates the payment when it is unknown and the
-- metadata names a patient of the clinic; returns created | updated | stale | unmatched.
-- The appointment's payment status follows the best payment it has.
create or replace function private.apply_payment_event(
  p_provider text,
  p_provider_payment_id text,
  p_clinic uuid,
  p_patient uuid,
  p_appointment uuid,
  p_amount numeric,
  p_currency text,
  p_status public.payment_status,
  p_event_at timestamptz,
  p_refunded numeric default null
) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_payment public.payments;
  v_outcome text;
  v_appointment uuid;
begin
  select * into v_payment from public.payments p
  where p.provider = p_provider and p.provider_payment_id = p_provider_payment_id
  for update;
  if not found then
    if p_clinic is null or p_patient is null or p_amount is null
      or not exists (
        select 1 from public.patients pt where pt.id = p_patient and pt.clinic_id = p_clinic
      ) then
      return 'unmatched';
    end if;
    if p_appointment is not null and not exists (
      select 1 from public.appointments a
      where a.id = p_appointment and a.clinic_id = p_clinic and a.patient_id = p_patient
    ) then
      p_appointment := null;
    end if;
    insert into public.payments as p (
      clinic_id, patient_id, appointment_id, amount, currency, status, provider,
      provider_payment_id, provider_event_at, paid_at, refunded_amount
    ) values (
      p_clinic, p_patient, p_appointment, p_amount, upper(coalesce(p_currency, 'SGD')),
      p_status, p_provider, p_provider_payment_id, p_event_at,
      case when private.payment_status_rank(p_status) >= 4 then p_event_at end,
      coalesce(p_refunded, 0)
    )
    on conflict (provider, provider_payment_id) do nothing
    returning p.appointment_id into v_appointment;
    if not found then
      -- A concurrent event created it: apply this one on top.
      return private.apply_payment_event(p_provider, p_provider_payment_id, p_clinic, p_patient,
        p_appointment, p_amount, p_currency, p_status, p_event_at, p_refunded);
    end if;
    v_outcome := 'created';
  else
    if not private.payment_event_applies(v_payment.status, v_payment.provider_event_at,
      p_status, p_event_at) then
      return 'stale';
    end if;
    update public.payments p
    set status = p_status,
        provider_event_at = p_event_at,
        amount = coalesce(p_amount, p.amount),
        paid_at = case when private.payment_status_rank(p_status) >= 4
          then coalesce(p.paid_at, p_event_at) else p.paid_at end,
        refunded_amount = greatest(p.refunded_amount, coalesce(p_refunded, 0))
    where p.id = v_payment.id;
    v_appointment := v_payment.appointment_id;
    v_outcome := 'updated';
  end if;
  if v_appointment is not null then
    update public.appointments a
    set payment_status = best.status
    from (
      select p.status from public.payments p
      where p.appointment_id = v_appointment
      order by case p.status when 'refunded' then 6 when 'partially_refunded' then 5
        when 'paid' then 4 when 'pending' then 3 when 'failed' then 2 when 'cancelled' then 1
        else 0 end desc, p.provider_event_at desc nulls last
      limit 1
    ) best
    where a.id = v_appointment and a.payment_status is distinct from best.status;
  end if;
  return v_outcome;
end
$$;
revoke all on function private.apply_payment_event(text, text, uuid, uuid, uuid, numeric, text,
  public.payment_status, timestamptz, numeric) from public;
grant execute on function private.apply_payment_event(text, text, uuid, uuid, uuid, numeric,
  text, public.payment_status, timestamptz, numeric) to service_role;

-- Delivery status order of a notification: pending < sent < delivered | failed (both final).
-- A lower status never replaces a higher one; between the two final ones, only a strictly
-- newer provider event applies (providers without event times: the first final one stays).
create or replace function private.apply_message_status(
  p_provider text,
  p_message_id text,
  p_status text,
  p_event_at timestamptz,
  p_error text default null
) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_row public.notification_deliveries;
  v_old_rank integer;
  v_new_rank integer;
begin
  if p_status not in ('pending', 'sent', 'delivered', 'failed') then
    raise exception 'unknown delivery status %', p_status using errcode = '22023';
  end if;
  select * into v_row from public.notification_deliveries d
  where d.provider = p_provider and d.provider_message_id = p_message_id
  for update;
  if not found then
    return 'unmatched';
  end if;
  v_old_rank := case v_row.status when 'pending' then 0 when 'sent' then 1
    when 'skipped' then 3 else 2 end;
  v_new_rank := case p_status when 'pending' then 0 when 'sent' then 1 else 2 end;
  if v_old_rank > v_new_rank or v_old_rank = 3 then
    return 'stale';
  end if;
  if v_old_rank = v_new_rank then
    if v_row.status = p_status then
      return 'unchanged';
    end if;
    if p_event_at is null or v_row.provider_event_at is null
      or p_event_at <= v_row.provider_event_at then
      return 'stale';
    end if;
  end if;
  -- A higher status always applies, even when its event is older than the applied one (a
  -- "delivered" whose callback overtook the "sent"): the newer event time is kept.
  update public.notification_deliveries d
  set status = p_status,
      provider_event_at = greatest(d.provider_event_at, p_event_at),
      sent_at = case when p_status in ('sent', 'delivered')
        then coalesce(d.sent_at, p_event_at, now()) else d.sent_at end,
      delivered_at = case when p_status = 'delivered'
        then coalesce(p_event_at, now()) else d.delivered_at end,
      failed_at = case when p_status = 'failed' then coalesce(p_event_at, now()) else d.failed_at end,
      last_error = case when p_status = 'failed' then left(p_error, 200) else d.last_error end
  where d.id = v_row.id;
  return 'updated';
end
$$;
revoke all on function private.apply_message_status(text, text, text, timestamptz, text)
  from public;
grant execute on function private.apply_message_status(text, text, text, timestamptz, text)
  to service_role;

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
