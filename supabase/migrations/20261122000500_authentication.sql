-- Authentication: credentials, sessions (refresh-token families), sign-up, sign-in and its
-- throttling, unlock links, external identities, and the housekeeping of all that state.
-- These functions read credentials, so they are granted to `service_role` only and called
-- through the edge's explicit privileged path (`db.service`).
--
-- Sign-in throttling that a stranger cannot turn into a lockout:
-- * Wrong passwords are counted per (account, source): the source is the client address, or a
--   known device of the account (a browser that has signed in to it before, or was trusted
--   through an unlock link). A source that reaches the limit is locked for that account only,
--   for a period that doubles with each lock. Attempts from a locked source count for nothing.
-- * Wrong passwords are also counted per account from every source. Past that limit (distributed
--   guessing) the account is guarded: only its known devices may sign in. The right password
--   from anywhere else queues an e-mailed unlock link instead, which makes that browser a known
--   device — so the owner is never locked out, and a guesser never learns the password was right.
-- * Accounts are keyed by the e-mail as typed (lower case), known or not, so unknown accounts
--   are throttled exactly like real ones; every refusal answers 401 invalid_credentials.
-- The limits are the edge's (edge/auth/limits.ts, passed in); the state and the decisions are
-- here. Old rows go with api.purge_expired_auth_state (the `auth.purge_expired` job).

-- Credentials live apart from profiles so no client role can ever read a hash.
create table private.credentials (
  user_id uuid primary key references public.users (id) on delete cascade,
  password_hash text not null,
  password_changed_at timestamptz not null default now()
);

-- Opaque refresh tokens, stored hashed, rotated on use; reuse of a rotated token revokes
-- the whole family.
create table private.refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  family_id uuid not null,
  token_hash text not null unique,
  clinic_id uuid references public.clinics (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  rotated_at timestamptz,
  revoked_at timestamptz
);
create index refresh_tokens_family on private.refresh_tokens (family_id);

-- Wrong passwords per (account, source). `source` is 'ip:<address>' or 'device:<hash>', and ''
-- for the account as a whole. `failures` since the last lock; `locks` so far (the next lock is
-- twice as long); the row is forgotten at `forget_at` (the longest lock after the last change).
create table private.login_failures (
  account text not null,
  source text not null,
  failures integer not null default 0 check (failures >= 0),
  locks integer not null default 0 check (locks >= 0),
  locked_until timestamptz,
  forget_at timestamptz not null,
  mailed_at timestamptz, -- the account's row: when an unlock link was last queued
  primary key (account, source)
);
create index login_failures_forget on private.login_failures (forget_at);

-- Browsers that have signed in to an account (the `clinic_device` cookie, stored hashed), until
-- `expires_at`. One browser may be known to several accounts (a shared clinic PC).
create table private.login_devices (
  user_id uuid not null references public.users (id) on delete cascade,
  device_hash text not null,
  expires_at timestamptz not null,
  primary key (user_id, device_hash)
);
create index login_devices_expires on private.login_devices (expires_at);

-- E-mailed unlock links: single use, stored hashed, short-lived.
create table private.login_unlocks (
  token_hash text primary key,
  user_id uuid not null references public.users (id) on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz
);
create index login_unlocks_user on private.login_unlocks (user_id);
create index login_unlocks_expires on private.login_unlocks (expires_at);

alter table private.credentials enable row level security;
alter table private.credentials force row level security;
alter table private.refresh_tokens enable row level security;
alter table private.refresh_tokens force row level security;
alter table private.login_failures enable row level security;
alter table private.login_failures force row level security;
alter table private.login_devices enable row level security;
alter table private.login_devices force row level security;
alter table private.login_unlocks enable row level security;
alter table private.login_unlocks force row level security;
grant all on private.credentials, private.refresh_tokens, private.login_failures,
  private.login_devices, private.login_unlocks to service_role;

-- ---------------------------------------------------------------------------------------
-- Sessions: what an access token says about a user (Supabase-shaped app_metadata)
-- ---------------------------------------------------------------------------------------

