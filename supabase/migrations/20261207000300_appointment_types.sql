-- Appointment types: what a visit is (a consultation, a health screening, a vaccination), per
-- clinic, under a stable `code`: its name, length, colour on the console, who may book it
-- (`patients`, or `staff` only), whether it is still offered, and which doctors offer it (every
-- doctor of the clinic, or those of public.appointment_type_doctors). Every clinic has the type
-- `consultation` — offered by every doctor, as long as each doctor's slot, bookable by patients
-- — so a request that names no type books what it booked before types existed.
--
-- Rules, each in one place:
--   private.slot_decisions  the visit's length comes from the type, the doctor must offer it,
--                           the type must be active (refusals `no_type`, `not_offered`);
--   private.bookable_type   which type a request names: known (404), active (422), and a
--                           staff-only type only for the clinic's staff (403) — for the slot
--                           listing, holds, bookings and reschedules alike;
--   appointments_type       every appointment's type is one of its clinic's (foreign key).
-- Every change is audited and moves the clinic's availability version (the slots' ETag).

create table public.appointment_types (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  code text not null,
  name text not null,
  -- Null: each doctor's slot length (doctor_schedules.slot_minutes).
  duration_minutes integer,
  colour text not null default '#2563eb',
  bookable_by text not null default 'patients',
  all_doctors boolean not null default false,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint appointment_types_key unique (clinic_id, code),
  constraint appointment_types_clinic unique (id, clinic_id),
  constraint appointment_types_code check (code ~ '^[a-z][a-z0-9_]{1,39}$'),
  constraint appointment_types_name check (length(btrim(name)) between 1 and 80),
  constraint appointment_types_duration check (duration_minutes between 5 and 240),
  constraint appointment_types_colour check (colour ~ '^#[0-9a-f]{6}$'),
  constraint appointment_types_bookable_by check (bookable_by in ('patients', 'staff')),
  -- The default type of every request that names none stays bookable by patients.
  constraint appointment_types_default check (
    code <> 'consultation' or (active and bookable_by = 'patients'))
);

-- The doctors who offer a type that not every doctor offers.
create table public.appointment_type_doctors (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null,
  type_id uuid not null,
  doctor_id uuid not null,
  constraint appointment_type_doctors_key unique (type_id, doctor_id),
  foreign key (type_id, clinic_id) references public.appointment_types (id, clinic_id)
    on delete cascade,
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id) on delete cascade
);
create index appointment_type_doctors_doctor on public.appointment_type_doctors (doctor_id);

create trigger touch before update on public.appointment_types
  for each row execute function private.touch_updated_at();
create trigger audit after insert or update or delete on public.appointment_types
  for each row execute function audit.log_change();
create trigger audit after insert or update or delete on public.appointment_type_doctors
  for each row execute function audit.log_change();
create trigger availability after insert or update or delete on public.appointment_types
  for each row execute function private.schedule_availability();
create trigger availability after insert or update or delete on public.appointment_type_doctors
  for each row execute function private.schedule_availability();

-- Every clinic's `consultation`, and a type for any other code its appointments already carry
-- (kept, not offered), so that the foreign key below holds for every existing row.
insert into public.appointment_types (clinic_id, code, name, all_doctors)
select c.id, 'consultation', 'Consultation', true from public.clinics c;
insert into public.appointment_types (clinic_id, code, name, bookable_by, active)
select distinct a.clinic_id, a.appointment_type, left(initcap(replace(a.appointment_type, '_', ' ')), 80),
  'staff', false
from public.appointments a
where a.appointment_type <> 'consultation';

alter table public.appointments
  add constraint appointments_type foreign key (clinic_id, appointment_type)
    references public.appointment_types (clinic_id, code);

-- A new clinic starts with its `consultation`.
create or replace function private.clinic_default_type() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  insert into public.appointment_types (clinic_id, code, name, all_doctors)
  values (new.id, 'consultation', 'Consultation', true);
  return null;
end
$$;
revoke all on function private.clinic_default_type() from public;
create trigger default_type after insert on public.clinics
  for each row execute function private.clinic_default_type();

-- Anyone reads a clinic's types (names, lengths, colours: what the booking page shows); its
-- admins change them (api.*_appointment_type, below).
alter table public.appointment_types enable row level security;
alter table public.appointment_types force row level security;
create policy appointment_types_read on public.appointment_types for select
  to anon, authenticated
  using (true);
create policy appointment_types_admin_insert on public.appointment_types for insert
  to authenticated
  with check (clinic_id in (select private.admin_clinic_ids()));
create policy appointment_types_admin_update on public.appointment_types for update
  to authenticated
  using (clinic_id in (select private.admin_clinic_ids()))
  with check (clinic_id in (select private.admin_clinic_ids()));
create policy appointment_types_admin_delete on public.appointment_types for delete
  to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));
