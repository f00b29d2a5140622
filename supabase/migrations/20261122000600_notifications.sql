-- Notifications: in-app notifications and their channel deliveries (e-mail, SMS, WhatsApp),
-- one helper that writes both in the caller's transaction, the clinic-local renderings every
-- message text uses, the order-tolerant merge of providers' delivery statuses, and the
-- development transport's outbox; the caller's notifications as the routes answer them
-- (api.notifications*). What to tell whom is decided where it happens (booking, queue, webhook
-- endpoints); reminders are a recurring sweep (_scheduling_booking.sql).

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

create trigger touch before update on public.notification_deliveries
  for each row execute function private.touch_updated_at();

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

-- Delivery status order of a notification: pending < sent < delivered | failed (both final).
-- A lower status never replaces a higher one; between the two final ones, only a strictly
-- newer provider event applies (providers without event times: the first final one stays).
-- Applied by the inbound webhook handlers of the message providers.
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

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------------------

alter table public.notifications enable row level security;
alter table public.notifications force row level security;
create policy notifications_own_read on public.notifications for select to authenticated
  using (user_id = (select auth.uid()));
create policy notifications_own_mark_read on public.notifications for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

alter table public.notification_deliveries enable row level security;
alter table public.notification_deliveries force row level security;
create policy deliveries_own_read on public.notification_deliveries for select to authenticated
  using (notification_id in (
    select n.id from public.notifications n where n.user_id = (select auth.uid())
  ));
create policy deliveries_admin_read on public.notification_deliveries for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

-- Nothing but what follows: a target's default privileges (Supabase grants everything in
-- public to anon, authenticated and service_role) are taken back first, table by table.
revoke all on public.notifications, public.notification_deliveries
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.notifications, public.notification_deliveries
  to authenticated, service_role;
-- The owner can only mark a notification read; deliveries are written by the service only.
revoke insert, update, delete on public.notifications from authenticated;
grant update (read_at) on public.notifications to authenticated;
revoke insert, update, delete on public.notification_deliveries from authenticated;

-- ---------------------------------------------------------------------------------------
-- Answers (RLS: the caller's own rows; only read_at is writable)
-- ---------------------------------------------------------------------------------------

create or replace function private.notification_json(n public.notifications) returns json
  language sql stable
  as $$
    select json_build_object('id', n.id, 'clinic_id', n.clinic_id, 'kind', n.kind,
      'title', n.title, 'body', n.body, 'data', coalesce(n.data, '{}'::jsonb),
      'read_at', private.iso_utc(n.read_at), 'created_at', private.iso_utc(n.created_at))
  $$;

-- The page cursor: base64 of "<created_at in µs since the epoch>|<id>" of a page's last row.
create or replace function private.notification_cursor(p_created_at timestamptz, p_id uuid)
  returns text
  language sql stable
  as $$
    select replace(encode(convert_to(
      (extract(epoch from p_created_at) * 1000000)::bigint::text || '|' || p_id::text, 'UTF8'),
      'base64'), E'\n', '')
  $$;

-- A cursor's two parts as text (µs, id), or null when it is not one. Read as a browser's
-- atob() would (ASCII whitespace ignored, padding optional), so any cursor accepted before
-- still is.
create or replace function private.notification_cursor_parts(p_cursor text) returns text[]
  language plpgsql immutable
  set search_path = ''
  as $$
declare
  v text := regexp_replace(p_cursor, '[\t\n\f\r ]', '', 'g');
  v_plain text;
begin
  if length(v) % 4 = 0 then
    v := regexp_replace(v, '={1,2}$', '');
  end if;
  if length(v) % 4 = 1 or v !~ '^[A-Za-z0-9+/]*$' then
    return null;
  end if;
  -- 'escape' writes every byte that is not printable ASCII as \nnn: none can pass the checks.
  v_plain := encode(decode(rpad(v, (length(v) + 3) / 4 * 4, '='), 'base64'), 'escape');
  if split_part(v_plain, '|', 1) ~ '^[0-9]{1,19}$'
     and split_part(v_plain, '|', 2) ~* '^[0-9a-f-]{36}$' then
    return array[split_part(v_plain, '|', 1), split_part(v_plain, '|', 2)];
  end if;
  return null;
end
$$;

-- The caller's notifications, newest first, `p_limit` per page after `p_cursor` (none when
-- null or empty); unread only when `p_unread`. With the unread count and the next page's cursor (null on the last page).
create or replace function api.notifications(p_limit integer, p_cursor text, p_unread boolean)
  returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_after text[];
  v_at timestamptz;
  v_id uuid;
begin
  if p_cursor <> '' then
    v_after := private.notification_cursor_parts(p_cursor);
    if v_after is null then
      perform private.raise_api(400, 'invalid_request', 'The cursor is invalid',
        '[{"path": "cursor", "message": "Invalid cursor"}]');
    end if;
    v_at := 'epoch'::timestamptz + v_after[1]::bigint * interval '1 microsecond';
    v_id := v_after[2]::uuid;
  end if;
  return (
    select json_build_object(
      'notifications', coalesce(
        json_agg(private.notification_json(p.n) order by p.i) filter (where p.i <= p_limit),
        '[]'::json),
      'unread_count', (select count(*)::integer from public.notifications u
                       where u.user_id = (select auth.uid()) and u.read_at is null),
      'next_cursor', case when count(*) > p_limit then
        min(private.notification_cursor((p.n).created_at, (p.n).id)) filter (where p.i = p_limit)
      end)
    from (
      select r.n, row_number() over (order by (r.n).created_at desc, (r.n).id desc) as i
      from (
        select n from public.notifications n
        where n.user_id = (select auth.uid())
          and (not p_unread or n.read_at is null)
          and (v_at is null or (n.created_at, n.id) < (v_at, v_id))
        order by n.created_at desc, n.id desc
        limit p_limit + 1
      ) r
    ) p);
end
$$;

create or replace function api.notifications_unread_count() returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('count', count(*)::integer) from public.notifications n
    where n.user_id = (select auth.uid()) and n.read_at is null
  $$;

create or replace function api.notification_read(p_id uuid) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_n public.notifications;
begin
  update public.notifications n set read_at = coalesce(n.read_at, now())
  where n.id = p_id
  returning n.* into v_n;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such notification');
  end if;
  return json_build_object('notification', private.notification_json(v_n));
end
$$;

create or replace function api.notifications_read_all() returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  update public.notifications n set read_at = now()
  where n.user_id = (select auth.uid()) and n.read_at is null;
  get diagnostics v_count = row_count;
  return json_build_object('updated', v_count);
end
$$;

revoke all on function private.notification_json(public.notifications),
  private.notification_cursor(timestamptz, uuid), private.notification_cursor_parts(text),
  api.notifications(integer, text, boolean), api.notifications_unread_count(),
  api.notification_read(uuid), api.notifications_read_all() from public;
grant execute on function private.notification_json(public.notifications),
  private.notification_cursor(timestamptz, uuid), private.notification_cursor_parts(text),
  api.notifications(integer, text, boolean), api.notifications_unread_count(),
  api.notification_read(uuid), api.notifications_read_all() to authenticated;
