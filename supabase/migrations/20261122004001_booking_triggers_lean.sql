-- Booking performance (issue 3), part 1: the work that other features hang on an appointment
-- insert, made cheaper without changing what it writes. Profiled with bench/booking,
-- pg_stat_statements, pg_stat_user_functions and pgbench (docs/BENCHMARKS.md has the figures).
--
-- * private.enqueue_job sends `NOTIFY jobs` only for a job it actually inserted that is due
--   now. A notifying commit takes PostgreSQL's global notify lock (PreCommit_Notify) and holds
--   it through its WAL flush, so every booking that enqueued a job due later (reminder jobs,
--   before reminders became a sweep) serialized on it: with 8 connections the booking
--   transaction alone ran at ~300–400/s instead of ~800/s. A NOTIFY for a job that is not due yet wakes the worker for
--   nothing (its claim skips `run_at > now()`); such a job is started by the worker's poll,
--   which is what happened before as well. A deduplicated (not inserted) job needs no wake-up.
-- * private.local_time / local_datetime lose their SET clause so the planner inlines them;
--   private.appointment_place is PL/pgSQL (a SECURITY DEFINER SQL function is parsed and
--   planned on every call — the same fix as 20261122001003_rls_helpers_plpgsql.sql).
-- * private.appointment_notify reads the clinic and doctor once (it read the clinic three
--   times and the doctor once, through three helpers).
-- * private.notify reads the patient and the account in one query and only looks for channels
--   when the patient has consented to one and has an address for it.
--
-- Same rows, same texts, same transaction.

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
  if v_id is not null and p_run_at <= now() then
    perform pg_notify('jobs', p_queue);
  end if;
  return v_id;
end
$$;
revoke all on function private.enqueue_job(text, jsonb, timestamptz, uuid, text, text) from public;

-- Inlinable: no SET clause, only pg_catalog functions (qualified).
create or replace function private.local_time(p_at timestamptz, p_tz text) returns text
  language sql stable
  as $$ select pg_catalog.to_char(p_at at time zone p_tz, 'HH24:MI') $$;

create or replace function private.local_datetime(p_at timestamptz, p_tz text) returns text
  language sql stable
  as $$ select pg_catalog.to_char(p_at at time zone p_tz, 'Dy FMDD Mon YYYY "at" HH24:MI') $$;

-- "with Dr Tan Wei Ming at Gabriel Family Clinic (Tampines)"
create or replace function private.appointment_place(p_appointment public.appointments)
  returns text
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (
    select format('with %s at %s', d.display_name,
      c.name || coalesce(' (' || c.branch_name || ')', ''))
    from public.doctors d, public.clinics c
    where d.id = p_appointment.doctor_id and c.id = p_appointment.clinic_id);
end
$$;
revoke all on function private.appointment_place(public.appointments) from public;

create or replace function private.notify(
  p_clinic uuid,
  p_patient uuid,
  p_kind text,
  p_title text,
  p_body text,
  p_data jsonb default '{}',
  p_user uuid default null
) returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_who record;
  v_patient public.patients;
  v_prefs jsonb;
  v_id uuid;
  v_delivery uuid;
  r record;
