-- Notifications (issue 5): one helper writes the in-app notification and its channel deliveries
-- in the caller's transaction (consent and preferences respected, each delivery handed to the
-- job worker); booking confirmed / cancelled / rescheduled by trigger on appointments;
-- reminders before the visit, sent by a recurring sweep; the development transport's outbox.
-- Every message text carries clinic-local times.

-- Clinic-local renderings used in message texts. No SET clause, so the planner inlines them.
create or replace function private.local_time(p_at timestamptz, p_tz text) returns text
  language sql stable
  as $$ select pg_catalog.to_char(p_at at time zone p_tz, 'HH24:MI') $$;

create or replace function private.local_datetime(p_at timestamptz, p_tz text) returns text
  language sql stable
  as $$ select pg_catalog.to_char(p_at at time zone p_tz, 'Dy FMDD Mon YYYY "at" HH24:MI') $$;

-- Creates the in-app notification for a patient's account (or `p_user`) and one pending delivery
-- per channel the patient consented to (patients.*_consent) and has not switched off
-- (users.notification_preferences: {"sms": false} for a channel, {"kinds": {"<kind>":
-- {"sms": false}}} per kind). Each delivery is enqueued as a `notification.deliver` job in
-- this same transaction. Returns the notification id, or null when there is nobody to tell
-- (a walk-in without an account). Reads the patient and the account in one query and looks
-- for channels only when the patient has consented to one and has an address for it.
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

-- "with Dr Tan Wei Ming at Gabriel Family Clinic (Tampines)". PL/pgSQL: PostgreSQL parses and
-- plans a SECURITY DEFINER SQL function on every call (it cannot inline it); PL/pgSQL caches
-- its plans per session.
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

-- Booking notifications, written in the transaction that changes the appointment.
--   confirmed:   inserted as scheduled/confirmed, or a hold turned into a booking
--   rescheduled: a booking's time or doctor moved, or a new booking that `rescheduled_from`
--                another (the old row's status 'rescheduled' then says nothing itself)
--   cancelled:   a booking (not a hold) became cancelled
-- Reads the clinic and the doctor once, in one query.
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

create trigger notify after insert or update of status, period, doctor_id on public.appointments
  for each row execute function private.appointment_notify();

-- Reminders before a visit, at the lead times of clinics.settings
-- {"notifications": {"reminder_minutes_before": [1440, 120]}} (the default). Nothing is written
-- per booking: the recurring `appointment.reminders` job (every minute) calls
-- private.send_due_reminders, which finds the visits whose reminder has come due and tells their
-- patients. A reminder is sent once per visit, start and lead time (this table's key), so a
-- moved visit is reminded of its new time and a cancelled one of nothing; a reminder that came
-- due before the visit was booked or last changed is not sent (no "tomorrow" reminder for a
-- visit booked three hours ahead); one that came due while no worker ran is sent late, as long
-- as the visit is still ahead.
create table private.appointment_reminders (
  appointment_id uuid not null references public.appointments (id) on delete cascade,
  starts_at timestamptz not null, -- the start the patient was reminded of
  lead_minutes integer not null,
  notification_id uuid references public.notifications (id) on delete set null,
  sent_at timestamptz not null default now(),
  primary key (appointment_id, starts_at, lead_minutes)
);
alter table private.appointment_reminders enable row level security;
alter table private.appointment_reminders force row level security;

-- A clinic's reminder lead times in minutes (positive whole numbers), or the default.
create or replace function private.reminder_leads(p_settings jsonb) returns integer[]
  language sql immutable
  set search_path = ''
  as $$
    select case when jsonb_typeof(s.leads) = 'array' then coalesce(
      (select array_agg(distinct (e.value #>> '{}')::numeric::integer)
       from jsonb_array_elements(s.leads) e
       where jsonb_typeof(e.value) = 'number' and (e.value #>> '{}')::numeric >= 1),
      '{}') else '{1440,120}' end
    from (select p_settings #> '{notifications,reminder_minutes_before}' as leads) s
  $$;

-- Sends every reminder due at `p_now` (at most `p_limit`, earliest visits first) and returns
-- how many it sent. Safe to run concurrently: the reminder's row is claimed before the
-- notification is written, in the same transaction.
create or replace function private.send_due_reminders(
  p_now timestamptz default now(),
  p_limit integer default 1000
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_due record;
  v_when text;
  v_notification uuid;
  v_count integer := 0;
begin
  for v_due in
    select a as appt, c.timezone as tz, l.lead
    from public.clinics c
    cross join lateral unnest(private.reminder_leads(c.settings)) as l(lead)
    join public.appointments a
      on a.clinic_id = c.id
      and a.service_date between (p_now at time zone c.timezone)::date
        and ((p_now + make_interval(mins => l.lead)) at time zone c.timezone)::date
      and a.status in ('scheduled', 'confirmed')
      and lower(a.period) > p_now
      and lower(a.period) - make_interval(mins => l.lead) <= p_now
      and lower(a.period) - make_interval(mins => l.lead) > a.updated_at
    where c.deleted_at is null
      and not exists (
        select 1 from private.appointment_reminders r
        where r.appointment_id = a.id and r.starts_at = lower(a.period)
          and r.lead_minutes = l.lead)
    order by lower(a.period), l.lead desc
    limit p_limit
  loop
    insert into private.appointment_reminders (appointment_id, starts_at, lead_minutes)
    values ((v_due.appt).id, lower((v_due.appt).period), v_due.lead)
    on conflict do nothing;
    continue when not found; -- another sweep sent it
    v_when := private.local_datetime(lower((v_due.appt).period), v_due.tz);
    v_notification := private.notify((v_due.appt).clinic_id, (v_due.appt).patient_id,
      'appointment_reminder', 'Appointment reminder',
      format('Reminder: your appointment %s is on %s (clinic time). Ref %s.',
        private.appointment_place(v_due.appt), v_when, (v_due.appt).appointment_number),
      jsonb_build_object('appointment_id', (v_due.appt).id, 'start', lower((v_due.appt).period),
        'local_time', v_when, 'timezone', v_due.tz, 'lead_minutes', v_due.lead));
    update private.appointment_reminders set notification_id = v_notification
    where appointment_id = (v_due.appt).id and starts_at = lower((v_due.appt).period)
      and lead_minutes = v_due.lead;
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
revoke all on function private.send_due_reminders(timestamptz, integer) from public;

-- What the development transport "sent": one row per delivery attempt that reached it
-- (idempotent on the delivery id), so tests and developers can read the messages.
create table private.outbound_messages (
  id bigint generated always as identity primary key,
  idempotency_key text not null unique,
  provider text not null,
  provider_message_id text not null unique,
  channel public.delivery_channel not null,
  recipient text not null,
  subject text,
  body text not null,
  clinic_id uuid,
  created_at timestamptz not null default now()
);
alter table private.outbound_messages enable row level security;
alter table private.outbound_messages force row level security;
grant all on private.outbound_messages to service_role;