revoke all on public.appointment_types from anon, authenticated, service_role;
grant select on public.appointment_types to anon, authenticated;
grant insert, update, delete on public.appointment_types to authenticated;
grant select, insert, update, delete on public.appointment_types to service_role;

alter table public.appointment_type_doctors enable row level security;
alter table public.appointment_type_doctors force row level security;
create policy appointment_type_doctors_read on public.appointment_type_doctors for select
  to anon, authenticated
  using (true);
create policy appointment_type_doctors_admin_insert on public.appointment_type_doctors
  for insert to authenticated
  with check (clinic_id in (select private.admin_clinic_ids()));
create policy appointment_type_doctors_admin_delete on public.appointment_type_doctors
  for delete to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));
revoke all on public.appointment_type_doctors from anon, authenticated, service_role;
grant select on public.appointment_type_doctors to anon, authenticated;
grant insert, delete on public.appointment_type_doctors to authenticated;
grant select, insert, update, delete on public.appointment_type_doctors to service_role;

-- ---------------------------------------------------------------------------------------
-- The one decision, with the type
-- ---------------------------------------------------------------------------------------

drop function private.take_slot(uuid, timestamptz, integer);
drop function private.slot_decisions(uuid, date, timestamptz, integer);

-- Every start of doctor `p_doctor`'s grid on local date `p_day` with the first rule it breaks
-- (`refusal`, null when bookable), or — given `p_start` — that one start, on the grid or not
-- (`p_day` is then its local date), for a visit of type `p_type` (default `consultation`). The
-- grid: each work period of that weekday turned into absolute instants in the clinic's zone,
-- stepped by slot + buffer minutes from its start, each visit — as long as the type says, else
-- the doctor's slot — ending by the period's end and overlapping no break; none on a blocked
-- date. Refusals, in the order they are tested:
--   no_schedule    the doctor takes no appointments (no schedule, inactive or deleted)
--   no_type        the clinic has no active type `p_type`
--   not_offered    the doctor does not offer that type
--   too_far_ahead  the local date is beyond the advance window
--   too_soon       the start is within the minimum notice (or past)
--   closed         the clinic is closed that local date (public.clinic_closures)
--   off_grid       not a start of the doctor's grid that day
--   day_full       the doctor's daily cap is reached (live holds count)
--   taken          a booking or live hold overlaps the visit
-- `expired_hold` (one start only): an expired hold overlaps the visit, to be cleared before it
-- is taken. SECURITY DEFINER: schedules are readable by members only and appointments by their
-- patients and staff, but availability is public; it answers with times and refusals only.
-- STABLE: it sees what its caller's statement sees; private.take_slot asks in a statement of
-- its own after taking the daily cap's lock.
create or replace function private.slot_decisions(
  p_doctor uuid,
  p_day date,
  p_start timestamptz default null,
  p_type text default null
) returns table (
  starts timestamptz,
  ends timestamptz,
  refusal text,
  message text,
  expired_hold boolean
)
  language plpgsql stable
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  as $$
begin
  return query
  with s as materialized (
    select ds.slot_minutes + ds.buffer_minutes as step, ds.max_per_day, ds.advance_days,
      ds.min_notice_minutes, c.timezone as tz, x.day,
      make_interval(mins => coalesce(t.duration_minutes, ds.slot_minutes)) as len,
      t.id is not null as typed,
      t.all_doctors or exists (
        select 1 from public.appointment_type_doctors o
        where o.type_id = t.id and o.doctor_id = p_doctor) as offered,
      (now() at time zone c.timezone)::date as today,
      exists (select 1 from public.clinic_closures k
              where k.clinic_id = c.id and x.day between k.starts_on and k.ends_on) as closed,
      case when ds.max_per_day is not null then (
        select count(*) from public.appointments a
        where a.doctor_id = p_doctor and a.service_date = x.day
          and a.status not in ('cancelled', 'rescheduled')
          and (a.status <> 'held' or a.hold_expires_at > now())) end as load
    from public.doctor_schedules ds
    join public.doctors d on d.id = ds.doctor_id and d.is_active and d.deleted_at is null
    join public.clinics c on c.id = d.clinic_id
    left join public.appointment_types t
      on t.clinic_id = c.id and t.code = coalesce(p_type, 'consultation') and t.active
    cross join lateral (
      select coalesce((p_start at time zone c.timezone)::date, p_day) as day) x
    where ds.doctor_id = p_doctor
  ),
  periods as materialized (
    select h.kind, (s.day + h.starts) at time zone s.tz as lo,
      (s.day + h.ends) at time zone s.tz as hi
    from s
    join public.doctor_schedule_hours h
      on h.doctor_id = p_doctor and h.weekday = extract(dow from s.day)::smallint
    where not s.closed and s.typed and s.offered
      and not exists (select 1 from public.doctor_blocked_dates b
                      where b.doctor_id = p_doctor and b.day = s.day)
  ),
  -- Given a start, the series begins at the period's last step at or before it: the same
  -- grid, without the steps that cannot be that start.
  grid as (
    select distinct g.g as starts
    from s, periods w,
      generate_series(
        case when p_start is null or p_start <= w.lo then w.lo
          else w.lo + make_interval(mins => s.step
            * floor(extract(epoch from p_start - w.lo) / (s.step * 60))::integer) end,
        case when p_start is null then w.hi - s.len else least(w.hi - s.len, p_start) end,
        make_interval(mins => s.step)) as g (g)
    where w.kind = 'work'
      and not exists (
        select 1 from periods b
        where b.kind = 'break' and tstzrange(b.lo, b.hi) && tstzrange(g.g, g.g + s.len))
  ),
  candidates as (
    select g.starts, true as on_grid from grid g where p_start is null
    union all
    select p_start, exists (select 1 from grid g where g.starts = p_start)
    where p_start is not null
  ),
  decided as (
    select k.starts, k.starts + s.len as ends, s.min_notice_minutes, s.advance_days,
      case
        when s.day is null then 'no_schedule'
        when not s.typed then 'no_type'
        when not s.offered then 'not_offered'
        when s.day > s.today + s.advance_days then 'too_far_ahead'
        when k.starts < now() + make_interval(mins => s.min_notice_minutes) then 'too_soon'
        when s.closed then 'closed'
        when not k.on_grid then 'off_grid'
        when s.load >= s.max_per_day then 'day_full'
        when exists (
          select 1 from public.appointments a
          where a.doctor_id = p_doctor and a.period && tstzrange(k.starts, k.starts + s.len)
            and a.status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress')
            and (a.status <> 'held' or a.hold_expires_at > now())) then 'taken'
      end as refusal
    from candidates k
    left join s on true
  )
  select o.starts, o.ends, o.refusal,
    case o.refusal
      when 'no_schedule' then 'The doctor takes no appointments'
      when 'no_type' then 'The clinic offers no such appointment type'
      when 'not_offered' then 'The doctor does not offer that appointment type'
      when 'too_far_ahead' then
        format('Appointments can be booked up to %s days ahead', o.advance_days)
      when 'too_soon' then format('Appointments need %s minutes notice', o.min_notice_minutes)
      when 'closed' then 'The clinic is closed that day'
      when 'off_grid' then 'That time is not one of the doctor''s slots'
      when 'day_full' then 'The doctor is fully booked that day'
      when 'taken' then 'That time slot is no longer available'
    end,
    p_start is not null and o.refusal is null and exists (
      select 1 from public.appointments a
      where a.doctor_id = p_doctor and a.status = 'held' and a.hold_expires_at <= now()
        and a.period && tstzrange(o.starts, o.ends))
  from decided o
  order by o.starts;
