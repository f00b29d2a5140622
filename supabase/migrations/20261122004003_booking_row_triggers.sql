-- Booking performance (issue 3), part 3: two more row triggers on appointments, same results
-- in fewer statements.
--
-- * private.appointment_defaults numbers a booking with one statement — the clinic's zone and
--   code and the day's counter upsert together — instead of a clinic lookup plus a call of
--   private.next_number (same counter row, same format as 20261122001004).
-- * private.appointment_webhook_event asks whether the clinic has a subscribed endpoint before
--   it builds the event's payload (most clinics have none: the trigger then did a jsonb build
--   and a private.webhook_emit call to learn that). private.webhook_emit still decides.

create or replace function private.appointment_defaults() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_code text;
  v_n integer;
  v_tz text;
begin
  if new.status <> 'held' and new.appointment_number is null then
    -- The local date, the clinic's code and the next number of that clinic day.
    insert into private.day_counters as d (clinic_id, day, kind, value)
    select c.id, (lower(new.period) at time zone c.timezone)::date, 'appointment', 1
    from public.clinics c where c.id = new.clinic_id
    on conflict (clinic_id, day, kind) do update set value = d.value + 1
    returning d.day, d.value, (select c.code from public.clinics c where c.id = d.clinic_id)
    into new.service_date, v_n, v_code;
    if v_n is null then
      new.service_date := null; -- no such clinic (as before: a NOT NULL violation)
    else
      new.appointment_number := format('%s-%s-%s', v_code, to_char(new.service_date, 'YYMMDD'),
        lpad(v_n::text, greatest(3, length(v_n::text)), '0'));
    end if;
  else
    select c.timezone into v_tz from public.clinics c where c.id = new.clinic_id;
    new.service_date := (lower(new.period) at time zone v_tz)::date;
  end if;
  if new.status <> 'held' then
    new.hold_expires_at := null;
  end if;
  return new;
end
$$;
revoke all on function private.appointment_defaults() from public;

-- Thin payloads: ids, statuses and times; never names, reasons or clinical details (as in
-- 20261122003002_webhooks_outbound.sql).
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
