-- SMS and WhatsApp through Twilio's Messages API: what each SMS delivery is billed as, the
-- per-channel send rate shared by every worker, the moment a send was started (the guarantee
-- README "Notifications" documents), the last inbound WhatsApp message per number (Meta's
-- 24-hour customer-service window), and inbound STOP/START keywords changing consent.

alter table public.notification_deliveries
  add column sms_encoding text check (sms_encoding in ('GSM-7', 'UCS-2')),
  add column sms_segments integer check (sms_segments > 0),
  -- The rate-limit slot this delivery holds (private.reserve_send_slot); cleared once used.
  add column send_slot_at timestamptz,
  -- Set just before the provider request, so a retry knows an earlier attempt may have sent.
  add column send_started_at timestamptz;

-- The next free send slot of each channel, shared by every worker; pushed back by a provider's
-- 429 Retry-After.
create table private.message_rate_limits (
  channel public.delivery_channel primary key,
  next_at timestamptz not null default now()
);
alter table private.message_rate_limits enable row level security;
alter table private.message_rate_limits force row level security;
grant select, insert, update on private.message_rate_limits to service_role;

-- Last inbound WhatsApp message per E.164 number: free-form messages may follow for 24 hours.
create table private.whatsapp_inbound (
  phone text primary key check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  last_inbound_at timestamptz not null
);
alter table private.whatsapp_inbound enable row level security;
alter table private.whatsapp_inbound force row level security;
grant select, insert, update on private.whatsapp_inbound to service_role;

-- The send slot of a delivery on its channel: the one it already holds, else the channel's
-- next (slots `p_interval_ms` apart, never in the past). Answers the slot and the wait until
-- it in milliseconds (<= 0: send now).
create or replace function private.reserve_send_slot(p_delivery uuid, p_interval_ms integer)
  returns table (slot timestamptz, wait_ms integer)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_channel public.delivery_channel;
  v_slot timestamptz;
  v_interval interval := make_interval(secs => p_interval_ms / 1000.0);
begin
  select d.channel, d.send_slot_at into v_channel, v_slot
  from public.notification_deliveries d where d.id = p_delivery for update;
  if not found then
    raise exception 'no delivery %', p_delivery using errcode = '22023';
  end if;
  if v_slot is null then
    insert into private.message_rate_limits (channel) values (v_channel)
    on conflict (channel) do nothing;
    update private.message_rate_limits r
    set next_at = greatest(r.next_at, clock_timestamp()) + v_interval
    where r.channel = v_channel
    returning r.next_at - v_interval into v_slot;
    update public.notification_deliveries set send_slot_at = v_slot where id = p_delivery;
  end if;
  return query select v_slot,
    ceil(extract(epoch from v_slot - clock_timestamp()) * 1000)::integer;
end
$$;

-- A provider said "too many requests, retry after N ms": no slot of the channel before then,
-- and the delivery gives its slot up.
create or replace function private.pause_channel(p_delivery uuid, p_retry_after_ms integer)
  returns void
  language sql
  security definer
  set search_path = ''
  as $$
  with d as (
    update public.notification_deliveries set send_slot_at = null where id = p_delivery
    returning channel
  )
  insert into private.message_rate_limits as r (channel, next_at)
  select d.channel, clock_timestamp() + make_interval(secs => p_retry_after_ms / 1000.0) from d
  on conflict (channel) do update set next_at = greatest(r.next_at, excluded.next_at);
$$;

-- An inbound message from `p_phone` (E.164) on `p_channel` ('sms' or 'whatsapp'), received at
-- `p_at`. WhatsApp: the 24-hour window opens. `p_granted` (a STOP or START keyword): the
-- channel's consent of every patient with that phone changes through private.set_consent
-- (source `stop_keyword`). A patient's phone is matched by its digits in E.164, or, written
-- without a country code, by `p_national` (the national number, when the phone is of the
-- service's default region). Answers the outcome for the inbox.
create or replace function private.apply_inbound_message(
  p_channel text,
  p_phone text,
  p_national text,
  p_granted boolean,
  p_at timestamptz
) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_patient uuid;
  v_changed integer := 0;
begin
  if p_channel not in ('sms', 'whatsapp') then
    raise exception 'unknown inbound channel %', p_channel using errcode = '22023';
  end if;
  if p_channel = 'whatsapp' then
    insert into private.whatsapp_inbound as w (phone, last_inbound_at) values (p_phone, p_at)
    on conflict (phone) do update
      set last_inbound_at = greatest(w.last_inbound_at, excluded.last_inbound_at);
  end if;
  if p_granted is null then
    return 'received';
  end if;
  for v_patient in
    select p.id from public.patients p
    where p.phone is not null
      and (regexp_replace(p.phone, '[^0-9+]', '', 'g') = p_phone
        or (p_national is not null and left(btrim(p.phone), 1) <> '+'
          and regexp_replace(p.phone, '[^0-9]', '', 'g') = p_national))
    order by p.id
  loop
    perform private.set_consent(v_patient, p_channel, p_granted, 'stop_keyword');
    v_changed := v_changed + 1;
  end loop;
  return format('%s %s for %s patients', case when p_granted then 'start' else 'stop' end,
    p_channel, v_changed);
end
$$;

revoke all on function private.reserve_send_slot(uuid, integer),
  private.pause_channel(uuid, integer),
  private.apply_inbound_message(text, text, text, boolean, timestamptz) from public;
grant execute on function private.reserve_send_slot(uuid, integer),
  private.pause_channel(uuid, integer),
  private.apply_inbound_message(text, text, text, boolean, timestamptz) to service_role;