end
$$;
revoke all on function private.slot_decisions(uuid, date, timestamptz, text) from public;
grant execute on function private.slot_decisions(uuid, date, timestamptz, text)
  to authenticated, service_role;

-- Takes `p_start` for a hold, booking or reschedule of type `p_type` (default `consultation`):
-- private.slot_decisions' answer, or its refusal as the API's error. With a daily cap, first
-- takes a per-doctor-day lock, so that the decision — a new statement — counts every booking
-- committed before the lock was granted and concurrent writers cannot overshoot the cap.
-- Clears an expired hold in the way. Returns the visit's period; the caller's INSERT stays
-- SECURITY INVOKER, so RLS has the last word. SECURITY DEFINER: the lock must not depend on
-- whether the caller may read the schedule.
create or replace function private.take_slot(
  p_doctor uuid,
  p_start timestamptz,
  p_type text default null
) returns tstzrange
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_day date;
  d record;
begin
  select (p_start at time zone c.timezone)::date into v_day
  from public.doctor_schedules ds
  join public.clinics c on c.id = ds.clinic_id
  where ds.doctor_id = p_doctor and ds.max_per_day is not null;
  if v_day is not null then
    perform pg_advisory_xact_lock(hashtext(p_doctor::text), v_day - date '2000-01-01');
  end if;
  select * into d from private.slot_decisions(p_doctor, null, p_start, p_type);
  if not found then -- no start given
    perform private.raise_api(422, 'outside_schedule',
      'That time is not one of the doctor''s slots');
  end if;
  if d.refusal is not null then
    perform private.raise_api(
      case when d.refusal in ('day_full', 'taken') then 409 else 422 end,
      case d.refusal
        when 'no_type' then 'appointment_type_inactive'
        when 'not_offered' then 'appointment_type_not_offered'
        when 'too_far_ahead' then 'too_far_ahead'
        when 'too_soon' then 'too_soon'
        when 'closed' then 'clinic_closed'
        when 'day_full' then 'slot_unavailable'
        when 'taken' then 'slot_unavailable'
        else 'outside_schedule'
      end,
      d.message,
      case when d.refusal in ('no_type', 'not_offered') then
        jsonb_build_array(jsonb_build_object('path', 'type', 'message', d.message)) end);
  end if;
  if d.expired_hold then
    perform private.release_expired_holds(p_doctor, tstzrange(d.starts, d.ends));
  end if;
  return tstzrange(d.starts, d.ends);
