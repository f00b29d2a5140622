-- Platform: extensions, schemas, Supabase-compatible roles and auth helpers, and what every
-- domain shares: the API's error convention, the caller switch of the single-statement entry
-- points, time helpers, how answers write JSON, per-day counters and rate limits.
-- Roles, the auth schema and its functions are created only when absent, so the same file also
-- applies to a real Supabase database (which already has them).
--
-- Conventions of the API (schema `api`):
-- * Handlers call exactly one `api.*` function per request, inside the caller's transaction
--   (`SET LOCAL ROLE` + `request.jwt.claims`), so RLS and the audit trigger see who acts.
-- * A business error is raised with SQLSTATE `PT<http status>` (PostgREST's convention),
--   MESSAGE = the snake_case error code, DETAIL = the human message, HINT = optional JSON
--   details (private.raise_api). The edge turns it into the contract's
--   `{"error":{code,message,details}}`.
-- * Every `api.*` function is revoked from PUBLIC and granted to the roles that call it.
--   (Per-schema default privileges can only add privileges, so the revoke is explicit.)
-- * A route's `api.*` function returns the response JSON itself; who may do what is decided
--   here (RLS and the private helpers), never by a TypeScript pre-check. Where an answer's key
--   order is part of it, it is `json` (jsonb sorts keys), and instants are written by
--   private.iso_utc.

create schema if not exists extensions;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pg_trgm with schema extensions;
create extension if not exists btree_gist with schema extensions;
create extension if not exists citext with schema extensions;

-- `private`: security-definer helpers and internal tables no client role can touch.
create schema if not exists private;
-- `api`: the functions the edge's handlers call.
create schema if not exists api;

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

-- The auth schema and its claim helpers are Supabase Auth's (GoTrue's) where it runs: ours are
-- stand-ins for a plain PostgreSQL, created only when absent, and never touched otherwise.
do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to anon, authenticated, service_role;
  end if;
end
$$;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;
grant usage on schema private to anon, authenticated, service_role;
grant usage on schema api to anon, authenticated, service_role;

-- auth.uid(), auth.role(), auth.jwt(): the claims of the current request, as PostgREST sets
-- them (`request.jwt.claims`, or the per-claim settings). Where GoTrue's role
-- supabase_auth_admin exists but GoTrue has not created them yet (self-hosted Supabase, our
-- migrations first), they are created as that role, so GoTrue's own migrations
-- (`create or replace function auth.jwt()` …, as supabase_auth_admin) can replace them; a
-- migrator that cannot act as it stops here, before anything GoTrue would trip over.
do $$
declare
  v_role text := current_setting('role');
begin
  if exists (select 1 from pg_roles where rolname = 'supabase_auth_admin')
    and (
      select count(distinct p.proname) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'auth' and p.proname in ('jwt', 'uid', 'role') and p.pronargs = 0
    ) < 3
  then
    if not pg_has_role(current_user, 'supabase_auth_admin', 'MEMBER') then
      raise exception 'auth.uid(), auth.role() or auth.jwt() is missing: Supabase Auth has not run its migrations yet'
        using hint = 'Start Supabase Auth (GoTrue) first, then apply these migrations again, '
          || 'or apply them as a role that is a member of supabase_auth_admin.';
    end if;
    set local role supabase_auth_admin;
  end if;
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'jwt'
  ) then
    create function auth.jwt() returns jsonb
      language sql stable
      as $f$
        select coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $f$;
    grant execute on function auth.jwt() to anon, authenticated, service_role;
  end if;
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'uid'
  ) then
    create function auth.uid() returns uuid
      language sql stable
      as $f$
        select coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')
        )::uuid
      $f$;
    grant execute on function auth.uid() to anon, authenticated, service_role;
  end if;
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'role'
  ) then
    create function auth.role() returns text
      language sql stable
      as $f$
        select coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role', '')
        )::text
      $f$;
    grant execute on function auth.role() to anon, authenticated, service_role;
  end if;
  perform set_config('role', v_role, true);
