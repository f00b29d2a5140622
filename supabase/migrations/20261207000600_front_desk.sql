-- Front desk: bookings by phone, the booking calendar over the whole advance window, and late
-- arrivals after the no-show sweep.
--
-- HOW A BOOKING CAME IN. appointments.source is `web` (the patient booked in the app), `phone`
-- (the front desk booked for the patient, the default when staff book for someone else) or
-- `front_desk` (staff booked for a patient at the counter). Only the clinic's staff may record
-- anything but `web` (403 `forbidden`); a reschedule keeps the source of the appointment it
-- moves. private.appointment_source, a BEFORE INSERT trigger, is the rule's one home: every
-- path that creates an appointment (holds, bookings, whoever wrote them) passes through it.
--
-- THE CALENDAR. api.clinic_days takes the first day (`p_from`, default today) so a date picker
-- can page through the whole advance window, and says where that window ends
-- (`last_bookable_date`: today + the longest advance window of the clinic's — or the given —
-- doctors; null when none takes appointments).
--
-- LATE ARRIVALS. A patient whom the sweep marked no-show and who arrives within
-- check_in_late_minutes checks in online (private.queue_check_in clears the mark): the
-- appointment's `check_in_opens_at` is now given for such a no-show too, so the app offers
-- check-in; after the late window it is not (the front desk checks them in, or undoes the
-- no-show). tests/edge/front_desk_test.ts checks that the two agree.

-- ---------------------------------------------------------------------------------------
-- How a booking came in
-- ---------------------------------------------------------------------------------------

alter table public.appointments add constraint appointments_source
  check (source in ('web', 'phone', 'front_desk'));

-- Staff booking for another patient: `phone` unless they said `front_desk`; anyone else: `web`
-- only. Callers without a user (the service, migrations, seeds) write what they write.
-- SECURITY DEFINER: reads memberships and patients whatever the caller may read.
create or replace function private.appointment_source() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_uid uuid := (select auth.uid());
  v_staff boolean;
begin
  if v_uid is null or new.rescheduled_from is not null then
    return new;
  end if;
  if new.source = 'web' and exists (
    select 1 from public.patients p where p.id = new.patient_id and p.user_id = v_uid
  ) then
    return new;
  end if;
  v_staff := exists (
    select 1 from public.clinic_members m
    where m.user_id = v_uid and m.clinic_id = new.clinic_id and m.revoked_at is null
      and m.role = any (private.staff_roles()));
  if v_staff then
    if new.source = 'web' then
      new.source := 'phone';
    end if;
  elsif new.source <> 'web' then
    perform private.raise_api(403, 'forbidden',
      'Only the clinic''s staff record a booking by phone or at the front desk');
  end if;
  return new;
end
$$;
revoke all on function private.appointment_source() from public;

create trigger appointments_source before insert on public.appointments
  for each row execute function private.appointment_source();

-- ---------------------------------------------------------------------------------------
-- The calendar over the whole advance window
-- ---------------------------------------------------------------------------------------

drop function api.clinic_days(text, uuid, integer, text);

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
revoke all on function api.clinic_days(text, uuid, integer, text, date) from public;
grant execute on function api.clinic_days(text, uuid, integer, text, date)
  to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Late arrivals after the sweep
-- ---------------------------------------------------------------------------------------

-- An appointment as the API shows it (20261122000800_scheduling_booking.sql), with
-- `check_in_opens_at` while the patient can check in online: booked, or marked no-show by the
-- sweep and still within check_in_late_minutes of its start (private.queue_check_in's window).
create or replace function private.appointment_json(a public.appointments) returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_tz text;
  v_code text;
  v_clinic_name text;
  v_settings jsonb;
  v_doctor text;
begin
  select c.timezone, c.code, c.name, c.settings into v_tz, v_code, v_clinic_name, v_settings
  from public.clinics c where c.id = a.clinic_id;
  select d.display_name into v_doctor from public.doctors d where d.id = a.doctor_id;
  return private.appointment_json_of(a, v_tz, v_code, v_clinic_name, v_doctor)
    || jsonb_build_object('check_in_opens_at', case
      when a.status in ('scheduled', 'confirmed')
        or (a.status = 'no_show' and private.no_show_undoable(a.id)
            and now() <= lower(a.period) + make_interval(
              mins => private.queue_setting(v_settings, 'check_in_late_minutes', 60)))
      then private.iso_in_zone(
        private.check_in_opens_at(lower(a.period), a.service_date, v_tz, v_settings), v_tz)
      end);
end
$$;
