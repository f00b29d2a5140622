-- Running beside Supabase.
--
-- Realtime publication: our realtime server streams the tables of one publication. By default
-- that is `supabase_realtime` (20261122001100_realtime.sql adds our tables to it). On a
-- Supabase project that publication is Supabase Realtime's, which the dashboard edits and which
-- would stream our tables too (with its own JWTs and RLS checks); there the realtime server is
-- given another name (REALTIME_PUBLICATION) and, as it starts, moves our tables into that
-- publication and out of supabase_realtime, so the two never share one.

-- The tables streamed to clients (the list of 20261122001100_realtime.sql, which
-- tests/realtime/db_publication_test.ts holds to this one).
create or replace function private.realtime_tables() returns regclass[]
  language sql immutable
  set search_path = ''
  as $$
    select array[
      'public.appointments', 'public.queue_tickets', 'public.queue_board',
      'public.queue_board_versions', 'public.notifications', 'public.clinic_members',
      'public.board_tokens'
    ]::regclass[]
  $$;
revoke all on function private.realtime_tables() from public;

-- Makes `p_name` the publication of our tables: created when absent, our tables added, and
-- (unless it is supabase_realtime) removed from supabase_realtime. Called by the realtime
-- server as it starts, as the role it connects with (the publications' owner).
create or replace function private.use_realtime_publication(p_name text) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_table regclass;
begin
  if p_name is null or p_name !~ '^[a-z_][a-z0-9_]{0,62}$' then
    raise exception 'realtime publication name % is not a lower-case identifier', p_name
      using errcode = '22023';
  end if;
  if not exists (select 1 from pg_catalog.pg_publication where pubname = p_name) then
    execute pg_catalog.format('create publication %I', p_name);
  end if;
  foreach v_table in array private.realtime_tables() loop
    if not exists (
      select 1 from pg_catalog.pg_publication_rel r
      join pg_catalog.pg_publication p on p.oid = r.prpubid
      where p.pubname = p_name and r.prrelid = v_table
    ) then
      execute pg_catalog.format('alter publication %I add table %s', p_name, v_table);
    end if;
    if p_name <> 'supabase_realtime' and exists (
      select 1 from pg_catalog.pg_publication_rel r
      join pg_catalog.pg_publication p on p.oid = r.prpubid
      where p.pubname = 'supabase_realtime' and r.prrelid = v_table
    ) then
      execute pg_catalog.format('alter publication supabase_realtime drop table %s', v_table);
    end if;
  end loop;
end
$$;
revoke all on function private.use_realtime_publication(text) from public;
