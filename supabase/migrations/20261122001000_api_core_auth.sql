-- Edge API (issue 3), part 1: the `api` schema, the error convention shared by every API
-- function, time-zone helpers, rate limits, and the authentication bookkeeping (sign-up,
-- login, lockout, refresh-token rotation, external identities, board tokens).
--
-- Conventions
-- * Handlers call exactly one `api.*` function per request, inside the caller's transaction
--   (`SET LOCAL ROLE` + `request.jwt.claims`), so RLS and the audit trigger see who acts.
-- * A business error is raised with SQLSTATE `PT<http status>` (PostgREST's convention),
--   MESSAGE = the snake_case error code, DETAIL = the human message, HINT = optional JSON
--   details. The edge turns it into the contract's `{"error":{code,message,details}}`.
-- * Authentication functions read credentials, so they are granted to `service_role` only
--   and called through the edge's explicit privileged path (`db.service`). Everything a
--   patient or staff member does is SECURITY INVOKER, so RLS applies.

create schema if not exists api;
grant usage on schema api to anon, authenticated, service_role;
alter default privileges in schema api revoke execute on functions from public;

-- ---------------------------------------------------------------------------------------
-- Errors and time helpers
-- ---------------------------------------------------------------------------------------

create or replace function private.raise_api(
  p_status integer,
  p_code text,
  p_message text,
  p_details jsonb default null
) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception using
    errcode = 'PT' || p_status::text,
    message = p_code,
    detail = p_message,
    hint = coalesce(p_details::text, '');
end
$$;

-- The caller for the rest of this transaction, exactly as edge/db/claims.ts#withClaims sets it
-- (role, request.jwt.claims, request.id): the first step of the single-statement entry points
-- (private.book_as, private.webhook_ingest_as) the edge calls with `callAs`. Only client roles.
-- No SET clause and not SECURITY DEFINER, either of which would confine or forbid the role
-- change. Only the owner (the role the API connects as) may call it.
create or replace function private.act_as(p_role text, p_claims text, p_request_id text)
  returns void
  language plpgsql
  as $$
begin
  if p_role is null or p_role not in ('anon', 'authenticated', 'service_role') then
    raise exception 'private.act_as: role % is not a client role', p_role
      using errcode = '22023';
  end if;
  perform pg_catalog.set_config('role', p_role, true),
    pg_catalog.set_config('request.jwt.claims', p_claims, true),
    pg_catalog.set_config('request.id', coalesce(p_request_id, ''), true);
end
$$;
revoke all on function private.act_as(text, text, text) from public;

-- `ts` as ISO 8601 in the zone `tz`, with that instant's offset: 2026-03-08T09:00:00-07:00.
-- A plain expression without a SET clause, so the planner inlines it.
create or replace function private.iso_in_zone(p_ts timestamptz, p_tz text) returns text
  language sql stable
  as $$
    select to_char(p_ts at time zone p_tz, 'YYYY-MM-DD"T"HH24:MI:SS')
      || case when p_ts at time zone p_tz < p_ts at time zone 'UTC' then '-' else '+' end
      || to_char(greatest((p_ts at time zone p_tz) - (p_ts at time zone 'UTC'),
                          (p_ts at time zone 'UTC') - (p_ts at time zone p_tz)), 'HH24:MI')
  $$;

revoke all on function private.raise_api(integer, text, text, jsonb) from public;
revoke all on function private.iso_in_zone(timestamptz, text) from public;
grant execute on function private.raise_api(integer, text, text, jsonb),
  private.iso_in_zone(timestamptz, text) to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Rate limits: fixed windows in private.rate_limits, shared by every edge instance.
-- ---------------------------------------------------------------------------------------

-- Counts one hit on `key`; returns 0 when within `p_limit` hits per window, else the seconds
-- until the window resets (for Retry-After).
create or replace function api.rate_limit_hit(p_key text, p_limit integer, p_window_seconds integer)
  returns integer
  language sql
  security definer
  set search_path = ''
  as $$
    with hit as (
      insert into private.rate_limits as r (key, window_start, hits)
      values (p_key, now(), 1)
      on conflict (key) do update set
        window_start = case
          when r.window_start + make_interval(secs => p_window_seconds) <= now() then now()
          else r.window_start end,
        hits = case
          when r.window_start + make_interval(secs => p_window_seconds) <= now() then 1
          else r.hits + 1 end
      returning r.window_start, r.hits
    )
    select case when hit.hits > p_limit then greatest(1, ceil(extract(epoch from
      hit.window_start + make_interval(secs => p_window_seconds) - now())))::integer
      else 0 end
    from hit
  $$;

-- ---------------------------------------------------------------------------------------
-- Identity: what an access token says about a user (Supabase-shaped app_metadata).
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

-- ---------------------------------------------------------------------------------------
-- Sign-up, login, refresh, logout (service_role: the edge's explicit privileged path)
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

-- What login needs to verify a password; null when there is no such active user.
create or replace function api.login_lookup(p_email text) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object(
      'user_id', u.id,
      'password_hash', c.password_hash,
      'locked_until', c.locked_until,
      'locked', coalesce(c.locked_until > now(), false)
    )
    from public.users u
    join private.credentials c on c.user_id = u.id
    where u.email operator(extensions.=) p_email::extensions.citext
      and u.is_active and u.deleted_at is null
  $$;

-- Records a failed password; after `p_max` consecutive failures the account is locked for
-- `p_lock_seconds`. Returns locked_until when this failure locked it.
create or replace function api.login_failed(p_user uuid, p_max integer, p_lock_seconds integer)
  returns timestamptz
  language sql
  set search_path = ''
  as $$
    update private.credentials c set
      failed_login_attempts = case
        when c.failed_login_attempts + 1 >= p_max then 0 else c.failed_login_attempts + 1 end,
      locked_until = case
        when c.failed_login_attempts + 1 >= p_max then now() + make_interval(secs => p_lock_seconds)
        else c.locked_until end
    where c.user_id = p_user
    returning case when c.failed_login_attempts = 0 then c.locked_until end
  $$;

-- A correct password: clears the failure count, upgrades the hash when asked, opens a session
-- (in `p_clinic_code` when given: the user must belong to it).
create or replace function api.login_succeeded(
  p_user uuid,
  p_clinic_code text,
  p_rehash text,
  p_refresh_hash text,
  p_refresh_ttl integer
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
  update private.credentials set
    failed_login_attempts = 0,
    locked_until = null,
    password_hash = coalesce(p_rehash, password_hash),
    password_changed_at = case when p_rehash is null then password_changed_at else now() end
  where user_id = p_user;
  update public.users set last_login_at = now() where id = p_user;
  return private.start_session(p_user, v_clinic, p_refresh_hash, p_refresh_ttl);
end
$$;

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

-- Housekeeping for the job worker: expired rate-limit windows, refresh tokens, idempotency keys.
create or replace function api.purge_expired_auth_state() returns integer
  language plpgsql
  set search_path = ''
  as $$
declare
  v_a integer;
  v_b integer;
  v_c integer;
begin
  delete from private.rate_limits where window_start < now() - interval '1 day';
  get diagnostics v_a = row_count;
  delete from private.refresh_tokens where expires_at < now() - interval '1 day';
  get diagnostics v_b = row_count;
  delete from public.idempotency_keys where expires_at < now();
  get diagnostics v_c = row_count;
  return v_a + v_b + v_c;
end
$$;

-- ---------------------------------------------------------------------------------------
-- The signed-in user (RLS: own rows)
-- ---------------------------------------------------------------------------------------

create or replace function api.me() returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object(
      'id', u.id,
      'email', u.email,
      'full_name', u.full_name,
      'display_name', u.display_name,
      'phone', u.phone,
      'language', u.language,
      'is_superadmin', u.is_superadmin,
      'memberships', coalesce((
        select jsonb_agg(jsonb_build_object(
          'clinic_id', m.clinic_id, 'clinic_code', c.code, 'clinic_name', c.name,
          'role', m.role, 'is_primary', m.is_primary) order by m.is_primary desc, c.code)
        from public.clinic_members m join public.clinics c on c.id = m.clinic_id
        where m.user_id = u.id and m.revoked_at is null), '[]'::jsonb),
      'patients', coalesce((
        select jsonb_agg(jsonb_build_object(
          'id', p.id, 'clinic_id', p.clinic_id, 'patient_number', p.patient_number,
          'full_name', p.full_name) order by p.patient_number)
        from public.patients p where p.user_id = u.id and p.deleted_at is null), '[]'::jsonb)
    )
    from public.users u
    where u.id = (select auth.uid())
  $$;

-- ---------------------------------------------------------------------------------------
-- TV board tokens (staff of the clinic; RLS policy board_tokens_staff)
-- ---------------------------------------------------------------------------------------

create or replace function private.staff_clinic(p_code text) returns public.clinics
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
begin
  select * into v_clinic from public.clinics
  where code = upper(p_code) and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if v_clinic.id not in (select private.staff_clinic_ids())
     and not (select private.is_superadmin()) then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic may do that');
  end if;
  return v_clinic;
end
$$;
revoke all on function private.staff_clinic(text) from public;
grant execute on function private.staff_clinic(text) to authenticated, service_role;

create or replace function api.issue_board_token(p_code text, p_label text, p_expires_at timestamptz)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
  v_row public.board_tokens;
begin
  if p_expires_at is not null and p_expires_at <= now() then
    perform private.raise_api(400, 'invalid_request', 'expires_at must be in the future');
  end if;
  insert into public.board_tokens (clinic_id, label, created_by, expires_at)
  values (v_clinic.id, coalesce(p_label, 'Waiting room'), (select auth.uid()), p_expires_at)
  returning * into v_row;
  return jsonb_build_object('id', v_row.id, 'clinic_id', v_row.clinic_id, 'clinic_code', v_clinic.code,
    'label', v_row.label, 'created_at', v_row.created_at, 'expires_at', v_row.expires_at);
end
$$;

create or replace function api.list_board_tokens(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
begin
  return coalesce((
    select jsonb_agg(jsonb_build_object('id', b.id, 'label', b.label, 'created_at', b.created_at,
      'expires_at', b.expires_at, 'revoked_at', b.revoked_at) order by b.created_at desc)
    from public.board_tokens b where b.clinic_id = v_clinic.id), '[]'::jsonb);
end
$$;

create or replace function api.revoke_board_token(p_code text, p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
begin
  update public.board_tokens set revoked_at = coalesce(revoked_at, now())
  where id = p_id and clinic_id = v_clinic.id;
  if not found then
    perform private.raise_api(404, 'board_token_not_found', 'No such board token');
  end if;
end
$$;

-- ---------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------

revoke all on all functions in schema api from public;
grant execute on function
  api.rate_limit_hit(text, integer, integer),
  api.signup_patient(text, text, text, text, date, public.gender, text, text, integer),
  api.login_lookup(text),
  api.login_failed(uuid, integer, integer),
  api.login_succeeded(uuid, text, text, text, integer),
  api.refresh_rotate(text, text, integer),
  api.logout(text, uuid, uuid),
  api.resolve_external(text, text),
  api.purge_expired_auth_state()
  to service_role;
grant execute on function
  api.me(),
  api.issue_board_token(text, text, timestamptz),
  api.list_board_tokens(text),
  api.revoke_board_token(text, uuid)
  to authenticated;
