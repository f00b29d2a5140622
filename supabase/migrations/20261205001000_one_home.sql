-- One home for each permission rule, and one way for routes to reach the database (issue #14,
-- items 1 and 2): every route calls one `api.*` function that returns the response JSON, under
-- the caller's claims; who may do what is decided here (RLS and the private helpers), never by
-- a TypeScript pre-check. docs/authorization.md lists every rule and the copies that mirror it.
--
-- * private.staff_roles(): the member roles that make a user staff of a clinic. The policy
--   helpers (private.staff_clinic_ids) and the booking checks read it instead of spelling the
--   list; the TypeScript copies are checked against it (tests/db/roles_test.ts,
--   tests/realtime/db_rules_test.ts).
-- * The queue: api.queue_* return the ticket JSON built in SQL (private.queue_ticket_json),
--   the board snapshot (who may read it: a member, or the clinic's live board token) and the
--   staff list (staff of the clinic only).
-- * Notifications: api.notifications* (RLS: the caller's own rows), the page cursor too.
-- * Webhook endpoints: api.webhook_* behind private.admin_clinic (the clinic's admins only);
--   the inbound inbox's list and redrive as api.webhook_inbox*.
-- Answers keep their shapes: JSON objects keep key order (json, not jsonb) and instants are
-- UTC with milliseconds (private.iso_utc), as the routes wrote them before.

-- ---------------------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------------------

-- Staff of a clinic: every member role but patient. A constant the planner folds into each
-- query that reads it (SQL, immutable, no SET clause: inlined).
create or replace function private.staff_roles() returns public.member_role[]
  language sql immutable parallel safe
  as $$ select '{doctor,nurse,staff,admin}'::public.member_role[] $$;
revoke all on function private.staff_roles() from public;
grant execute on function private.staff_roles() to anon, authenticated, service_role;

create or replace function private.staff_clinic_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = (select auth.uid()) and m.revoked_at is null
      and m.role = any (private.staff_roles());
end
$$;

-- Any clinic the caller belongs to, in any role (patients included).
create or replace function private.member_clinic_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select m.clinic_id from public.clinic_members m
    where m.user_id = (select auth.uid()) and m.revoked_at is null;
end
$$;

-- The booking checks: the same functions, with the staff roles read from private.staff_roles().

-- Who is booked, with whom, when: patients book for themselves; staff (private.staff_roles())
-- for any patient of their clinic; nobody in another clinic. Resolved with explicit
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
      and m.role = any (private.staff_roles()));
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

-- Who books for whom, with whom, when — and is that slot bookable and free right now?
-- private.booking_target + private.check_slot + private.free_for in one pass: the same rules,
-- checked in the same order, raising the same errors. Takes the per-doctor-day lock when the
-- doctor has a daily cap (as check_slot does) and clears expired holds in the way (as
-- free_for does).
create or replace function private.booking_slot(p_request jsonb)
  returns private.booking_slot
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_uid uuid := auth.uid();
  v_patient uuid := (p_request ->> 'patient_id')::uuid;
  v_doctor uuid := (p_request ->> 'doctor_id')::uuid;
  v_start timestamptz;
  v_end timestamptz;
  v_range tstzrange;
  v_live boolean;
  v_expired boolean;
  k record;
begin
  if v_uid is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to do this');
  end if;
  v_start := (p_request ->> 'start')::timestamptz;

  select c.id as clinic_id, c.code, c.name, c.timezone,
    exists (
      select 1 from public.clinic_members m
      where m.user_id = v_uid and m.clinic_id = c.id and m.revoked_at is null
        and m.role = any (private.staff_roles())) as staff,
    case when v_patient is null then (
      select p.id from public.patients p
      where p.clinic_id = c.id and p.user_id = v_uid and p.deleted_at is null) end as own_patient,
    case when v_patient is not null then exists (
      select 1 from public.patients p
      where p.id = v_patient and p.clinic_id = c.id and p.deleted_at is null) end as in_clinic,
    case when v_patient is not null then exists (
      select 1 from public.patients p
      where p.id = v_patient and p.clinic_id = c.id and p.user_id = v_uid
        and p.deleted_at is null) end as own,
    d.id as doctor_id, d.display_name as doctor_name,
    s.doctor_id as scheduled, s.slot_minutes, s.buffer_minutes, s.max_per_day,
    s.advance_days, s.min_notice_minutes, x.day,
    -- private.check_slot's grid rule: within a work period of that local date, a whole number
    -- of (slot + buffer) steps after the period's start, ending by the period's end,
    -- overlapping no break, not on a blocked date.
    (not exists (select 1 from public.doctor_blocked_dates b
                 where b.doctor_id = d.id and b.day = x.day)
     and exists (
       select 1 from public.doctor_schedule_hours w
       where w.doctor_id = d.id and w.weekday = extract(dow from x.day)::smallint
         and w.kind = 'work'
         and v_start >= (x.day + w.starts) at time zone c.timezone
         and v_start + make_interval(mins => s.slot_minutes)
             <= (x.day + w.ends) at time zone c.timezone
         and extract(epoch from v_start - ((x.day + w.starts) at time zone c.timezone))::bigint
             % ((s.slot_minutes + s.buffer_minutes) * 60) = 0)
     and not exists (
       select 1 from public.doctor_schedule_hours b
       where b.doctor_id = d.id and b.weekday = extract(dow from x.day)::smallint
         and b.kind = 'break'
         and tstzrange((x.day + b.starts) at time zone c.timezone,
                       (x.day + b.ends) at time zone c.timezone)
             && tstzrange(v_start, v_start + make_interval(mins => s.slot_minutes)))
    ) as on_grid
  into k
  from public.clinics c
  left join public.doctors d
    on d.id = v_doctor and d.clinic_id = c.id and d.is_active and d.deleted_at is null
  left join public.doctor_schedules s on s.doctor_id = d.id
  cross join lateral (select (v_start at time zone c.timezone)::date as day) x
  where c.code = upper(p_request ->> 'clinic_code') and c.is_active and c.deleted_at is null;

  -- private.booking_target's checks, in its order.
  if k.clinic_id is null then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if v_patient is null then
    v_patient := k.own_patient;
    if v_patient is null then
      if k.staff then
        perform private.raise_api(400, 'patient_required',
          'Staff must say which patient the appointment is for (patient_id)');
      end if;
      perform private.raise_api(403, 'not_a_patient', 'You are not a patient of this clinic');
    end if;
  elsif k.staff then
    if not k.in_clinic then
      perform private.raise_api(404, 'patient_not_found', 'No such patient at this clinic');
    end if;
  elsif not k.own then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can book for another patient');
  end if;
  if k.doctor_id is null then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;

  -- private.check_slot's, in its order.
  if k.scheduled is null then
    perform private.raise_api(422, 'outside_schedule', 'The doctor takes no appointments');
  end if;
  if v_start < now() + make_interval(mins => k.min_notice_minutes) then
    perform private.raise_api(422, 'too_soon',
      format('Appointments need %s minutes notice', k.min_notice_minutes));
  end if;
  if k.day > (now() at time zone k.timezone)::date + k.advance_days then
    perform private.raise_api(422, 'too_far_ahead',
      format('Appointments can be booked up to %s days ahead', k.advance_days));
  end if;
  if not k.on_grid then
    perform private.raise_api(422, 'outside_schedule',
      'That time is not one of the doctor''s slots');
  end if;
  v_end := v_start + make_interval(mins => k.slot_minutes);
  if k.max_per_day is not null then
    -- Serializes bookings of this doctor and day; the count below is a new statement, so it
    -- sees every booking committed before the lock was granted.
    perform pg_advisory_xact_lock(hashtext(v_doctor::text), k.day - date '2000-01-01');
    if (select count(*) from public.appointments a
        where a.doctor_id = v_doctor and a.service_date = k.day
          and a.status not in ('cancelled', 'rescheduled')
          and (a.status <> 'held' or a.hold_expires_at > now())) >= k.max_per_day then
      perform private.raise_api(409, 'slot_unavailable', 'The doctor is fully booked that day');
    end if;
  end if;

  -- private.free_for's: expired holds in the way are removed; anything else live there means
  -- the slot is taken.
  v_range := tstzrange(v_start, v_end);
  select coalesce(bool_or(a.status <> 'held' or a.hold_expires_at > now()), false),
         coalesce(bool_or(a.status = 'held' and a.hold_expires_at <= now()), false)
  into v_live, v_expired
  from public.appointments a
  where a.doctor_id = v_doctor and a.period && v_range
    and a.status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress');
  if v_expired then
    delete from public.appointments
    where doctor_id = v_doctor and status = 'held' and hold_expires_at <= now()
      and period && v_range;
  end if;
  if v_live then
    perform private.raise_api(409, 'slot_unavailable', 'That time slot is no longer available');
  end if;

  return row(k.clinic_id, k.code, k.name, k.timezone, v_patient, v_doctor, k.doctor_name,
    v_start, v_end)::private.booking_slot;
end
$$;
revoke all on function private.booking_slot(jsonb) from public;
grant execute on function private.booking_slot(jsonb) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Shared by the answers below
-- ---------------------------------------------------------------------------------------

-- An instant as the API writes it: UTC, milliseconds, `Z` (2026-12-01T01:00:00.123Z).
create or replace function private.iso_utc(p_at timestamptz) returns text
  language sql stable
  as $$ select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- `p_base` with the keys of `p_more` after its own, in order (jsonb || would sort them).
create or replace function private.json_extend(p_base json, p_more json) returns json
  language sql immutable
  as $$
    select coalesce(json_object_agg(e.key, e.value order by e.part, e.n), '{}'::json)
    from (
      select 1 as part, b.key, b.value, b.n from json_each(p_base) with ordinality b(key, value, n)
      union all
      select 2, m.key, m.value, m.n from json_each(p_more) with ordinality m(key, value, n)
    ) e
  $$;

-- The clinic of a `:code` path parameter, as the caller may read it (RLS: active clinics),
-- with the columns anyone may read (id, code, name, timezone; the others null), or 404.
create or replace function private.clinic_by_code(p_code text) returns public.clinics
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
begin
  select c.id, c.code, c.name, c.timezone
  into v_clinic.id, v_clinic.code, v_clinic.name, v_clinic.timezone
  from public.clinics c where c.code = upper(p_code);
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No such clinic');
  end if;
  return v_clinic;
end
$$;

revoke all on function private.iso_utc(timestamptz), private.json_extend(json, json),
  private.clinic_by_code(text) from public;
grant execute on function private.iso_utc(timestamptz), private.json_extend(json, json),
  private.clinic_by_code(text) to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Queue
-- ---------------------------------------------------------------------------------------

-- A ticket as the API shows it; `p_info` gives position, people_ahead, estimated_wait_minutes
-- and service_minutes (private.queue_ticket_info, or only the board position for the staff
-- list; a missing key is null).
create or replace function private.queue_ticket_json(t public.queue_tickets, p_info jsonb)
  returns json
  language sql stable
  as $$
    select json_build_object(
      'id', t.id,
      'code', t.code,
      'kind', t.kind,
      'status', t.status,
      'priority', t.priority,
      'clinic_id', t.clinic_id,
      'service_date', t.service_date,
      'room', t.room,
      'doctor_id', t.doctor_id,
      'patient_id', t.patient_id,
      'appointment_id', t.appointment_id,
      'scheduled_at', private.iso_utc(t.scheduled_at),
      'checked_in_at', private.iso_utc(t.checked_in_at),
      'called_at', private.iso_utc(t.called_at),
      'call_count', t.call_count,
      'consultation_start_at', private.iso_utc(t.consultation_start_at),
      'consultation_end_at', private.iso_utc(t.consultation_end_at),
      'no_show_at', private.iso_utc(t.no_show_at),
      'cancelled_at', private.iso_utc(t.cancelled_at),
      'position', p_info -> 'position',
      'people_ahead', p_info -> 'people_ahead',
      'estimated_wait_minutes', p_info -> 'estimated_wait_minutes',
      'service_minutes', p_info -> 'service_minutes')
  $$;

-- `{"ticket": …}` with its position and wait estimate, as the caller may see them.
create or replace function private.queue_ticket_answer(t public.queue_tickets) returns json
  language sql stable
  as $$
    select json_build_object('ticket',
      private.queue_ticket_json(t, private.queue_ticket_info(t.id)))
  $$;

revoke all on function private.queue_ticket_json(public.queue_tickets, jsonb),
  private.queue_ticket_answer(public.queue_tickets) from public;
grant execute on function private.queue_ticket_json(public.queue_tickets, jsonb),
  private.queue_ticket_answer(public.queue_tickets) to authenticated, service_role;

-- The commands: the rules are private.queue_* (20261122002002_queue_policy.sql); these run
-- one as the caller and answer its ticket.
create or replace function api.queue_check_in(p_appointment uuid) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_t public.queue_tickets;
begin
  select * into v_t from private.queue_check_in(p_appointment);
  return private.queue_ticket_answer(v_t);
end
$$;

-- Call-next in the clinic of `p_code`; 404 queue_empty when nobody is waiting for the room.
create or replace function api.queue_call_next(p_code text, p_room text, p_doctor uuid)
  returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.clinic_by_code(p_code);
  v_t public.queue_tickets;
begin
  select * into v_t from private.queue_call_next(v_clinic.id, p_room, p_doctor);
  if not found then
    perform private.raise_api(404, 'queue_empty', 'Nobody is waiting for this room');
  end if;
  return private.queue_ticket_answer(v_t);
end
$$;

-- A walk-in: for a patient of the clinic (`p_patient`), or a new patient registered in the
-- same transaction (`p_new_patient`: full_name, date_of_birth, gender, phone), or nobody.
create or replace function api.queue_walk_in(
  p_code text,
  p_patient uuid,
  p_new_patient jsonb,
  p_doctor uuid,
  p_priority integer
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.clinic_by_code(p_code);
  v_patient uuid := p_patient;
  v_t public.queue_tickets;
begin
  if p_new_patient is not null then
    v_patient := private.register_patient(v_clinic.id, p_new_patient ->> 'full_name',
      (p_new_patient ->> 'date_of_birth')::date, (p_new_patient ->> 'gender')::public.gender,
      p_new_patient ->> 'phone');
  end if;
  select * into v_t
  from private.queue_walk_in(v_clinic.id, v_patient, p_doctor, coalesce(p_priority, 0));
  return private.queue_ticket_answer(v_t);
end
$$;

create or replace function api.queue_transition(p_ticket uuid, p_action text, p_room text)
  returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_t public.queue_tickets;
begin
  select * into v_t from private.queue_transition(p_ticket, p_action, p_room);
  return private.queue_ticket_answer(v_t);
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

-- Today's tickets of the clinic with patient and doctor names, for its staff, in board order.
create or replace function api.queue_tickets(p_code text, p_status public.ticket_status)
  returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.clinic_by_code(p_code);
begin
  if v_clinic.id not in (select private.staff_clinic_ids()) then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can see this');
  end if;
  return json_build_object('tickets', coalesce((
    select json_agg(private.json_extend(
        private.queue_ticket_json(t, jsonb_build_object('position', b.position)),
        json_build_object('patient_name', p.full_name, 'patient_number', p.patient_number,
          'doctor_name', d.display_name))
      order by case when t.status in ('called', 'serving') then 0
                    when t.status = 'waiting' then 1 else 2 end,
               b.position nulls last, t.called_at desc nulls last, t.code)
    from public.queue_tickets t
    left join public.queue_board b on b.ticket_id = t.id
    left join public.patients p on p.id = t.patient_id
    left join public.doctors d on d.id = t.doctor_id
    where t.clinic_id = v_clinic.id
      and t.service_date = private.clinic_today(v_clinic.id)
      and (p_status is null or t.status = p_status)), '[]'::json));
end
$$;

-- The caller's active ticket of today (earliest check-in first), optionally at one clinic, with
-- its clinic's code and name; `{"ticket": null}` without one.
create or replace function api.my_queue(p_clinic_code text) returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('ticket', (
      select private.json_extend(
        private.queue_ticket_json(t, private.queue_ticket_info(t.id)),
        json_build_object('clinic_code', c.code, 'clinic_name', c.name))
      from public.queue_tickets t
      join public.clinics c on c.id = t.clinic_id
      where t.patient_id in (select private.my_patient_ids())
        and t.service_date = private.clinic_today(t.clinic_id)
        and t.status in ('waiting', 'called', 'serving')
        and (p_clinic_code is null or c.code = upper(p_clinic_code))
      order by t.checked_in_at, t.id
      limit 1))
  $$;

revoke all on function api.queue_check_in(uuid), api.queue_call_next(text, text, uuid),
  api.queue_walk_in(text, uuid, jsonb, uuid, integer), api.queue_transition(uuid, text, text),
  api.queue_board(text), api.queue_tickets(text, public.ticket_status), api.my_queue(text)
  from public;
grant execute on function api.queue_check_in(uuid), api.queue_call_next(text, text, uuid),
  api.queue_walk_in(text, uuid, jsonb, uuid, integer), api.queue_transition(uuid, text, text),
  api.queue_board(text), api.queue_tickets(text, public.ticket_status), api.my_queue(text)
  to authenticated;
grant execute on function api.queue_board(text) to anon;

-- ---------------------------------------------------------------------------------------
-- Notifications (RLS: the caller's own rows; only read_at is writable)
-- ---------------------------------------------------------------------------------------

create or replace function private.notification_json(n public.notifications) returns json
  language sql stable
  as $$
    select json_build_object('id', n.id, 'clinic_id', n.clinic_id, 'kind', n.kind,
      'title', n.title, 'body', n.body, 'data', coalesce(n.data, '{}'::jsonb),
      'read_at', private.iso_utc(n.read_at), 'created_at', private.iso_utc(n.created_at))
  $$;

-- The page cursor: base64 of "<created_at in µs since the epoch>|<id>" of a page's last row.
create or replace function private.notification_cursor(p_created_at timestamptz, p_id uuid)
  returns text
  language sql stable
  as $$
    select replace(encode(convert_to(
      (extract(epoch from p_created_at) * 1000000)::bigint::text || '|' || p_id::text, 'UTF8'),
      'base64'), E'\n', '')
  $$;

-- A cursor's two parts as text (µs, id), or null when it is not one. Read as a browser's
-- atob() would (ASCII whitespace ignored, padding optional), so any cursor accepted before
-- still is.
create or replace function private.notification_cursor_parts(p_cursor text) returns text[]
  language plpgsql immutable
  set search_path = ''
  as $$
declare
  v text := regexp_replace(p_cursor, '[\t\n\f\r ]', '', 'g');
  v_plain text;
begin
  if length(v) % 4 = 0 then
    v := regexp_replace(v, '={1,2}$', '');
  end if;
  if length(v) % 4 = 1 or v !~ '^[A-Za-z0-9+/]*$' then
    return null;
  end if;
  -- 'escape' writes every byte that is not printable ASCII as \nnn: none can pass the checks.
  v_plain := encode(decode(rpad(v, (length(v) + 3) / 4 * 4, '='), 'base64'), 'escape');
  if split_part(v_plain, '|', 1) ~ '^[0-9]{1,19}$'
     and split_part(v_plain, '|', 2) ~* '^[0-9a-f-]{36}$' then
    return array[split_part(v_plain, '|', 1), split_part(v_plain, '|', 2)];
  end if;
  return null;
end
$$;

-- The caller's notifications, newest first, `p_limit` per page after `p_cursor` (none when
-- null or empty); unread only when `p_unread`. With the unread count and the next page's cursor (null on the last page).
create or replace function api.notifications(p_limit integer, p_cursor text, p_unread boolean)
  returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_after text[];
  v_at timestamptz;
  v_id uuid;
begin
  if p_cursor <> '' then
    v_after := private.notification_cursor_parts(p_cursor);
    if v_after is null then
      perform private.raise_api(400, 'invalid_request', 'The cursor is invalid',
        '[{"path": "cursor", "message": "Invalid cursor"}]');
    end if;
    v_at := 'epoch'::timestamptz + v_after[1]::bigint * interval '1 microsecond';
    v_id := v_after[2]::uuid;
  end if;
  return (
    select json_build_object(
      'notifications', coalesce(
        json_agg(private.notification_json(p.n) order by p.i) filter (where p.i <= p_limit),
        '[]'::json),
      'unread_count', (select count(*)::integer from public.notifications u
                       where u.user_id = (select auth.uid()) and u.read_at is null),
      'next_cursor', case when count(*) > p_limit then
        min(private.notification_cursor((p.n).created_at, (p.n).id)) filter (where p.i = p_limit)
      end)
    from (
      select r.n, row_number() over (order by (r.n).created_at desc, (r.n).id desc) as i
      from (
        select n from public.notifications n
        where n.user_id = (select auth.uid())
          and (not p_unread or n.read_at is null)
          and (v_at is null or (n.created_at, n.id) < (v_at, v_id))
        order by n.created_at desc, n.id desc
        limit p_limit + 1
      ) r
    ) p);
end
$$;

create or replace function api.notifications_unread_count() returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('count', count(*)::integer) from public.notifications n
    where n.user_id = (select auth.uid()) and n.read_at is null
  $$;

create or replace function api.notification_read(p_id uuid) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_n public.notifications;
begin
  update public.notifications n set read_at = coalesce(n.read_at, now())
  where n.id = p_id
  returning n.* into v_n;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such notification');
  end if;
  return json_build_object('notification', private.notification_json(v_n));
end
$$;

create or replace function api.notifications_read_all() returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  update public.notifications n set read_at = now()
  where n.user_id = (select auth.uid()) and n.read_at is null;
  get diagnostics v_count = row_count;
  return json_build_object('updated', v_count);
end
$$;

revoke all on function private.notification_json(public.notifications),
  private.notification_cursor(timestamptz, uuid), private.notification_cursor_parts(text),
  api.notifications(integer, text, boolean), api.notifications_unread_count(),
  api.notification_read(uuid), api.notifications_read_all() from public;
grant execute on function private.notification_json(public.notifications),
  private.notification_cursor(timestamptz, uuid), private.notification_cursor_parts(text),
  api.notifications(integer, text, boolean), api.notifications_unread_count(),
  api.notification_read(uuid), api.notifications_read_all() to authenticated;

-- ---------------------------------------------------------------------------------------
-- Outbound webhook endpoints (the clinic's admins; RLS policy endpoints_admin and friends)
-- ---------------------------------------------------------------------------------------

-- The id of the clinic of `p_code` when the caller is one of its admins; else 404 / 403.
create or replace function private.admin_clinic(p_code text) returns uuid
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_id uuid := (private.clinic_by_code(p_code)).id;
begin
  if v_id not in (select private.admin_clinic_ids()) then
    perform private.raise_api(403, 'not_clinic_admin', 'Only the clinic''s admins may do this');
  end if;
  return v_id;
end
$$;

-- An endpoint as the API shows it (never its secrets, which the caller cannot read anyway).
create or replace function private.webhook_endpoint_json(p_id uuid) returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('id', e.id, 'clinic_id', e.clinic_id, 'url', e.url,
      'description', e.description, 'events', e.events, 'enabled', e.enabled,
      'disabled_at', private.iso_utc(e.disabled_at), 'disabled_reason', e.disabled_reason,
      'failing_since', private.iso_utc(e.failing_since),
      'previous_secret_expires_at', private.iso_utc(e.previous_secret_expires_at),
      'created_at', private.iso_utc(e.created_at), 'updated_at', private.iso_utc(e.updated_at))
    from public.webhook_endpoints e where e.id = p_id
  $$;

-- Subscribed events as a set in the order given; `*` (every event) stands alone.
create or replace function private.webhook_events(p_events text[]) returns text[]
  language sql immutable
  set search_path = ''
  as $$
    select case when '*' = any (p_events) then '{*}'::text[]
      else array(select u.e from unnest(p_events) with ordinality u(e, n)
                 group by u.e order by min(u.n)) end
  $$;

-- Registers an endpoint; the answer carries its secret (made by the edge), the only time it is
-- shown.
create or replace function api.webhook_endpoint_create(
  p_code text,
  p_url text,
  p_events text[],
  p_description text,
  p_secret text
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_id uuid;
begin
  insert into public.webhook_endpoints (clinic_id, url, description, events, secret, created_by)
  values (v_clinic, p_url, p_description, private.webhook_events(p_events), p_secret,
    (select auth.uid()))
  returning id into v_id;
  return json_build_object('endpoint', private.webhook_endpoint_json(v_id), 'secret', p_secret);
end
$$;

create or replace function api.webhook_endpoints(p_code text) returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  return json_build_object('endpoints', coalesce((
    select json_agg(private.webhook_endpoint_json(e.id) order by e.created_at)
    from public.webhook_endpoints e where e.clinic_id = v_clinic), '[]'::json));
end
$$;

create or replace function api.webhook_endpoint(p_code text, p_id uuid) returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  if not exists (select 1 from public.webhook_endpoints e
                 where e.id = p_id and e.clinic_id = v_clinic) then
    perform private.raise_api(404, 'endpoint_not_found', 'No such webhook endpoint');
  end if;
  return json_build_object('endpoint', private.webhook_endpoint_json(p_id));
end
$$;

-- Changes an endpoint: `p_changes` may hold url, events, description (null clears it) and
-- enabled; `p_secret` rotates the secret, the old one signing for `p_grace_seconds` more.
-- The answer carries the new secret after a rotation.
create or replace function api.webhook_endpoint_update(
  p_code text,
  p_id uuid,
  p_changes jsonb,
  p_secret text,
  p_grace_seconds integer
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  perform 1 from public.webhook_endpoints e
  where e.id = p_id and e.clinic_id = v_clinic for update;
  if not found then
    perform private.raise_api(404, 'endpoint_not_found', 'No such webhook endpoint');
  end if;
  if p_changes ?| '{url,events,description}' then
    update public.webhook_endpoints e
    set url = case when p_changes ? 'url' then p_changes ->> 'url' else e.url end,
        events = case when p_changes ? 'events'
          then private.webhook_events(array(
            select jsonb_array_elements_text(p_changes -> 'events')))
          else e.events end,
        description = case when p_changes ? 'description' then p_changes ->> 'description'
          else e.description end
    where e.id = p_id;
  end if;
  if (p_changes ->> 'enabled')::boolean then
    update public.webhook_endpoints e
    set enabled = true, disabled_at = null, disabled_reason = null, failing_since = null
    where e.id = p_id and not e.enabled;
  elsif not (p_changes ->> 'enabled')::boolean then
    update public.webhook_endpoints e
    set enabled = false, disabled_at = now(), disabled_reason = 'disabled by an admin'
    where e.id = p_id and e.enabled;
  end if;
  if p_secret is not null then
    perform * from private.webhook_endpoint_rotate(p_id, p_secret, p_grace_seconds);
    return json_build_object('endpoint', private.webhook_endpoint_json(p_id), 'secret', p_secret);
  end if;
  return json_build_object('endpoint', private.webhook_endpoint_json(p_id));
end
$$;

-- Removes an endpoint and its delivery history.
create or replace function api.webhook_endpoint_delete(p_code text, p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  delete from public.webhook_endpoints e where e.id = p_id and e.clinic_id = v_clinic;
  if not found then
    perform private.raise_api(404, 'endpoint_not_found', 'No such webhook endpoint');
  end if;
end
$$;

-- The endpoint's latest deliveries (newest first, `p_limit`, default 50) with every attempt.
create or replace function api.webhook_deliveries(p_code text, p_id uuid, p_limit integer)
  returns json
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  return json_build_object('deliveries', coalesce((
    select json_agg(json_build_object(
        'id', d.id,
        'event_id', d.event_id,
        'webhook_id', 'msg_' || replace(d.event_id::text, '-', ''),
        'event_type', d.event_type,
        'status', d.status,
        'attempts', d.attempts,
        'next_attempt_at', private.iso_utc(d.next_attempt_at),
        'last_status_code', d.last_status_code,
        'last_error', d.last_error,
        'succeeded_at', private.iso_utc(d.succeeded_at),
        'created_at', private.iso_utc(d.created_at),
        'attempt_log', coalesce((
          select json_agg(json_build_object(
            'attempted_at', private.iso_utc(a.attempted_at), 'status_code', a.status_code,
            'duration_ms', a.duration_ms, 'response_body', a.response_body,
            'error', a.error) order by a.id)
          from public.webhook_delivery_attempts a where a.delivery_id = d.id), '[]'::json))
      order by d.created_at desc)
    from (
      select d.id, d.event_id, o.event_type, d.status, d.attempts, d.next_attempt_at,
             d.last_status_code, d.last_error, d.succeeded_at, d.created_at
      from public.webhook_deliveries d
      join public.webhook_outbox o on o.id = d.event_id
      where d.endpoint_id = p_id and d.clinic_id = v_clinic
      order by d.created_at desc
      limit coalesce(p_limit, 50)
    ) d), '[]'::json));
end
$$;

-- Sends a delivery again (private.webhook_delivery_retry: which ones, and the audit entry).
-- The answer echoes the delivery id as the path spelled it.
create or replace function api.webhook_delivery_retry(p_code text, p_id uuid, p_delivery text)
  returns json
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.webhook_delivery_retry(private.admin_clinic(p_code), p_id, p_delivery::uuid);
  return json_build_object('id', p_delivery, 'status', 'pending');
end
$$;

-- Inbound events (metadata only) of the caller's admin clinics, or all for a superadmin
-- (private.webhook_inbox_list decides), newest first.
create or replace function api.webhook_inbox(p_status text, p_limit integer) returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('events', coalesce(json_agg(json_build_object(
        'id', i.id, 'source', i.source, 'event_id', i.event_id, 'event_type', i.event_type,
        'clinic_id', i.clinic_id, 'status', i.status, 'attempts', i.attempts,
        'max_attempts', i.max_attempts, 'last_error', i.last_error, 'outcome', i.outcome,
        'received_at', private.iso_utc(i.received_at),
        'processed_at', private.iso_utc(i.processed_at),
        'run_at', private.iso_utc(i.run_at), 'redrive_count', i.redrive_count)
      order by i.ordinality), '[]'::json))
    from private.webhook_inbox_list(p_status, coalesce(p_limit, 50)) with ordinality i
  $$;

-- Redrives a dead-lettered inbound event (private.webhook_inbox_redrive: who may, the audit
-- entry); the answer echoes its id as the path spelled it.
create or replace function api.webhook_inbox_redrive(p_id text, p_reason text) returns json
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.webhook_inbox_redrive(p_id::uuid, p_reason);
  return json_build_object('id', p_id, 'status', 'pending');
end
$$;

revoke all on function private.admin_clinic(text), private.webhook_endpoint_json(uuid),
  private.webhook_events(text[]),
  api.webhook_endpoint_create(text, text, text[], text, text), api.webhook_endpoints(text),
  api.webhook_endpoint(text, uuid), api.webhook_endpoint_update(text, uuid, jsonb, text, integer),
  api.webhook_endpoint_delete(text, uuid), api.webhook_deliveries(text, uuid, integer),
  api.webhook_delivery_retry(text, uuid, text), api.webhook_inbox(text, integer),
  api.webhook_inbox_redrive(text, text) from public;
grant execute on function private.admin_clinic(text), private.webhook_endpoint_json(uuid),
  private.webhook_events(text[]),
  api.webhook_endpoint_create(text, text, text[], text, text), api.webhook_endpoints(text),
  api.webhook_endpoint(text, uuid), api.webhook_endpoint_update(text, uuid, jsonb, text, integer),
  api.webhook_endpoint_delete(text, uuid), api.webhook_deliveries(text, uuid, integer),
  api.webhook_delivery_retry(text, uuid, text), api.webhook_inbox(text, integer),
  api.webhook_inbox_redrive(text, text) to authenticated;
