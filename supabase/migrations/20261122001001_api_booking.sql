-- Edge API (issue 3), part 2: clinic information, availability, holds, idempotent booking,
-- cancel and reschedule, appointment lists.
--
-- Availability is computed from the doctor's weekly hours in the clinic's local time: each
-- work period is turned into absolute instants for that date in the clinic's zone, and slots
-- are stepped in absolute minutes (slot length + buffer) from the period's start. On a
-- spring-forward day a 00:00–04:00 shift therefore has 3 hours of slots; on a fall-back day
-- it has 5 (the repeated local hour appears twice, with different UTC offsets). A period
-- starting inside a DST gap begins at the equivalent standard-time instant (PostgreSQL's rule).
--
-- Booking is SECURITY INVOKER: RLS decides who may insert or update which appointment. The
-- few helpers that must see every appointment of a doctor (is the slot free? how loaded is
-- the day?) are SECURITY DEFINER and answer only yes/no or a count.

-- ---------------------------------------------------------------------------------------
-- Schedule arithmetic (SECURITY DEFINER: schedules are readable by members only, but
-- availability is public)
-- ---------------------------------------------------------------------------------------

-- Every slot of the doctor's schedule on local date `p_day`: work periods minus breaks, on a
-- grid of slot_minutes + buffer_minutes from each period's start; none on a blocked date.
create or replace function private.doctor_day_slots(p_doctor uuid, p_day date)
  returns table (starts timestamptz, ends timestamptz)
  language sql stable
  security definer
  set search_path = ''
  as $$
    with s as (
      select ds.slot_minutes, ds.buffer_minutes, c.timezone as tz
      from public.doctor_schedules ds
      join public.doctors d on d.id = ds.doctor_id
      join public.clinics c on c.id = d.clinic_id
      where ds.doctor_id = p_doctor and d.is_active and d.deleted_at is null
        and not exists (select 1 from public.doctor_blocked_dates b
                        where b.doctor_id = p_doctor and b.day = p_day)
    ),
    periods as (
      select h.kind,
        (p_day + h.starts) at time zone s.tz as lo,
        (p_day + h.ends) at time zone s.tz as hi
      from public.doctor_schedule_hours h, s
      where h.doctor_id = p_doctor and h.weekday = extract(dow from p_day)::smallint
    ),
    grid as (
      select distinct g.g as starts, g.g + make_interval(mins => s.slot_minutes) as ends
      from s, periods w,
        generate_series(w.lo, w.hi - make_interval(mins => s.slot_minutes),
          make_interval(mins => s.slot_minutes + s.buffer_minutes)) as g (g)
      where w.kind = 'work'
    )
    select g.starts, g.ends from grid g
    where not exists (
      select 1 from periods b
      where b.kind = 'break' and tstzrange(b.lo, b.hi) && tstzrange(g.starts, g.ends)
    )
    order by g.starts
  $$;

-- Appointments that count against the doctor's daily cap on local date `p_day`.
create or replace function private.day_load(p_doctor uuid, p_day date) returns integer
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (
    select count(*)::integer from public.appointments a
    where a.doctor_id = p_doctor and a.service_date = p_day
      and a.status not in ('cancelled', 'rescheduled')
      and (a.status <> 'held' or a.hold_expires_at > now()));
end
$$;

-- Removes expired holds overlapping `p_range`, then: is the range free for this doctor?
create or replace function private.free_for(p_doctor uuid, p_range tstzrange) returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  delete from public.appointments
  where doctor_id = p_doctor and status = 'held' and hold_expires_at <= now()
    and period && p_range;
  return not exists (
    select 1 from public.appointments a
    where a.doctor_id = p_doctor and a.period && p_range
      and a.status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress')
  );
end
$$;

-- Is `p_start` a bookable slot of the doctor right now (schedule, notice, advance window,
-- daily cap)? Returns the slot's end or raises. With a daily cap, takes a per-doctor-day
-- lock so concurrent bookings cannot overshoot it. Tests the one start against the schedule
-- arithmetically (the grid rule of private.doctor_day_slots) instead of generating the day.
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

-- An appointment as the API shows it (times in the clinic's zone, with offset).
create or replace function private.appointment_json(a public.appointments) returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_tz text;
  v_code text;
  v_clinic_name text;
  v_doctor text;
begin
  select c.timezone, c.code, c.name into v_tz, v_code, v_clinic_name
  from public.clinics c where c.id = a.clinic_id;
  select d.display_name into v_doctor from public.doctors d where d.id = a.doctor_id;
  return private.appointment_json_of(a, v_tz, v_code, v_clinic_name, v_doctor);
end
$$;

revoke all on function private.doctor_day_slots(uuid, date), private.day_load(uuid, date),
  private.free_for(uuid, tstzrange), private.check_slot(uuid, timestamptz),
  private.appointment_json(public.appointments) from public;
grant execute on function private.doctor_day_slots(uuid, date), private.day_load(uuid, date),
  private.free_for(uuid, tstzrange), private.check_slot(uuid, timestamptz),
  private.appointment_json(public.appointments) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Public clinic information and availability
-- ---------------------------------------------------------------------------------------

-- Clinic and its active doctors (invoker: anon sees exactly its granted columns).
create or replace function api.clinic_info(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_result jsonb;
begin
  select jsonb_build_object(
    'clinic', jsonb_build_object('id', c.id, 'code', c.code, 'name', c.name,
      'branch_name', c.branch_name, 'timezone', c.timezone, 'address', c.address,
      'postal_code', c.postal_code, 'phone', c.phone, 'email', c.email, 'website', c.website),
    'doctors', coalesce((
      select jsonb_agg(jsonb_build_object('id', d.id, 'display_name', d.display_name,
        'specializations', d.specializations, 'languages', d.languages, 'bio', d.bio,
        'consultation_fee', d.consultation_fee) order by d.display_name)
      from public.doctors d where d.clinic_id = c.id), '[]'::jsonb))
  into v_result
  from public.clinics c where c.code = upper(p_code);
  if v_result is null then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  return v_result;
end
$$;

-- Free slots of a clinic's doctors on a local date: schedule slots, within the advance
-- window and minimum notice, below the daily cap, minus appointments and live holds.
create or replace function api.available_slots(p_code text, p_day date, p_doctor uuid default null)
  returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_today date;
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
  v_today := (now() at time zone v_clinic.timezone)::date;

  with docs as (
    select d.id, d.display_name, ds.min_notice_minutes, ds.slot_minutes
    from public.doctors d
    join public.doctor_schedules ds on ds.doctor_id = d.id
    where d.clinic_id = v_clinic.id and d.is_active and d.deleted_at is null
      and (p_doctor is null or d.id = p_doctor)
      and p_day >= v_today and p_day <= v_today + ds.advance_days
      and (ds.max_per_day is null or private.day_load(d.id, p_day) < ds.max_per_day)
  ),
  slots as (
    select o.id as doctor_id, o.display_name, o.slot_minutes, s.starts, s.ends
    from docs o
    cross join lateral private.doctor_day_slots(o.id, p_day) s
    where s.starts >= now() + make_interval(mins => o.min_notice_minutes)
  )
  select coalesce(jsonb_agg(jsonb_build_object(
      'doctor_id', s.doctor_id,
      'doctor_name', s.display_name,
      'start', private.iso_in_zone(s.starts, v_clinic.timezone),
      'end', private.iso_in_zone(s.ends, v_clinic.timezone),
      'local_time', to_char(s.starts at time zone v_clinic.timezone, 'HH24:MI'),
      'duration_minutes', s.slot_minutes
    ) order by s.starts, s.display_name), '[]'::jsonb)
  into v_slots
  from slots s
  where not exists (
    select 1 from public.appointments a
    where a.doctor_id = s.doctor_id and a.period && tstzrange(s.starts, s.ends)
      and a.status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress')
      and (a.status <> 'held' or a.hold_expires_at > now())
  );

  return jsonb_build_object('clinic_code', v_clinic.code, 'date', p_day,
    'timezone', v_clinic.timezone, 'slots', v_slots);
end
$$;

-- ---------------------------------------------------------------------------------------
-- Holds and bookings (SECURITY INVOKER: RLS applies)
-- ---------------------------------------------------------------------------------------

create type private.booking_target as (
  clinic_id uuid,
  clinic_code text,
  timezone text,
  patient_id uuid,
  doctor_id uuid,
  starts timestamptz
);

-- Who is booked, with whom, when: patients book for themselves; staff (doctor, nurse, staff,
-- admin) for any patient of their clinic; nobody in another clinic. Resolved with explicit
-- checks as the owner (each RLS'd lookup would re-run the membership helpers); the
-- appointment INSERT/UPDATE stays SECURITY INVOKER, so RLS has the last word.
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
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can book for another patient');
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
revoke all on function private.booking_target(jsonb) from public;
grant execute on function private.booking_target(jsonb) to authenticated, service_role;

-- Holds a slot for five minutes: nobody else can hold or book it meanwhile; the holder books
-- it with `hold_id`. A patient keeps one hold per clinic (a new hold releases the old one).
create or replace function api.hold_slot(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_t private.booking_target := private.booking_target(p_request);
  v_end timestamptz;
  v_row public.appointments;
begin
  delete from public.appointments
  where patient_id = v_t.patient_id and clinic_id = v_t.clinic_id and status = 'held';
  v_end := private.check_slot(v_t.doctor_id, v_t.starts);
  if not private.free_for(v_t.doctor_id, tstzrange(v_t.starts, v_end)) then
    perform private.raise_api(409, 'slot_unavailable', 'That time slot is no longer available');
  end if;
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    hold_expires_at, booked_by, source)
  values (v_t.clinic_id, v_t.patient_id, v_t.doctor_id, tstzrange(v_t.starts, v_end), 'held',
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

create or replace function api.release_hold(p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  delete from public.appointments where id = p_id and status = 'held';
  if not found then
    perform private.raise_api(404, 'hold_not_found', 'No such hold');
  end if;
end
$$;

-- POST /api/bookings with an Idempotency-Key (IETF httpapi draft), per caller:
--  * the same key while the first request is in flight → 409 idempotency_key_in_use;
--  * the same key and payload after it completed → its original status and body again;
--  * the same key with another payload → 422 idempotency_key_mismatch;
--  * records are kept 24 hours (public.idempotency_keys.expires_at).
-- Business failures (slot taken, forbidden, …) are answers too: they are stored and replayed,
-- and their partial writes are rolled back to the savepoint. Unexpected errors roll back
-- everything, key included, so a retry runs afresh.
-- Returns {"status": <http status>, "body": <json>, "replayed": <bool>}.
create or replace function api.book(p_key text, p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_uid uuid := auth.uid();
  v_endpoint constant text := 'POST /api/bookings';
  v_hash text := encode(sha256(convert_to(p_request::text, 'UTF8')), 'hex');
  v_prior public.idempotency_keys;
  v_status integer;
  v_body jsonb;
  v_state text;
  v_code text;
  v_message text;
  v_hint text;
begin
  if v_uid is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to book');
  end if;
  if not pg_try_advisory_xact_lock(hashtext('idempotency:' || v_uid::text), hashtext(p_key)) then
    perform private.raise_api(409, 'idempotency_key_in_use',
      'A request with this Idempotency-Key is still being processed');
  end if;
  select * into v_prior from public.idempotency_keys
  where user_id = v_uid and endpoint = v_endpoint and key = p_key and expires_at > now();
  if found then
    if v_prior.request_hash <> v_hash then
      perform private.raise_api(422, 'idempotency_key_mismatch',
        'This Idempotency-Key was used with a different request');
    end if;
    return jsonb_build_object('status', v_prior.response_status, 'body', v_prior.response_body,
      'replayed', true);
  end if;

  begin
    v_body := jsonb_build_object('appointment', private.book(p_request));
    v_status := 201;
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_code = message_text,
      v_message = pg_exception_detail, v_hint = pg_exception_hint;
    if v_state = '23P01' then
      v_status := 409;
      v_body := jsonb_build_object('error', jsonb_build_object(
        'code', 'slot_unavailable', 'message', 'That time slot is no longer available'));
    elsif v_state like 'PT%' then
      v_status := substr(v_state, 3)::integer;
      v_body := jsonb_build_object('error', jsonb_build_object('code', v_code, 'message', v_message)
        || case when coalesce(v_hint, '') = '' then '{}'::jsonb
                else jsonb_build_object('details', v_hint::jsonb) end);
    else
      raise;
    end if;
  end;

  insert into public.idempotency_keys as k (user_id, key, endpoint, request_hash,
    response_status, response_body)
  values (v_uid, p_key, v_endpoint, v_hash, v_status, v_body)
  on conflict (user_id, endpoint, key) do update set
    request_hash = excluded.request_hash, response_status = excluded.response_status,
    response_body = excluded.response_body, created_at = now(),
    expires_at = now() + interval '24 hours';
  return jsonb_build_object('status', v_status, 'body', v_body, 'replayed', false);
end
$$;

-- ---------------------------------------------------------------------------------------
-- Cancel, reschedule, read
-- ---------------------------------------------------------------------------------------

-- Cancels a scheduled or confirmed appointment; the slot is free at once (the no-overlap rule
-- ignores cancelled rows). Audited by the appointments audit trigger.
create or replace function api.cancel_appointment(p_id uuid, p_reason text) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_row public.appointments;
begin
  select * into v_row from public.appointments where id = p_id and status <> 'held' for update;
  if not found then
    perform private.raise_api(404, 'appointment_not_found', 'No such appointment');
  end if;
  if v_row.status not in ('scheduled', 'confirmed') then
    perform private.raise_api(409, 'invalid_state',
      format('A %s appointment cannot be cancelled', v_row.status));
  end if;
  update public.appointments
  set status = 'cancelled', cancelled_at = now(), cancelled_by = auth.uid(),
    cancellation_reason = p_reason
  where id = p_id
  returning * into v_row;
  return jsonb_build_object('appointment', private.appointment_json(v_row));
end
$$;

-- Moves an appointment atomically: the old one becomes 'rescheduled' and a new one (pointing
-- back with rescheduled_from) takes the new slot — both or neither.
create or replace function api.reschedule_appointment(p_id uuid, p_start timestamptz, p_doctor uuid)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_old public.appointments;
  v_new public.appointments;
  v_doctor uuid;
  v_end timestamptz;
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
  v_end := private.check_slot(v_doctor, p_start);
  if not private.free_for(v_doctor, tstzrange(p_start, v_end)) then
    perform private.raise_api(409, 'slot_unavailable', 'That time slot is no longer available');
  end if;
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    appointment_type, visit_reason, booked_by, source, rescheduled_from)
  values (v_old.clinic_id, v_old.patient_id, v_doctor, tstzrange(p_start, v_end), 'scheduled',
    v_old.appointment_type, v_old.visit_reason, auth.uid(), v_old.source, v_old.id)
  returning * into v_new;
  return jsonb_build_object('appointment', private.appointment_json(v_new),
    'previous', private.appointment_json(v_old));
end
$$;

create or replace function api.get_appointment(p_id uuid) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_row public.appointments;
begin
  select * into v_row from public.appointments where id = p_id and status <> 'held';
  if not found then
    perform private.raise_api(404, 'appointment_not_found', 'No such appointment');
  end if;
  return jsonb_build_object('appointment', private.appointment_json(v_row));
end
$$;

-- The caller's own appointments (as a patient, any clinic): upcoming first-to-last, and the
-- most recent `p_past_limit` past or inactive ones.
create or replace function api.my_appointments(p_past_limit integer default 50) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    with mine as (
      select a, lower(a.period) as starts,
        (a.status in ('scheduled', 'confirmed', 'checked_in', 'in_progress')
         and upper(a.period) > now()) as upcoming
      from public.appointments a
      where a.patient_id in (select private.my_patient_ids()) and a.status <> 'held'
    ),
    past as (
      select * from mine where not upcoming order by starts desc limit p_past_limit
    )
    select jsonb_build_object(
      'upcoming', coalesce((
        select jsonb_agg(private.appointment_json(m.a) order by m.starts)
        from mine m where m.upcoming), '[]'::jsonb),
      'past', coalesce((
        select jsonb_agg(private.appointment_json(p.a) order by p.starts desc)
        from past p), '[]'::jsonb)
    )
  $$;

-- A clinic's appointments on a local date, for its staff (patient name and number included).
create or replace function api.clinic_appointments(p_code text, p_day date) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
begin
  return jsonb_build_object('clinic_code', v_clinic.code, 'date', p_day,
    'timezone', v_clinic.timezone, 'appointments', coalesce((
      select jsonb_agg(private.appointment_json(a) || jsonb_build_object(
          'patient_name', p.full_name, 'patient_number', p.patient_number)
        order by lower(a.period), a.appointment_number)
      from public.appointments a
      join public.patients p on p.id = a.patient_id
      where a.clinic_id = v_clinic.id and a.service_date = p_day and a.status <> 'held'),
      '[]'::jsonb));
end
$$;

-- ---------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------

revoke all on all functions in schema api from public;
grant execute on function
  api.clinic_info(text),
  api.available_slots(text, date, uuid)
  to anon, authenticated, service_role;
grant execute on function
  api.hold_slot(jsonb),
  api.release_hold(uuid),
  api.book(text, jsonb),
  api.cancel_appointment(uuid, text),
  api.reschedule_appointment(uuid, timestamptz, uuid),
  api.get_appointment(uuid),
  api.my_appointments(integer),
  api.clinic_appointments(text, date)
  to authenticated;