begin
  -- The patient (when given and not deleted) and the account told: `p_user`, else the
  -- patient's; nobody when that account is missing, inactive or deleted.
  select p as patient, u.id as user_id, coalesce(u.notification_preferences, '{}') as prefs
  into v_who
  from (values (1)) as one (x)
  left join public.patients p on p.id = p_patient and p.deleted_at is null
  left join public.users u on u.id = coalesce(p_user, p.user_id)
    and u.is_active and u.deleted_at is null;
  if v_who.user_id is null then
    return null;
  end if;
  v_patient := v_who.patient;
  v_prefs := v_who.prefs;

  insert into public.notifications (clinic_id, user_id, kind, title, body, data)
  values (p_clinic, v_who.user_id, p_kind, p_title, p_body, coalesce(p_data, '{}'))
  returning id into v_id;

  if v_patient.id is null then
    return v_id;
  end if;
  -- No channel can qualify without a consent and an address for it.
  if not ((v_patient.email_consent and nullif(btrim(v_patient.email::text), '') is not null)
          or ((v_patient.sms_consent or v_patient.whatsapp_consent)
              and nullif(btrim(v_patient.phone), '') is not null)) then
    return v_id;
  end if;
  for r in
    select c.channel, c.recipient
    from (values
      ('email'::public.delivery_channel, v_patient.email_consent, v_patient.email::text),
      ('sms'::public.delivery_channel, v_patient.sms_consent, v_patient.phone),
      ('whatsapp'::public.delivery_channel, v_patient.whatsapp_consent, v_patient.phone)
    ) as c (channel, consent, recipient)
    where c.consent
      and nullif(btrim(c.recipient), '') is not null
      and (v_prefs -> c.channel::text) is distinct from 'false'::jsonb
      and (v_prefs -> 'kinds' -> p_kind -> c.channel::text) is distinct from 'false'::jsonb
  loop
    insert into public.notification_deliveries (notification_id, clinic_id, channel, recipient)
    values (v_id, p_clinic, r.channel, r.recipient)
    returning id into v_delivery;
    perform private.enqueue_job('notification.deliver',
      jsonb_build_object('delivery_id', v_delivery), now(), p_clinic,
      'notification.deliver:' || v_delivery);
  end loop;
  return v_id;
end
$$;
revoke all on function private.notify(uuid, uuid, text, text, text, jsonb, uuid) from public;

-- Booking notifications, written in the transaction that changes the appointment (same rules
-- and texts as 20261122002001_notifications.sql).
create or replace function private.appointment_notify() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_kind text;
  v_tz text;
  v_when text;
  v_place text;
  v_title text;
  v_body text;
begin
  if new.status = 'held' then
    return null;
  end if;
  if tg_op = 'INSERT' then
    if new.status in ('scheduled', 'confirmed') then
      v_kind := case when new.rescheduled_from is null then 'booking_confirmed'
                     else 'booking_rescheduled' end;
    end if;
  elsif new.status in ('scheduled', 'confirmed') and old.status = 'held' then
    v_kind := case when new.rescheduled_from is null then 'booking_confirmed'
                   else 'booking_rescheduled' end;
  elsif new.status in ('scheduled', 'confirmed') and old.status in ('scheduled', 'confirmed')
    and (new.period is distinct from old.period or new.doctor_id is distinct from old.doctor_id)
  then
    v_kind := 'booking_rescheduled';
  elsif new.status = 'cancelled' and old.status not in ('cancelled', 'held') then
    v_kind := 'booking_cancelled';
  end if;
  if v_kind is null then
    return null;
  end if;

  select c.timezone,
    format('with %s at %s', d.display_name, c.name || coalesce(' (' || c.branch_name || ')', ''))
  into v_tz, v_place
  from public.clinics c, public.doctors d
  where c.id = new.clinic_id and d.id = new.doctor_id;
  v_when := private.local_datetime(lower(new.period), v_tz);
  case v_kind
    when 'booking_confirmed' then
      v_title := 'Appointment confirmed';
      v_body := format('Your appointment %s is confirmed for %s (clinic time). Ref %s.',
        v_place, v_when, new.appointment_number);
    when 'booking_rescheduled' then
      v_title := 'Appointment rescheduled';
      v_body := format('Your appointment %s has been moved to %s (clinic time). Ref %s.',
        v_place, v_when, new.appointment_number);
    else
      v_title := 'Appointment cancelled';
      v_body := format('Your appointment %s on %s (clinic time) has been cancelled. Ref %s.',
        v_place, v_when, new.appointment_number);
  end case;
  perform private.notify(new.clinic_id, new.patient_id, v_kind, v_title, v_body,
    jsonb_build_object('appointment_id', new.id, 'start', lower(new.period),
      'local_time', v_when, 'timezone', v_tz));
  return null;
end
$$;
revoke all on function private.appointment_notify() from public;
