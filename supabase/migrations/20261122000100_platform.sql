-- Platform: extensions, schemas, Supabase-compatible roles and auth helpers, shared functions.
-- Everything here is created only when absent, so the same file also applies to a real
-- Supabase database (which already has the roles and the auth schema).

create schema if not exists extensions;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pg_trgm with schema extensions;
create extension if not exists btree_gist with schema extensions;
create extension if not exists citext with schema extensions;

-- `private`: security-definer helpers and internal tables no client role can touch.
create schema if not exists private;
create schema if not exists audit;

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

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;
grant usage on schema private to anon, authenticated, service_role;
revoke all on schema audit from public;

-- auth.uid(), auth.role(), auth.jwt(): the claims of the current request, as PostgREST sets
-- them (`request.jwt.claims`, or the older per-claim settings).
do $$
begin
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
  end if;
end
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;

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

-- Per-clinic, per-day, per-kind counters for human-readable numbers (appointments, tickets).
-- An upsert takes the row lock, so concurrent callers get distinct values.
create table private.day_counters (
  clinic_id uuid not null,
  day date not null,
  kind text not null,
  value integer not null default 0,
  primary key (clinic_id, day, kind)
);
alter table private.day_counters enable row level security;
alter table private.day_counters force row level security;

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
