-- Doctors' schedules, administered: a clinic's admins read and change a doctor's slot settings
-- (public.doctor_schedules), weekly hours (public.doctor_schedule_hours: work and break
-- intervals per weekday, replaced as a whole by api.set_doctor_schedule) and blocked dates
-- (public.doctor_blocked_dates), and preview the week a draft would give, through the one
-- booking decision (private.slot_decisions) on the draft applied and rolled back.
--
-- The rules are the tables' constraints, whoever writes: an interval ends after it starts
-- (existing check), intervals of one kind never overlap for a doctor and weekday (exclusion
-- constraint), a break lies inside one work period (constraint trigger, checked at commit so
-- that a whole week can be rewritten in any order), settings within their ranges (existing
-- checks), a blocked date's reason a short label. The API functions only name the field of a
-- broken rule. Every change is audited and moves the clinic's availability version (the
-- `audit` and `availability` triggers of …000800_scheduling_booking and
-- …001100_availability_version already cover these three tables).
--
-- A member who becomes a doctor of a clinic (an accepted invitation, a role change) gets a
-- public.doctors row and a default schedule: bookable once hours are set.

-- ---------------------------------------------------------------------------------------
-- Constraints
-- ---------------------------------------------------------------------------------------

alter table public.doctor_schedule_hours rename constraint doctor_schedule_hours_check
  to doctor_schedule_hours_range;

-- Time ranges on a fixed day ('24:00' ends at the next midnight): [starts, ends).
alter table public.doctor_schedule_hours add constraint doctor_schedule_hours_no_overlap
  exclude using gist (doctor_id with =, weekday with =, kind with =,
    tsrange(date '2000-01-01' + starts, date '2000-01-01' + ends) with &&);

alter table public.doctor_blocked_dates add constraint doctor_blocked_dates_reason
  check (reason is null or length(btrim(reason)) between 1 and 100);

-- Every break of the changed rows' doctor and weekday lies inside one work period; else
-- 422 `break_outside_work` naming the break (details: weekday, kind, starts, ends).
create or replace function private.breaks_within_work() returns trigger
  language plpgsql
  security definer -- sees every row of the doctor's week, whoever changes one
  set search_path = ''
  as $$
declare
  b record;
begin
  select h.weekday, h.starts, h.ends into b
  from public.doctor_schedule_hours h
  where h.kind = 'break'
    and (h.doctor_id, h.weekday) in ((old.doctor_id, old.weekday), (new.doctor_id, new.weekday))
    and not exists (
      select 1 from public.doctor_schedule_hours w
      where w.doctor_id = h.doctor_id and w.weekday = h.weekday and w.kind = 'work'
        and w.starts <= h.starts and h.ends <= w.ends)
  order by h.weekday, h.starts
  limit 1;
  if found then
    perform private.raise_api(422, 'break_outside_work',
      format('The break %s–%s lies outside the working hours of that day',
        to_char(b.starts, 'HH24:MI'), to_char(b.ends, 'HH24:MI')),
      jsonb_build_object('weekday', b.weekday, 'kind', 'break',
        'starts', to_char(b.starts, 'HH24:MI'), 'ends', to_char(b.ends, 'HH24:MI')));
  end if;
  return null;
end
$$;
revoke all on function private.breaks_within_work() from public;

create constraint trigger breaks_within_work
  after insert or update or delete on public.doctor_schedule_hours
  deferrable initially deferred
  for each row execute function private.breaks_within_work();

-- ---------------------------------------------------------------------------------------
-- A doctor for every member with the doctor role
-- ---------------------------------------------------------------------------------------

-- The member's doctor row in the clinic (made from their account's name, or brought back when
-- it was deactivated or deleted) and a default schedule without hours. At commit, so that a
-- transaction adding a doctor's membership and its doctor row itself (the demo data) adds one.
create or replace function private.doctor_for_member() returns trigger
  language plpgsql
  security definer -- accepting an invitation runs without an admin of the clinic
  set search_path = ''
  as $$
