-- Front desk: bookings by phone and late arrivals after the no-show sweep (the booking calendar
-- over the whole advance window is api.clinic_days, 20261207000300_appointment_types.sql).
--
-- HOW A BOOKING CAME IN. appointments.source is `web` (the patient booked in the app), `phone`
-- (the front desk booked for the patient, the default when staff book for someone else) or
-- `front_desk` (staff booked for a patient at the counter). Only the clinic's staff may record
-- anything but `web` (403 `forbidden`); a reschedule keeps the source of the appointment it
-- moves. private.appointment_source, a BEFORE INSERT trigger, is the rule's one home: every
-- path that creates an appointment (holds, bookings, whoever wrote them) passes through it.
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
