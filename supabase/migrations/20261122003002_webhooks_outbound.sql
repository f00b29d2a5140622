-- Webhooks, outbound: events written to the outbox by triggers in the same transaction as the
-- change, fanned out to the clinic's subscribed enabled endpoints with one `webhook.deliver`
-- job each; deliveries claimed under a lease; each attempt logged; 410 and long failure
-- disable the endpoint and notify the clinic's admins; secret rotation with a grace period.

alter table public.webhook_deliveries
  add column locked_by text,
  add column locked_until timestamptz;

create index webhook_endpoints_clinic on public.webhook_endpoints (clinic_id) where enabled;
create index webhook_deliveries_endpoint on public.webhook_deliveries (endpoint_id, created_at desc);
create index webhook_delivery_attempts_delivery on public.webhook_delivery_attempts (delivery_id);

-- ---------------------------------------------------------------------------------------
-- Emit and fan out
-- ---------------------------------------------------------------------------------------

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

-- Thin payloads: ids, statuses and times; never names, reasons or clinical details. Asks first
-- whether the clinic has a subscribed endpoint (most have none) before building the payload;
-- private.webhook_emit still decides.
create or replace function private.appointment_webhook_event() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  if new.status = 'held' then
    return null;
  end if;
  if tg_op = 'INSERT' or old.status = 'held' then
    v_type := case
      when new.status = 'cancelled' then null -- a hold given up
      when new.rescheduled_from is not null then 'appointment.rescheduled'
      else 'appointment.created' end;
  elsif new.status = 'cancelled' and old.status <> 'cancelled' then
    v_type := 'appointment.cancelled';
  elsif new.status = 'rescheduled' then
    v_type := null; -- the replacement appointment carries appointment.rescheduled
  elsif new.period is distinct from old.period then
    v_type := 'appointment.rescheduled';
  elsif new.status is distinct from old.status then
    v_type := 'appointment.status_changed';
  end if;
  if v_type is null then
    return null;
  end if;
  -- Nobody subscribed: no payload to build.
  if not exists (
    select 1 from public.webhook_endpoints e
    where e.clinic_id = new.clinic_id and e.enabled
      and (v_type = any (e.events) or '*' = any (e.events))
  ) then
    return null;
  end if;
  perform private.webhook_emit(new.clinic_id, v_type, jsonb_build_object(
    'appointment_id', new.id,
    'appointment_number', new.appointment_number,
    'status', new.status,
    'previous_status', case when tg_op = 'UPDATE' then old.status end,
    'doctor_id', new.doctor_id,
    'patient_id', new.patient_id,
    'start', lower(new.period),
    'end', upper(new.period),
    'previous_start', case when tg_op = 'UPDATE' and new.period is distinct from old.period
      then lower(old.period) end,
    'rescheduled_from', new.rescheduled_from,
    'payment_status', new.payment_status
  ));
  return null;
end
$$;
revoke all on function private.appointment_webhook_event() from public;

create trigger webhook_event_insert after insert on public.appointments
  for each row when (new.status <> 'held')
  execute function private.appointment_webhook_event();
create trigger webhook_event_update after update of status, period on public.appointments
  for each row when (old.status is distinct from new.status or old.period is distinct from new.period)
  execute function private.appointment_webhook_event();

create or replace function private.queue_ticket_webhook_event() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  if tg_op = 'INSERT' then
    v_type := 'queue.ticket_created';
  elsif new.status = 'called' and (old.status <> 'called' or new.call_count > old.call_count) then
    v_type := 'queue.ticket_called';
  elsif new.status is distinct from old.status then
    v_type := 'queue.ticket_status_changed';
  else
    return null;
  end if;
  perform private.webhook_emit(new.clinic_id, v_type, jsonb_build_object(
    'ticket_id', new.id,
    'code', new.code,
    'kind', new.kind,
    'status', new.status,
    'previous_status', case when tg_op = 'UPDATE' then old.status end,
    'service_date', new.service_date,
    'room', new.room,
    'doctor_id', new.doctor_id,
    'appointment_id', new.appointment_id,
    'called_at', new.called_at,
    'call_count', new.call_count
  ));
  return null;
end
$$;
revoke all on function private.queue_ticket_webhook_event() from public;

create trigger webhook_event_insert after insert on public.queue_tickets
  for each row execute function private.queue_ticket_webhook_event();
create trigger webhook_event_update after update of status, call_count on public.queue_tickets
  for each row when (old.status is distinct from new.status or old.call_count <> new.call_count)
  execute function private.queue_ticket_webhook_event();

create or replace function private.payment_webhook_event() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  v_type := case new.status
    when 'paid' then 'payment.completed'
    when 'failed' then 'payment.failed'
    when 'refunded' then 'payment.refunded'
    when 'partially_refunded' then 'payment.refunded'
    else null end;
  if v_type is null then
    return null;
  end if;
  perform private.webhook_emit(new.clinic_id, v_type, jsonb_build_object(
    'payment_id', new.id,
    'appointment_id', new.appointment_id,
    'patient_id', new.patient_id,
    'status', new.status,
    'amount', new.amount,
    'currency', new.currency,
    'refunded_amount', new.refunded_amount,
    'provider', new.provider,
    'paid_at', new.paid_at
  ));
  return null;
end
$$;
revoke all on function private.payment_webhook_event() from public;

create trigger webhook_event_insert after insert on public.payments
  for each row execute function private.payment_webhook_event();
create trigger webhook_event_update after update of status, refunded_amount on public.payments
  for each row when (old.status is distinct from new.status
    or old.refunded_amount <> new.refunded_amount)
  execute function private.payment_webhook_event();

-- ---------------------------------------------------------------------------------------
-- Delivery: claim under a lease, record each attempt
-- ---------------------------------------------------------------------------------------

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

-- ---------------------------------------------------------------------------------------
-- Admin actions (called under the admin's claims)
-- ---------------------------------------------------------------------------------------

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
