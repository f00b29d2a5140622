-- Edge API (issue 3), part 4: the RLS helper functions, re-implemented in PL/pgSQL.
--
-- Found while profiling bench/booking with `perf`: 38 % of a booking's backend CPU went to
-- fmgr_sql — PostgreSQL parses and plans a LANGUAGE sql function on every call when it
-- cannot inline it, and SECURITY DEFINER or a SET clause always prevents inlining. The
-- membership helpers below are called by most RLS policies (several times per booking, per
-- realtime authorization check, per RLS'd query anywhere) and cost ~80–110 µs per call that
-- way; as PL/pgSQL, whose plans are cached per session, the same call costs ~25 µs.
--
-- Same names, signatures, volatility, SECURITY DEFINER and search_path; same results. These
-- replace the definitions in 20261122000100_platform.sql (next_number),
-- 20261122000200_identity.sql (the helpers) and 20261122000700_audit.sql (audit.redact).

create or replace function private.clinic_ids_with(roles public.member_role[])
  returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = auth.uid() and m.revoked_at is null and m.role = any (roles);
end
$$;

create or replace function private.staff_clinic_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = auth.uid() and m.revoked_at is null
      and m.role = any ('{doctor,nurse,staff,admin}'::public.member_role[]);
end
$$;

create or replace function private.admin_clinic_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = auth.uid() and m.revoked_at is null
      and m.role = any ('{admin}'::public.member_role[]);
end
$$;

create or replace function private.clinician_clinic_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = auth.uid() and m.revoked_at is null
      and m.role = any ('{doctor,nurse}'::public.member_role[]);
end
$$;

create or replace function private.nurse_clinic_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = auth.uid() and m.revoked_at is null
      and m.role = any ('{nurse}'::public.member_role[]);
end
$$;

create or replace function private.member_clinic_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = auth.uid() and m.revoked_at is null
      and m.role = any ('{patient,doctor,nurse,staff,admin}'::public.member_role[]);
end
$$;

create or replace function private.my_patient_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select p.id from public.patients p where p.user_id = auth.uid() and p.deleted_at is null;
end
$$;

create or replace function private.my_doctor_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select d.id from public.doctors d where d.user_id = auth.uid() and d.deleted_at is null;
end
$$;

create or replace function private.is_superadmin() returns boolean
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return coalesce(
    (select u.is_superadmin from public.users u where u.id = auth.uid() and u.is_active),
    false);
end
$$;

create or replace function private.board_clinic_id() returns uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return (
    select b.clinic_id from public.board_tokens b
    where coalesce((auth.jwt() -> 'app_metadata' ->> 'board')::boolean, false)
      and b.id = auth.uid()
      and b.clinic_id = (auth.jwt() -> 'app_metadata' ->> 'clinic_id')::uuid
      and b.revoked_at is null
      and (b.expires_at is null or b.expires_at > now()));
end
$$;

create or replace function private.next_number(p_clinic uuid, p_day date, p_kind text)
  returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_value integer;
begin
  insert into private.day_counters as c (clinic_id, day, kind, value)
  values (p_clinic, p_day, p_kind, 1)
  on conflict (clinic_id, day, kind) do update set value = c.value + 1
  returning c.value into v_value;
  return v_value;
end
$$;

-- No SET clause and only pg_catalog operators, so it is inlined into audit.log_change.
create or replace function audit.redact(v jsonb) returns jsonb
  language sql immutable
  as $$
    select v operator(pg_catalog.-)
      '{secret,previous_secret,password_hash,token_hash,nric_encrypted}'::pg_catalog.text[]
  $$;

-- Mine (20261122001001): the same change for the two SQL helpers on the booking path.
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