end
$$;
revoke all on function private.take_slot(uuid, timestamptz, text) from public;
grant execute on function private.take_slot(uuid, timestamptz, text)
  to authenticated, service_role;

-- The type a request names (`p_code`, default `consultation`) at clinic `p_clinic`, if the
-- caller may take it: 404 for an unknown code, 422 for a type no longer offered, 403 for a
-- staff-only type unless the caller is the clinic's staff (`p_staff`; null: looked up).
create or replace function private.bookable_type(p_clinic uuid, p_code text,
  p_staff boolean default null)
  returns public.appointment_types
  language plpgsql stable
  set search_path = ''
  as $$
declare
  t public.appointment_types;
begin
  select * into t from public.appointment_types
  where clinic_id = p_clinic and code = coalesce(p_code, 'consultation');
  if not found then
    perform private.raise_api(404, 'appointment_type_not_found',
      'The clinic has no such appointment type',
      '[{"path": "type", "message": "No such appointment type"}]');
  end if;
  if not t.active then
    perform private.raise_api(422, 'appointment_type_inactive',
      'That appointment type is no longer offered',
      '[{"path": "type", "message": "No longer offered"}]');
  end if;
  if t.bookable_by = 'staff'
     and not coalesce(p_staff, p_clinic in (select private.staff_clinic_ids())) then
    perform private.raise_api(403, 'appointment_type_staff_only',
      'Only the clinic''s staff can book that appointment type',
      '[{"path": "type", "message": "Booked by the clinic''s staff only"}]');
  end if;
  return t;
end
$$;
revoke all on function private.bookable_type(uuid, text, boolean) from public;
grant execute on function private.bookable_type(uuid, text, boolean)
  to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Who books what for whom
-- ---------------------------------------------------------------------------------------

alter type private.booking_target add attribute appointment_type text;

-- Who is booked, with whom, when, for what: patients book for themselves; staff
-- (private.staff_roles()) for any patient of their clinic; nobody in another clinic; the type
-- as private.bookable_type allows. One query as the owner (each RLS'd lookup would re-run the
-- membership helpers, and each PL/pgSQL statement pays executor start-up), then the checks in
-- order; the appointment INSERT/UPDATE stays SECURITY INVOKER, so RLS has the last word.
create or replace function private.booking_target(p_request jsonb)
  returns private.booking_target
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_uid uuid := auth.uid();
  v_patient uuid := (p_request ->> 'patient_id')::uuid;
  v_doctor uuid := (p_request ->> 'doctor_id')::uuid;
  v_start timestamptz := (p_request ->> 'start')::timestamptz;
  k record;
begin
  if v_uid is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to do this');
  end if;
  select c.id as clinic_id, c.code, c.name, c.timezone,
    exists (
      select 1 from public.clinic_members m
      where m.user_id = v_uid and m.clinic_id = c.id and m.revoked_at is null
        and m.role = any (private.staff_roles())) as staff,
    case when v_patient is null then (
      select p.id from public.patients p
      where p.clinic_id = c.id and p.user_id = v_uid and p.deleted_at is null) end as own_patient,
    case when v_patient is not null then exists (
      select 1 from public.patients p
      where p.id = v_patient and p.clinic_id = c.id and p.deleted_at is null) end as in_clinic,
    case when v_patient is not null then exists (
      select 1 from public.patients p
      where p.id = v_patient and p.clinic_id = c.id and p.user_id = v_uid
        and p.deleted_at is null) end as own,
    d.id as doctor_id, d.display_name as doctor_name
  into k
  from public.clinics c
  left join public.doctors d
    on d.id = v_doctor and d.clinic_id = c.id and d.is_active and d.deleted_at is null
  where c.code = upper(p_request ->> 'clinic_code') and c.is_active and c.deleted_at is null;

  if k.clinic_id is null then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if v_patient is null then
    v_patient := k.own_patient;
    if v_patient is null then
      if k.staff then
        perform private.raise_api(400, 'patient_required',
          'Staff must say which patient the appointment is for (patient_id)');
      end if;
      perform private.raise_api(403, 'not_a_patient', 'You are not a patient of this clinic');
    end if;
  elsif k.staff then
    if not k.in_clinic then
      perform private.raise_api(404, 'patient_not_found', 'No such patient at this clinic');
    end if;
  elsif not k.own then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can book for another patient');
  end if;
  if k.doctor_id is null then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;
  return row(k.clinic_id, k.code, k.timezone, v_patient, v_doctor, v_start, k.name,
    k.doctor_name,
    (private.bookable_type(k.clinic_id, p_request ->> 'type', k.staff)).code
  )::private.booking_target;
