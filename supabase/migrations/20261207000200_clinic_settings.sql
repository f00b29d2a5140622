-- A clinic's typed settings: the settings document (clinics.settings) with its one validator
-- and its defaults, the time zone, and opening hours that bind the doctors' work hours. Its
-- admins read and change them through api.clinic_settings / api.update_clinic_settings (the
-- clinic's row and the opening hours are audited; every change moves the clinic's
-- availability version: the clinics and opening-hours triggers).

-- ---------------------------------------------------------------------------------------
-- The settings document
-- ---------------------------------------------------------------------------------------

-- Every known setting with its default. Queue (minutes unless said): check-in opens
-- `check_in_window_minutes` before a visit and stays open `check_in_late_minutes` after its
-- start; "N away" is sent at `near_threshold` tickets; `lateness_grace_minutes`,
-- `priority_step_minutes` and `max_wait_minutes` are the fairness policy; a called patient
-- not seen is recalled within `no_show_recall_minutes`; a booking not checked in by its start
-- + `no_show_grace_minutes` becomes a no-show. Notifications: reminders go
-- `reminder_minutes_before` a visit, held back by `quiet_hours` (clinic-local, false: none).
-- The readers (private.queue_setting, private.reminder_leads, private.in_quiet_hours) fall back
-- to these values; tests/db/clinic_settings_test.ts checks their literals against this.
create or replace function private.clinic_settings_defaults() returns jsonb
  language sql immutable
  set search_path = ''
  as $$
    select '{
      "queue": {
        "check_in_window_minutes": 60, "check_in_late_minutes": 60, "near_threshold": 3,
        "lateness_grace_minutes": 10, "priority_step_minutes": 15, "max_wait_minutes": 90,
        "no_show_recall_minutes": 30, "no_show_grace_minutes": 15
      },
      "notifications": {
        "reminder_minutes_before": [1440, 120],
        "quiet_hours": {"start": "21:00", "end": "08:00"}
      }
    }'::jsonb
  $$;

