-- Booking rules have one home: private.slot_decisions says whether a start time is bookable —
-- on the doctor's grid (weekly hours minus breaks, not on a blocked date nor a clinic closure,
-- public.clinic_closures of …001700_clinic_closures), within the advance
-- window, with the minimum notice, below the daily cap, and free — for one start (holds,
-- bookings, reschedules, through private.take_slot) or for every start of a day (the slot
-- listing and the day overview). Who books for whom is private.booking_target alone. The
-- copies of these rules (private.booking_slot, check_slot, free_for, doctor_day_slots,
-- day_load) are dropped.

-- Every start of doctor `p_doctor`'s grid on local date `p_day` with the first rule it breaks
-- (`refusal`, null when bookable), or — given `p_start` — that one start, on the grid or not
-- (`p_day` is then its local date). The grid: each work period of that weekday turned into
-- absolute instants in the clinic's zone, stepped by slot + buffer minutes from its start, each
-- visit ending by the period's end and overlapping no break; none on a blocked date.
-- `p_minutes` is the visit's length (default: the schedule's slot length), for appointment
-- types. Refusals, in the order they are tested:
--   no_schedule    the doctor takes no appointments (no schedule, inactive or deleted)
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
  p_minutes integer default null
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
      make_interval(mins => coalesce(p_minutes, ds.slot_minutes)) as len,
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
    where not s.closed
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
revoke all on function private.slot_decisions(uuid, date, timestamptz, integer) from public;
grant execute on function private.slot_decisions(uuid, date, timestamptz, integer)
  to authenticated, service_role;

-- Takes `p_start` for a hold, booking or reschedule: private.slot_decisions' answer, or its
-- refusal as the API's error. With a daily cap, first takes a per-doctor-day lock, so that the
-- decision — a new statement — counts every booking committed before the lock was granted and
-- concurrent writers cannot overshoot the cap. Clears an expired hold in the way. Returns the
-- visit's period; the caller's INSERT stays SECURITY INVOKER, so RLS has the last word.
-- SECURITY DEFINER: the lock must not depend on whether the caller may read the schedule.
create or replace function private.take_slot(
  p_doctor uuid,
  p_start timestamptz,
  p_minutes integer default null
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
  select * into d from private.slot_decisions(p_doctor, null, p_start, p_minutes);
  if not found then -- no start given
    perform private.raise_api(422, 'outside_schedule',
      'That time is not one of the doctor''s slots');
  end if;
  if d.refusal is not null then
    perform private.raise_api(
      case when d.refusal in ('day_full', 'taken') then 409 else 422 end,
      case d.refusal
        when 'too_far_ahead' then 'too_far_ahead'
        when 'too_soon' then 'too_soon'
        when 'closed' then 'clinic_closed'
        when 'day_full' then 'slot_unavailable'
        when 'taken' then 'slot_unavailable'
        else 'outside_schedule'
      end,
      d.message);
  end if;
  if d.expired_hold then
    perform private.release_expired_holds(p_doctor, tstzrange(d.starts, d.ends));
  end if;
  return tstzrange(d.starts, d.ends);
end
$$;
revoke all on function private.take_slot(uuid, timestamptz, integer) from public;
grant execute on function private.take_slot(uuid, timestamptz, integer)
  to authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Who books for whom
-- ---------------------------------------------------------------------------------------

alter type private.booking_target add attribute clinic_name text, add attribute doctor_name text;

-- Who is booked, with whom, when: patients book for themselves; staff (private.staff_roles())
-- for any patient of their clinic; nobody in another clinic. One query as the owner (each
-- RLS'd lookup would re-run the membership helpers, and each PL/pgSQL statement pays executor
-- start-up), then the checks in order; the appointment INSERT/UPDATE stays SECURITY INVOKER, so
-- RLS has the last word.
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
    k.doctor_name)::private.booking_target;
end
$$;

-- ---------------------------------------------------------------------------------------
-- Availability: the decisions of every start of the day
-- ---------------------------------------------------------------------------------------

-- Free slots of a clinic's doctors on a local date: the starts private.slot_decisions does not
-- refuse.
create or replace function api.available_slots(p_code text, p_day date, p_doctor uuid default null)
  returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
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
  cross join lateral private.slot_decisions(d.id, p_day) s
  where d.clinic_id = v_clinic.id and (p_doctor is null or d.id = p_doctor)
    and s.refusal is null;

  return jsonb_build_object('clinic_code', v_clinic.code, 'date', p_day,
    'timezone', v_clinic.timezone, 'slots', v_slots);
end
$$;