end
$$;

-- ---------------------------------------------------------------------------------------
-- Availability of a type
-- ---------------------------------------------------------------------------------------

drop function api.clinic_days(text, uuid, integer);
drop function api.available_slots(text, date, uuid);

-- Free slots of a clinic's doctors on a local date for a visit of type `p_type` (default
-- `consultation`, private.bookable_type): the starts private.slot_decisions does not refuse.
create or replace function api.available_slots(p_code text, p_day date, p_doctor uuid default null,
  p_type text default null)
  returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_type public.appointment_types;
  v_slots jsonb;
begin
  select * into v_clinic from public.clinics
  where code = upper(p_code) and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if p_doctor is not null and not exists (
    select 1 from public.doctors d
    where d.id = p_doctor and d.clinic_id = v_clinic.id and d.is_active and d.deleted_at is null
  ) then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;
  v_type := private.bookable_type(v_clinic.id, p_type);

  select coalesce(jsonb_agg(jsonb_build_object(
      'doctor_id', d.id,
      'doctor_name', d.display_name,
      'start', private.iso_in_zone(s.starts, v_clinic.timezone),
      'end', private.iso_in_zone(s.ends, v_clinic.timezone),
      'local_time', to_char(s.starts at time zone v_clinic.timezone, 'HH24:MI'),
      'duration_minutes', extract(epoch from s.ends - s.starts)::integer / 60
    ) order by s.starts, d.display_name), '[]'::jsonb)
  into v_slots
  from public.doctors d
  cross join lateral private.slot_decisions(d.id, p_day, null, v_type.code) s
  where d.clinic_id = v_clinic.id and (p_doctor is null or d.id = p_doctor)
    and s.refusal is null;

  return jsonb_build_object('clinic_code', v_clinic.code, 'date', p_day,
    'timezone', v_clinic.timezone, 'appointment_type', v_type.code,
    'bookable_by', v_type.bookable_by, 'slots', v_slots);
end
$$;

-- `p_days` local days of a clinic from `p_from` (default today; at most 62): whether each is
-- open for a visit of type `p_type` (some doctor — or the given one — still has a start of the
-- grid ahead that day within the advance window) and how many times are free
-- (api.available_slots); and the last day any of those doctors can be booked.
create or replace function api.clinic_days(p_code text, p_doctor uuid default null,
  p_days integer default 14, p_type text default null, p_from date default null)
  returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  -- The clinic, doctor and type checks (404s, 403, 422) of api.available_slots; no date, so
  -- no slots.
  v_first jsonb := api.available_slots(p_code, null, p_doctor, p_type);
  v_type text := v_first ->> 'appointment_type';
  v_clinic public.clinics;
  v_today date;
  v_from date;
begin
  select * into v_clinic from public.clinics where code = v_first ->> 'clinic_code';
  v_today := (now() at time zone v_clinic.timezone)::date;
  v_from := coalesce(p_from, v_today);
  return jsonb_build_object('clinic_code', v_clinic.code, 'timezone', v_clinic.timezone,
    'last_bookable_date', (
      select v_today + max(ds.advance_days)
      from public.doctors doc
      join public.doctor_schedules ds on ds.doctor_id = doc.id
      where doc.clinic_id = v_clinic.id and doc.is_active and doc.deleted_at is null
        and (p_doctor is null or doc.id = p_doctor)),
    'days', (
      select jsonb_agg(jsonb_build_object(
          'date', d.day,
          'open', exists (
            select 1
            from public.doctors doc
            cross join lateral private.slot_decisions(doc.id, d.day, null, v_type) s
            where doc.clinic_id = v_clinic.id and (p_doctor is null or doc.id = p_doctor)
              and s.starts > now() and s.refusal is distinct from 'too_far_ahead'),
          'free_slots', jsonb_array_length(
            api.available_slots(v_clinic.code, d.day, p_doctor, v_type) -> 'slots'))
        order by d.day)
      from generate_series(v_from, v_from + greatest(least(p_days, 62), 1) - 1,
        interval '1 day') as g (g)
      cross join lateral (select g.g::date as day) d));
end
$$;

revoke all on function api.available_slots(text, date, uuid, text),
  api.clinic_days(text, uuid, integer, text, date) from public;
grant execute on function api.available_slots(text, date, uuid, text),
  api.clinic_days(text, uuid, integer, text, date) to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Holds, bookings, reschedules of a type
-- ---------------------------------------------------------------------------------------