-- The user's profile, chosen clinic (`p_clinic` when a member, else the primary membership),
-- every clinic, the role in the chosen clinic (highest of several), and the patient record.
create or replace function private.identity(p_user uuid, p_clinic uuid default null)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    with m as (
      select cm.clinic_id, cm.role, cm.is_primary, cm.granted_at
      from public.clinic_members cm
      join public.clinics c on c.id = cm.clinic_id and c.is_active and c.deleted_at is null
      where cm.user_id = p_user and cm.revoked_at is null
    ),
    chosen as (
      select coalesce(
        (select m.clinic_id from m where m.clinic_id = p_clinic limit 1),
        (select m.clinic_id from m order by m.is_primary desc, m.granted_at limit 1)
      ) as clinic_id
    )
    select jsonb_build_object(
      'id', u.id,
      'email', u.email,
      'full_name', u.full_name,
      'clinic_id', ch.clinic_id,
      'clinic_code', (select c.code from public.clinics c where c.id = ch.clinic_id),
      'clinic_ids', coalesce((select jsonb_agg(distinct m.clinic_id) from m), '[]'::jsonb),
      'role', case when u.is_superadmin then 'superadmin' else (
        select m.role::text from m where m.clinic_id = ch.clinic_id
        order by array_position('{admin,doctor,nurse,staff,patient}'::public.member_role[], m.role)
        limit 1) end,
      'patient_id', (select p.id from public.patients p
        where p.user_id = u.id and p.clinic_id = ch.clinic_id and p.deleted_at is null)
    )
    from public.users u, chosen ch
    where u.id = p_user and u.is_active and u.deleted_at is null
  $$;
revoke all on function private.identity(uuid, uuid) from public;
grant execute on function private.identity(uuid, uuid) to service_role;

