-- A reminder job's `start` comes back through JSON and client drivers that may keep only
-- milliseconds: match the appointment's start to the millisecond, not the microsecond.
create or replace function private.appointment_reminder(
  p_appointment uuid,
  p_start timestamptz,
  p_lead_minutes integer
) returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_appt public.appointments;
  v_tz text;
  v_when text;
begin
  select * into v_appt from public.appointments a where a.id = p_appointment;
  if not found or v_appt.status not in ('scheduled', 'confirmed')
    or abs(extract(epoch from lower(v_appt.period) - p_start)) >= 0.001
    or lower(v_appt.period) <= now() then
    return null;
  end if;
  select c.timezone into v_tz from public.clinics c where c.id = v_appt.clinic_id;
  v_when := private.local_datetime(lower(v_appt.period), v_tz);
  return private.notify(v_appt.clinic_id, v_appt.patient_id, 'appointment_reminder',
    'Appointment reminder',
    format('Reminder: your appointment %s is on %s (clinic time). Ref %s.',
      private.appointment_place(v_appt), v_when, v_appt.appointment_number),
    jsonb_build_object('appointment_id', v_appt.id, 'start', lower(v_appt.period),
      'local_time', v_when, 'timezone', v_tz, 'lead_minutes', p_lead_minutes));
end
$$;
revoke all on function private.appointment_reminder(uuid, timestamptz, integer) from public;