begin
  insert into public.doctors as d (clinic_id, user_id, display_name)
  select new.clinic_id, u.id, coalesce(nullif(btrim(u.display_name), ''), u.full_name)
  from public.users u
  where u.id = new.user_id and exists (
    select 1 from public.clinic_members m
    where m.user_id = new.user_id and m.clinic_id = new.clinic_id and m.role = 'doctor'
      and m.revoked_at is null)
  on conflict (clinic_id, user_id) do update set is_active = true, deleted_at = null
    where not d.is_active or d.deleted_at is not null;
  insert into public.doctor_schedules (doctor_id, clinic_id)
  select d.id, d.clinic_id from public.doctors d
  where d.clinic_id = new.clinic_id and d.user_id = new.user_id
  on conflict (doctor_id) do nothing;
  return null;
end
$$;
revoke all on function private.doctor_for_member() from public;

create constraint trigger doctor_row
  after insert or update of role, revoked_at on public.clinic_members
  deferrable initially deferred
  for each row when (new.role = 'doctor' and new.revoked_at is null)
  execute function private.doctor_for_member();

-- ---------------------------------------------------------------------------------------
-- The admins' API (under the caller's claims: private.admin_clinic and RLS decide)
-- ---------------------------------------------------------------------------------------

-- The doctor `p_doctor` of the clinic the caller administers (403 not an admin, 404 no
-- such clinic or no such doctor there).
create or replace function private.admin_doctor(p_code text, p_doctor uuid)
  returns public.doctors
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_doctor public.doctors;
begin
  select * into v_doctor from public.doctors
  where id = p_doctor and clinic_id = v_clinic and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;
  return v_doctor;
end
$$;

create or replace function private.schedule_hour_json(h public.doctor_schedule_hours)
  returns jsonb
  language sql immutable
  set search_path = ''
  as $$
    select pg_catalog.jsonb_build_object('weekday', h.weekday, 'kind', h.kind,
      'starts', pg_catalog.to_char(h.starts, 'HH24:MI'),
      'ends', pg_catalog.to_char(h.ends, 'HH24:MI'))
  $$;

create or replace function private.blocked_date_json(b public.doctor_blocked_dates)
  returns jsonb
  language sql immutable
  set search_path = ''
  as $$
    select pg_catalog.jsonb_build_object('id', b.id, 'day', b.day, 'reason', b.reason)
  $$;

-- A doctor's whole schedule: settings (null without a schedule), weekly hours by weekday and
-- start, and blocked dates from `p_from` on (default: all).
create or replace function private.doctor_schedule_json(p_doctor public.doctors,
  p_from date default null)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select pg_catalog.jsonb_build_object(
      'doctor', pg_catalog.jsonb_build_object('id', p_doctor.id,
        'display_name', p_doctor.display_name, 'is_active', p_doctor.is_active),
      'settings', (select pg_catalog.jsonb_build_object('slot_minutes', s.slot_minutes,
          'buffer_minutes', s.buffer_minutes, 'max_per_day', s.max_per_day,
          'advance_days', s.advance_days, 'min_notice_minutes', s.min_notice_minutes,
          'updated_at', s.updated_at)
        from public.doctor_schedules s where s.doctor_id = p_doctor.id),
      'hours', coalesce((select pg_catalog.jsonb_agg(private.schedule_hour_json(h)
          order by h.weekday, h.kind desc, h.starts)
        from public.doctor_schedule_hours h where h.doctor_id = p_doctor.id), '[]'),
      'blocked_dates', coalesce((select pg_catalog.jsonb_agg(private.blocked_date_json(b)
          order by b.day)
        from public.doctor_blocked_dates b
        where b.doctor_id = p_doctor.id and (p_from is null or b.day >= p_from)), '[]'))
  $$;

