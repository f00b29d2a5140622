-- E-mail: addresses that bounced or complained are suppressed (no e-mail goes to them again,
-- whoever it is for), the e-mail consent of every patient record with such an address is
-- withdrawn, and one-click unsubscribe links (RFC 8058) withdraw the consent they name. Every
-- consent change goes through private.set_consent (_consent.sql), which keeps the history.

create table private.email_suppressions (
  address extensions.citext primary key,
  reason text not null check (reason in ('bounce', 'complaint')),
  provider text,
  detail text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create trigger touch before update on private.email_suppressions
  for each row execute function private.touch_updated_at();
alter table private.email_suppressions enable row level security;
alter table private.email_suppressions force row level security;
grant all on private.email_suppressions to service_role;

-- Bounces and complaints look patients up by address.
create index patients_email on public.patients (email) where email is not null;

-- Why e-mail to `p_address` is suppressed ('bounce', 'complaint'), or null when it is not.
-- The job worker asks before every e-mail it sends.
create or replace function private.email_suppression(p_address text) returns text
  language sql stable
  set search_path = ''
  as $$
    select s.reason from private.email_suppressions s
    where s.address = p_address::extensions.citext
  $$;
revoke all on function private.email_suppression(text) from public;
grant execute on function private.email_suppression(text) to service_role;

-- A provider reported a bounce or a complaint for `p_address`: the address is suppressed (a
-- complaint is never downgraded to a bounce), and every patient record with it that consents to
-- e-mail has that consent withdrawn with the same source. Returns how many were withdrawn; null
-- (and nothing done) when the address is not known (null).
create or replace function private.suppress_email(
  p_address text,
  p_reason text,
  p_provider text,
  p_detail text default null
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_patient uuid;
  v_count integer := 0;
begin
  if p_address is null then
    return null;
  end if;
  if p_reason not in ('bounce', 'complaint') then
    raise exception 'unknown suppression reason %', p_reason using errcode = '22023';
  end if;
  insert into private.email_suppressions as s (address, reason, provider, detail)
  values (p_address, p_reason, p_provider, left(p_detail, 200))
  on conflict (address) do update
    set reason = case when excluded.reason = 'complaint' then 'complaint' else s.reason end,
        provider = excluded.provider, detail = excluded.detail;
  for v_patient in
    select p.id from public.patients p
    where p.email = p_address::extensions.citext and p.email_consent and p.deleted_at is null
    order by p.id
    for update
  loop
    perform private.set_consent(v_patient, 'email', false, p_reason);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
revoke all on function private.suppress_email(text, text, text, text) from public;
grant execute on function private.suppress_email(text, text, text, text) to service_role;

-- A patient who gives the e-mail consent for an address (again, at sign-up, in the app, at the
-- front desk, or with a new address) lifts that address's suppression: they have told us it
-- works and that they want the e-mails.
create or replace function private.lift_email_suppression() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if new.email_consent and new.email is not null
     and (tg_op = 'INSERT' or not old.email_consent or old.email is distinct from new.email) then
    delete from private.email_suppressions s where s.address = new.email;
  end if;
  return null;
end
$$;
revoke all on function private.lift_email_suppression() from public;
create trigger lift_email_suppression after insert or update of email_consent, email
  on public.patients
  for each row execute function private.lift_email_suppression();

-- The unsubscribe link of `p_patient` for `p_channel` (the route has checked its signature):
-- {"clinic": name, "language": the patient's, "subscribed": whether the consent was given}, and
-- with `p_apply` the consent is withdrawn (source 'unsubscribe_link'; once: a second click
-- changes nothing).
-- Null when the patient no longer exists.
create or replace function private.unsubscribe(p_patient uuid, p_channel text, p_apply boolean)
  returns json
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_clinic text;
  v_language text;
  v_subscribed boolean;
begin
  select c.name, p.preferred_language,
    coalesce((to_jsonb(p) ->> (p_channel || '_consent'))::boolean, false)
  into v_clinic, v_language, v_subscribed
  from public.patients p join public.clinics c on c.id = p.clinic_id
  where p.id = p_patient and p.deleted_at is null
  for update of p;
  if not found then
    return null;
  end if;
  if p_apply and v_subscribed then
    perform private.set_consent(p_patient, p_channel, false, 'unsubscribe_link');
  end if;
  return json_build_object('clinic', v_clinic, 'language', v_language,
    'subscribed', v_subscribed);
end
$$;
revoke all on function private.unsubscribe(uuid, text, boolean) from public;
grant execute on function private.unsubscribe(uuid, text, boolean) to service_role;
