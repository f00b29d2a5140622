-- Realtime server (issue 4): what its in-process authorization and catch-up need.
--
-- 1. A second publication, read only by the realtime server, carrying just the columns that
--    RLS helper functions depend on and that are not already in supabase_realtime
--    (private.my_patient_ids() reads patients.user_id / deleted_at). Clients can never
--    subscribe to it: the server only accepts tables of supabase_realtime.
-- 2. Durable catch-up cursors, so that clients reconnecting after a realtime-server restart
--    receive what they missed. Only the realtime server (superuser or service_role) reads it.

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'realtime_directory') then
    create publication realtime_directory;
  end if;
end
$$;
alter publication realtime_directory add table public.patients (id, user_id, clinic_id, deleted_at);

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