-- The clinic's doctors (active first, by name), each with a summary of their schedule: its
-- settings, the weekdays they work, the working minutes of a week, upcoming blocked dates.
create or replace function api.list_doctor_schedules(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_today date := (now() at time zone (private.clinic_by_code(p_code)).timezone)::date;
begin
  return coalesce((
    select jsonb_agg(jsonb_build_object(
        'id', d.id, 'display_name', d.display_name, 'is_active', d.is_active,
        'user_id', d.user_id,
        'settings', x.j -> 'settings',
        'work_days', coalesce((select jsonb_agg(distinct h.weekday order by h.weekday)
          from public.doctor_schedule_hours h where h.doctor_id = d.id and h.kind = 'work'),
          '[]'),
        'weekly_minutes', coalesce((select sum(extract(epoch from
            case when h.kind = 'work' then h.ends - h.starts else h.starts - h.ends end))::integer
            / 60
          from public.doctor_schedule_hours h where h.doctor_id = d.id), 0),
        'upcoming_blocked_dates', jsonb_array_length(x.j -> 'blocked_dates'))
      order by not d.is_active, d.display_name, d.id)
    from public.doctors d
    cross join lateral (select private.doctor_schedule_json(d, v_today) as j) x
    where d.clinic_id = v_clinic and d.deleted_at is null), '[]'::jsonb);
end
$$;

-- A doctor's schedule, blocked dates from today on.
create or replace function api.doctor_schedule(p_code text, p_doctor uuid) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_doctor public.doctors := private.admin_doctor(p_code, p_doctor);
begin
  return private.doctor_schedule_json(v_doctor,
    (now() at time zone (private.clinic_by_code(p_code)).timezone)::date);
end
$$;

-- Changes a doctor's schedule in one go (admins): the settings given in `p_settings` (absent
-- keys stay; `max_per_day` null for no cap) and, when `p_hours` is given, the whole week of
-- hours — an array of {weekday, kind, starts, ends} ('HH:MM' local time). The intervals that
-- stay are left alone (the audit trail shows only what changed). A broken rule is 422 naming
-- the field (`details`: [{path, message}], paths as the request's: `settings.slot_minutes`,
-- `hours.3.ends`); nothing is written then. Answers with the schedule.
create or replace function api.set_doctor_schedule(p_code text, p_doctor uuid,
  p_settings jsonb default null, p_hours jsonb default null)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_doctor public.doctors := private.admin_doctor(p_code, p_doctor);
  v_s jsonb := coalesce(p_settings, '{}');
  v_i integer;
  v_constraint text;
  v_state text;
  v_code text;
  v_message text;
  v_hint text;
  v_bad jsonb;