-- The whole rule of a valid settings document (known keys only, each of its type and range);
-- edge/routes/clinic_settings.ts mirrors it, tests/edge/clinic_settings_test.ts checks the
-- mirror against it. Queue settings: whole numbers in [min, max] below. Reminder leads: up to
-- 5 whole minutes, 1..10080 (a week) each, [] for none. Quiet hours: {"start","end"} as HH:MM
-- (start after end spans midnight), or false/null for none.
create or replace function private.clinic_settings_valid(p_settings jsonb) returns boolean
  language sql immutable
  set search_path = ''
  as $$
    with ranges (key, lo, hi) as (values
      ('check_in_window_minutes', 0, 10080), ('check_in_late_minutes', 0, 1440),
      ('near_threshold', 0, 50), ('lateness_grace_minutes', 0, 240),
      ('priority_step_minutes', 0, 240), ('max_wait_minutes', 1, 1440),
      ('no_show_recall_minutes', 0, 240), ('no_show_grace_minutes', 0, 1440))
    select jsonb_typeof(p_settings) = 'object'
      and not exists (select 1 from jsonb_object_keys(p_settings) k
                      where k not in ('queue', 'notifications'))
      and coalesce(jsonb_typeof(p_settings -> 'queue') = 'object'
        and not exists (
          select 1 from jsonb_each(p_settings -> 'queue') e
          left join ranges r on r.key = e.key
          where r.key is null or jsonb_typeof(e.value) <> 'number'
            or e.value::text::numeric not between r.lo and r.hi
            or e.value::text::numeric <> trunc(e.value::text::numeric)), true)
      and coalesce(jsonb_typeof(p_settings -> 'notifications') = 'object'
        and not exists (select 1 from jsonb_object_keys(p_settings -> 'notifications') k
                        where k not in ('reminder_minutes_before', 'quiet_hours'))
        and coalesce(jsonb_typeof(p_settings #> '{notifications,reminder_minutes_before}')
            = 'array'
          and jsonb_array_length(p_settings #> '{notifications,reminder_minutes_before}') <= 5
          and not exists (
            select 1 from jsonb_array_elements(
              p_settings #> '{notifications,reminder_minutes_before}') e
            where jsonb_typeof(e.value) <> 'number'
              or e.value::text::numeric not between 1 and 10080
              or e.value::text::numeric <> trunc(e.value::text::numeric)), true)
        and private.quiet_hours_valid(p_settings), true)
  $$;

-- The settings as they act: each known key's value, its default where unset; quiet hours
-- false when off.
create or replace function private.clinic_settings_effective(p_settings jsonb) returns jsonb
  language sql immutable
  set search_path = ''
  as $$
    select jsonb_build_object(
      'queue', (d -> 'queue') || coalesce(p_settings -> 'queue', '{}'),
      'notifications', (d -> 'notifications') || coalesce(p_settings -> 'notifications', '{}')
        || case when p_settings #> '{notifications,quiet_hours}' = 'null'
             then '{"quiet_hours": false}'::jsonb else '{}' end)
    from (select private.clinic_settings_defaults() as d) x
  $$;

-- One check for the whole document replaces the piecemeal ones (same rules, and more).
alter table public.clinics drop constraint clinics_quiet_hours_valid,
  drop constraint clinics_no_show_grace,
  add constraint clinics_settings_valid check (private.clinic_settings_valid(settings));

-- ---------------------------------------------------------------------------------------
-- Opening hours
-- ---------------------------------------------------------------------------------------

-- The clinic's weekly opening hours, clinic-local: intervals per weekday (0 = Sunday, as
-- doctor_schedule_hours), several a day, never overlapping. No row at all: no opening hours
-- set, nothing bound; rows on some days: closed on the others. They bind the doctors: each
-- doctor's work hours lie within them (the triggers below), so no slot is ever offered
-- outside them without private.slot_decisions reading them.
create table public.clinic_opening_hours (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  weekday smallint not null check (weekday between 0 and 6),
  opens time not null,
  closes time not null,
  constraint clinic_opening_hours_order check (opens < closes),
  constraint clinic_opening_hours_no_overlap exclude using gist (clinic_id with =,
    weekday with =, tsrange(date '2000-01-01' + opens, date '2000-01-01' + closes) with &&)
);

create trigger audit after insert or update or delete on public.clinic_opening_hours
  for each row execute function audit.log_change();
create trigger availability after insert or update or delete on public.clinic_opening_hours
  for each row execute function private.schedule_availability();

-- The clinic's doctors' work hours (`p_hour`: only that row) not covered by its opening hours,
-- when it has any (a day without any is closed): who, which day, from when to when.
-- Covered: the opening intervals (never overlapping) overlap the hours over their whole
-- length, so hours across two adjoining intervals (09–12, 12–18) are covered.
create or replace function private.hours_outside_opening(p_clinic uuid,
  p_hour uuid default null)
  returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if not exists (select 1 from public.clinic_opening_hours o where o.clinic_id = p_clinic) then
    return '[]';
  end if;
  return (
    select coalesce(jsonb_agg(jsonb_build_object('id', h.id, 'doctor_id', h.doctor_id,
        'doctor_name', d.display_name, 'weekday', h.weekday,
        'starts', to_char(h.starts, 'HH24:MI'), 'ends', to_char(h.ends, 'HH24:MI'))
      order by h.weekday, d.display_name, h.starts), '[]')
    from public.doctor_schedule_hours h
    join public.doctors d on d.id = h.doctor_id
    where h.clinic_id = p_clinic and h.kind = 'work'
      and (p_hour is null or h.id = p_hour)
      and (select coalesce(sum(greatest(least(o.closes, h.ends) - greatest(o.opens, h.starts),
               interval '0')), interval '0')
           from public.clinic_opening_hours o
           where o.clinic_id = p_clinic and o.weekday = h.weekday) < h.ends - h.starts);
end
$$;
revoke all on function private.hours_outside_opening(uuid, uuid) from public;

-- Both directions lock the clinic's row before they look, so that a doctor's hours and the
-- opening hours written at once never both pass on what the other has not committed: doctors'
-- hours share it (several doctors at once), opening hours take it alone (NO KEY UPDATE:
-- foreign keys to the clinic still pass); the check that follows reads what committed
-- meanwhile. Definer: a doctor writing their own hours cannot lock the clinic's row.

-- A doctor's work hours written outside the clinic's opening hours: 409.
create or replace function private.doctor_hours_within_opening() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_outside jsonb;
begin
  perform from public.clinics c where c.id = new.clinic_id for share;
  v_outside := private.hours_outside_opening(new.clinic_id, new.id);
  if jsonb_array_length(v_outside) > 0 then
    perform private.raise_api(409, 'outside_opening_hours',
      'Work hours must lie within the clinic''s opening hours',
      jsonb_build_object('doctor_hours', v_outside));
  end if;
  return null;
end
$$;
revoke all on function private.doctor_hours_within_opening() from public;

-- Opening hours changed so that doctors' work hours fall outside them: 409 naming those
-- hours. Deferred: replacing the week is several statements (api.update_clinic_settings
-- checks at its end).
create or replace function private.opening_hours_cover_doctors() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_clinic uuid := case tg_op when 'DELETE' then old.clinic_id else new.clinic_id end;
  v_outside jsonb;
begin
  perform from public.clinics c where c.id = v_clinic for no key update;
  v_outside := private.hours_outside_opening(v_clinic);
  if jsonb_array_length(v_outside) > 0 then
    perform private.raise_api(409, 'doctor_hours_outside',
      'Doctors'' work hours lie outside these opening hours: change them first',
      jsonb_build_object('doctor_hours', v_outside));
  end if;
  return null;
end
$$;
revoke all on function private.opening_hours_cover_doctors() from public;

create constraint trigger within_opening_hours
  after insert or update of clinic_id, weekday, kind, starts, ends
  on public.doctor_schedule_hours
  deferrable initially immediate
  for each row when (new.kind = 'work')
  execute function private.doctor_hours_within_opening();
create constraint trigger covers_doctor_hours after insert or update or delete
  on public.clinic_opening_hours
  deferrable initially deferred
  for each row execute function private.opening_hours_cover_doctors();

-- Any signed-in user may read opening hours (public information, like the clinic's address);
-- only its admins change them.
alter table public.clinic_opening_hours enable row level security;
alter table public.clinic_opening_hours force row level security;
create policy clinic_opening_hours_read on public.clinic_opening_hours for select
  to authenticated using (true);
create policy clinic_opening_hours_admin_insert on public.clinic_opening_hours for insert
  to authenticated with check (clinic_id in (select private.admin_clinic_ids()));
create policy clinic_opening_hours_admin_delete on public.clinic_opening_hours for delete
  to authenticated using (clinic_id in (select private.admin_clinic_ids()));
revoke all on public.clinic_opening_hours from anon, authenticated, service_role;
grant select, insert, delete on public.clinic_opening_hours to authenticated;
grant select, insert, update, delete on public.clinic_opening_hours to service_role;

-- ---------------------------------------------------------------------------------------
-- API (the clinic's admins)
-- ---------------------------------------------------------------------------------------

-- Whether a clinic takes new patients by themselves (registering from another clinic, adding
-- dependants); its admins may close it (clinics_admin_update; sign-up refuses too). A column, typed, beside the
-- settings document.
alter table public.clinics add column accepts_new_patients boolean not null default true;

-- The clinic's time zone, effective settings and opening hours (by weekday, then opening).
create or replace function private.clinic_settings_json(p_clinic uuid) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('timezone', c.timezone,
        'accepts_new_patients', c.accepts_new_patients)
      || private.clinic_settings_effective(c.settings)
      || jsonb_build_object('opening_hours', coalesce((
        select jsonb_agg(jsonb_build_object('weekday', o.weekday,
            'opens', to_char(o.opens, 'HH24:MI'), 'closes', to_char(o.closes, 'HH24:MI'))
          order by o.weekday, o.opens)
        from public.clinic_opening_hours o where o.clinic_id = c.id), '[]'))
    from public.clinics c where c.id = p_clinic
  $$;
revoke all on function private.clinic_settings_json(uuid) from public;
grant execute on function private.clinic_settings_json(uuid) to authenticated;

create or replace function api.clinic_settings(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return private.clinic_settings_json(private.admin_clinic(p_code));
end
$$;

-- Replaces the clinic's week of opening hours with `p_hours` ([{weekday, opens, closes}]):
-- 422 naming the interval (its index) that ends before it starts or overlaps another.
create or replace function private.replace_opening_hours(p_clinic uuid, p_hours jsonb)
  returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_hour record;
begin
  -- The same week again: nothing to write.
  if not exists (
    (select o.weekday, o.opens, o.closes from public.clinic_opening_hours o
     where o.clinic_id = p_clinic
     except all
     select (e ->> 'weekday')::smallint, (e ->> 'opens')::time, (e ->> 'closes')::time
     from jsonb_array_elements(p_hours) e)
    union all
    (select (e ->> 'weekday')::smallint, (e ->> 'opens')::time, (e ->> 'closes')::time
     from jsonb_array_elements(p_hours) e
     except all
     select o.weekday, o.opens, o.closes from public.clinic_opening_hours o
     where o.clinic_id = p_clinic)) then
    return;
  end if;
  delete from public.clinic_opening_hours where clinic_id = p_clinic;
  for v_hour in
    select (e.value ->> 'weekday')::smallint as weekday, (e.value ->> 'opens')::time as opens,
      (e.value ->> 'closes')::time as closes, e.n - 1 as i
    from jsonb_array_elements(p_hours) with ordinality e (value, n)
  loop
    begin
      insert into public.clinic_opening_hours (clinic_id, weekday, opens, closes)
      values (p_clinic, v_hour.weekday, v_hour.opens, v_hour.closes);
    exception
      when check_violation then
        perform private.raise_api(422, 'invalid_hours', 'Closes before it opens',
          jsonb_build_array(jsonb_build_object('path', 'opening_hours.' || v_hour.i,
            'message', 'closes must be after opens')));
      when exclusion_violation then
        perform private.raise_api(422, 'invalid_hours', 'Opening hours overlap',
          jsonb_build_array(jsonb_build_object('path', 'opening_hours.' || v_hour.i,
            'message', 'overlaps another interval of that day')));
    end;
  end loop;
  set constraints public.covers_doctor_hours immediate;
end
$$;
revoke all on function private.replace_opening_hours(uuid, jsonb) from public;
grant execute on function private.replace_opening_hours(uuid, jsonb) to authenticated;

-- Changes the clinic's settings (admins): `p_patch` is {timezone?, accepts_new_patients?, queue?,
-- notifications?, opening_hours?}; queue and notifications merge key by key into the stored document,
-- opening_hours replaces the week. Answers with the effective settings. A time zone change
-- while bookings remain from the clinic's local today on: 409 `time_zone_in_use` listing them
-- (their instants would stay, their local dates and times move).
create or replace function api.update_clinic_settings(p_code text, p_patch jsonb)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_booked jsonb;
  v_settings jsonb;
  v_accepts jsonb := p_patch -> 'accepts_new_patients';
begin
  select * into v_clinic from public.clinics c where c.id = private.admin_clinic(p_code)
    for update;
  if v_accepts is not null and jsonb_typeof(v_accepts) <> 'boolean' then
    perform private.raise_api(400, 'invalid_settings', 'accepts_new_patients is true or false',
      '[{"path": "accepts_new_patients", "message": "must be true or false"}]');
  end if;
  if p_patch ? 'timezone' and p_patch ->> 'timezone' is distinct from v_clinic.timezone then
    if not coalesce(private.is_time_zone(p_patch ->> 'timezone'), false) then
      perform private.raise_api(422, 'invalid_time_zone', 'Unknown time zone',
        '[{"path": "timezone", "message": "unknown time zone"}]');
    end if;
    v_booked := private.closure_collisions(v_clinic.id,
      (now() at time zone v_clinic.timezone)::date, 'infinity');
    if jsonb_array_length(v_booked) > 0 then
      perform private.raise_api(409, 'time_zone_in_use',
        'Bookings from today on would move in local time: move or cancel them first',
        jsonb_build_object('affected_appointments', v_booked));
    end if;
    -- Holds are not bookings: released, as a closure does.
    delete from public.appointments a where a.clinic_id = v_clinic.id and a.status = 'held';
  end if;
  v_settings := v_clinic.settings
    || case when p_patch ? 'queue' then jsonb_build_object('queue',
         coalesce(v_clinic.settings -> 'queue', '{}') || (p_patch -> 'queue')) else '{}' end
    || case when p_patch ? 'notifications' then jsonb_build_object('notifications',
         coalesce(v_clinic.settings -> 'notifications', '{}') || (p_patch -> 'notifications'))
       else '{}' end;
  -- Only a real change is written (audited, moving the availability version).
  if (coalesce(p_patch ->> 'timezone', v_clinic.timezone), v_settings,
      coalesce((v_accepts)::boolean, v_clinic.accepts_new_patients))
      is distinct from (v_clinic.timezone, v_clinic.settings, v_clinic.accepts_new_patients) then
    update public.clinics c
    set timezone = coalesce(p_patch ->> 'timezone', c.timezone), settings = v_settings,
      accepts_new_patients = coalesce((v_accepts)::boolean, c.accepts_new_patients)
    where c.id = v_clinic.id;
  end if;
  if p_patch ? 'opening_hours' then
    perform private.replace_opening_hours(v_clinic.id, p_patch -> 'opening_hours');
  end if;
  return private.clinic_settings_json(v_clinic.id);
exception when check_violation then
  if sqlerrm like '%clinics_settings_valid%' then
    perform private.raise_api(400, 'invalid_settings', 'The settings are not valid');
  end if;
  raise;
end
$$;

revoke all on function api.clinic_settings(text), api.update_clinic_settings(text, jsonb)
  from public;
grant execute on function api.clinic_settings(text), api.update_clinic_settings(text, jsonb)
  to authenticated;
