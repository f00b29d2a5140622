-- No-shows and TV boards.
--
-- NO-SHOWS. A booked appointment (scheduled or confirmed) not checked in by its start + grace
-- becomes `no_show` through the recurring `appointment.no_shows` job (private.sweep_no_shows,
-- every minute); the patient's no_show_count goes up by one. The grace is the clinic setting
-- clinics.settings -> 'queue' -> 'no_show_grace_minutes' (a whole number 0–1440, default 15;
-- constraint clinics_no_show_grace). Each sweep is recorded in private.no_show_marks, once per
-- appointment ever, so a sweep is idempotent and a no-show that staff undid is never marked
-- again. Undoing it (api.undo_no_show, staff of the clinic) puts the appointment back to the
-- status it had and takes the count back; both changes are in the audit log (the appointment's
-- and the patient's rows), with the staff member as actor.
--
-- LATE ARRIVALS. The grace may be shorter than the check-in window (check_in_late_minutes for
-- the patient, the whole day for staff): a patient who arrives after the sweep marked them is
-- still checked in under the queue's late policy. private.queue_check_in accepts an appointment
-- the sweep marked (an uncleared mark), clears the mark, takes the count back and issues the
-- ticket as for any late check-in. A no-show from the queue (a called ticket marked no_show)
-- has a ticket and no mark; recall and restore of the ticket stay its only way back.
--
-- TV BOARDS. A board token has a label (1–100 characters) and a last-seen time: every
-- snapshot read by a live board token (the board reads one at start, on reconnect and every
-- five minutes) records it in private.board_sightings — at most once a minute per token, and
-- outside board_tokens so a sighting is neither replicated to the realtime service nor
-- audited. Staff of the clinic issue tokens and read them (policies board_tokens_read and
-- board_tokens_issue); only its admins relabel and revoke them (board_tokens_admin_*), and the
-- API lists them to admins only. Revocation stops the board's snapshot reads at once
-- (private.board_clinic_id) and its realtime stream at the next change (the realtime
-- service's directory follows board_tokens through replication).

-- ---------------------------------------------------------------------------------------
-- No-shows
-- ---------------------------------------------------------------------------------------

alter table public.clinics add constraint clinics_no_show_grace check (
  settings #> '{queue,no_show_grace_minutes}' is null
  or (jsonb_typeof(settings #> '{queue,no_show_grace_minutes}') = 'number'
      and (settings #>> '{queue,no_show_grace_minutes}')::numeric between 0 and 1440
      and (settings #>> '{queue,no_show_grace_minutes}')::numeric
        = trunc((settings #>> '{queue,no_show_grace_minutes}')::numeric)));

-- The clinic's no-show grace in minutes.
create or replace function private.no_show_grace(p_settings jsonb) returns integer
  language sql immutable
  set search_path = ''
  as $$
    select private.queue_setting(p_settings, 'no_show_grace_minutes', 15)
  $$;

create table private.no_show_marks (
  appointment_id uuid primary key references public.appointments (id) on delete cascade,
  previous_status public.appointment_status not null,
  marked_at timestamptz not null default now(),
  cleared_at timestamptz,
  cleared_by uuid references public.users (id) on delete set null,
  cleared_how text check (cleared_how in ('undo', 'check_in')),
  check ((cleared_at is null) = (cleared_how is null))
);
alter table private.no_show_marks enable row level security;
alter table private.no_show_marks force row level security;

-- Marks every appointment due at `p_now` (at most `p_limit`, earliest first) as a no-show and
-- returns how many. Only today's and yesterday's visits (clinic time) are looked at: older
-- bookings left open are history, not news. Safe to run concurrently: rows are locked (SKIP
-- LOCKED) and the status is re-checked under the lock.
create or replace function private.sweep_no_shows(
  p_now timestamptz default now(),
  p_limit integer default 1000
) returns integer
  language sql
  security definer
  set search_path = ''
  as $$
    with due as (
      select a.id, a.status
      from public.clinics c
      join public.appointments a
        on a.clinic_id = c.id
        and a.service_date between (p_now at time zone c.timezone)::date - 1
          and (p_now at time zone c.timezone)::date
        and a.status in ('scheduled', 'confirmed')
        and lower(a.period) + make_interval(mins => private.no_show_grace(c.settings)) <= p_now
      where not exists (select 1 from private.no_show_marks m where m.appointment_id = a.id)
      order by lower(a.period)
      limit p_limit
      for update of a skip locked
    ), marked as (
      update public.appointments a set status = 'no_show'
      from due where a.id = due.id
      returning a.id, a.patient_id, due.status as previous_status
    ), noted as (
      insert into private.no_show_marks (appointment_id, previous_status, marked_at)
      select id, previous_status, p_now from marked
      on conflict do nothing
    ), counted as (
      update public.patients p set no_show_count = p.no_show_count + n.n
      from (select patient_id, count(*)::integer as n from marked group by patient_id) n
      where p.id = n.patient_id
    )
    select count(*)::integer from marked
  $$;
revoke all on function private.sweep_no_shows(timestamptz, integer) from public;

-- Clears the sweep's mark of an appointment (`p_how`: 'undo' or 'check_in') and takes the
-- patient's count back; returns the status the appointment had before the sweep, or null
-- when there is no uncleared mark (nothing changes then).
create or replace function private.clear_no_show(p_appointment uuid, p_how text)
  returns public.appointment_status
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_previous public.appointment_status;
begin
  update private.no_show_marks m
  set cleared_at = now(), cleared_by = (select auth.uid()), cleared_how = p_how
  where m.appointment_id = p_appointment and m.cleared_at is null
  returning m.previous_status into v_previous;
  if found then
    update public.patients p set no_show_count = greatest(p.no_show_count - 1, 0)
    from public.appointments a where a.id = p_appointment and p.id = a.patient_id;
  end if;
  return v_previous;
end
$$;
revoke all on function private.clear_no_show(uuid, text) from public;

-- Staff undo a no-show the sweep made: the appointment is booked again (its status before the
-- sweep). 404 for anyone but staff of its clinic; 409 when it is not such a no-show, or when
-- its time was booked by someone else meanwhile (the overlap rule). SECURITY DEFINER, like the
-- queue's commands, to reach the sweep's marks; it checks the caller itself.
create or replace function api.undo_no_show(p_id uuid) returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_row public.appointments;
  v_previous public.appointment_status;
begin
  select * into v_row from public.appointments a
  where a.id = p_id and a.clinic_id in (select private.staff_clinic_ids())
  for update;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such appointment');
  end if;
  if v_row.status = 'no_show' then
    v_previous := private.clear_no_show(p_id, 'undo');
  end if;
  if v_previous is null then
    perform private.raise_api(409, 'not_undoable',
      format('Only a no-show marked by the sweep can be undone (this one is %s)', v_row.status));
  end if;
  update public.appointments a set status = v_previous where a.id = p_id
  returning * into v_row;
  return jsonb_build_object('appointment', private.appointment_json(v_row));
end
$$;
revoke all on function api.undo_no_show(uuid) from public;
grant execute on function api.undo_no_show(uuid) to authenticated;

-- The day's appointments for staff, with the patient's no-show count and whether a no-show
-- can be undone (the sweep marked it).
create or replace function api.clinic_appointments(p_code text, p_day date) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
begin
  return jsonb_build_object('clinic_code', v_clinic.code, 'date', p_day,
    'timezone', v_clinic.timezone, 'appointments', coalesce((
      select jsonb_agg(private.appointment_json(a) || jsonb_build_object(
          'patient_name', p.full_name, 'patient_number', p.patient_number,
          'patient_no_shows', p.no_show_count,
          'no_show_undoable', a.status = 'no_show' and private.no_show_undoable(a.id))
        order by lower(a.period), a.appointment_number)
      from public.appointments a
      join public.patients p on p.id = a.patient_id
      where a.clinic_id = v_clinic.id and a.service_date = p_day and a.status <> 'held'),
      '[]'::jsonb));
end
$$;

-- Whether the sweep's mark of an appointment is still standing (staff may undo it).
create or replace function private.no_show_undoable(p_appointment uuid) returns boolean
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return exists (select 1 from private.no_show_marks m
    where m.appointment_id = p_appointment and m.cleared_at is null);
end
$$;
revoke all on function private.no_show_undoable(uuid) from public;
grant execute on function private.no_show_undoable(uuid) to authenticated;

-- Check-in (see 20261122000900_queue.sql), also of an appointment the no-show sweep marked:
-- the patient arrived late, and the queue's late policy decides their place.
create or replace function private.queue_check_in(p_appointment uuid)
  returns setof public.queue_tickets
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_appt public.appointments;
  v_clinic public.clinics;
  v_ticket public.queue_tickets;
  v_staff boolean;
  v_today date;
  v_earliest timestamptz;
  v_latest timestamptz;
begin
  select * into v_appt from public.appointments a where a.id = p_appointment for update;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such appointment');
  end if;
  v_staff := v_appt.clinic_id in (select private.staff_clinic_ids());
  if not v_staff and v_appt.patient_id not in (select private.my_patient_ids()) then
    perform private.raise_api(404, 'not_found', 'No such appointment');
  end if;

  select * into v_ticket from public.queue_tickets t where t.appointment_id = p_appointment;
  if found then
    return next v_ticket;
    return;
  end if;
  if not (v_appt.status in ('scheduled', 'confirmed')
          or (v_appt.status = 'no_show' and private.clear_no_show(p_appointment, 'check_in')
                is not null)) then
    perform private.raise_api(409, 'not_checkable',
      format('This appointment cannot be checked in (it is %s)', v_appt.status));
  end if;

  select * into v_clinic from public.clinics c where c.id = v_appt.clinic_id;
  v_today := (now() at time zone v_clinic.timezone)::date;
  if v_appt.service_date <> v_today then
    perform private.raise_api(409, 'not_today',
      'Check-in is only possible on the day of the appointment');
  end if;
  if not v_staff then
    v_earliest := lower(v_appt.period)
      - make_interval(mins => private.queue_setting(v_clinic.settings, 'check_in_window_minutes', 60));
    v_latest := lower(v_appt.period)
      + make_interval(mins => private.queue_setting(v_clinic.settings, 'check_in_late_minutes', 60));
    if now() < v_earliest then
      perform private.raise_api(409, 'check_in_too_early',
        format('Check-in opens at %s (clinic time)',
          private.local_time(v_earliest, v_clinic.timezone)));
    end if;
    if now() > v_latest then
      perform private.raise_api(409, 'check_in_closed',
        format('Online check-in closed at %s (clinic time); please see the front desk',
          private.local_time(v_latest, v_clinic.timezone)));
    end if;
  end if;

  insert into public.queue_tickets
    (clinic_id, service_date, code, kind, patient_id, appointment_id, doctor_id, scheduled_at)
  values (v_appt.clinic_id, v_today, private.queue_next_code(v_appt.clinic_id, v_today, 'A'),
    'appointment', v_appt.patient_id, v_appt.id, v_appt.doctor_id, lower(v_appt.period))
  returning * into v_ticket;
  update public.appointments a set status = 'checked_in', checked_in_at = now()
  where a.id = p_appointment;
  return next v_ticket;
end
$$;
revoke all on function private.queue_check_in(uuid) from public;

-- ---------------------------------------------------------------------------------------
-- TV boards
-- ---------------------------------------------------------------------------------------

alter table public.board_tokens add constraint board_tokens_label
  check (length(btrim(label)) between 1 and 100);

drop policy board_tokens_staff on public.board_tokens;
create policy board_tokens_read on public.board_tokens for select to authenticated
  using (clinic_id in (select private.staff_clinic_ids()));
create policy board_tokens_issue on public.board_tokens for insert to authenticated
  with check (clinic_id in (select private.staff_clinic_ids()));
create policy board_tokens_admin_update on public.board_tokens for update to authenticated
  using (clinic_id in (select private.admin_clinic_ids()))
  with check (clinic_id in (select private.admin_clinic_ids()));
create policy board_tokens_admin_delete on public.board_tokens for delete to authenticated
  using (clinic_id in (select private.admin_clinic_ids()));

create table private.board_sightings (
  board_token_id uuid primary key references public.board_tokens (id) on delete cascade,
  last_seen_at timestamptz not null
);
alter table private.board_sightings enable row level security;
alter table private.board_sightings force row level security;

-- Records that the calling live board token was seen (no-op for any other caller).
create or replace function api.board_seen() returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if private.board_clinic_id() is null then
    return;
  end if;
  insert into private.board_sightings as s (board_token_id, last_seen_at)
  values ((select auth.uid()), now())
  on conflict (board_token_id) do update set last_seen_at = excluded.last_seen_at
  where s.last_seen_at < excluded.last_seen_at - interval '1 minute';
end
$$;
revoke all on function api.board_seen() from public;
grant execute on function api.board_seen() to anon, authenticated;

-- The last-seen time of a board token of a clinic the caller is staff of.
create or replace function private.board_last_seen(p_board uuid) returns timestamptz
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (select s.last_seen_at from private.board_sightings s
    join public.board_tokens b on b.id = s.board_token_id
    where s.board_token_id = p_board and b.clinic_id in (select private.staff_clinic_ids()));
end
$$;
revoke all on function private.board_last_seen(uuid) from public;
grant execute on function private.board_last_seen(uuid) to authenticated;

create or replace function private.board_token_json(b public.board_tokens) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select pg_catalog.jsonb_build_object('id', b.id, 'label', b.label,
      'created_at', b.created_at, 'expires_at', b.expires_at, 'revoked_at', b.revoked_at,
      'last_seen_at', private.board_last_seen(b.id))
  $$;
revoke all on function private.board_token_json(public.board_tokens) from public;
grant execute on function private.board_token_json(public.board_tokens) to authenticated;

-- The clinic's board tokens, newest first (admins).
create or replace function api.list_board_tokens(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  return coalesce((
    select jsonb_agg(private.board_token_json(b) order by b.created_at desc)
    from public.board_tokens b where b.clinic_id = v_clinic), '[]'::jsonb);
end
$$;

-- Renames a board token (admins).
create or replace function api.label_board_token(p_code text, p_id uuid, p_label text)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_row public.board_tokens;
begin
  update public.board_tokens set label = p_label
  where id = p_id and clinic_id = v_clinic
  returning * into v_row;
  if not found then
    perform private.raise_api(404, 'board_token_not_found', 'No such board token');
  end if;
  return private.board_token_json(v_row);
end
$$;

-- Revokes a board token (admins; revoking twice keeps the first time).
create or replace function api.revoke_board_token(p_code text, p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  update public.board_tokens set revoked_at = coalesce(revoked_at, now())
  where id = p_id and clinic_id = v_clinic;
  if not found then
    perform private.raise_api(404, 'board_token_not_found', 'No such board token');
  end if;
end
$$;
revoke all on function api.label_board_token(text, uuid, text) from public;
grant execute on function api.label_board_token(text, uuid, text) to authenticated;
