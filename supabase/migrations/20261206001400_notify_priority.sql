-- Queue calls never wait behind bulk deliveries: a `notification.deliver` job of an urgent kind
-- (ticket_called, queue_near — the patient is being called or is about to be) is enqueued with
-- a higher job priority, so the worker claims it, and starts it, before any backlog of
-- reminders and booking confirmations (jobs_ready is ordered by priority first).

drop function private.enqueue_job(text, jsonb, timestamptz, uuid, text, text);
create function private.enqueue_job(
  p_kind text,
  p_payload jsonb default '{}',
  p_run_at timestamptz default now(),
  p_clinic uuid default null,
  p_dedupe_key text default null,
  p_queue text default 'default',
  p_priority integer default 0
) returns bigint
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_id bigint;
begin
  insert into public.jobs (queue, kind, payload, run_at, clinic_id, dedupe_key, priority)
  values (p_queue, p_kind, p_payload, p_run_at, p_clinic, p_dedupe_key, p_priority)
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
revoke all on function private.enqueue_job(text, jsonb, timestamptz, uuid, text, text, integer)
  from public;

-- The job priority of a notification's deliveries.
create function private.notification_priority(p_kind text) returns integer
  language sql
  immutable
  set search_path = ''
  as $$
  select case when p_kind in ('ticket_called', 'queue_near') then 10 else 0 end
$$;
revoke all on function private.notification_priority(text) from public;

-- Tells a patient about `p_kind` (a kind of private.template_variables), in the caller's
-- transaction: the in-app notification for the patient's account (its title and body in the
-- account's language) and one pending delivery per channel the patient consented to
-- (patients.*_consent), has an address for (push: a subscription of the account, the delivery's
-- recipient is the account) and has not switched off
-- (users.notification_preferences: {"sms": false} for a channel, {"kinds": {"<kind>":
-- {"sms": false}}} per kind), each rendered in the patient's preferred_language and enqueued
-- as a `notification.deliver` job (urgent kinds first: private.notification_priority).
-- Without an account only the queue calls reach the patient,
-- by SMS (the front desk records the phone and the consent). `p_data` is kept with the
-- notification and fills the templates' placeholders with `p_at`, the moment it is about
-- (clinic-local date and time), and the clinic's name; `p_template` names the templates when
-- they are not the kind's own. Returns the notification id, or null when there is nobody to
-- tell.
create or replace function private.notify(
  p_clinic uuid,
  p_patient uuid,
  p_kind text,
  p_at timestamptz,
  p_data jsonb default '{}',
  p_template text default null
) returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_who record;
  v_patient public.patients;
  v_channels public.delivery_channel[];
  v_recipients text[];
  v_tz text;
  v_vars jsonb;
  v_msg record;
  v_id uuid;
  v_delivery uuid;
begin
  select p as patient, u.id as user_id, u.language as user_language,
    coalesce(u.notification_preferences, '{}') as prefs
  into v_who
  from public.patients p
  left join public.users u on u.id = p.user_id and u.is_active and u.deleted_at is null
  where p.id = p_patient and p.deleted_at is null;
  if not found then
    return null;
  end if;
  v_patient := v_who.patient;

  select coalesce(array_agg(c.channel order by c.channel), '{}'),
    coalesce(array_agg(c.recipient order by c.channel), '{}')
  into v_channels, v_recipients
  from (values
    ('email'::public.delivery_channel, v_patient.email_consent, v_patient.email::text),
    ('sms'::public.delivery_channel, v_patient.sms_consent, v_patient.phone),
    ('whatsapp'::public.delivery_channel, v_patient.whatsapp_consent, v_patient.phone),
    ('push'::public.delivery_channel,
      case when v_patient.push_consent then exists (
        select 1 from public.push_subscriptions s where s.user_id = v_who.user_id) end,
      v_who.user_id::text)
  ) as c (channel, consent, recipient)
  where c.consent
    and nullif(btrim(c.recipient), '') is not null
    and (v_who.prefs -> c.channel::text) is distinct from 'false'::jsonb
    and (v_who.prefs -> 'kinds' -> p_kind -> c.channel::text) is distinct from 'false'::jsonb
    and (v_who.user_id is not null
         or (c.channel = 'sms' and p_kind in ('ticket_called', 'queue_near')));
  if v_who.user_id is null and cardinality(v_channels) = 0 then
    return null;
  end if;

  select c.timezone, jsonb_strip_nulls(coalesce(p_data, '{}')) || jsonb_build_object('clinic',
      c.name || coalesce(' (' || c.branch_name || ')', ''))
  into v_tz, v_vars
  from public.clinics c where c.id = p_clinic;

  select * into v_msg from private.render_notification(p_clinic, coalesce(p_template, p_kind),
    'in_app', coalesce(v_who.user_language, v_patient.preferred_language), v_vars, p_at, v_tz);
  insert into public.notifications (clinic_id, user_id, patient_id, kind, title, body, data)
  values (p_clinic, v_who.user_id, v_patient.id, p_kind, v_msg.subject, v_msg.body,
    coalesce(p_data, '{}'))
  returning id into v_id;

  for i in 1 .. cardinality(v_channels) loop
    select * into v_msg from private.render_notification(p_clinic, coalesce(p_template, p_kind),
      v_channels[i]::text, v_patient.preferred_language, v_vars, p_at, v_tz);
    insert into public.notification_deliveries
      (notification_id, clinic_id, channel, recipient, subject, body, html, language, template)
    values (v_id, p_clinic, v_channels[i], v_recipients[i], v_msg.subject, v_msg.body,
      v_msg.html, v_msg.used_language, v_msg.provider_template)
    returning id into v_delivery;
    perform private.enqueue_job('notification.deliver',
      jsonb_build_object('delivery_id', v_delivery), now(), p_clinic,
      'notification.deliver:' || v_delivery, 'default', private.notification_priority(p_kind));
  end loop;
  return v_id;
end
$$;
revoke all on function private.notify(uuid, uuid, text, timestamptz, jsonb, text) from public;
