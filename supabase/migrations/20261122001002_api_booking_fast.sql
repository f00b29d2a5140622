-- Edge API (issue 3), part 3: the booking path made cheaper after profiling bench/booking
-- (pg_stat_user_functions, track_functions = all). Same behaviour, less work per booking:
--
-- * Indexes the RLS helpers and the daily-cap count need: patients(user_id) and
--   doctors(user_id) (private.my_patient_ids / my_doctor_ids ran a sequential scan of every
--   patient or doctor on every policy check), appointments(doctor_id, service_date).
-- * private.check_slot tests the one requested start against the schedule arithmetically
--   instead of generating the doctor's whole day of slots (same grid rule as
--   private.doctor_day_slots, which the slot listing still uses).
-- * private.iso_in_zone is a plain expression without a SET clause, so the planner inlines it
--   (a SET clause or a FROM list prevents inlining; SET also saves and restores GUC state).
-- * private.booking_target resolves clinic, caller and patient with explicit checks as the
--   owner instead of through RLS on each lookup (each RLS'd lookup re-ran the membership
--   helpers). The writes themselves — the appointment INSERT/UPDATE — stay SECURITY INVOKER,
--   so RLS still has the last word on who may book what.

create index if not exists patients_user on public.patients (user_id);
create index if not exists doctors_user on public.doctors (user_id);
create index if not exists appointments_doctor_day on public.appointments (doctor_id, service_date);

create or replace function private.iso_in_zone(p_ts timestamptz, p_tz text) returns text
  language sql stable
  as $$
    select to_char(p_ts at time zone p_tz, 'YYYY-MM-DD"T"HH24:MI:SS')
      || case when p_ts at time zone p_tz < p_ts at time zone 'UTC' then '-' else '+' end
      || to_char(greatest((p_ts at time zone p_tz) - (p_ts at time zone 'UTC'),
                          (p_ts at time zone 'UTC') - (p_ts at time zone p_tz)), 'HH24:MI')
  $$;

-- Is `p_start` a bookable slot of the doctor right now? Returns the slot's end or raises.
-- The grid rule is private.doctor_day_slots': within a work period of that local date, a
-- whole number of (slot + buffer) steps after the period's start, ending by the period's end,
-- overlapping no break, not on a blocked date.
create or replace function private.check_slot(p_doctor uuid, p_start timestamptz)
  returns timestamptz
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_s public.doctor_schedules;
  v_tz text;
  v_day date;
  v_dow smallint;
  v_slot interval;
  v_step integer;
  v_end timestamptz;
begin
  select * into v_s from public.doctor_schedules where doctor_id = p_doctor;
  if not found then
    perform private.raise_api(422, 'outside_schedule', 'The doctor takes no appointments');
  end if;
  select c.timezone into v_tz from public.clinics c where c.id = v_s.clinic_id;
  v_day := (p_start at time zone v_tz)::date;
  if p_start < now() + make_interval(mins => v_s.min_notice_minutes) then
    perform private.raise_api(422, 'too_soon',
      format('Appointments need %s minutes notice', v_s.min_notice_minutes));
  end if;
  if v_day > (now() at time zone v_tz)::date + v_s.advance_days then
    perform private.raise_api(422, 'too_far_ahead',
      format('Appointments can be booked up to %s days ahead', v_s.advance_days));
  end if;
  v_dow := extract(dow from v_day)::smallint;
  v_slot := make_interval(mins => v_s.slot_minutes);
  v_step := (v_s.slot_minutes + v_s.buffer_minutes) * 60;
  v_end := p_start + v_slot;
  if exists (select 1 from public.doctor_blocked_dates b
             where b.doctor_id = p_doctor and b.day = v_day)
     or not exists (
       select 1 from public.doctor_schedule_hours w
       where w.doctor_id = p_doctor and w.weekday = v_dow and w.kind = 'work'
         and p_start >= (v_day + w.starts) at time zone v_tz
         and v_end <= (v_day + w.ends) at time zone v_tz
         and extract(epoch from p_start - ((v_day + w.starts) at time zone v_tz))::bigint
             % v_step = 0)
     or exists (
       select 1 from public.doctor_schedule_hours b
       where b.doctor_id = p_doctor and b.weekday = v_dow and b.kind = 'break'
         and tstzrange((v_day + b.starts) at time zone v_tz, (v_day + b.ends) at time zone v_tz)
             && tstzrange(p_start, v_end)) then
    perform private.raise_api(422, 'outside_schedule',
      'That time is not one of the doctor''s slots');
  end if;
  if v_s.max_per_day is not null then
    perform pg_advisory_xact_lock(hashtext(p_doctor::text), v_day - date '2000-01-01');
    if private.day_load(p_doctor, v_day) >= v_s.max_per_day then
      perform private.raise_api(409, 'slot_unavailable', 'The doctor is fully booked that day');
    end if;
  end if;
  return v_end;
end
$$;

-- Who is booked, with whom, when: patients book for themselves; staff (doctor, nurse, staff,
-- admin) for any patient of their clinic; nobody in another clinic. Explicit checks, as the
-- owner; the appointment write that follows is under the caller's RLS.
create or replace function private.booking_target(p_request jsonb)
  returns private.booking_target
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_uid uuid := auth.uid();
  v_clinic public.clinics;
  v_patient uuid := (p_request ->> 'patient_id')::uuid;
  v_doctor uuid := (p_request ->> 'doctor_id')::uuid;
  v_staff boolean;
  v_target private.booking_target;
begin
  if v_uid is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to do this');
  end if;
  select * into v_clinic from public.clinics
  where code = upper(p_request ->> 'clinic_code') and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  v_staff := exists (
    select 1 from public.clinic_members m
    where m.user_id = v_uid and m.clinic_id = v_clinic.id and m.revoked_at is null
      and m.role in ('doctor', 'nurse', 'staff', 'admin'));
  if v_patient is null then
    select p.id into v_patient from public.patients p
    where p.clinic_id = v_clinic.id and p.user_id = v_uid and p.deleted_at is null;
    if v_patient is null then
      if v_staff then
        perform private.raise_api(400, 'patient_required',
          'Staff must say which patient the appointment is for (patient_id)');
      end if;
      perform private.raise_api(403, 'not_a_patient', 'You are not a patient of this clinic');
    end if;
  elsif v_staff then
    if not exists (select 1 from public.patients p
                   where p.id = v_patient and p.clinic_id = v_clinic.id
                     and p.deleted_at is null) then
      perform private.raise_api(404, 'patient_not_found', 'No such patient at this clinic');
    end if;
  elsif not exists (select 1 from public.patients p
                    where p.id = v_patient and p.clinic_id = v_clinic.id
                      and p.user_id = v_uid and p.deleted_at is null) then
    perform private.raise_api(403, 'forbidden', 'Patients can only book for themselves');
  end if;
  if not exists (select 1 from public.doctors d
                 where d.id = v_doctor and d.clinic_id = v_clinic.id
                   and d.is_active and d.deleted_at is null) then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;
  v_target := row(v_clinic.id, v_clinic.code, v_clinic.timezone, v_patient, v_doctor,
    (p_request ->> 'start')::timestamptz);
  return v_target;
end
$$;
