-- Realtime: what the realtime server streams (logical replication) and how it authorizes it.

-- Changes of these tables are streamed to subscribers, each row only if its RLS lets the
-- subscriber SELECT it. REPLICA IDENTITY FULL so UPDATE/DELETE carry the whole old row, which
-- that authorization needs.
alter table public.appointments replica identity full;
alter table public.queue_tickets replica identity full;
alter table public.queue_board replica identity full;
alter table public.queue_board_versions replica identity full;
alter table public.notifications replica identity full;
alter table public.clinic_members replica identity full;
alter table public.board_tokens replica identity full;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
alter publication supabase_realtime add table
  public.appointments, public.queue_tickets, public.queue_board, public.queue_board_versions,
  public.notifications, public.clinic_members, public.board_tokens;

-- A second publication, read only by the realtime server, carrying just the columns that RLS
-- helper functions depend on and that are not already in supabase_realtime
-- (private.my_patient_ids() reads patients.user_id / deleted_at). Clients can never subscribe
-- to it: the server only accepts tables of supabase_realtime.
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'realtime_directory') then
    create publication realtime_directory;
  end if;
end
$$;
alter publication realtime_directory add table public.patients (id, user_id, clinic_id, deleted_at);

-- Durable catch-up cursors, so that clients reconnecting after a realtime-server restart
-- receive what they missed. Only the realtime server (superuser or service_role) reads it.
create table if not exists private.realtime_cursors (
  key text primary key,
  lsn bigint not null,
  -- null while the subscriber is connected (a crash leaves it null: treated as "left then")
  disconnected_at timestamptz,
  updated_at timestamptz not null default now()
);
alter table private.realtime_cursors enable row level security;
alter table private.realtime_cursors force row level security;
grant all on private.realtime_cursors to service_role;

-- ---------------------------------------------------------------------------------------
-- Private channels
-- ---------------------------------------------------------------------------------------

-- Private realtime channels are authorized by the database, as in Supabase: RLS policies on
-- `realtime.messages`, with the topic being checked exposed by `realtime.topic()`.
--
-- For each join of a private channel (again on a token change, and whenever a membership or
-- board token changes) the realtime server, in a transaction it always rolls back:
--   1. as itself, inserts one 'broadcast' and one 'presence' row for the topic;
--   2. as the caller (`role`, `request.jwt.claims`, `realtime.topic` set locally) selects them:
--      a visible row lets the caller RECEIVE that extension (broadcasts / presence sync);
--   3. inserts one row per extension (under a savepoint): an accepted row lets it SEND.
-- Nothing is ever stored. The rooms (private topics; anything else is refused):
--
-- | topic                    | staff of the clinic | the clinic's live board token | the user |
-- | ------------------------ | ------------------- | ----------------------------- | -------- |
-- | `clinic:<clinic_id>[:…]` | receive + send      | —                             |          |
-- | `board:<clinic_id>[:…]`  | receive + send      | receive                       |          |
-- | `user:<user_id>[:…]`     |                     |                               | receive + send |
--
-- Patients have no clinic room (sign-up is open). service_role bypasses RLS: every topic.
-- Membership and board-token validity come from the RLS helpers (private.staff_clinic_ids,
-- private.board_clinic_id), so a revocation counts at the next check.
-- On a Supabase database the schema, table and function already exist and are kept.

create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

create table if not exists realtime.messages (
  id uuid not null default gen_random_uuid(),
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;
alter table realtime.messages force row level security;
grant select, insert on realtime.messages to anon, authenticated;
grant all on realtime.messages to service_role;

do $$
begin
  if to_regprocedure('realtime.topic()') is null then
    create function realtime.topic() returns text
      language sql stable
      as $f$ select nullif(current_setting('realtime.topic', true), '')::text $f$;
  end if;
end
$$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

-- The id named by the topic being authorized when it is `<kind>:<uuid>` or
-- `<kind>:<uuid>:<anything>`; null otherwise.
create or replace function private.realtime_topic_id(p_kind text) returns uuid
  language sql stable
  set search_path = ''
  as $$
    select (regexp_match(realtime.topic(), '^' || p_kind
      || ':([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(:|$)'))[1]::uuid
  $$;

-- True when the caller may receive and send on the topic being authorized: a `clinic:` or
-- `board:` room of a clinic they are staff of, or their own `user:` room.
create or replace function private.realtime_room_member() returns boolean
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return coalesce(private.realtime_topic_id('user') = (select auth.uid()), false)
    or exists (
      select 1 from private.staff_clinic_ids() s(clinic_id)
      where s.clinic_id in (private.realtime_topic_id('clinic'), private.realtime_topic_id('board')));
end
$$;

create policy room_members_receive on realtime.messages for select to authenticated
  using (extension in ('broadcast', 'presence') and (select private.realtime_room_member()));
create policy room_members_send on realtime.messages for insert to authenticated
  with check (extension in ('broadcast', 'presence') and (select private.realtime_room_member()));
create policy board_room_receive on realtime.messages for select to anon
  using (extension in ('broadcast', 'presence')
         and (select private.realtime_topic_id('board')) = (select private.board_clinic_id()));
