-- A Supabase-shaped database, before Supabase Auth (GoTrue) has run: what the tests need of
-- Supabase's public setup, written down from supabase/postgres
-- (migrations/db/init-scripts/00000000000000-initial-schema.sql, …01-auth-schema.sql,
-- …03-post-setup.sql, migrations/10000000000000_demote-postgres.sql,
-- 20211124212715_update-auth-owner.sql, 20240627101908_revoke_supabase_auth_admin_from_postgres.sql)
-- — not a copy of them. Run as the cluster's superuser, `supabase_admin`, on a new database;
-- then gotrue.sql (as supabase_auth_admin), then our migrations and seed as `postgres`.

-- Roles are the cluster's: created once, by the first database bootstrapped on it.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin inherit;
    create role authenticated nologin inherit;
    create role service_role nologin inherit bypassrls;
    create role authenticator login noinherit;
    grant anon, authenticated, service_role to authenticator;
    -- GoTrue's role: owns the auth schema's tables and functions, not a member of postgres.
    create role supabase_auth_admin login noinherit noreplication;
    alter role supabase_auth_admin set search_path = auth;
    -- `postgres` is what a project's migrations run as: not a superuser.
    create role postgres login nosuperuser createdb createrole replication bypassrls;
    alter role postgres set search_path = "$user", public, extensions;
    -- so the project (and the SQL editor) can act as the API roles with `set role`
    grant anon, authenticated, service_role to postgres;
  end if;
end
$$;

do $$
begin
  execute format('grant all on database %I to postgres', current_database());
end
$$;

-- Supabase's Realtime publication, empty, owned by postgres so projects can add tables to it.
create publication supabase_realtime;
alter publication supabase_realtime owner to postgres;

create schema extensions;
create extension "uuid-ossp" with schema extensions;
create extension pgcrypto with schema extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant all on schema extensions to postgres;

-- The default privileges that make every new object of schema `public` the API roles': for
-- objects supabase_admin creates, and for those `postgres` (the project's migrations) creates.
grant usage on schema public to postgres, anon, authenticated, service_role;
grant all on schema public to postgres;
alter default privileges in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;

-- The auth schema: supabase_admin's, GoTrue's to fill; `postgres` may use it, not create in it.
create schema auth authorization supabase_admin;
grant usage on schema auth to anon, authenticated, service_role, postgres;
grant all on schema auth to supabase_auth_admin;

create table auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255) unique,
  encrypted_password varchar(255),
  confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz
);
alter table auth.users owner to supabase_auth_admin;
grant all on auth.users to postgres;

-- The first claim helpers (GoTrue replaces them), owned by supabase_auth_admin.
create function auth.uid() returns uuid language sql stable
  as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create function auth.role() returns text language sql stable
  as $$ select nullif(current_setting('request.jwt.claim.role', true), '')::text $$;
create function auth.email() returns text language sql stable
  as $$ select nullif(current_setting('request.jwt.claim.email', true), '')::text $$;
alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