begin
  begin
    insert into public.doctor_schedules (doctor_id, clinic_id)
    values (v_doctor.id, v_doctor.clinic_id)
    on conflict (doctor_id) do nothing;
    update public.doctor_schedules set
      slot_minutes = coalesce((v_s ->> 'slot_minutes')::integer, slot_minutes),
      buffer_minutes = coalesce((v_s ->> 'buffer_minutes')::integer, buffer_minutes),
      max_per_day = case when v_s ? 'max_per_day' then (v_s ->> 'max_per_day')::integer
        else max_per_day end,
      advance_days = coalesce((v_s ->> 'advance_days')::integer, advance_days),
      min_notice_minutes = coalesce((v_s ->> 'min_notice_minutes')::integer,
        min_notice_minutes)
    where doctor_id = v_doctor.id;

    if p_hours is not null then
      delete from public.doctor_schedule_hours h
      where h.doctor_id = v_doctor.id and not exists (
        select 1 from jsonb_array_elements(p_hours) n
        where (n ->> 'weekday')::smallint = h.weekday and n ->> 'kind' = h.kind
          and (n ->> 'starts')::time = h.starts and (n ->> 'ends')::time = h.ends);
      -- Work before breaks, each row its own statement: a failure names its interval.
      for v_i in
        select n.i - 1 from jsonb_array_elements(p_hours) with ordinality n (h, i)
        order by n.h ->> 'kind' desc, n.i
      loop
        insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind, starts,
          ends)
        select v_doctor.id, v_doctor.clinic_id, (n ->> 'weekday')::smallint, n ->> 'kind',
          (n ->> 'starts')::time, (n ->> 'ends')::time
        from (select p_hours -> v_i as n) x
        where not exists (
          select 1 from public.doctor_schedule_hours h
          where h.doctor_id = v_doctor.id and h.weekday = (n ->> 'weekday')::smallint
            and h.kind = n ->> 'kind' and h.starts = (n ->> 'starts')::time
            and h.ends = (n ->> 'ends')::time);
      end loop;
      v_i := null;
      set constraints public.breaks_within_work immediate;
    end if;
  exception
    when check_violation or exclusion_violation or sqlstate 'PT422' then
      get stacked diagnostics v_state = returned_sqlstate, v_constraint = constraint_name,
        v_code = message_text, v_message = pg_exception_detail, v_hint = pg_exception_hint;
      if v_state = '23P01' then
        perform private.raise_api(422, 'overlapping_hours',
          'Intervals of one kind overlap on that day',
          jsonb_build_array(jsonb_build_object('path', format('hours.%s', v_i),
            'message', 'Overlaps another interval of the same kind that day')));
      elsif v_state = '23514' and v_constraint like 'doctor\_schedule\_hours%' then
        perform private.raise_api(422, 'invalid_interval', 'An interval must end after it starts',
          jsonb_build_array(jsonb_build_object('path', format('hours.%s.%s', v_i,
            case v_constraint when 'doctor_schedule_hours_range' then 'ends'
              else substring(v_constraint from '^doctor_schedule_hours_(.*)_check$') end),
            'message', 'Must end after it starts')));
      elsif v_state = '23514' then
        perform private.raise_api(422, 'invalid_setting', 'A setting is out of range',
          jsonb_build_array(jsonb_build_object('path', 'settings.'
            || substring(v_constraint from '^doctor_schedules_(.*)_check$'),
            'message', 'Out of range')));
      elsif v_code = 'break_outside_work' then
        v_bad := v_hint::jsonb;
        select n.i - 1 into v_i from jsonb_array_elements(p_hours) with ordinality n (h, i)
        where n.h ->> 'kind' = 'break' and (n.h ->> 'weekday')::smallint
            = (v_bad ->> 'weekday')::smallint
          and (n.h ->> 'starts')::time = (v_bad ->> 'starts')::time
          and (n.h ->> 'ends')::time = (v_bad ->> 'ends')::time
        order by n.i limit 1;
        perform private.raise_api(422, 'break_outside_work', v_message,
          jsonb_build_array(jsonb_build_object('path', format('hours.%s', v_i),
            'message', 'A break must lie inside one work period')));
      end if;
      perform private.raise_api(422, v_code, v_message, nullif(v_hint, '')::jsonb);
  end;
  return private.doctor_schedule_json(v_doctor,
      (now() at time zone (private.clinic_by_code(p_code)).timezone)::date)
    || jsonb_build_object('affected_appointments', private.doctor_collisions(v_doctor));
end
$$;

-- The week from the Monday of `p_week` as the doctor's schedule — with the draft
-- `p_settings`/`p_hours` applied as api.set_doctor_schedule would, then rolled back — gives
-- it: per local day whether the clinic is closed or the doctor blocked, and every start of the
-- grid with private.slot_decisions' answer as of now (`refusal` null: bookable now;
-- `too_soon`, `too_far_ahead`, `taken`, `day_full` otherwise). A draft that breaks a rule is
-- api.set_doctor_schedule's 422.
create or replace function api.preview_doctor_schedule(p_code text, p_doctor uuid, p_week date,
  p_settings jsonb default null, p_hours jsonb default null)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_doctor public.doctors := private.admin_doctor(p_code, p_doctor);
  v_tz text := (private.clinic_by_code(p_code)).timezone;
  v_monday date := p_week - (extract(isodow from p_week)::integer - 1);
  v_week jsonb;
  v_affected jsonb;
