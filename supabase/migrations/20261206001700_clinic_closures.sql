-- Clinic-wide closures and public holidays. A closure closes a clinic on every local date from
-- `starts_on` to `ends_on` (inclusive; never ending before it starts): private.slot_decisions
-- offers no start on those days and refuses every start there (`closed`, the API's
-- `clinic_closed`), for the listing, holds, bookings and reschedules alike. Its admins add and
-- remove closures (policies clinic_closures_admin_*; audited; each change moves the clinic's
-- availability version through private.schedule_availability), and import a year of public
-- holidays from private.public_holidays (Singapore's, as data: a later year is a row insert).
-- Bookings already on a day being closed are never dropped: the API answers with them
-- (private.closure_collisions) so that the admin can move or cancel them; holds there are
-- released (private.closure_releases_holds).

create table public.clinic_closures (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  starts_on date not null,
  ends_on date not null,
  reason text not null,
  -- The country whose public holiday this is, when imported (api.import_public_holidays).
  holiday_country text,
  created_at timestamptz not null default now(),
  constraint clinic_closures_range check (ends_on >= starts_on),
  constraint clinic_closures_span check (ends_on - starts_on < 366),
  constraint clinic_closures_reason check (length(btrim(reason)) between 1 and 100),
  constraint clinic_closures_key unique (clinic_id, starts_on, ends_on)
);

create trigger audit after insert or update or delete on public.clinic_closures
  for each row execute function audit.log_change();
create trigger availability after insert or update or delete on public.clinic_closures
  for each row execute function private.schedule_availability();

-- A live hold converts to a booking without a new decision (private.book), so a closure
-- releases the holds on its days: their holders' bookings then take the decision's path and
-- are refused. Holds are not bookings; bookings stay (private.closure_collisions lists them).
-- As the caller: the clinic's admins may delete its appointments (appointments_delete).
create or replace function private.closure_releases_holds() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  delete from public.appointments a
  where a.clinic_id = new.clinic_id and a.status = 'held'
    and a.service_date between new.starts_on and new.ends_on;
  return null;
end
$$;
revoke all on function private.closure_releases_holds() from public;

create trigger release_holds after insert on public.clinic_closures
  for each row execute function private.closure_releases_holds();

-- Members read their clinic's closures (no patient data); only its admins change them.
alter table public.clinic_closures enable row level security;
alter table public.clinic_closures force row level security;
create policy clinic_closures_read on public.clinic_closures for select to authenticated
  using (clinic_id in (select private.member_clinic_ids()));
create policy clinic_closures_admin_insert on public.clinic_closures for insert to authenticated
  with check (clinic_id in (select private.admin_clinic_ids()));
create policy clinic_closures_admin_delete on public.clinic_closures for delete to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));
revoke all on public.clinic_closures from anon, authenticated, service_role;
grant select, insert, delete on public.clinic_closures to authenticated;
grant select, insert, update, delete on public.clinic_closures to service_role;

-- Public holidays as gazetted (Singapore: the Ministry of Manpower's list, with the Monday in
-- lieu of a Sunday holiday as a day of its own).
create table private.public_holidays (
  country text not null check (country ~ '^[A-Z]{2}$'),
  day date not null,
  name text not null,
  primary key (country, day)
);
alter table private.public_holidays enable row level security;
alter table private.public_holidays force row level security;

insert into private.public_holidays (country, day, name) values
  ('SG', '2025-01-01', 'New Year''s Day'),
  ('SG', '2025-01-29', 'Chinese New Year'),
  ('SG', '2025-01-30', 'Chinese New Year (second day)'),
  ('SG', '2025-03-31', 'Hari Raya Puasa'),
  ('SG', '2025-04-18', 'Good Friday'),
  ('SG', '2025-05-01', 'Labour Day'),
  ('SG', '2025-05-03', 'Polling Day'),
  ('SG', '2025-05-12', 'Vesak Day'),
  ('SG', '2025-06-07', 'Hari Raya Haji'),
  ('SG', '2025-08-09', 'National Day'),
  ('SG', '2025-10-20', 'Deepavali'),
  ('SG', '2025-12-25', 'Christmas Day'),
  ('SG', '2026-01-01', 'New Year''s Day'),
  ('SG', '2026-02-17', 'Chinese New Year'),
  ('SG', '2026-02-18', 'Chinese New Year (second day)'),
  ('SG', '2026-03-21', 'Hari Raya Puasa'),
  ('SG', '2026-04-03', 'Good Friday'),
  ('SG', '2026-05-01', 'Labour Day'),
  ('SG', '2026-05-27', 'Hari Raya Haji'),
  ('SG', '2026-05-31', 'Vesak Day'),
  ('SG', '2026-06-01', 'Vesak Day (observed)'),
  ('SG', '2026-08-09', 'National Day'),
  ('SG', '2026-08-10', 'National Day (observed)'),
  ('SG', '2026-11-08', 'Deepavali'),
  ('SG', '2026-11-09', 'Deepavali (observed)'),
  ('SG', '2026-12-25', 'Christmas Day');

-- The public holidays of `p_country` in `p_year` (public data; the table stays private).
create or replace function private.public_holidays_of(p_country text, p_year integer)
  returns setof private.public_holidays
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return query select * from private.public_holidays h
    where h.country = p_country
      and h.day between make_date(p_year, 1, 1) and make_date(p_year, 12, 31);
end
$$;
revoke all on function private.public_holidays_of(text, integer) from public;
grant execute on function private.public_holidays_of(text, integer) to authenticated;

-- The years on record for `p_country`.
create or replace function private.public_holiday_years(p_country text) returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (select coalesce(jsonb_agg(distinct extract(year from h.day)::integer), '[]'::jsonb)
    from private.public_holidays h where h.country = p_country);
