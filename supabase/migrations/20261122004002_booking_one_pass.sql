-- Booking performance (issue 3), part 2: the checks before a booking in one pass.
--
-- private.book used to run ~13 statements before and after its INSERT: private.booking_target
-- (clinic, staff membership, patient, doctor: 4 queries), private.check_slot (schedule,
-- clinic time zone, slot grid, daily load: 4), private.free_for (delete expired holds,
-- overlap: 2), the INSERT, and private.appointment_json (clinic and doctor again: 2). Each
-- PL/pgSQL statement pays executor start-up and shutdown, which is most of its cost here.
-- private.booking_slot answers the same questions with 3 statements — one query for who,
-- with whom and when (clinic, caller's membership, patient, doctor, schedule, slot grid),
-- the daily count under the per-doctor-day lock, one overlap query (and the expired-hold
-- cleanup only when there is an expired hold) — and the answer's JSON is built from what it
-- already read. Same checks in the same order, same errors, same writes; the appointment
-- INSERT stays SECURITY INVOKER, so RLS still has the last word. Holds are converted by the
-- unchanged path (private.booking_target + private.appointment_json).

-- An appointment as the API shows it, from the row and what the caller already knows about
-- its clinic and doctor (inlinable: no SET clause, no lookups). private.appointment_json below
-- is this after its two lookups, so both give the same document.
create or replace function private.appointment_json_of(
  a public.appointments,
  p_timezone text,
  p_clinic_code text,
  p_clinic_name text,
  p_doctor_name text
) returns jsonb
  language sql stable
  as $$
    select pg_catalog.jsonb_build_object(
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
      'doctor_id', a.doctor_id,
      'doctor_name', p_doctor_name,
      'patient_id', a.patient_id,
      'visit_reason', a.visit_reason,
      'hold_expires_at', a.hold_expires_at,
      'rescheduled_from', a.rescheduled_from,
      'cancelled_at', a.cancelled_at,
      'cancellation_reason', a.cancellation_reason,
      'created_at', a.created_at
    )
  $$;
revoke all on function private.appointment_json_of(public.appointments, text, text, text, text)
  from public;
grant execute on function private.appointment_json_of(public.appointments, text, text, text, text)
  to authenticated, service_role;

create type private.booking_slot as (
  clinic_id uuid,
  clinic_code text,
  clinic_name text,
  timezone text,
  patient_id uuid,
  doctor_id uuid,
  doctor_name text,
  starts timestamptz,
  ends timestamptz
);

-- Who books for whom, with whom, when — and is that slot bookable and free right now?
-- private.booking_target + private.check_slot + private.free_for in one pass: the same rules,
-- checked in the same order, raising the same errors. Takes the per-doctor-day lock when the
-- doctor has a daily cap (as check_slot does) and clears expired holds in the way (as
-- free_for does).
create or replace function private.booking_slot(p_request jsonb)
  returns private.booking_slot
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_uid uuid := auth.uid();
  v_patient uuid := (p_request ->> 'patient_id')::uuid;
  v_doctor uuid := (p_request ->> 'doctor_id')::uuid;
  v_start timestamptz;
  v_end timestamptz;
  v_range tstzrange;
  v_live boolean;
  v_expired boolean;
  k record;
begin
  if v_uid is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to do this');
  end if;
  v_start := (p_request ->> 'start')::timestamptz;

  select c.id as clinic_id, c.code, c.name, c.timezone,
    exists (
      select 1 from public.clinic_members m
      where m.user_id = v_uid and m.clinic_id = c.id and m.revoked_at is null
        and m.role in ('doctor', 'nurse', 'staff', 'admin')) as staff,
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
    d.id as doctor_id, d.display_name as doctor_name,
    s.doctor_id as scheduled, s.slot_minutes, s.buffer_minutes, s.max_per_day,
    s.advance_days, s.min_notice_minutes, x.day,
    -- private.check_slot's grid rule: within a work period of that local date, a whole number
    -- of (slot + buffer) steps after the period's start, ending by the period's end,
    -- overlapping no break, not on a blocked date.
    (not exists (select 1 from public.doctor_blocked_dates b
                 where b.doctor_id = d.id and b.day = x.day)
     and exists (
       select 1 from public.doctor_schedule_hours w
       where w.doctor_id = d.id and w.weekday = extract(dow from x.day)::smallint
         and w.kind = 'work'
         and v_start >= (x.day + w.starts) at time zone c.timezone
         and v_start + make_interval(mins => s.slot_minutes)
             <= (x.day + w.ends) at time zone c.timezone
         and extract(epoch from v_start - ((x.day + w.starts) at time zone c.timezone))::bigint
             % ((s.slot_minutes + s.buffer_minutes) * 60) = 0)
     and not exists (
       select 1 from public.doctor_schedule_hours b
       where b.doctor_id = d.id and b.weekday = extract(dow from x.day)::smallint
         and b.kind = 'break'
         and tstzrange((x.day + b.starts) at time zone c.timezone,
                       (x.day + b.ends) at time zone c.timezone)
             && tstzrange(v_start, v_start + make_interval(mins => s.slot_minutes)))
    ) as on_grid
  into k
  from public.clinics c
  left join public.doctors d
    on d.id = v_doctor and d.clinic_id = c.id and d.is_active and d.deleted_at is null
  left join public.doctor_schedules s on s.doctor_id = d.id
  cross join lateral (select (v_start at time zone c.timezone)::date as day) x
  where c.code = upper(p_request ->> 'clinic_code') and c.is_active and c.deleted_at is null;

  -- private.booking_target's checks, in its order.
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

  -- private.check_slot's, in its order.
  if k.scheduled is null then
    perform private.raise_api(422, 'outside_schedule', 'The doctor takes no appointments');
  end if;
  if v_start < now() + make_interval(mins => k.min_notice_minutes) then
    perform private.raise_api(422, 'too_soon',
      format('Appointments need %s minutes notice', k.min_notice_minutes));
  end if;
  if k.day > (now() at time zone k.timezone)::date + k.advance_days then
    perform private.raise_api(422, 'too_far_ahead',
      format('Appointments can be booked up to %s days ahead', k.advance_days));
  end if;
  if not k.on_grid then
    perform private.raise_api(422, 'outside_schedule',
      'That time is not one of the doctor''s slots');
  end if;
  v_end := v_start + make_interval(mins => k.slot_minutes);
  if k.max_per_day is not null then
    -- Serializes bookings of this doctor and day; the count below is a new statement, so it
    -- sees every booking committed before the lock was granted.
    perform pg_advisory_xact_lock(hashtext(v_doctor::text), k.day - date '2000-01-01');
    if (select count(*) from public.appointments a
        where a.doctor_id = v_doctor and a.service_date = k.day
          and a.status not in ('cancelled', 'rescheduled')
          and (a.status <> 'held' or a.hold_expires_at > now())) >= k.max_per_day then
      perform private.raise_api(409, 'slot_unavailable', 'The doctor is fully booked that day');
    end if;
  end if;

  -- private.free_for's: expired holds in the way are removed; anything else live there means
  -- the slot is taken.
  v_range := tstzrange(v_start, v_end);
  select coalesce(bool_or(a.status <> 'held' or a.hold_expires_at > now()), false),
         coalesce(bool_or(a.status = 'held' and a.hold_expires_at <= now()), false)
  into v_live, v_expired
  from public.appointments a
  where a.doctor_id = v_doctor and a.period && v_range
    and a.status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress');
  if v_expired then
    delete from public.appointments
    where doctor_id = v_doctor and status = 'held' and hold_expires_at <= now()
      and period && v_range;
  end if;
  if v_live then
    perform private.raise_api(409, 'slot_unavailable', 'That time slot is no longer available');
  end if;

  return row(k.clinic_id, k.code, k.name, k.timezone, v_patient, v_doctor, k.doctor_name,
    v_start, v_end)::private.booking_slot;
end
$$;
revoke all on function private.booking_slot(jsonb) from public;
grant execute on function private.booking_slot(jsonb) to authenticated, service_role;

-- The booking itself (no idempotency): converts the caller's live hold, or takes a free slot.
-- Only a live hold converts: an expired one nobody has taken yet is cleared and the slot is
-- booked through the normal path, with the schedule checks (notice, daily cap). Defined here,
-- after private.booking_slot, whose type it uses.
create or replace function private.book(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_hold_id uuid := (p_request ->> 'hold_id')::uuid;
  v_t private.booking_target;
  v_s private.booking_slot;
  v_row public.appointments;
begin
  if v_hold_id is not null then
    v_t := private.booking_target(p_request);
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
    -- No live hold (expired, released or taken back): book the slot like any other — all
    -- checks again, and the expired hold itself is cleared by private.booking_slot.
  end if;
  v_s := private.booking_slot(p_request);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    visit_reason, booked_by, source)
  values (v_s.clinic_id, v_s.patient_id, v_s.doctor_id, tstzrange(v_s.starts, v_s.ends),
    'scheduled', p_request ->> 'visit_reason', auth.uid(),
    coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return private.appointment_json_of(v_row, v_s.timezone, v_s.clinic_code, v_s.clinic_name,
    v_s.doctor_name);
end
$$;
revoke all on function private.book(jsonb) from public;
grant execute on function private.book(jsonb) to authenticated, service_role;
