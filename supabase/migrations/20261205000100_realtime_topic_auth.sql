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
