-- The patient app's flows (issue #17): when online check-in opens for an appointment, and which
-- of the coming days a clinic (or one doctor) is open and still has free times.

-- When the patient may check in online for an appointment starting at `p_start` on local date
-- `p_day`: `check_in_window_minutes` before the start, but never before that day begins (check-in
-- is only possible on the day). private.queue_check_in applies the same rule;
-- tests/queue/check_in_opens_test.ts checks that the two agree.
create or replace function private.check_in_opens_at(
  p_start timestamptz,
  p_day date,
  p_timezone text,
  p_settings jsonb
) returns timestamptz
  language sql stable
  set search_path = ''
  as $$
    select greatest(
      p_start - pg_catalog.make_interval(
        mins => private.queue_setting(p_settings, 'check_in_window_minutes', 60)),
      p_day::timestamp at time zone p_timezone)
  $$;
revoke all on function private.check_in_opens_at(timestamptz, date, text, jsonb) from public;
grant execute on function private.check_in_opens_at(timestamptz, date, text, jsonb)
  to authenticated, service_role;

-- An appointment as the API shows it, plus `check_in_opens_at` while it can still be checked in.
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
      when a.status in ('scheduled', 'confirmed') then private.iso_in_zone(
        private.check_in_opens_at(lower(a.period), a.service_date, v_tz, v_settings), v_tz)
      end);
end
$$;

-- The next `p_days` local days of a clinic from today: whether it is open (some doctor — or the
-- given one — still has a slot of the schedule ahead that day) and how many times are free
-- (api.available_slots, the one home of "free").
create or replace function api.clinic_days(p_code text, p_doctor uuid default null,
  p_days integer default 14)
  returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  -- The clinic and doctor checks (404s) of api.available_slots; no date, so no slots.
  v_first jsonb := api.available_slots(p_code, null, p_doctor);
  v_clinic public.clinics;
  v_today date;
begin
  select * into v_clinic from public.clinics where code = v_first ->> 'clinic_code';
  v_today := (now() at time zone v_clinic.timezone)::date;
  return jsonb_build_object('clinic_code', v_clinic.code, 'timezone', v_clinic.timezone,
    'days', (
      select jsonb_agg(jsonb_build_object(
          'date', d.day,
          'open', exists (
            select 1
            from public.doctors doc
            join public.doctor_schedules ds on ds.doctor_id = doc.id
            cross join lateral private.doctor_day_slots(doc.id, d.day) s
            where doc.clinic_id = v_clinic.id and doc.is_active and doc.deleted_at is null
              and (p_doctor is null or doc.id = p_doctor)
              and d.day <= v_today + ds.advance_days and s.starts > now()),
          'free_slots', jsonb_array_length(
            api.available_slots(v_clinic.code, d.day, p_doctor) -> 'slots'))
        order by d.day)
      from generate_series(v_today, v_today + greatest(least(p_days, 60), 1) - 1,
        interval '1 day') as g (g)
      cross join lateral (select g.g::date as day) d));
end
$$;
revoke all on function api.clinic_days(text, uuid, integer) from public;
grant execute on function api.clinic_days(text, uuid, integer)
  to anon, authenticated, service_role;

-- Rolling service duration per doctor: the mean of the last 20 consultations (start → end) of
-- the past 30 days, each clamped to 1–120 minutes — once there are at least 3 of them (one or
-- two quick visits must not promise a short wait); until then the length of the doctor's
-- consultation as booked (slot_minutes, or 10 minutes).
create or replace function private.doctor_service_minutes(p_doctor uuid)
  returns table (minutes numeric, samples integer)
  language sql stable
  security definer
  set search_path = ''
  as $$
    with recent as (
      select least(greatest(
               extract(epoch from t.consultation_end_at - t.consultation_start_at) / 60, 1), 120)
               as m
      from public.queue_tickets t
      where t.doctor_id = p_doctor and t.status = 'completed'
        and t.consultation_start_at is not null
        and t.consultation_end_at > now() - interval '30 days'
      order by t.consultation_end_at desc
      limit 20
    )
    select round(case when count(r.m) >= 3 then avg(r.m)
             else coalesce(
               (select s.slot_minutes from public.doctor_schedules s where s.doctor_id = p_doctor),
               10) end::numeric, 1),
           count(r.m)::integer
    from recent r
  $$;
revoke all on function private.doctor_service_minutes(uuid) from public;

-- After any ticket change of a clinic's day: every waiting ticket of a patient with at most
-- near_threshold people ahead that has not been told yet gets "you are N away" — except an
-- appointment before its booked time: the policy puts it at its booked time, so people due
-- earlier may still go ahead ("you are next" would not hold). It is told on a change after.
create or replace function private.queue_notify_near(p_clinic uuid, p_day date) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_n integer;
  v_count integer := 0;
  r record;
begin
  select * into v_clinic from public.clinics c where c.id = p_clinic;
  v_n := private.queue_setting(v_clinic.settings, 'near_threshold', 3);
  if v_n < 0 then
    return 0;
  end if;
  for r in
    select t.id, t.code, t.patient_id, p.people_ahead
    from private.queue_places(p_clinic, p_day) p
    join public.queue_tickets t on t.id = p.ticket_id
    where p.people_ahead <= v_n and t.patient_id is not null
      and (t.scheduled_at is null or t.scheduled_at <= now())
      and not exists (select 1 from private.queue_near_notified n where n.ticket_id = t.id)
  loop
    insert into private.queue_near_notified (ticket_id, people_ahead)
    values (r.id, r.people_ahead) on conflict do nothing;
    if found then
      perform private.notify(p_clinic, r.patient_id, 'queue_near',
        case when r.people_ahead = 0 then format('Ticket %s: you are next', r.code)
             else format('Ticket %s: you are %s away', r.code, r.people_ahead) end,
        format('%s ahead of you at %s (as of %s, clinic time). Please stay close to the '
               'waiting area.',
          case r.people_ahead when 0 then 'Nobody is' when 1 then '1 person is'
               else r.people_ahead || ' people are' end,
          v_clinic.name || coalesce(' (' || v_clinic.branch_name || ')', ''),
          private.local_time(now(), v_clinic.timezone)),
        jsonb_build_object('ticket_id', r.id, 'code', r.code, 'people_ahead', r.people_ahead,
          'local_time', private.local_time(now(), v_clinic.timezone),
          'timezone', v_clinic.timezone));
      v_count := v_count + 1;
    end if;
  end loop;
  return v_count;
end
$$;
revoke all on function private.queue_notify_near(uuid, date) from public;