-- Opens a session: a new refresh-token family. The access token's `session_id` is the family.
create or replace function private.start_session(
  p_user uuid,
  p_clinic uuid,
  p_token_hash text,
  p_ttl_seconds integer
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_identity jsonb := private.identity(p_user, p_clinic);
  v_family uuid := gen_random_uuid();
begin
  if v_identity is null then
    perform private.raise_api(401, 'invalid_credentials', 'Wrong email or password');
  end if;
  insert into private.refresh_tokens (user_id, family_id, token_hash, clinic_id, expires_at)
  values (p_user, v_family, p_token_hash, (v_identity ->> 'clinic_id')::uuid,
    now() + make_interval(secs => p_ttl_seconds));
  return jsonb_build_object('session_id', v_family, 'user', v_identity);
end
$$;
revoke all on function private.start_session(uuid, uuid, text, integer) from public;
grant execute on function private.start_session(uuid, uuid, text, integer) to service_role;

-- Rotates a refresh token. A token that was already rotated is a replay: the whole family is
-- revoked (the caller must commit, so the result is data, not an exception).
create or replace function api.refresh_rotate(p_old_hash text, p_new_hash text, p_ttl integer)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_token private.refresh_tokens;
  v_identity jsonb;
begin
  select * into v_token from private.refresh_tokens where token_hash = p_old_hash for update;
  if not found then
    return jsonb_build_object('error', 'invalid_refresh_token');
  end if;
  if v_token.revoked_at is not null then
    return jsonb_build_object('error', 'refresh_token_revoked');
  end if;
  if v_token.rotated_at is not null then
    update private.refresh_tokens set revoked_at = now()
    where family_id = v_token.family_id and revoked_at is null;
    return jsonb_build_object('error', 'refresh_token_reused');
  end if;
  if v_token.expires_at <= now() then
    return jsonb_build_object('error', 'refresh_token_expired');
  end if;
  v_identity := private.identity(v_token.user_id, v_token.clinic_id);
  if v_identity is null then
    update private.refresh_tokens set revoked_at = now() where family_id = v_token.family_id;
    return jsonb_build_object('error', 'refresh_token_revoked');
  end if;
  update private.refresh_tokens set rotated_at = now() where id = v_token.id;
  insert into private.refresh_tokens (user_id, family_id, token_hash, clinic_id, expires_at)
  values (v_token.user_id, v_token.family_id, p_new_hash, v_token.clinic_id,
    now() + make_interval(secs => p_ttl));
  return jsonb_build_object('session_id', v_token.family_id, 'user', v_identity);
end
$$;

-- Ends a session: revokes the family of the refresh token and/or the access token's session.
create or replace function api.logout(p_token_hash text, p_session uuid, p_user uuid)
  returns integer
  language sql
  set search_path = ''
  as $$
    with gone as (
      update private.refresh_tokens set revoked_at = now()
      where revoked_at is null and (
        family_id = (select t.family_id from private.refresh_tokens t
                     where t.token_hash = p_token_hash)
        or (p_session is not null and family_id = p_session and user_id = p_user))
      returning 1
    )
    select count(*)::integer from gone
  $$;

-- External identity provider (e.g. Clerk): `sub` → users.external_id, `org_id` →
-- clinics.external_org_id. Returns the identity, or {"error": code}.
create or replace function api.resolve_external(p_subject text, p_org text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_user uuid;
  v_clinic uuid;
begin
  select u.id into v_user from public.users u
  where u.external_id = p_subject and u.is_active and u.deleted_at is null;
  if v_user is null then
    return jsonb_build_object('error', 'external_user_unknown');
  end if;
  if p_org is not null then
    select c.id into v_clinic from public.clinics c
    where c.external_org_id = p_org and c.is_active and c.deleted_at is null;
    if v_clinic is null then
      return jsonb_build_object('error', 'external_org_unknown');
    end if;
    if not exists (select 1 from public.clinic_members m
                   where m.user_id = v_user and m.clinic_id = v_clinic and m.revoked_at is null) then
      return jsonb_build_object('error', 'not_a_member');
    end if;
  end if;
  return private.identity(v_user, v_clinic);
end
$$;

-- ---------------------------------------------------------------------------------------
-- Sign-up and sign-in
-- ---------------------------------------------------------------------------------------

-- A new patient of a clinic: user, credentials, membership and patient record, and a session.
create or replace function api.signup_patient(
  p_clinic_code text,
  p_email text,
  p_password_hash text,
  p_full_name text,
  p_date_of_birth date,
  p_gender public.gender,
  p_phone text,
  p_refresh_hash text,
  p_refresh_ttl integer
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_user uuid;
begin
  select * into v_clinic from public.clinics
  where code = upper(p_clinic_code) and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if exists (select 1 from public.users u
             where u.email operator(extensions.=) p_email::extensions.citext) then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end if;
  begin
    insert into public.users (email, full_name, phone)
    values (p_email, p_full_name, p_phone)
    returning id into v_user;
  exception when unique_violation then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end;
  insert into private.credentials (user_id, password_hash) values (v_user, p_password_hash);
  insert into public.clinic_members (user_id, clinic_id, role, is_primary)
  values (v_user, v_clinic.id, 'patient', true);

  insert into public.patients (clinic_id, user_id, patient_number, full_name, date_of_birth,
    gender, phone, email)
  values (v_clinic.id, v_user, private.next_patient_number(v_clinic.id),
    p_full_name, p_date_of_birth, p_gender, p_phone, p_email);

  return private.start_session(v_user, v_clinic.id, p_refresh_hash, p_refresh_ttl);
end
$$;

-- What login needs before the password check, for `p_email` from `p_address` with the device
-- cookie's hash `p_device` (or null): the user and hash (null for an unknown account), the
-- source the attempt counts against, and whether that source is refused (a locked source, or a
-- guarded account and not a known device). Unknown accounts are judged the same way.
create or replace function api.login_begin(p_email text, p_address text, p_device text)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    with u as (
      select u.id, c.password_hash,
        exists (select 1 from private.login_devices d
                where d.user_id = u.id and d.device_hash = p_device and d.expires_at > now())
          as known
      from public.users u
      join private.credentials c on c.user_id = u.id
      where u.email operator(extensions.=) p_email::extensions.citext
        and u.is_active and u.deleted_at is null
    ),
    s as (
      select case when (select u.known from u) then 'device:' || p_device
                  else 'ip:' || p_address end as source
    )
    select jsonb_build_object(
      'user_id', (select u.id from u),
      'password_hash', (select u.password_hash from u),
      'source', s.source,
      'blocked', exists (
        select 1 from private.login_failures f
        where f.account = lower(p_email) and f.locked_until > now()
          and (f.source = s.source or (f.source = '' and s.source like 'ip:%'))))
    from s
  $$;

-- Counts one wrong password on a row of private.login_failures under `p_rule`
-- ({maxFailures, lockSeconds}): at maxFailures the row locks for lockSeconds × 2^(locks so far),
-- at most `p_max_lock` seconds, and counts from zero again; a row is forgotten `p_max_lock`
-- seconds after its last failure or the end of its lock. A locked row is left alone.
create or replace function private.login_count_failure(
  p_account text,
  p_source text,
  p_rule jsonb,
  p_max_lock integer
) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_forget interval := make_interval(secs => p_max_lock);
  v_row private.login_failures;
  v_lock interval;
begin
  insert into private.login_failures as f (account, source, failures, forget_at)
  values (p_account, p_source, 1, now() + v_forget)
  on conflict (account, source) do update set
    failures = case when f.forget_at <= now() then 1 else f.failures + 1 end,
    locks = case when f.forget_at <= now() then 0 else f.locks end,
    locked_until = null,
    forget_at = excluded.forget_at
  where f.locked_until is null or f.locked_until <= now()
  returning * into v_row;
  if v_row.failures >= (p_rule ->> 'maxFailures')::integer then
    v_lock := make_interval(secs => least(p_max_lock::double precision,
      (p_rule ->> 'lockSeconds')::integer * power(2, least(v_row.locks, 30))));
    update private.login_failures set
      failures = 0, locks = locks + 1, locked_until = now() + v_lock,
      forget_at = now() + v_lock + v_forget
    where account = p_account and source = p_source;
  end if;
end
$$;

-- A refused sign-in, under `p_rules` (edge/auth/limits.ts authLimits.lockout). A wrong password
-- (or an unknown account) counts against the source and the account, unless the source is
-- locked. The right password from a refused source counts nothing and queues an unlock e-mail
-- to the account (at most one per unlockLink.everySeconds; none when `p_unlock_url` is null).
create or replace function api.login_failed(
  p_email text,
  p_source text,
  p_user uuid,
  p_password_ok boolean,
  p_rules jsonb,
  p_unlock_url text
) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_account text := lower(p_email);
  v_max_lock integer := (p_rules ->> 'maxLockSeconds')::integer;
  v_mail boolean;
begin
  if p_password_ok and p_user is not null then
    if p_unlock_url is null then
      return;
    end if;
    insert into private.login_failures as f (account, source, forget_at, mailed_at)
    values (v_account, '', now() + make_interval(secs => v_max_lock), now())
    on conflict (account, source) do update set mailed_at = now()
    where f.mailed_at is null or f.mailed_at <= now() - make_interval(secs =>
      (p_rules #>> '{unlockLink,everySeconds}')::integer)
    returning true into v_mail;
    if v_mail then
      perform private.enqueue_job('auth.unlock_link',
        jsonb_build_object('user_id', p_user, 'url', p_unlock_url));
    end if;
    return;
  end if;
  if exists (select 1 from private.login_failures f
             where f.account = v_account and f.source = p_source and f.locked_until > now()) then
    return;
  end if;
  perform private.login_count_failure(v_account, p_source, p_rules -> 'perSource', v_max_lock);
  perform private.login_count_failure(v_account, '', p_rules -> 'perAccount', v_max_lock);
end
$$;

-- The browser with device-cookie hash `p_device` is a known device of `p_user` for `p_seconds`.
create or replace function private.login_device_seen(p_user uuid, p_device text, p_seconds integer)
  returns void
  language sql
  set search_path = ''
  as $$
    insert into private.login_devices (user_id, device_hash, expires_at)
    values (p_user, p_device, now() + make_interval(secs => p_seconds))
    on conflict (user_id, device_hash) do update set expires_at = excluded.expires_at
  $$;

-- A correct password from a source that may sign in: forgets that source's failures, records
-- the browser (`p_device`: the hash of its device cookie) as a known device for
-- `p_device_seconds`, upgrades the hash when asked, opens a session (in `p_clinic_code` when
-- given: the user must belong to it).
create or replace function api.login_succeeded(
  p_user uuid,
  p_clinic_code text,
  p_rehash text,
  p_refresh_hash text,
  p_refresh_ttl integer,
  p_email text,
  p_source text,
  p_device text,
  p_device_seconds integer
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid;
begin
  if p_clinic_code is not null then
    select c.id into v_clinic from public.clinics c
    where c.code = upper(p_clinic_code) and c.is_active and c.deleted_at is null;
    if v_clinic is null then
      perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
    end if;
    if not exists (select 1 from public.clinic_members m
                   where m.user_id = p_user and m.clinic_id = v_clinic and m.revoked_at is null)
       and not exists (select 1 from public.users u where u.id = p_user and u.is_superadmin) then
      perform private.raise_api(403, 'not_a_member', 'This account does not belong to that clinic');
    end if;
  end if;
  delete from private.login_failures where account = lower(p_email) and source = p_source;
  perform private.login_device_seen(p_user, p_device, p_device_seconds);
  if p_rehash is not null then
    update private.credentials set password_hash = p_rehash, password_changed_at = now()
    where user_id = p_user;
  end if;
  update public.users set last_login_at = now() where id = p_user;
  return private.start_session(p_user, v_clinic, p_refresh_hash, p_refresh_ttl);
end
$$;

-- An unlock link for the `auth.unlock_link` job: stores the token's hash for `p_ttl_seconds`
-- and answers the address to send it to (null when the account is gone or inactive).
create or replace function private.login_unlock_issue(
  p_user uuid,
  p_token_hash text,
  p_ttl_seconds integer
) returns text
  language plpgsql
  set search_path = ''
  as $$
declare
  v_email text;
begin
  select u.email::text into v_email from public.users u
  where u.id = p_user and u.is_active and u.deleted_at is null;
  if v_email is null then
    return null;
  end if;
  insert into private.login_unlocks (token_hash, user_id, expires_at)
  values (p_token_hash, p_user, now() + make_interval(secs => p_ttl_seconds));
  return v_email;
end
$$;

-- Uses an unlock link once: the browser with device-cookie hash `p_device` becomes a known
-- device of the link's account for `p_device_seconds`. False when the token is unknown, used or
-- expired.
create or replace function api.login_unlock(p_token_hash text, p_device text, p_device_seconds integer)
  returns boolean
  language plpgsql
  set search_path = ''
  as $$
declare
  v_user uuid;
begin
  update private.login_unlocks set used_at = now()
  where token_hash = p_token_hash and used_at is null and expires_at > now()
  returning user_id into v_user;
  if v_user is null then
    return false;
  end if;
  perform private.login_device_seen(v_user, p_device, p_device_seconds);
  return true;
end
$$;

-- Housekeeping (the `auth.purge_expired` job): expired rate-limit windows, refresh tokens,
-- idempotency keys, forgotten login failures, expired devices, unlock links a day past expiry.
create or replace function api.purge_expired_auth_state() returns integer
  language plpgsql
  set search_path = ''
  as $$
declare
  v_total integer := 0;
  v_n integer;
begin
  delete from private.rate_limits where window_start < now() - interval '1 day';
  get diagnostics v_n = row_count;
  v_total := v_total + v_n;
  delete from private.refresh_tokens where expires_at < now() - interval '1 day';
  get diagnostics v_n = row_count;
  v_total := v_total + v_n;
  delete from public.idempotency_keys where expires_at < now();
  get diagnostics v_n = row_count;
  v_total := v_total + v_n;
  delete from private.login_failures where forget_at < now();
  get diagnostics v_n = row_count;
  v_total := v_total + v_n;
  delete from private.login_devices where expires_at < now();
  get diagnostics v_n = row_count;
  v_total := v_total + v_n;
  delete from private.login_unlocks where expires_at < now() - interval '1 day';
  get diagnostics v_n = row_count;
  return v_total + v_n;
end
$$;

-- ---------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------

revoke all on function
  api.refresh_rotate(text, text, integer),
  api.logout(text, uuid, uuid),
  api.resolve_external(text, text),
  api.signup_patient(text, text, text, text, date, public.gender, text, text, integer),
  api.login_begin(text, text, text),
  private.login_count_failure(text, text, jsonb, integer),
  api.login_failed(text, text, uuid, boolean, jsonb, text),
  private.login_device_seen(uuid, text, integer),
  api.login_succeeded(uuid, text, text, text, integer, text, text, text, integer),
  private.login_unlock_issue(uuid, text, integer),
  api.login_unlock(text, text, integer),
  api.purge_expired_auth_state()
  from public;
grant execute on function
  api.refresh_rotate(text, text, integer),
  api.logout(text, uuid, uuid),
  api.resolve_external(text, text),
  api.signup_patient(text, text, text, text, date, public.gender, text, text, integer),
  api.login_begin(text, text, text),
  api.login_failed(text, text, uuid, boolean, jsonb, text),
  private.login_device_seen(uuid, text, integer),
  api.login_succeeded(uuid, text, text, text, integer, text, text, text, integer),
  api.login_unlock(text, text, integer),
  api.purge_expired_auth_state()
  to service_role;
