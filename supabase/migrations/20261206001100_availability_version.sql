-- Availability versions: a counter per clinic and local day that moves, in the same
-- transaction, with every write that can change that day's free slots (an appointment or hold
-- taken, released, cancelled or moved), and a counter per clinic (`service_date` null) that
-- moves with every change of the schedule itself (doctors, their hours, breaks, blocked dates,
-- slot settings, the clinic). Triggers on the tables keep them, so no function that writes can
-- forget to.
--
-- They let `GET /api/clinics/:code/slots` answer `If-None-Match` with a 304 without computing
-- the grid (api.slots_version), and they are the booking page's live signal: the rows carry no
-- patient data, so anyone may read and stream them (realtime table `availability_versions`).
--
-- What no write marks: time. A hold lapses at `hold_expires_at`, the minimum notice takes
-- today's next slots away as the clock runs, and the advance window opens a day at local
-- midnight; api.slots_version folds those into the key instead.

create table public.availability_versions (
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  service_date date, -- null: the clinic's schedule, every day
  version bigint not null default 1,
  updated_at timestamptz not null default now(),
  constraint availability_versions_key unique nulls not distinct (clinic_id, service_date)
);

-- The lapsed-holds count and the clinic's largest notice of api.slots_version.
create index appointments_clinic_day_holds on public.appointments
  (clinic_id, service_date, hold_expires_at) where status = 'held';
create index doctor_schedules_clinic on public.doctor_schedules (clinic_id);

-- Moves the version of a clinic's day (null: its schedule). A write that cascades from the
-- clinic's own deletion finds no clinic and marks nothing. PL/pgSQL, as the functions below:
-- a SECURITY DEFINER SQL function would be planned again on every call.
create or replace function private.bump_availability(p_clinic uuid, p_day date) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  insert into public.availability_versions as v (clinic_id, service_date)
  select c.id, p_day from public.clinics c where c.id = p_clinic
  on conflict on constraint availability_versions_key
    do update set version = v.version + 1, updated_at = now();
end
$$;
revoke all on function private.bump_availability(uuid, date) from public;

-- After an appointment row changes what it occupies: the local days it left and the days it
-- took — its service date, and the next one when its period runs past local midnight (that
-- day's grid sees it too). One statement, rows in key order (two transactions moving the same
-- two days lock them in the same order).
create or replace function private.appointment_availability() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  insert into public.availability_versions as v (clinic_id, service_date)
  select distinct a.clinic_id, g.day::date
  from (
    select old.clinic_id, old.service_date, old.period where tg_op <> 'INSERT'
    union all
    select new.clinic_id, new.service_date, new.period where tg_op <> 'DELETE'
  ) a (clinic_id, service_date, period)
  join public.clinics c on c.id = a.clinic_id
  cross join lateral generate_series(a.service_date,
    ((upper(a.period) - interval '1 microsecond') at time zone c.timezone)::date,
    interval '1 day') g (day)
  order by 1, 2
  on conflict on constraint availability_versions_key
    do update set version = v.version + 1, updated_at = now();
  return null;
end
$$;
revoke all on function private.appointment_availability() from public;

create trigger availability after insert or delete on public.appointments
  for each row execute function private.appointment_availability();
create trigger availability_update after update on public.appointments
  for each row
  when (old.status is distinct from new.status or old.period is distinct from new.period
    or old.doctor_id is distinct from new.doctor_id
    or old.hold_expires_at is distinct from new.hold_expires_at
    or old.service_date is distinct from new.service_date)
  execute function private.appointment_availability();

-- After a change of the schedule (any row of the tables below): the clinic's every day.
create or replace function private.schedule_availability() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if tg_table_name = 'clinics' then
    perform private.bump_availability(new.id, null);
    return null;
  end if;
  if tg_op <> 'INSERT' then
    perform private.bump_availability(old.clinic_id, null);
  end if;
  if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.clinic_id is distinct from old.clinic_id) then
    perform private.bump_availability(new.clinic_id, null);
  end if;
  return null;
