-- The branch is named wherever a clinic is (issue #17, item 8): clinics of one practice share a
-- name ("Gabriel Family Clinic"), so appointments and the board snapshot carry the clinic's
-- branch_name (null for a single-site clinic) beside clinic_name. A branch name is public (the
-- clinic list and clinic information show it to anyone), so the PII-free board may show it.

-- An appointment as the API shows it. The branch is looked up here by primary key rather than
-- passed in, so every caller (private.appointment_json, private.book) stays as it is.
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
      'branch_name', (select c.branch_name from public.clinics c where c.id = a.clinic_id),
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

-- The clinic of a `:code` path parameter, as the caller may read it (RLS: active clinics),
-- with the columns anyone may read (id, code, name, branch_name, timezone; the others null), or
-- 404.
create or replace function private.clinic_by_code(p_code text) returns public.clinics
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
begin
  select c.id, c.code, c.name, c.branch_name, c.timezone
  into v_clinic.id, v_clinic.code, v_clinic.name, v_clinic.branch_name, v_clinic.timezone
  from public.clinics c where c.code = upper(p_code);
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No such clinic');
  end if;
  return v_clinic;
end
$$;

-- The PII-free board snapshot of today, for a member of the clinic or its live board token:
-- called and serving first (latest call first), then the waiting line, then the rest. One
-- statement, one snapshot: the rows and the version line up.
create or replace function api.queue_board(p_code text) returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.clinic_by_code(p_code);
  v_board uuid;
begin
  if (select auth.role()) = 'anon' then
    if not coalesce(((select auth.jwt()) -> 'app_metadata' ->> 'board')::boolean, false) then
      perform private.raise_api(401, 'auth_required', 'Sign in or use a board token');
    end if;
    v_board := private.board_clinic_id();
    if v_board is null then
      perform private.raise_api(401, 'board_token_revoked', 'This board token is no longer valid');
    end if;
    if v_board <> v_clinic.id then
      perform private.raise_api(403, 'forbidden', 'This board token is for another clinic');
    end if;
  elsif v_clinic.id not in (select private.member_clinic_ids()) then
    perform private.raise_api(403, 'forbidden', 'You are not a member of this clinic');
  end if;
  return (
    with d as (select private.clinic_today(v_clinic.id) as day)
    select json_build_object(
      'clinic_code', v_clinic.code,
      'clinic_name', v_clinic.name,
      'branch_name', v_clinic.branch_name,
      'service_date', d.day,
      'timezone', v_clinic.timezone,
      'version', coalesce((select v.version from public.queue_board_versions v
                           where v.clinic_id = v_clinic.id and v.service_date = d.day), 0),
      'tickets', coalesce((
        select json_agg(json_build_object(
            'ticket_id', b.ticket_id, 'code', b.code, 'status', b.status, 'room', b.room,
            'called_at', private.iso_utc(b.called_at), 'position', b.position)
          order by case when b.status in ('called', 'serving') then 0
                        when b.status = 'waiting' then 1 else 2 end,
                   case when b.status in ('called', 'serving') then b.called_at end
                     desc nulls last,
                   b.position nulls last, b.code)
        from public.queue_board b
        where b.clinic_id = v_clinic.id and b.service_date = d.day), '[]'::json))
    from d);
end
$$;