begin
  begin
    if p_settings is not null or p_hours is not null then
      perform api.set_doctor_schedule(p_code, p_doctor, p_settings, p_hours);
    end if;
    select jsonb_agg(jsonb_build_object(
        'date', d.day,
        'weekday', extract(dow from d.day)::integer,
        'closed', exists (select 1 from public.clinic_closures k
          where k.clinic_id = v_doctor.clinic_id and d.day between k.starts_on and k.ends_on),
        'blocked', exists (select 1 from public.doctor_blocked_dates b
          where b.doctor_id = v_doctor.id and b.day = d.day),
        'slots', coalesce((select jsonb_agg(jsonb_build_object(
            'start', private.iso_in_zone(s.starts, v_tz),
            'end', private.iso_in_zone(s.ends, v_tz),
            'local_time', to_char(s.starts at time zone v_tz, 'HH24:MI'),
            'refusal', s.refusal) order by s.starts)
          from private.slot_decisions(v_doctor.id, d.day) s where s.starts is not null), '[]'))
      order by d.day)
    into v_week
    from generate_series(v_monday, v_monday + 6, interval '1 day') g (g)
    cross join lateral (select g.g::date as day) d;
    v_affected := private.doctor_collisions(v_doctor);
    -- Nothing of the draft stays: the block's writes are undone.
    raise exception using errcode = 'PR000';
  exception
    when sqlstate 'PR000' then null;
  end;
  return jsonb_build_object('doctor_id', v_doctor.id, 'timezone', v_tz,
    'week_start', v_monday, 'days', v_week, 'affected_appointments', v_affected);
end
$$;

-- The doctor's blocked dates from `p_from` on (default: all), by day.
create or replace function api.list_blocked_dates(p_code text, p_doctor uuid,
  p_from date default null)
  returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_doctor public.doctors := private.admin_doctor(p_code, p_doctor);
begin
  return private.doctor_schedule_json(v_doctor, p_from) -> 'blocked_dates';
end
$$;

-- Blocks `p_day` for the doctor (no slots that day); 409 when blocked already. Bookings there
-- stay booked.
create or replace function api.add_blocked_date(p_code text, p_doctor uuid, p_day date,
  p_reason text default null)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_doctor public.doctors := private.admin_doctor(p_code, p_doctor);
  v_row public.doctor_blocked_dates;
begin
  insert into public.doctor_blocked_dates (doctor_id, clinic_id, day, reason)
  values (v_doctor.id, v_doctor.clinic_id, p_day, nullif(btrim(p_reason), ''))
  on conflict (doctor_id, day) do nothing
  returning * into v_row;
  if not found then
    perform private.raise_api(409, 'date_blocked', 'That date is blocked already',
      jsonb_build_array(jsonb_build_object('path', 'day', 'message', 'Blocked already')));
  end if;
  return private.blocked_date_json(v_row)
    || jsonb_build_object('affected_appointments', private.doctor_collisions(v_doctor));
exception
  when check_violation then
    perform private.raise_api(422, 'invalid_reason', 'The reason is a short label',
      jsonb_build_array(jsonb_build_object('path', 'reason',
        'message', 'At most 100 characters')));
end
$$;

-- Unblocks a date (404 unknown).
create or replace function api.remove_blocked_date(p_code text, p_doctor uuid, p_id uuid)
  returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_doctor public.doctors := private.admin_doctor(p_code, p_doctor);
begin
  delete from public.doctor_blocked_dates where id = p_id and doctor_id = v_doctor.id;
  if not found then
    perform private.raise_api(404, 'blocked_date_not_found', 'No such blocked date');
  end if;
end
$$;

revoke all on function private.admin_doctor(text, uuid),
  private.schedule_hour_json(public.doctor_schedule_hours),
  private.blocked_date_json(public.doctor_blocked_dates),
  private.doctor_schedule_json(public.doctors, date), api.list_doctor_schedules(text),
  api.doctor_schedule(text, uuid), api.set_doctor_schedule(text, uuid, jsonb, jsonb),
  api.preview_doctor_schedule(text, uuid, date, jsonb, jsonb),
  api.list_blocked_dates(text, uuid, date), api.add_blocked_date(text, uuid, date, text),
  api.remove_blocked_date(text, uuid, uuid) from public;
grant execute on function private.admin_doctor(text, uuid),
  private.schedule_hour_json(public.doctor_schedule_hours),
  private.blocked_date_json(public.doctor_blocked_dates),
  private.doctor_schedule_json(public.doctors, date), api.list_doctor_schedules(text),
  api.doctor_schedule(text, uuid), api.set_doctor_schedule(text, uuid, jsonb, jsonb),
  api.preview_doctor_schedule(text, uuid, date, jsonb, jsonb),
  api.list_blocked_dates(text, uuid, date), api.add_blocked_date(text, uuid, date, text),
  api.remove_blocked_date(text, uuid, uuid) to authenticated;