end
$$;
revoke all on function private.public_holiday_years(text) from public;
grant execute on function private.public_holiday_years(text) to authenticated;

-- ---------------------------------------------------------------------------------------
-- API (the clinic's admins)
-- ---------------------------------------------------------------------------------------

create or replace function private.closure_json(k public.clinic_closures) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select pg_catalog.jsonb_build_object('id', k.id, 'starts_on', k.starts_on,
      'ends_on', k.ends_on, 'reason', k.reason, 'holiday_country', k.holiday_country,
      'created_at', k.created_at)
  $$;
revoke all on function private.closure_json(public.clinic_closures) from public;
grant execute on function private.closure_json(public.clinic_closures) to authenticated;

-- The bookings (scheduled or confirmed) of a clinic on local dates `p_from`..`p_to`, earliest
-- first, as the caller may read them: who, with whom, when — never why.
create or replace function private.closure_collisions(p_clinic uuid, p_from date, p_to date)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id', a.id, 'status', a.status, 'date', a.service_date,
        'start', private.iso_in_zone(lower(a.period), c.timezone),
        'end', private.iso_in_zone(upper(a.period), c.timezone),
        'doctor_id', a.doctor_id, 'doctor_name', d.display_name,
        'patient_id', a.patient_id, 'patient_name', p.full_name,
        'patient_number', p.patient_number)
      order by lower(a.period), a.id), '[]'::jsonb)
    from public.appointments a
    join public.clinics c on c.id = a.clinic_id
    join public.doctors d on d.id = a.doctor_id
    join public.patients p on p.id = a.patient_id
    where a.clinic_id = p_clinic and a.service_date between p_from and p_to
      and a.status in ('scheduled', 'confirmed')
  $$;
revoke all on function private.closure_collisions(uuid, date, date) from public;
grant execute on function private.closure_collisions(uuid, date, date) to authenticated;

-- The clinic's closures ending on or after `p_from` (default: all), by first day, each with
-- how many bookings it collides with.
create or replace function api.list_closures(p_code text, p_from date default null)
  returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  return coalesce((
    select jsonb_agg(private.closure_json(k) || jsonb_build_object('affected_appointments',
        jsonb_array_length(private.closure_collisions(v_clinic, k.starts_on, k.ends_on)))
      order by k.starts_on, k.ends_on)
    from public.clinic_closures k
    where k.clinic_id = v_clinic and (p_from is null or k.ends_on >= p_from)), '[]'::jsonb);
end
$$;

-- Closes the clinic from `p_starts` to `p_ends` (admins): the closure and the bookings it
-- collides with (still booked: nothing is dropped).
create or replace function api.add_closure(p_code text, p_starts date, p_ends date,
  p_reason text)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_row public.clinic_closures;
begin
  if p_ends < p_starts then
    perform private.raise_api(422, 'invalid_range', 'A closure cannot end before it starts');
  end if;
  if p_ends - p_starts >= 366 then
    perform private.raise_api(422, 'invalid_range', 'A closure lasts at most a year');
  end if;
  insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason)
  values (v_clinic, p_starts, p_ends, btrim(p_reason))
  on conflict on constraint clinic_closures_key do nothing
  returning * into v_row;
  if not found then
    perform private.raise_api(409, 'closure_exists', 'The clinic is already closed on those dates');
  end if;
  return jsonb_build_object('closure', private.closure_json(v_row),
    'affected_appointments', private.closure_collisions(v_clinic, p_starts, p_ends));
end
$$;

-- Reopens the clinic on a closure's days (admins).
create or replace function api.remove_closure(p_code text, p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  delete from public.clinic_closures where id = p_id and clinic_id = v_clinic;
  if not found then
    perform private.raise_api(404, 'closure_not_found', 'No such closure');
  end if;
end
$$;

-- Closes the clinic on each public holiday of `p_country` in `p_year` (admins); a holiday
-- already closed (the same days) is skipped, so importing twice changes nothing. Answers with
-- the closures added and the bookings they collide with; 422 for a year not on record.
create or replace function api.import_public_holidays(p_code text, p_year integer,
  p_country text default 'SG')
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_added jsonb;
begin
  if not exists (select 1 from private.public_holidays_of(p_country, p_year)) then
    perform private.raise_api(422, 'holidays_unavailable',
      format('No public holidays of %s on record for %s', p_country, p_year),
      jsonb_build_object('years', private.public_holiday_years(p_country)));
  end if;
  with added as (
    insert into public.clinic_closures (clinic_id, starts_on, ends_on, reason, holiday_country)
    select v_clinic, h.day, h.day, h.name, h.country
    from private.public_holidays_of(p_country, p_year) h
    on conflict on constraint clinic_closures_key do nothing
    returning *
  )
  select coalesce(jsonb_agg(private.closure_json(a) order by a.starts_on), '[]'::jsonb)
  into v_added from added a;
  return jsonb_build_object('closures', v_added, 'affected_appointments', (
    select coalesce(jsonb_agg(x.a order by x.n), '[]'::jsonb)
    from jsonb_array_elements(private.closure_collisions(v_clinic, make_date(p_year, 1, 1),
      make_date(p_year, 12, 31))) with ordinality x (a, n)
    where exists (select 1 from jsonb_array_elements(v_added) k
                  where k ->> 'starts_on' = x.a ->> 'date')));
end
$$;

revoke all on function api.list_closures(text, date), api.add_closure(text, date, date, text),
  api.remove_closure(text, uuid), api.import_public_holidays(text, integer, text) from public;
grant execute on function api.list_closures(text, date), api.add_closure(text, date, date, text),
  api.remove_closure(text, uuid), api.import_public_holidays(text, integer, text)
  to authenticated;
