-- Patient numbers (used by sign-up and staff registration).

-- The clinic's next patient number, <branch>-P-000042, from a per-clinic counter (never
-- COUNT+1), started after the highest number already present (e.g. the demo data's).
create or replace function private.next_patient_number(p_clinic uuid) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_number integer;
begin
  insert into private.day_counters as d (clinic_id, day, kind, value)
  select p_clinic, date '2000-01-01', 'patient',
    coalesce(max(nullif(substring(p.patient_number from '(\d+)$'), '')::integer), 0) + 1
  from public.patients p where p.clinic_id = p_clinic
  on conflict (clinic_id, day, kind) do update set value = d.value + 1
  returning d.value into v_number;
  return format('%s-P-%s',
    regexp_replace((select c.code from public.clinics c where c.id = p_clinic), '^.*-', ''),
    lpad(v_number::text, greatest(6, length(v_number::text)), '0'));
end
$$;
revoke all on function private.next_patient_number(uuid) from public;
grant execute on function private.next_patient_number(uuid) to service_role;

