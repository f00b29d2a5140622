-- Changes that collide with bookings: a closure over booked days, a blocked date, shorter or
-- removed hours, a new break, a slot length that moves the grid, a doctor who stops taking
-- appointments. Nothing is dropped: the bookings stay booked and are listed as collisions
-- (private.booking_collisions — the one definition, also what the closures answer with) until
-- an admin cancels them with a reason or moves each to the earliest free slot
-- (private.resolve_collisions), the patients told in their language with the reason, or not
-- told when the admin says so (private.appointment_notify reads app.appointment_notice).
-- Idempotency-Key'd writes have one home, private.idempotent: bookings (api.book) and the
-- resolution (api.resolve_collisions).

-- ---------------------------------------------------------------------------------------
-- What collides
-- ---------------------------------------------------------------------------------------

-- The clinic's booked future appointments (scheduled or confirmed; on local dates
-- `p_from`..`p_to` when given) whose own start — with their own length — is no longer a start of
-- their doctor's grid that day as private.slot_decisions draws it (the decision's every-start
-- form: closures, blocked dates, hours, breaks, slot length and buffer, an inactive doctor or a
-- deleted schedule). Only the grid counts: an appointment is already booked, so neither the
-- notice, the advance window, the daily cap nor its own occupancy of the slot makes it collide.
-- Its type is part of its grid: the type's length, and whether the doctor still offers it.
-- Earliest first, as the caller may read them (SECURITY INVOKER: RLS), with the patient's name,
-- number and masked contact details as staff lists show them (private.patient_summary) and the
-- language they are told in — never why they come.
create or replace function private.booking_collisions(p_clinic uuid, p_from date default null,
  p_to date default null)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    with booked as (
      select a.id, a.status, a.service_date, a.period, a.doctor_id, a.patient_id,
        a.appointment_type
      from public.appointments a
      where a.clinic_id = p_clinic and a.status in ('scheduled', 'confirmed')
        and a.service_date between coalesce(p_from, current_date - 1)
          and coalesce(p_to, 'infinity'::date)
        and lower(a.period) > now()
    ),
    grids as (
      select g.doctor_id, g.service_date, g.appointment_type, s.starts
      from (select distinct b.doctor_id, b.service_date, b.appointment_type from booked b) g
      cross join lateral private.slot_decisions(g.doctor_id, g.service_date,
        p_type => g.appointment_type) s
    )
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id', b.id, 'status', b.status, 'date', b.service_date,
        'start', private.iso_in_zone(lower(b.period), c.timezone),
        'end', private.iso_in_zone(upper(b.period), c.timezone),
        'doctor_id', b.doctor_id, 'doctor_name', d.display_name,
        'patient_id', b.patient_id, 'patient_name', p.full_name,
        'patient_number', p.patient_number,
        'phone_masked', private.mask_phone(p.phone),
        'email_masked', private.mask_email(p.email::text),
        'language', p.preferred_language)
      order by lower(b.period), b.id), '[]'::jsonb)
    from booked b
    join public.clinics c on c.id = p_clinic
    join public.doctors d on d.id = b.doctor_id
    join public.patients p on p.id = b.patient_id
    where not exists (
      select 1 from grids k
      where k.doctor_id = b.doctor_id and k.service_date = b.service_date
        and k.appointment_type = b.appointment_type and k.starts = lower(b.period))
  $$;
revoke all on function private.booking_collisions(uuid, date, date) from public;
grant execute on function private.booking_collisions(uuid, date, date) to authenticated;

-- What a closure's days collide with: the one definition over those dates.
create or replace function private.closure_collisions(p_clinic uuid, p_from date, p_to date)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select private.booking_collisions(p_clinic, p_from, p_to)
  $$;

-- A doctor's collisions: what a change of their schedule (api.set_doctor_schedule, its preview,
-- api.add_blocked_date) leaves off their grid, answered with the change.
create or replace function private.doctor_collisions(p_doctor public.doctors) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select coalesce(pg_catalog.jsonb_agg(x.e order by x.n), '[]'::jsonb)
    from pg_catalog.jsonb_array_elements(private.booking_collisions(p_doctor.clinic_id))
      with ordinality x (e, n)
    where x.e ->> 'doctor_id' = p_doctor.id::text
  $$;
