-- Fix (earlier migration 20261122000300_scheduling.sql): appointment numbers were built with
-- lpad(n, 3, '0'), and PostgreSQL's lpad truncates: the 1,000th appointment of a clinic day
-- got "…-100" again, hit the unique (clinic_id, appointment_number) constraint, and every
-- further booking that day failed (found by bench/booking's one-day run). Numbers are now at
-- least three digits and never cut: GFC-TP-261201-007, …-999, …-1000.

create or replace function private.appointment_defaults() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_n integer;
begin
  select * into v_clinic from public.clinics where id = new.clinic_id;
  new.service_date := (lower(new.period) at time zone v_clinic.timezone)::date;
  if new.status <> 'held' and new.appointment_number is null then
    v_n := private.next_number(new.clinic_id, new.service_date, 'appointment');
    new.appointment_number := format('%s-%s-%s', v_clinic.code,
      to_char(new.service_date, 'YYMMDD'), lpad(v_n::text, greatest(3, length(v_n::text)), '0'));
  end if;
  if new.status <> 'held' then
    new.hold_expires_at := null;
  end if;
  return new;
end
$$;

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

create or replace function api.signup_patient(
  p_clinic_code text,
  p_email text,
  p_password_hash text,
  p_full_name text,
  p_date_of_birth date,
  p_gender public.gender,
  p_phone text,
  p_refresh_hash text,
  p_refresh_ttl integer
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_user uuid;
begin
  select * into v_clinic from public.clinics
  where code = upper(p_clinic_code) and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if exists (select 1 from public.users u
             where u.email operator(extensions.=) p_email::extensions.citext) then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end if;
  begin
    insert into public.users (email, full_name, phone)
    values (p_email, p_full_name, p_phone)
    returning id into v_user;
  exception when unique_violation then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end;
  insert into private.credentials (user_id, password_hash) values (v_user, p_password_hash);
  insert into public.clinic_members (user_id, clinic_id, role, is_primary)
  values (v_user, v_clinic.id, 'patient', true);

  insert into public.patients (clinic_id, user_id, patient_number, full_name, date_of_birth,
    gender, phone, email)
  values (v_clinic.id, v_user, private.next_patient_number(v_clinic.id),
    p_full_name, p_date_of_birth, p_gender, p_phone, p_email);

  return private.start_session(v_user, v_clinic.id, p_refresh_hash, p_refresh_ttl);
end
$$;
