-- Queue safety at the front desk (issue #17 items 3, 5 and 14): one patient called into a room
-- at a time, cancelled and no-show tickets restorable the same day, and duplicate patients
-- told apart (masked contact details, a warning before registering the same person twice).
--
-- ONE PATIENT PER ROOM. A room is occupied while a ticket of the day is `called` or `serving`
-- in it (rooms compare by their label, case-insensitively: "1" is "Room 1"). Call-next into an
-- occupied room answers 409 `room_occupied` (details: the occupying ticket's code and status)
-- unless the caller confirms with `p_replace`; then the occupant makes way first:
--   called  → waiting    the patient never came in: back in the line at their place (their due
--                        time is unchanged, so they are usually next), room cleared;
--   serving → completed  the consultation ended without the console being told.
-- A press into an empty queue stays 404 `queue_empty`, occupied or not. Presses for one room
-- are serialized (a transaction-scoped advisory lock), so two of them never both see it free.

-- The room as compared: its label, lower case.
create or replace function private.room_key(p_room text) returns text
  language sql immutable
  set search_path = ''
  as $$ select lower(private.room_label(btrim(p_room))) $$;

-- Call-next into a room under the one-patient-per-room rule above.
create or replace function private.queue_call_to_room(
  p_clinic uuid,
  p_room text,
  p_doctor uuid default null,
  p_replace boolean default false
) returns setof public.queue_tickets
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_today date;
  v_occupant public.queue_tickets;
  v_ticket public.queue_tickets;
begin
  if p_clinic is null or p_clinic not in (select private.staff_clinic_ids()) then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can call patients');
  end if;
  v_today := private.clinic_today(p_clinic);
  perform pg_advisory_xact_lock(
    hashtextextended(p_clinic::text || '/' || private.room_key(p_room), 0));
  select * into v_occupant from public.queue_tickets t
  where t.clinic_id = p_clinic and t.service_date = v_today
    and t.status in ('called', 'serving') and private.room_key(t.room) = private.room_key(p_room)
  order by t.called_at desc nulls last
  limit 1
  for update;

  select * into v_ticket from private.queue_call_next(p_clinic, p_room, p_doctor);
  if v_ticket.id is null then
    return;
  end if;
  if v_occupant.id is not null then
    if not coalesce(p_replace, false) then
      perform private.raise_api(409, 'room_occupied',
        format('%s still has %s %s', private.room_label(v_occupant.room), v_occupant.code,
          case v_occupant.status when 'called' then 'called' else 'in consultation' end),
        jsonb_build_object('ticket_id', v_occupant.id, 'code', v_occupant.code,
          'status', v_occupant.status));
    end if;
    if v_occupant.status = 'called' then
      update public.queue_tickets t set status = 'waiting', room = null
      where t.id = v_occupant.id;
    else
      update public.queue_tickets t set status = 'completed', consultation_end_at = now()
      where t.id = v_occupant.id;
      perform private.queue_sync_appointment(v_occupant.appointment_id, 'completed');
    end if;
  end if;
  return next v_ticket;
end
$$;
revoke all on function private.queue_call_to_room(uuid, text, uuid, boolean) from public;
grant execute on function private.queue_call_to_room(uuid, text, uuid, boolean)
  to authenticated, service_role;

drop function api.queue_call_next(text, text, uuid);
-- Call-next in the clinic of `p_code`; 404 queue_empty when nobody is waiting for the room,
-- 409 room_occupied unless `p_replace` (private.queue_call_to_room).
create function api.queue_call_next(
  p_code text,
  p_room text,
  p_doctor uuid,
  p_replace boolean default false
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.clinic_by_code(p_code);
  v_t public.queue_tickets;
begin
  select * into v_t from private.queue_call_to_room(v_clinic.id, p_room, p_doctor, p_replace);
  if not found then
    perform private.raise_api(404, 'queue_empty', 'Nobody is waiting for this room');
  end if;
  return private.queue_ticket_answer(v_t);
end
$$;
revoke all on function api.queue_call_next(text, text, uuid, boolean) from public;
grant execute on function api.queue_call_next(text, text, uuid, boolean) to authenticated;

-- RESTORE. A cancelled or no-show ticket of today goes back to the waiting line at its place
-- (its due time is unchanged), by staff of the clinic only: a mis-click at the desk is undone
-- in one step. The no-show count it added is taken back, the appointment is checked in again
-- (left as it is when its slot was booked by someone else meanwhile); the audit trigger
-- records the change like every other transition.
create or replace function private.queue_transition(
  p_ticket uuid,
  p_action text,
  p_room text default null
) returns setof public.queue_tickets
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_t public.queue_tickets;
  v_clinic public.clinics;
  v_staff boolean;
  v_own boolean;
  v_tolerance integer;
  v_from public.ticket_status;
begin
  select * into v_t from public.queue_tickets t where t.id = p_ticket for update;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such ticket');
  end if;
  v_staff := v_t.clinic_id in (select private.staff_clinic_ids());
  v_own := v_t.patient_id is not null and v_t.patient_id in (select private.my_patient_ids());
  if not v_staff then
    if not v_own then
      perform private.raise_api(404, 'not_found', 'No such ticket');
    elsif p_action <> 'cancel' then
      perform private.raise_api(403, 'forbidden', 'Only staff can do that');
    end if;
  end if;
  v_from := v_t.status;

  if p_action = 'recall' and v_from = 'called' then
    update public.queue_tickets t
    set called_at = now(), call_count = t.call_count + 1, room = coalesce(p_room, t.room),
        called_by = auth.uid()
    where t.id = p_ticket returning * into v_t;
    perform private.queue_notify_called(v_t);
  elsif p_action = 'recall' and v_from = 'no_show' then
    select * into v_clinic from public.clinics c where c.id = v_t.clinic_id;
    v_tolerance := private.queue_setting(v_clinic.settings, 'no_show_recall_minutes', 30);
    if now() > v_t.no_show_at + make_interval(mins => v_tolerance) then
      perform private.raise_api(409, 'recall_window_passed',
        format('A no-show can only be recalled within %s minutes', v_tolerance));
    end if;
    update public.queue_tickets t
    set status = 'called', called_at = now(), call_count = t.call_count + 1,
        room = coalesce(p_room, t.room), called_by = auth.uid()
    where t.id = p_ticket returning * into v_t;
    if v_t.patient_id is not null then
      update public.patients p set no_show_count = greatest(p.no_show_count - 1, 0)
      where p.id = v_t.patient_id;
    end if;
    perform private.queue_sync_appointment(v_t.appointment_id, 'checked_in');
    perform private.queue_notify_called(v_t);
  elsif p_action = 'start' and v_from = 'called' then
    update public.queue_tickets t
    set status = 'serving', consultation_start_at = now(), room = coalesce(p_room, t.room)
    where t.id = p_ticket returning * into v_t;
    perform private.queue_sync_appointment(v_t.appointment_id, 'in_progress');
  elsif p_action = 'complete' and v_from = 'serving' then
    update public.queue_tickets t
    set status = 'completed', consultation_end_at = now()
    where t.id = p_ticket returning * into v_t;
    perform private.queue_sync_appointment(v_t.appointment_id, 'completed');
  elsif p_action = 'no_show' and v_from = 'called' then
    update public.queue_tickets t
    set status = 'no_show', no_show_at = now()
    where t.id = p_ticket returning * into v_t;
    if v_t.patient_id is not null then
      update public.patients p set no_show_count = p.no_show_count + 1
      where p.id = v_t.patient_id;
    end if;
    perform private.queue_sync_appointment(v_t.appointment_id, 'no_show');
  elsif p_action = 'cancel' and v_from in ('waiting', 'called') then
    update public.queue_tickets t
    set status = 'cancelled', cancelled_at = now()
    where t.id = p_ticket returning * into v_t;
    perform private.queue_sync_appointment(v_t.appointment_id, 'cancelled',
      'Queue ticket cancelled');
  elsif p_action = 'restore' and v_from in ('cancelled', 'no_show') then
    if v_t.service_date <> private.clinic_today(v_t.clinic_id) then
      perform private.raise_api(409, 'restore_window_passed',
        'Only tickets of today can be restored');
    end if;
    update public.queue_tickets t
    set status = 'waiting', room = null, cancelled_at = null, no_show_at = null
    where t.id = p_ticket returning * into v_t;
    if v_from = 'no_show' and v_t.patient_id is not null then
      update public.patients p set no_show_count = greatest(p.no_show_count - 1, 0)
      where p.id = v_t.patient_id;
    end if;
    perform private.queue_sync_appointment(v_t.appointment_id, 'checked_in');
  elsif p_action in ('recall', 'start', 'complete', 'no_show', 'cancel', 'restore') then
    perform private.raise_api(409, 'invalid_transition',
      format('Cannot %s a ticket that is %s', replace(p_action, '_', '-'), v_from),
      jsonb_build_object('from', v_from, 'action', p_action));
  else
    perform private.raise_api(400, 'invalid_request', format('Unknown action %s', p_action));
  end if;
  return next v_t;
end
$$;

-- DUPLICATES. Lists of patients show contact details masked, so two records with the same name
-- and date of birth can be told apart without the list disclosing them: "•••• 4567" (the last
-- four digits), "l•••@example.com" (the first letter and the domain).
create or replace function private.mask_phone(p_phone text) returns text
  language sql immutable
  set search_path = ''
  as $$
    select case when p_phone is null then null
                when length(regexp_replace(p_phone, '[^0-9]', '', 'g')) < 4 then '••••'
                else '•••• ' || right(regexp_replace(p_phone, '[^0-9]', '', 'g'), 4) end
  $$;

create or replace function private.mask_email(p_email text) returns text
  language sql immutable
  set search_path = ''
  as $$
    select case when p_email is null then null
                when position('@' in p_email) < 2 then '•••'
                else left(p_email, 1) || '•••' || substr(p_email, position('@' in p_email)) end
  $$;

-- A patient as a list shows them to staff: no full contact details.
create or replace function private.patient_summary(p public.patients) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('id', p.id, 'patient_number', p.patient_number,
      'full_name', p.full_name, 'date_of_birth', p.date_of_birth, 'gender', p.gender,
      'phone_masked', private.mask_phone(p.phone),
      'email_masked', private.mask_email(p.email::text))
  $$;

-- The clinic's patients a new registration with this name and date of birth would likely
-- duplicate (same date of birth, same name ignoring case and spacing), as summaries.
create or replace function private.patient_duplicates(
  p_clinic uuid,
  p_full_name text,
  p_date_of_birth date
) returns jsonb
  language sql stable
  security definer
  set search_path = ''
  as $$
    select coalesce(jsonb_agg(private.patient_summary(p) order by p.patient_number), '[]')
    from public.patients p
    where p.clinic_id = p_clinic and p.deleted_at is null
      and p.date_of_birth = p_date_of_birth
      and lower(regexp_replace(btrim(p.full_name), '\s+', ' ', 'g'))
        = lower(regexp_replace(btrim(p_full_name), '\s+', ' ', 'g'))
  $$;

revoke all on function private.mask_phone(text), private.mask_email(text),
  private.patient_summary(public.patients), private.patient_duplicates(uuid, text, date)
  from public;
grant execute on function private.mask_phone(text), private.mask_email(text),
  private.patient_summary(public.patients) to authenticated, service_role;
grant execute on function private.patient_duplicates(uuid, text, date)
  to authenticated, service_role;

-- The clinic's patients whose name, number or phone contains `p_query` (at least two
-- characters; a phone may be typed with spaces or dashes), for its staff: best name match
-- first, at most `p_limit` (1–50), contact details masked (private.patient_summary).
-- SECURITY INVOKER: RLS decides which rows the caller sees.
create or replace function api.search_patients(p_code text, p_query text, p_limit integer)
  returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
  v_query text := lower(btrim(p_query));
  v_digits text := regexp_replace(p_query, '[^0-9]', '', 'g');
  v_like text;
begin
  if length(v_query) < 2 then
    perform private.raise_api(400, 'invalid_request', 'Search with at least two characters');
  end if;
  v_like := '%' || replace(replace(replace(v_query, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  return jsonb_build_object('patients', coalesce((
    select jsonb_agg(private.patient_summary(m.p)
      order by m.rank desc, (m.p).full_name, (m.p).patient_number)
    from (
      select p, greatest(extensions.similarity(lower(p.full_name), v_query),
          case when lower(p.patient_number) = v_query then 2 else 0 end) as rank
      from public.patients p
      where p.clinic_id = v_clinic.id and p.deleted_at is null
        and (private.patient_search_text(p.full_name, p.patient_number, p.phone) like v_like
             or (length(v_digits) >= 4
                 and private.patient_search_text(p.full_name, p.patient_number, p.phone)
                   like '%' || v_digits || '%'))
      order by rank desc, p.full_name, p.patient_number
      limit least(greatest(coalesce(p_limit, 20), 1), 50)
    ) m), '[]'::jsonb));
end
$$;

drop function api.queue_walk_in(text, uuid, jsonb, uuid, integer);
-- A walk-in: for a patient of the clinic (`p_patient`), or a new patient registered in the
-- same transaction (`p_new_patient`: full_name, date_of_birth, gender, phone), or nobody. A new
-- patient who likely duplicates a registered one (private.patient_duplicates) is refused with
-- 409 possible_duplicate (details: the candidates, masked) unless `p_confirm_new`.
create function api.queue_walk_in(
  p_code text,
  p_patient uuid,
  p_new_patient jsonb,
  p_doctor uuid,
  p_priority integer,
  p_confirm_new boolean default false
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.clinic_by_code(p_code);
  v_patient uuid := p_patient;
  v_dupes jsonb;
  v_t public.queue_tickets;
begin
  if p_new_patient is not null then
    if v_clinic.id not in (select private.staff_clinic_ids()) then
      perform private.raise_api(403, 'forbidden',
        'Only staff of this clinic can register patients');
    end if;
    v_dupes := private.patient_duplicates(v_clinic.id, p_new_patient ->> 'full_name',
      (p_new_patient ->> 'date_of_birth')::date);
    if jsonb_array_length(v_dupes) > 0 and not coalesce(p_confirm_new, false) then
      perform private.raise_api(409, 'possible_duplicate',
        'A patient with this name and date of birth is already registered',
        jsonb_build_object('candidates', v_dupes));
    end if;
    v_patient := private.register_patient(v_clinic.id, p_new_patient ->> 'full_name',
      (p_new_patient ->> 'date_of_birth')::date, (p_new_patient ->> 'gender')::public.gender,
      p_new_patient ->> 'phone');
  end if;
  select * into v_t
  from private.queue_walk_in(v_clinic.id, v_patient, p_doctor, coalesce(p_priority, 0));
  return private.queue_ticket_answer(v_t);
end
$$;
revoke all on function api.queue_walk_in(text, uuid, jsonb, uuid, integer, boolean) from public;
grant execute on function api.queue_walk_in(text, uuid, jsonb, uuid, integer, boolean)
  to authenticated;