-- The next `p_days` local days of a clinic from today: whether it is open (some doctor — or the
-- given one — still has a start of the grid ahead that day within the advance window) and how
-- many times are free (api.available_slots).
create or replace function api.clinic_days(p_code text, p_doctor uuid default null,
  p_days integer default 14)
  returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  -- The clinic and doctor checks (404s) of api.available_slots; no date, so no slots.
  v_first jsonb := api.available_slots(p_code, null, p_doctor);
  v_clinic public.clinics;
  v_today date;
begin
  select * into v_clinic from public.clinics where code = v_first ->> 'clinic_code';
  v_today := (now() at time zone v_clinic.timezone)::date;
  return jsonb_build_object('clinic_code', v_clinic.code, 'timezone', v_clinic.timezone,
    'days', (
      select jsonb_agg(jsonb_build_object(
          'date', d.day,
          'open', exists (
            select 1
            from public.doctors doc
            cross join lateral private.slot_decisions(doc.id, d.day) s
            where doc.clinic_id = v_clinic.id and (p_doctor is null or doc.id = p_doctor)
              and s.starts > now() and s.refusal is distinct from 'too_far_ahead'),
          'free_slots', jsonb_array_length(
            api.available_slots(v_clinic.code, d.day, p_doctor) -> 'slots'))
        order by d.day)
      from generate_series(v_today, v_today + greatest(least(p_days, 60), 1) - 1,
        interval '1 day') as g (g)
      cross join lateral (select g.g::date as day) d));
end
$$;

-- ---------------------------------------------------------------------------------------
-- Holds, bookings, reschedules: private.booking_target, then private.take_slot
-- ---------------------------------------------------------------------------------------

-- The booking itself (no idempotency): converts the caller's live hold, or takes a free slot.
-- Only a live hold converts: an expired one nobody has taken yet is cleared and the slot is
-- booked through the normal path, with every rule checked again.
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
         or lower(v_row.period) <> v_t.starts then
        perform private.raise_api(422, 'hold_mismatch',
          'The hold is for another patient, doctor or time');
      end if;
      update public.appointments
      set status = 'scheduled', visit_reason = p_request ->> 'visit_reason'
      where id = v_hold_id
      returning * into v_row;
      return private.appointment_json(v_row);
    end if;
  end if;
  v_period := private.take_slot(v_t.doctor_id, v_t.starts);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    visit_reason, booked_by, source)
  values (v_t.clinic_id, v_t.patient_id, v_t.doctor_id, v_period, 'scheduled',
    p_request ->> 'visit_reason', auth.uid(), coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return private.appointment_json_of(v_row, v_t.timezone, v_t.clinic_code, v_t.clinic_name,
    v_t.doctor_name);
end
$$;

-- Holds a slot for five minutes: nobody else can hold or book it meanwhile; the holder books
-- it with `hold_id`. A patient keeps one hold per clinic (a new hold releases the old one).
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
  v_period := private.take_slot(v_t.doctor_id, v_t.starts);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    hold_expires_at, booked_by, source)
  values (v_t.clinic_id, v_t.patient_id, v_t.doctor_id, v_period, 'held',
    now() + interval '5 minutes', auth.uid(), coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return jsonb_build_object('hold', jsonb_build_object(
    'id', v_row.id,
    'clinic_code', v_t.clinic_code,
    'doctor_id', v_row.doctor_id,
    'patient_id', v_row.patient_id,
    'start', private.iso_in_zone(lower(v_row.period), v_t.timezone),
    'end', private.iso_in_zone(upper(v_row.period), v_t.timezone),
    'expires_at', v_row.hold_expires_at));
end
$$;

-- Moves an appointment atomically: the old one becomes 'rescheduled' and a new one (pointing
-- back with rescheduled_from) takes the new slot — both or neither. The old one stops counting
-- (overlap, daily cap) before the new slot is taken.
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
  update public.appointments set status = 'rescheduled' where id = p_id returning * into v_old;
  v_period := private.take_slot(v_doctor, p_start);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    appointment_type, visit_reason, booked_by, source, rescheduled_from)
  values (v_old.clinic_id, v_old.patient_id, v_doctor, v_period, 'scheduled',
    v_old.appointment_type, v_old.visit_reason, auth.uid(), v_old.source, v_old.id)
  returning * into v_new;
  return jsonb_build_object('appointment', private.appointment_json(v_new),
    'previous', private.appointment_json(v_old));
end
$$;

drop function private.booking_slot(jsonb);
drop type private.booking_slot;
drop function private.check_slot(uuid, timestamptz);
drop function private.free_for(uuid, tstzrange);
drop function private.doctor_day_slots(uuid, date);
drop function private.day_load(uuid, date);