end
$$;
revoke all on function private.schedule_availability() from public;

create trigger availability after insert or update or delete on public.doctors
  for each row execute function private.schedule_availability();
create trigger availability after insert or update or delete
  on public.doctor_schedules
  for each row execute function private.schedule_availability();
create trigger availability after insert or update or delete
  on public.doctor_schedule_hours
  for each row execute function private.schedule_availability();
create trigger availability after insert or update or delete
  on public.doctor_blocked_dates
  for each row execute function private.schedule_availability();
create trigger availability after update on public.clinics
  for each row when (old.* is distinct from new.*)
  execute function private.schedule_availability();

-- The key of a clinic's free slots on `p_day` as of now: equal keys, equal
-- api.available_slots answers (for any doctor filter). Null for an unknown clinic. Parts:
-- the day's and the schedule's versions, how many of the day's holds have lapsed unreleased,
-- the clinic's local date (the advance window) and, while the minimum notice can still take
-- slots of that day away, the current minute (notices are whole minutes). PL/pgSQL: its plan is
-- cached (a SECURITY DEFINER SQL function is planned on every call).
create or replace function api.slots_version(p_code text, p_day date) returns text
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (
    select concat_ws('.',
      coalesce((select v.version from public.availability_versions v
                where v.clinic_id = c.id and v.service_date = p_day), 0),
      coalesce((select v.version from public.availability_versions v
                where v.clinic_id = c.id and v.service_date is null), 0),
      (select count(*) from public.appointments a
       where a.clinic_id = c.id and a.service_date between p_day - 1 and p_day
         and a.status = 'held' and a.hold_expires_at <= now()),
      to_char(l.today, 'YYYYMMDD'),
      case when p_day between l.today and (
          select ((now() + make_interval(mins => max(ds.min_notice_minutes)))
            at time zone c.timezone)::date
          from public.doctor_schedules ds where ds.clinic_id = c.id)
        then floor(extract(epoch from now()) / 60)::bigint end)
    from public.clinics c,
      lateral (select (now() at time zone c.timezone)::date as today) l
    where c.code = upper(p_code) and c.is_active and c.deleted_at is null);
end
$$;
revoke all on function api.slots_version(text, date) from public;
grant execute on function api.slots_version(text, date) to anon, authenticated, service_role;

-- The revalidation of GET /api/clinics/:code/slots as one statement (as private.book_as): the
-- caller's role and claims, then api.slots_version — one round trip, no BEGIN/COMMIT, for the
-- hottest read. Only the role the API connects as may execute it.
create or replace function private.slots_version_as(
  p_role text,
  p_claims text,
  p_request_id text,
  p_code text,
  p_day text
) returns text
  language plpgsql
  as $$
begin
  perform private.act_as(p_role, p_claims, p_request_id);
  return api.slots_version(p_code, p_day::date);
end
$$;
revoke all on function private.slots_version_as(text, text, text, text, text) from public;

-- Readable and streamable by anyone: clinic, day and a counter.
alter table public.availability_versions enable row level security;
alter table public.availability_versions force row level security;
create policy availability_versions_public_read on public.availability_versions for select
  to anon, authenticated
  using (true);
revoke all on public.availability_versions from anon, authenticated, service_role;
grant select on public.availability_versions to anon, authenticated, service_role;

-- Realtime: streamed like the other tables (private.realtime_tables() is the list).
alter table public.availability_versions replica identity full;
alter publication supabase_realtime add table public.availability_versions;

create or replace function private.realtime_tables() returns regclass[]
  language sql immutable
  set search_path = ''
  as $$
    select array[
      'public.appointments', 'public.queue_tickets', 'public.queue_board',
      'public.queue_board_versions', 'public.notifications', 'public.clinic_members',
      'public.board_tokens', 'public.availability_versions'
    ]::regclass[]
  $$;
revoke all on function private.realtime_tables() from public;