revoke all on function private.doctor_collisions(public.doctors) from public;
grant execute on function private.doctor_collisions(public.doctors) to authenticated;

-- The clinic's current collisions, for its staff.
create or replace function api.booking_collisions(p_code text, p_from date default null,
  p_to date default null)
  returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return private.booking_collisions((private.staff_clinic(p_code)).id, p_from, p_to);
end
$$;
revoke all on function api.booking_collisions(text, date, date) from public;
grant execute on function api.booking_collisions(text, date, date) to authenticated;

-- ---------------------------------------------------------------------------------------
-- Telling the patient: with the clinic's reason, or not at all
-- ---------------------------------------------------------------------------------------

-- As before, plus the texts a clinic's own cancellation or move is told with
-- (`booking_cancelled_by_clinic`, `booking_rescheduled_by_clinic`: the kind's variables and,
-- in the app and by e-mail only, the admin's `reason` — lock screens show no free text).
create or replace function private.template_variables(p_kind text, p_channel text)
  returns text[]
  language sql immutable
  set search_path = ''
  as $$
    select case
      when p_kind in ('booking_confirmed', 'booking_rescheduled', 'booking_cancelled',
                      'appointment_reminder')
        then array['clinic', 'date', 'time', 'ref']
          || case when p_channel in ('in_app', 'email') then array['doctor'] else '{}' end
      when p_kind in ('booking_cancelled_by_clinic', 'booking_rescheduled_by_clinic')
        then array['clinic', 'date', 'time', 'ref']
          || case when p_channel in ('in_app', 'email') then array['doctor', 'reason']
                  else '{}' end
      when p_kind = 'ticket_called' then array['clinic', 'date', 'time', 'code', 'room']
      when p_kind = 'queue_near' then array['clinic', 'date', 'time', 'code', 'people_ahead']
      when p_kind = 'queue_next' then array['clinic', 'date', 'time', 'code']
      when p_kind in ('password_reset', 'email_verify', 'email_change', 'login_unlock')
        and p_channel = 'email' then array['link', 'minutes']
      when p_kind = 'staff_invite' and p_channel = 'email' then array['clinic', 'link', 'days']
    end
  $$;

with greeting (language, hello) as (values
  ('en', 'Hello,'), ('zh', '您好，'), ('ms', 'Salam sejahtera,'), ('ta', 'வணக்கம்,')
),
texts (kind, language, title, message, short) as (values
  ('booking_cancelled_by_clinic', 'en', 'Appointment cancelled by the clinic',
   'The clinic has cancelled your appointment with {{doctor}} at {{clinic}} on {{date}} at {{time}} (clinic time): {{reason}}. Please book another time. Ref {{ref}}.',
   '{{clinic}}: the clinic has cancelled your appointment on {{date}} at {{time}} (clinic time). Ref {{ref}}.'),
  ('booking_rescheduled_by_clinic', 'en', 'Appointment moved by the clinic',
   'The clinic has moved your appointment with {{doctor}} at {{clinic}} to {{date}} at {{time}} (clinic time): {{reason}}. Ref {{ref}}.',
   '{{clinic}}: the clinic has moved your appointment to {{date}} at {{time}} (clinic time). Ref {{ref}}.'),
  ('booking_cancelled_by_clinic', 'zh', '诊所已取消您的预约',
   '诊所已取消您在{{clinic}}与{{doctor}}于 {{date}} {{time}}（诊所时间）的预约，原因：{{reason}}。请另行预约。编号 {{ref}}。',
   '{{clinic}}：诊所已取消您于 {{date}} {{time}}（诊所时间）的预约。编号 {{ref}}。'),
  ('booking_rescheduled_by_clinic', 'zh', '诊所已更改您的预约',
   '诊所已将您在{{clinic}}与{{doctor}}的预约改至 {{date}} {{time}}（诊所时间），原因：{{reason}}。编号 {{ref}}。',
   '{{clinic}}：诊所已将您的预约改至 {{date}} {{time}}（诊所时间）。编号 {{ref}}。'),
  ('booking_cancelled_by_clinic', 'ms', 'Temujanji dibatalkan oleh klinik',
   'Klinik telah membatalkan temujanji anda dengan {{doctor}} di {{clinic}} pada {{date}} jam {{time}} (waktu klinik): {{reason}}. Sila tempah masa lain. Rujukan {{ref}}.',
   '{{clinic}}: klinik telah membatalkan temujanji anda pada {{date}} jam {{time}} (waktu klinik). Rujukan {{ref}}.'),
  ('booking_rescheduled_by_clinic', 'ms', 'Temujanji dipindahkan oleh klinik',
   'Klinik telah memindahkan temujanji anda dengan {{doctor}} di {{clinic}} ke {{date}} jam {{time}} (waktu klinik): {{reason}}. Rujukan {{ref}}.',
   '{{clinic}}: klinik telah memindahkan temujanji anda ke {{date}} jam {{time}} (waktu klinik). Rujukan {{ref}}.'),
  ('booking_cancelled_by_clinic', 'ta', 'கிளினிக் உங்கள் சந்திப்பை ரத்துசெய்தது',
   '{{date}} {{time}} (கிளினிக் நேரம்) அன்று {{clinic}} இல் {{doctor}} உடனான உங்கள் சந்திப்பை கிளினிக் ரத்துசெய்தது: {{reason}}. வேறு நேரத்தை முன்பதிவு செய்யவும். குறிப்பு எண் {{ref}}.',
   '{{clinic}}: {{date}} {{time}} (கிளினிக் நேரம்) உங்கள் சந்திப்பை கிளினிக் ரத்துசெய்தது. குறிப்பு எண் {{ref}}.'),
  ('booking_rescheduled_by_clinic', 'ta', 'கிளினிக் உங்கள் சந்திப்பை மாற்றியது',
   '{{clinic}} இல் {{doctor}} உடனான உங்கள் சந்திப்பை கிளினிக் {{date}} {{time}} (கிளினிக் நேரம்) க்கு மாற்றியது: {{reason}}. குறிப்பு எண் {{ref}}.',
   '{{clinic}}: உங்கள் சந்திப்பை கிளினிக் {{date}} {{time}} (கிளினிக் நேரம்) க்கு மாற்றியது. குறிப்பு எண் {{ref}}.')
)
insert into public.notification_templates (kind, channel, language, subject, body, html)
select t.kind, c.channel, t.language,
  case c.channel when 'in_app' then t.title when 'email' then t.title when 'push' then t.title end,
  case c.channel
    when 'in_app' then t.message
    when 'email' then g.hello || E'\n\n' || t.message || E'\n\n{{clinic}}'
    else t.short end,
  case c.channel when 'email' then
    '<p>' || g.hello || E'</p>\n<p>' || t.message || E'</p>\n<p>{{clinic}}</p>' end
from texts t
join greeting g on g.language = t.language
cross join (values ('in_app'), ('email'), ('sms'), ('whatsapp'), ('push')) as c (channel);

-- Booking notifications, written in the transaction that changes the appointment (as before),
-- unless the transaction says otherwise in `app.appointment_notice` (set by
-- private.resolve_collisions for its own changes): {"notify": false} tells nobody;
-- {"reason": …} tells a cancellation or move as the clinic's, with its reason
-- (the `…_by_clinic` templates; the notification keeps its kind, so the patient's per-kind
-- preferences still apply).
--   confirmed:   inserted as scheduled/confirmed, or a hold turned into a booking
--   rescheduled: a booking's time or doctor moved, or a new booking that `rescheduled_from`
--                another (the old row's status 'rescheduled' then says nothing itself)
--   cancelled:   a booking (not a hold) became cancelled
create or replace function private.appointment_notify() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_kind text;
  v_notice jsonb := nullif(current_setting('app.appointment_notice', true), '')::jsonb;
begin
  if new.status = 'held' then
    return null;
  end if;
  if tg_op = 'INSERT' then
    if new.status in ('scheduled', 'confirmed') then
      v_kind := case when new.rescheduled_from is null then 'booking_confirmed'
                     else 'booking_rescheduled' end;
    end if;
  elsif new.status in ('scheduled', 'confirmed') and old.status = 'held' then
    v_kind := case when new.rescheduled_from is null then 'booking_confirmed'
                   else 'booking_rescheduled' end;
  elsif new.status in ('scheduled', 'confirmed') and old.status in ('scheduled', 'confirmed')
    and (new.period is distinct from old.period or new.doctor_id is distinct from old.doctor_id)
  then
    v_kind := 'booking_rescheduled';
  elsif new.status = 'cancelled' and old.status not in ('cancelled', 'held') then
    v_kind := 'booking_cancelled';
  end if;
  if v_kind is null or (v_notice ->> 'notify') = 'false' then
    return null;
  end if;
  if v_notice ->> 'reason' is not null and v_kind in ('booking_cancelled', 'booking_rescheduled')
  then
    perform private.notify(new.clinic_id, new.patient_id, v_kind, lower(new.period),
      private.appointment_notification_data(new)
        || jsonb_build_object('reason', v_notice ->> 'reason'),
      v_kind || '_by_clinic');
  else
    perform private.notify(new.clinic_id, new.patient_id, v_kind, lower(new.period),
      private.appointment_notification_data(new));
  end if;
  return null;
end
$$;
revoke all on function private.appointment_notify() from public;

-- ---------------------------------------------------------------------------------------
-- Resolving: cancel or move, in bulk, idempotently
-- ---------------------------------------------------------------------------------------

-- The earliest bookable start (private.slot_decisions refuses nothing: free, on the grid, with
-- the notice, within the advance window, below the cap) on local date `p_from` or later, with
-- doctor `p_doctor` or — null — any doctor of the clinic; none when there is none in the
-- advance window, for a visit of type `p_type` (its length; the doctors who offer it).
-- Day by day, so the search stops at the first day with a free start.
create or replace function private.earliest_slot(p_clinic uuid, p_doctor uuid, p_from date,
  p_type text)
  returns table (doctor_id uuid, starts timestamptz)
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_day date;
  v_last date;
begin
  select greatest(p_from, l.today), l.today + max(ds.advance_days)
  into v_day, v_last
  from public.clinics c
  cross join lateral (select (now() at time zone c.timezone)::date as today) l
  join public.doctor_schedules ds on ds.clinic_id = c.id
    and (p_doctor is null or ds.doctor_id = p_doctor)
  where c.id = p_clinic
  group by l.today;
  while v_day <= v_last loop
    return query
      select d.id, s.starts
      from public.doctors d
      cross join lateral private.slot_decisions(d.id, v_day, p_type => p_type) s
      where d.clinic_id = p_clinic and (p_doctor is null or d.id = p_doctor)
        and s.refusal is null
      order by s.starts, d.display_name, d.id
      limit 1;
    if found then
      return;
    end if;
    v_day := v_day + 1;
  end loop;
end
$$;
revoke all on function private.earliest_slot(uuid, uuid, date, text) from public;
grant execute on function private.earliest_slot(uuid, uuid, date, text) to authenticated;

-- Cancels appointment `p_row` (api.cancel_appointment, with `p_reason`) or moves it
-- (api.reschedule_appointment) to the earliest free start of the same doctor from its own day
-- on, else of any doctor of the clinic; a start taken meanwhile is looked for again (three
-- times). Its own subtransaction: a refusal undoes this appointment's change only and is its
-- outcome. Outcomes: `cancelled`, `rescheduled` (with `previous`), `not_moved` (no free start
-- in the advance window: still booked), `failed` (with the API error).
create or replace function private.resolve_collision(p_row public.appointments, p_action text,
  p_reason text)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_slot record;
  v_state text;
  v_code text;
  v_message text;
begin
  if p_action = 'cancel' then
    return jsonb_build_object('id', p_row.id, 'outcome', 'cancelled')
      || api.cancel_appointment(p_row.id, p_reason);
  end if;
  for v_attempt in 1 .. 3 loop
    select * into v_slot from private.earliest_slot(p_row.clinic_id, p_row.doctor_id,
      p_row.service_date, p_row.appointment_type);
    if not found then
      select * into v_slot from private.earliest_slot(p_row.clinic_id, null, p_row.service_date,
        p_row.appointment_type);
    end if;
    if v_slot.starts is null then
      return jsonb_build_object('id', p_row.id, 'outcome', 'not_moved',
        'appointment', private.appointment_json(p_row));
    end if;
    begin
      return jsonb_build_object('id', p_row.id, 'outcome', 'rescheduled')
        || api.reschedule_appointment(p_row.id, v_slot.starts, v_slot.doctor_id);
    exception when sqlstate 'PT409' or exclusion_violation then
      get stacked diagnostics v_code = message_text;
      -- taken since it was found: look again
      if v_attempt = 3 or (v_code <> 'slot_unavailable' and sqlstate <> '23P01') then
        raise;
      end if;
    end;
  end loop;
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_code = message_text,
    v_message = pg_exception_detail;
  if v_state = '23P01' then
    v_code := 'slot_unavailable';
    v_message := 'That time slot is no longer available';
  elsif v_state not like 'PT%' then
    raise;
  end if;
  return jsonb_build_object('id', p_row.id, 'outcome', 'failed',
    'error', jsonb_build_object('code', v_code, 'message', v_message));
end
$$;
revoke all on function private.resolve_collision(public.appointments, text, text) from public;
grant execute on function private.resolve_collision(public.appointments, text, text)
  to authenticated;

-- POST /api/clinics/{code}/collisions/resolve without its idempotency (admins): `ids` (1–100
-- appointments of the clinic; any unknown → 404 and nothing done), `action` (`cancel` or
-- `reschedule`), `reason` (1–200 characters: the cancellation's reason, told to the patients),
-- `notify` (default true). Earliest first, each with its own outcome (private.resolve_collision)
-- — none is left out; the changes are audited by the appointments' audit trigger.
create or replace function private.resolve_collisions(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_request ->> 'clinic_code');
  v_action text := p_request ->> 'action';
  v_reason text := btrim(p_request ->> 'reason');
  v_ids uuid[];
  v_missing jsonb;
  v_results jsonb := '[]';
  v_row public.appointments;
begin
  if v_action is null or v_action not in ('cancel', 'reschedule') then
    perform private.raise_api(422, 'invalid_action', 'The action is cancel or reschedule');
  end if;
  if coalesce(length(v_reason), 0) not between 1 and 200 then
    perform private.raise_api(422, 'invalid_reason', 'Give a reason of 1 to 200 characters');
  end if;
  select array_agg(distinct x.id::uuid) into v_ids
  from jsonb_array_elements_text(coalesce(p_request -> 'ids', '[]')) x (id);
  if coalesce(cardinality(v_ids), 0) not between 1 and 100 then
    perform private.raise_api(422, 'invalid_ids', 'Name 1 to 100 appointments');
  end if;
  select jsonb_agg(i.id order by i.id) into v_missing
  from unnest(v_ids) i (id)
  where not exists (select 1 from public.appointments a
                    where a.id = i.id and a.clinic_id = v_clinic and a.status <> 'held');
  if v_missing is not null then
    perform private.raise_api(404, 'appointment_not_found', 'No such appointment at this clinic',
      jsonb_build_object('ids', v_missing));
  end if;

  perform set_config('app.appointment_notice', jsonb_build_object(
    'notify', coalesce((p_request ->> 'notify')::boolean, true), 'reason', v_reason)::text, true);
  for v_row in
    select * from public.appointments where id = any (v_ids) order by lower(period), id
  loop
    v_results := v_results || private.resolve_collision(v_row, v_action, v_reason);
  end loop;
  perform set_config('app.appointment_notice', '', true);
  return jsonb_build_object('action', v_action, 'results', v_results);
end
$$;
revoke all on function private.resolve_collisions(jsonb) from public;
grant execute on function private.resolve_collisions(jsonb) to authenticated;

-- An Idempotency-Key'd write (IETF httpapi draft), per caller and endpoint — bookings and the
-- collisions' resolution: `p_fn(p_request)` answers `p_status`; a business refusal
-- (private.raise_api, or a slot taken under the no-overlap constraint) is an answer too, stored and replayed, its partial writes rolled back; the same key and payload replay the
-- first answer ("replayed": true), another payload → 422 idempotency_key_mismatch, while the
-- first is in flight → 409 idempotency_key_in_use; unexpected errors roll everything back, key
-- included. Returns {"status", "body", "replayed"}. SECURITY INVOKER: `p_fn` runs as the caller.
create or replace function private.idempotent(p_key text, p_endpoint text, p_request jsonb,
  p_fn regproc, p_status integer)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_uid uuid := auth.uid();
  v_hash text := encode(sha256(convert_to(p_request::text, 'UTF8')), 'hex');
  v_prior public.idempotency_keys;
  v_status integer := p_status;
  v_body jsonb;
  v_state text;
  v_code text;
  v_message text;
  v_hint text;
begin
  if v_uid is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to do this');
  end if;
  if p_key is null or length(p_key) not between 1 and 255 then
    perform private.raise_api(400, 'idempotency_key_required',
      'Send an Idempotency-Key header of 1 to 255 characters');
  end if;
  if not pg_try_advisory_xact_lock(hashtext('idempotency:' || v_uid::text), hashtext(p_key)) then
    perform private.raise_api(409, 'idempotency_key_in_use',
      'A request with this Idempotency-Key is still being processed');
  end if;
  select * into v_prior from public.idempotency_keys
  where user_id = v_uid and endpoint = p_endpoint and key = p_key and expires_at > now();
  if found then
    if v_prior.request_hash <> v_hash then
      perform private.raise_api(422, 'idempotency_key_mismatch',
        'This Idempotency-Key was used with a different request');
    end if;
    return jsonb_build_object('status', v_prior.response_status, 'body', v_prior.response_body,
      'replayed', true);
  end if;

  begin
    -- A static call per known write: EXECUTE would parse and plan on every booking.
    case p_fn
      when 'private.book_answer'::regproc then v_body := private.book_answer(p_request);
      when 'private.resolve_collisions'::regproc then
        v_body := private.resolve_collisions(p_request);
    end case;
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_code = message_text,
      v_message = pg_exception_detail, v_hint = pg_exception_hint;
    if v_state = '23P01' then -- the appointments' no-overlap constraint
      v_status := 409;
      v_body := jsonb_build_object('error', jsonb_build_object(
        'code', 'slot_unavailable', 'message', 'That time slot is no longer available'));
    elsif v_state like 'PT%' then
      v_status := substr(v_state, 3)::integer;
      v_body := jsonb_build_object('error', jsonb_build_object('code', v_code, 'message', v_message)
        || case when coalesce(v_hint, '') = '' then '{}'::jsonb
                else jsonb_build_object('details', v_hint::jsonb) end);
    else
      raise;
    end if;
  end;

  insert into public.idempotency_keys as k (user_id, key, endpoint, request_hash,
    response_status, response_body)
  values (v_uid, p_key, p_endpoint, v_hash, v_status, v_body)
  on conflict (user_id, endpoint, key) do update set
    request_hash = excluded.request_hash, response_status = excluded.response_status,
    response_body = excluded.response_body, created_at = now(),
    expires_at = now() + interval '24 hours';
  return jsonb_build_object('status', v_status, 'body', v_body, 'replayed', false);
end
$$;
revoke all on function private.idempotent(text, text, jsonb, regproc, integer) from public;
grant execute on function private.idempotent(text, text, jsonb, regproc, integer)
  to authenticated;

-- POST /api/clinics/{code}/collisions/resolve: one transaction — each appointment in its own
-- subtransaction (one's refusal does not undo the others), the answer stored with the changes
-- under the Idempotency-Key, so a retry replays it and acts on nothing twice, and a failure
-- acts on nothing at all.
create or replace function api.resolve_collisions(p_key text, p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
begin
  return private.idempotent(p_key, 'POST /api/clinics/collisions/resolve', p_request,
    'private.resolve_collisions'::regproc, 200);
end
$$;
revoke all on function api.resolve_collisions(text, jsonb) from public;
grant execute on function api.resolve_collisions(text, jsonb) to authenticated;

-- POST /api/bookings through the same idempotency (one home): private.book's appointment, 201.
create or replace function private.book_answer(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
begin
  return jsonb_build_object('appointment', private.book(p_request));
end
$$;
revoke all on function private.book_answer(jsonb) from public;
grant execute on function private.book_answer(jsonb) to authenticated;

create or replace function api.book(p_key text, p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
begin
  return private.idempotent(p_key, 'POST /api/bookings', p_request, 'private.book_answer'::regproc,
    201);
end
$$;