-- The booking itself (no idempotency): converts the caller's live hold (of the same type), or
-- takes a free slot. Only a live hold converts: an expired one nobody has taken yet is
-- cleared and the slot is booked through the normal path, with every rule checked again.
create or replace function private.book(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_hold_id uuid := (p_request ->> 'hold_id')::uuid;
  v_t private.booking_target := private.booking_target(p_request);
  v_period tstzrange;
  v_row public.appointments;
begin
  if v_hold_id is not null then
    select * into v_row from public.appointments
    where id = v_hold_id and status = 'held' and hold_expires_at > now() for update;
    if found then
      if v_row.patient_id <> v_t.patient_id or v_row.doctor_id <> v_t.doctor_id
         or lower(v_row.period) <> v_t.starts
         or v_row.appointment_type <> v_t.appointment_type then
        perform private.raise_api(422, 'hold_mismatch',
          'The hold is for another patient, doctor, time or type');
      end if;
      update public.appointments
      set status = 'scheduled', visit_reason = p_request ->> 'visit_reason'
      where id = v_hold_id
      returning * into v_row;
      return private.appointment_json(v_row);
    end if;
  end if;
  v_period := private.take_slot(v_t.doctor_id, v_t.starts, v_t.appointment_type);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    appointment_type, visit_reason, booked_by, source)
  values (v_t.clinic_id, v_t.patient_id, v_t.doctor_id, v_period, 'scheduled',
    v_t.appointment_type, p_request ->> 'visit_reason', auth.uid(),
    coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return private.appointment_json_of(v_row, v_t.timezone, v_t.clinic_code, v_t.clinic_name,
    v_t.doctor_name);
end
$$;

-- Holds a slot for five minutes: nobody else can hold or book it meanwhile; the holder books
-- it with `hold_id` (and the same type). A patient keeps one hold per clinic (a new hold
-- releases the old one).
create or replace function api.hold_slot(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_t private.booking_target := private.booking_target(p_request);
  v_period tstzrange;
  v_row public.appointments;
begin
  delete from public.appointments
  where patient_id = v_t.patient_id and clinic_id = v_t.clinic_id and status = 'held';
  v_period := private.take_slot(v_t.doctor_id, v_t.starts, v_t.appointment_type);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    appointment_type, hold_expires_at, booked_by, source)
  values (v_t.clinic_id, v_t.patient_id, v_t.doctor_id, v_period, 'held', v_t.appointment_type,
    now() + interval '5 minutes', auth.uid(), coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return jsonb_build_object('hold', jsonb_build_object(
    'id', v_row.id,
    'clinic_code', v_t.clinic_code,
    'doctor_id', v_row.doctor_id,
    'patient_id', v_row.patient_id,
    'appointment_type', v_row.appointment_type,
    'start', private.iso_in_zone(lower(v_row.period), v_t.timezone),
    'end', private.iso_in_zone(upper(v_row.period), v_t.timezone),
    'expires_at', v_row.hold_expires_at));
end
$$;

-- Moves an appointment atomically, keeping its type: the old one becomes 'rescheduled' and a
-- new one (pointing back with rescheduled_from) takes the new slot — both or neither. The old
-- one stops counting (overlap, daily cap) before the new slot is taken.
create or replace function api.reschedule_appointment(p_id uuid, p_start timestamptz, p_doctor uuid)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_old public.appointments;
  v_new public.appointments;
  v_doctor uuid;
  v_period tstzrange;
begin
  select * into v_old from public.appointments where id = p_id and status <> 'held' for update;
  if not found then
    perform private.raise_api(404, 'appointment_not_found', 'No such appointment');
  end if;
  if v_old.status not in ('scheduled', 'confirmed') then
    perform private.raise_api(409, 'invalid_state',
      format('A %s appointment cannot be rescheduled', v_old.status));
  end if;
  v_doctor := coalesce(p_doctor, v_old.doctor_id);
  if v_doctor = v_old.doctor_id and p_start = lower(v_old.period) then
    perform private.raise_api(422, 'same_slot', 'The appointment is already at that time');
  end if;
  if not exists (select 1 from public.doctors d
                 where d.id = v_doctor and d.clinic_id = v_old.clinic_id
                   and d.is_active and d.deleted_at is null) then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;
  perform private.bookable_type(v_old.clinic_id, v_old.appointment_type);
  update public.appointments set status = 'rescheduled' where id = p_id returning * into v_old;
  v_period := private.take_slot(v_doctor, p_start, v_old.appointment_type);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    appointment_type, visit_reason, booked_by, source, rescheduled_from)
  values (v_old.clinic_id, v_old.patient_id, v_doctor, v_period, 'scheduled',
    v_old.appointment_type, v_old.visit_reason, auth.uid(), v_old.source, v_old.id)
  returning * into v_new;
  return jsonb_build_object('appointment', private.appointment_json(v_new),
    'previous', private.appointment_json(v_old));
end
$$;

-- An appointment as the API shows it, with its type (code, name, colour). PL/pgSQL: its plan is
-- kept for the session, where a SQL function that cannot be inlined is planned on every call.
create or replace function private.appointment_json_of(
  a public.appointments,
  p_timezone text,
  p_clinic_code text,
  p_clinic_name text,
  p_doctor_name text
) returns jsonb
  language plpgsql stable
  as $$
begin
  return pg_catalog.jsonb_build_object(
      'id', a.id,
      'appointment_number', a.appointment_number,
      'status', a.status,
      'start', private.iso_in_zone(pg_catalog.lower(a.period), p_timezone),
      'end', private.iso_in_zone(pg_catalog.upper(a.period), p_timezone),
      'local_date', a.service_date,
      'local_time', pg_catalog.to_char(pg_catalog.lower(a.period) at time zone p_timezone,
        'HH24:MI'),
      'timezone', p_timezone,
      'clinic_id', a.clinic_id,
      'clinic_code', p_clinic_code,
      'clinic_name', p_clinic_name,
      'branch_name', (select c.branch_name from public.clinics c where c.id = a.clinic_id),
      'doctor_id', a.doctor_id,
      'doctor_name', p_doctor_name,
      'patient_id', a.patient_id,
      'appointment_type', a.appointment_type,
      'visit_reason', a.visit_reason,
      'hold_expires_at', a.hold_expires_at,
      'rescheduled_from', a.rescheduled_from,
      'cancelled_at', a.cancelled_at,
      'cancellation_reason', a.cancellation_reason,
      'created_at', a.created_at
    ) operator(pg_catalog.||) coalesce((
      select pg_catalog.jsonb_build_object('appointment_type_name', t.name,
        'appointment_type_colour', t.colour)
      from public.appointment_types t
      where t.clinic_id = a.clinic_id and t.code = a.appointment_type), '{}'::jsonb);
end
$$;

-- ---------------------------------------------------------------------------------------
-- API: the list (anyone) and its administration (the clinic's admins)
-- ---------------------------------------------------------------------------------------

create or replace function private.appointment_type_json(t public.appointment_types)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select pg_catalog.jsonb_build_object('code', t.code, 'name', t.name,
      'duration_minutes', t.duration_minutes, 'colour', t.colour, 'bookable_by', t.bookable_by,
      'active', t.active, 'all_doctors', t.all_doctors,
      'doctor_ids', coalesce((
        select pg_catalog.jsonb_agg(o.doctor_id order by o.doctor_id)
        from public.appointment_type_doctors o where o.type_id = t.id), '[]'::jsonb))
  $$;
revoke all on function private.appointment_type_json(public.appointment_types) from public;
grant execute on function private.appointment_type_json(public.appointment_types)
  to anon, authenticated, service_role;

-- A clinic's types by name: the active ones patients may book, or — for its staff — all.
create or replace function api.appointment_types(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := (private.clinic_by_code(p_code)).id;
  v_staff boolean := v_clinic in (select private.staff_clinic_ids());
begin
  return coalesce((
    select jsonb_agg(private.appointment_type_json(t) order by t.code <> 'consultation', t.name,
      t.code)
    from public.appointment_types t
    where t.clinic_id = v_clinic and (v_staff or (t.active and t.bookable_by = 'patients'))),
    '[]'::jsonb);
end
$$;

-- The doctors of `p_doctors` offer type `p_type` (when not all do), and no others; each must
-- be a doctor of its clinic (422 naming `doctor_ids`).
create or replace function private.set_type_doctors(p_type public.appointment_types,
  p_doctors uuid[])
  returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  if p_doctors is not null then
    if exists (select 1 from unnest(p_doctors) x (id)
               where not exists (select 1 from public.doctors d
                                 where d.id = x.id and d.clinic_id = p_type.clinic_id
                                   and d.deleted_at is null)) then
      perform private.raise_api(422, 'doctor_not_found', 'No such doctor at this clinic',
        '[{"path": "doctor_ids", "message": "Each must be a doctor of this clinic"}]');
    end if;
    delete from public.appointment_type_doctors
    where type_id = p_type.id and doctor_id <> all (p_doctors);
    insert into public.appointment_type_doctors (clinic_id, type_id, doctor_id)
    select distinct p_type.clinic_id, p_type.id, x.id from unnest(p_doctors) x (id)
    on conflict on constraint appointment_type_doctors_key do nothing;
  end if;
end
$$;
revoke all on function private.set_type_doctors(public.appointment_types, uuid[])
  from public;
grant execute on function private.set_type_doctors(public.appointment_types, uuid[])
  to authenticated;

-- The default type's rule (appointment_types_default) as the API's answer, before the check.
create or replace function private.check_default_type(t public.appointment_types) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  if t.code = 'consultation' and not (t.active and t.bookable_by = 'patients') then
    perform private.raise_api(422, 'default_type',
      'The consultation is every booking''s default type: it stays active and bookable by patients',
      jsonb_build_array(jsonb_build_object('path',
        case when t.active then 'bookable_by' else 'active' end,
        'message', 'Not for the consultation')));
  end if;
end
$$;
revoke all on function private.check_default_type(public.appointment_types) from public;
grant execute on function private.check_default_type(public.appointment_types) to authenticated;

-- Adds a type (admins): `p_type` {code, name, duration_minutes?, colour?, bookable_by?,
-- all_doctors? (default: unless doctor_ids are given), doctor_ids?}, validated by the API and
-- the table's checks. 409 for a code the clinic already has.
create or replace function api.create_appointment_type(p_code text, p_type jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_row public.appointment_types;
begin
  insert into public.appointment_types (clinic_id, code, name, duration_minutes, colour,
    bookable_by, all_doctors)
  values (v_clinic, p_type ->> 'code', btrim(p_type ->> 'name'),
    (p_type ->> 'duration_minutes')::integer, lower(coalesce(p_type ->> 'colour', '#2563eb')),
    coalesce(p_type ->> 'bookable_by', 'patients'),
    coalesce((p_type ->> 'all_doctors')::boolean, not p_type ? 'doctor_ids'))
  on conflict on constraint appointment_types_key do nothing
  returning * into v_row;
  if not found then
    perform private.raise_api(409, 'appointment_type_exists',
      'The clinic already has a type with that code',
      '[{"path": "code", "message": "Already in use"}]');
  end if;
  perform private.set_type_doctors(v_row, array(
    select jsonb_array_elements_text(p_type -> 'doctor_ids')::uuid
    where jsonb_typeof(p_type -> 'doctor_ids') = 'array'));
  return private.appointment_type_json(v_row);
end
$$;

-- Changes a type (admins): the fields of `p_changes` given (as api.create_appointment_type's,
-- `active` too; `duration_minutes: null` is each doctor's slot), `doctor_ids` replacing the
-- set. The code never changes (appointments refer to it).
create or replace function api.update_appointment_type(p_code text, p_type text,
  p_changes jsonb)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_row public.appointment_types;
begin
  select * into v_row from public.appointment_types
  where clinic_id = v_clinic and code = p_type for update;
  if not found then
    perform private.raise_api(404, 'appointment_type_not_found',
      'The clinic has no such appointment type');
  end if;
  if p_changes ? 'name' then v_row.name := btrim(p_changes ->> 'name'); end if;
  if p_changes ? 'duration_minutes' then
    v_row.duration_minutes := (p_changes ->> 'duration_minutes')::integer;
  end if;
  if p_changes ? 'colour' then v_row.colour := lower(p_changes ->> 'colour'); end if;
  if p_changes ? 'bookable_by' then v_row.bookable_by := p_changes ->> 'bookable_by'; end if;
  if p_changes ? 'active' then v_row.active := (p_changes ->> 'active')::boolean; end if;
  if p_changes ? 'all_doctors' then
    v_row.all_doctors := (p_changes ->> 'all_doctors')::boolean;
  end if;
  perform private.check_default_type(v_row);
  update public.appointment_types set name = v_row.name,
    duration_minutes = v_row.duration_minutes, colour = v_row.colour,
    bookable_by = v_row.bookable_by, active = v_row.active, all_doctors = v_row.all_doctors
  where id = v_row.id
  returning * into v_row;
  if jsonb_typeof(p_changes -> 'doctor_ids') = 'array' then
    perform private.set_type_doctors(v_row, array(
      select jsonb_array_elements_text(p_changes -> 'doctor_ids')::uuid));
  end if;
  return private.appointment_type_json(v_row);
end
$$;

-- Deletes a type no appointment ever had (admins); one in use answers 409 (deactivate it).
create or replace function api.delete_appointment_type(p_code text, p_type text) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  if p_type = 'consultation' then
    perform private.raise_api(422, 'default_type',
      'The consultation is every booking''s default type and cannot be deleted');
  end if;
  if exists (select 1 from private.type_in_use(v_clinic, p_type)) then
    perform private.raise_api(409, 'appointment_type_in_use',
      'Appointments have that type: deactivate it instead');
  end if;
  delete from public.appointment_types where clinic_id = v_clinic and code = p_type;
  if not found then
    perform private.raise_api(404, 'appointment_type_not_found',
      'The clinic has no such appointment type');
  end if;
end
$$;

-- Does any appointment (of any patient) have the type? SECURITY DEFINER: an admin reads every
-- appointment anyway, but the answer needs no patient data.
create or replace function private.type_in_use(p_clinic uuid, p_type text)
  returns setof integer
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return query select 1 from public.appointments a
    where a.clinic_id = p_clinic and a.appointment_type = p_type limit 1;
end
$$;
revoke all on function private.type_in_use(uuid, text) from public;
grant execute on function private.type_in_use(uuid, text) to authenticated;

revoke all on function api.appointment_types(text), api.create_appointment_type(text, jsonb),
  api.update_appointment_type(text, text, jsonb), api.delete_appointment_type(text, text)
  from public;
grant execute on function api.appointment_types(text) to anon, authenticated, service_role;
grant execute on function api.create_appointment_type(text, jsonb),
  api.update_appointment_type(text, text, jsonb), api.delete_appointment_type(text, text)
  to authenticated;
