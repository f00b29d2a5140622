-- Edge API (issue 3), part 4: booking-path helpers of 20261122001001 as PL/pgSQL.
--
-- Found while profiling bench/booking: PostgreSQL parses and plans a LANGUAGE sql function on
-- every call when it cannot inline it (SECURITY DEFINER or a SET clause prevents inlining);
-- PL/pgSQL caches its plans per session (~80–110 µs → ~25 µs per call). The RLS helpers got
-- the same treatment where they are defined (20261122000200_identity.sql).

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
  return jsonb_build_object(
    'id', a.id,
    'appointment_number', a.appointment_number,
    'status', a.status,
    'start', private.iso_in_zone(lower(a.period), v_tz),
    'end', private.iso_in_zone(upper(a.period), v_tz),
    'local_date', a.service_date,
    'local_time', to_char(lower(a.period) at time zone v_tz, 'HH24:MI'),
    'timezone', v_tz,
    'clinic_id', a.clinic_id,
    'clinic_code', v_code,
    'clinic_name', v_clinic_name,
    'doctor_id', a.doctor_id,
    'doctor_name', v_doctor,
    'patient_id', a.patient_id,
    'visit_reason', a.visit_reason,
    'hold_expires_at', a.hold_expires_at,
    'rescheduled_from', a.rescheduled_from,
    'cancelled_at', a.cancelled_at,
    'cancellation_reason', a.cancellation_reason,
    'created_at', a.created_at
  );
end
$$;