end
$$;

-- ---------------------------------------------------------------------------------------
-- Errors and the caller
-- ---------------------------------------------------------------------------------------

-- Raises a business error in the API's convention (above): SQLSTATE PT<status>.
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
revoke all on function private.raise_api(integer, text, text, jsonb) from public;
grant execute on function private.raise_api(integer, text, text, jsonb)
  to anon, authenticated, service_role;

-- The caller for the rest of this transaction, exactly as edge/db/claims.ts#withClaims sets it
-- (role, request.jwt.claims, request.id): the first step of the single-statement entry points
-- (private.book_as, private.webhook_ingest_as) the edge calls with `callAs`, so a request is
-- one round trip and nothing is held open between messages. Only client roles. No SET clause
-- and not SECURITY DEFINER, either of which would confine or forbid the role change. Only the
-- owner (the role the API connects as) may call it.
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

-- ---------------------------------------------------------------------------------------
-- Time
-- ---------------------------------------------------------------------------------------

-- True when `tz` names a time zone PostgreSQL knows.
create or replace function private.is_time_zone(tz text) returns boolean
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  perform now() at time zone tz;
  return true;
exception when others then
  return false;
end
$$;

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
revoke all on function private.iso_in_zone(timestamptz, text) from public;
grant execute on function private.iso_in_zone(timestamptz, text)
  to anon, authenticated, service_role;

-- An instant as the API writes it: UTC, milliseconds, `Z` (2026-12-01T01:00:00.123Z).
create or replace function private.iso_utc(p_at timestamptz) returns text
  language sql stable
  as $$ select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
revoke all on function private.iso_utc(timestamptz) from public;
grant execute on function private.iso_utc(timestamptz) to anon, authenticated, service_role;

-- Keeps `updated_at` current on every update.
create or replace function private.touch_updated_at() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- ---------------------------------------------------------------------------------------
-- JSON answers
-- ---------------------------------------------------------------------------------------

-- `p_base` with the keys of `p_more` after its own, in order (jsonb || would sort them).
create or replace function private.json_extend(p_base json, p_more json) returns json
  language sql immutable
  as $$
    select coalesce(json_object_agg(e.key, e.value order by e.part, e.n), '{}'::json)
    from (
      select 1 as part, b.key, b.value, b.n from json_each(p_base) with ordinality b(key, value, n)
      union all
      select 2, m.key, m.value, m.n from json_each(p_more) with ordinality m(key, value, n)
    ) e
  $$;
revoke all on function private.json_extend(json, json) from public;
grant execute on function private.json_extend(json, json) to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Counters and rate limits
-- ---------------------------------------------------------------------------------------

-- Per-clinic, per-day, per-kind counters for human-readable numbers (appointments, tickets,
-- patients). An upsert takes the row lock, so concurrent callers get distinct values.
create table private.day_counters (
  clinic_id uuid not null,
  day date not null,
  kind text not null,
  value integer not null default 0,
  primary key (clinic_id, day, kind)
);
alter table private.day_counters enable row level security;
alter table private.day_counters force row level security;
grant all on private.day_counters to service_role;

create or replace function private.next_number(p_clinic uuid, p_day date, p_kind text)
  returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_value integer;
begin
  insert into private.day_counters as c (clinic_id, day, kind, value)
  values (p_clinic, p_day, p_kind, 1)
  on conflict (clinic_id, day, kind) do update set value = c.value + 1
  returning c.value into v_value;
  return v_value;
end
$$;
revoke all on function private.next_number(uuid, date, text) from public;

-- Fixed-window rate limits (per IP, per account, …) shared by every edge instance.
create table private.rate_limits (
  key text primary key,
  window_start timestamptz not null,
  hits integer not null
);
alter table private.rate_limits enable row level security;
alter table private.rate_limits force row level security;
grant all on private.rate_limits to service_role;

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
revoke all on function api.rate_limit_hit(text, integer, integer) from public;
grant execute on function api.rate_limit_hit(text, integer, integer) to service_role;
