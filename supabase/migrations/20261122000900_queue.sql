-- Queue: per-clinic, per-day tickets, the PII-free board projection a TV may read, check-in,
-- walk-ins, the call-next fairness policy, ticket transitions, wait estimates and the
-- patient's notifications ("please go to room 3", "you are N away").
--
-- The commands are SECURITY DEFINER functions in `private` that check the caller themselves
-- (staff of the ticket's clinic; the patient for their own check-in and cancel) and are
-- executable by `authenticated` only. Business errors go through `private.raise_api`, which
-- the edge turns into its error JSON. The routes call the api.* functions at the end: a
-- command run as the caller and answered with its ticket, the board snapshot (a member or the
-- clinic's live board token), the staff's list of the day, the patient's own ticket.
--
-- Settings (clinics.settings -> 'queue', every key optional):
--   check_in_window_minutes  60  a patient may check in this long before the booked start
--   check_in_late_minutes    60  … and until this long after it (staff: any time that day)
--   lateness_grace_minutes   10  checked in later than start + grace = late (see the policy)
--   priority_step_minutes    15  each priority level (0–9) moves a ticket this much earlier
--   max_wait_minutes         90  the wait cap (see the policy)
--   no_show_recall_minutes   30  a no-show may be recalled this long after being marked
--   near_threshold            3  "you are N away" once at most N people are ahead
--
-- THE FAIRNESS POLICY (one order for call-next, the board's positions and the estimates).
-- Every waiting ticket gets a due time: an appointment checked in no later than its booked
-- start + grace is due at its booked time (arriving early does not jump earlier bookings); a
-- late appointment and a walk-in are due at their check-in time, so walk-ins interleave with
-- appointments by the clock. Priority weighs in: the effective time is due time − priority ×
-- priority_step. The line is ordered by effective time (then check-in time, then code), except
-- that anyone who has waited max_wait_minutes since they were due (or since they arrived, if
-- later) is overdue and goes ahead of everyone who is not, longest wait first. Call-next for a
-- doctor takes the first ticket in that order that is for this doctor or for no doctor in
-- particular; concurrent presses lock with FOR UPDATE SKIP LOCKED and never share a ticket.

create type public.ticket_kind as enum ('appointment', 'walk_in');
create type public.ticket_status as enum (
  'waiting', 'called', 'serving', 'completed', 'no_show', 'cancelled'
);

create table public.queue_tickets (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  service_date date not null,
  code text not null check (code ~ '^[A-Z][0-9]{3,4}$'),
  kind public.ticket_kind not null,
  priority smallint not null default 0 check (priority between 0 and 9),
  status public.ticket_status not null default 'waiting',
  patient_id uuid,
  appointment_id uuid unique,
  doctor_id uuid,
  room text check (length(room) <= 40),
  scheduled_at timestamptz, -- booked start, for appointment tickets
  checked_in_at timestamptz not null default now(),
  called_at timestamptz,
  call_count integer not null default 0,
  consultation_start_at timestamptz,
  consultation_end_at timestamptz,
  no_show_at timestamptz,
  cancelled_at timestamptz,
  called_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, service_date, code),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id),
  foreign key (appointment_id, clinic_id) references public.appointments (id, clinic_id),
  check ((kind = 'appointment') = (appointment_id is not null))
);
create index queue_tickets_waiting on public.queue_tickets (clinic_id, service_date, status);
-- Consultation durations per doctor (private.doctor_service_minutes).
create index queue_tickets_service_durations on public.queue_tickets
  (doctor_id, consultation_end_at desc)
  where status = 'completed' and consultation_start_at is not null;

-- What a waiting-room TV may show: ticket code, status, room, called time, position.
-- No names, no reasons, no patient or appointment ids — by construction.
create table public.queue_board (
  ticket_id uuid primary key references public.queue_tickets (id) on delete cascade,
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  service_date date not null,
  code text not null,
  status public.ticket_status not null,
  room text,
  called_at timestamptz,
  position integer, -- 1-based place in the waiting line; null once called
  version bigint not null,
  updated_at timestamptz not null default now()
);
create index queue_board_clinic_day on public.queue_board (clinic_id, service_date);

-- Monotonic version per clinic and day, so a client can line a snapshot up with the stream.
create table public.queue_board_versions (
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  service_date date not null,
  version bigint not null default 0,
  updated_at timestamptz not null default now(),
  primary key (clinic_id, service_date)
);

-- Tickets already told "you are N away" (once per ticket).
create table private.queue_near_notified (
  ticket_id uuid primary key references public.queue_tickets (id) on delete cascade,
  people_ahead integer not null,
  notified_at timestamptz not null default now()
);
alter table private.queue_near_notified enable row level security;
alter table private.queue_near_notified force row level security;
grant all on private.queue_near_notified to service_role;

-- ---------------------------------------------------------------------------------------
-- The waiting line
-- ---------------------------------------------------------------------------------------

create or replace function private.queue_setting(p_settings jsonb, p_key text, p_default integer)
  returns integer
  language sql immutable
  set search_path = ''
  as $$
    select case when jsonb_typeof(p_settings -> 'queue' -> p_key) = 'number'
                then (p_settings -> 'queue' ->> p_key)::numeric::integer
                else p_default end
  $$;

-- The clinic's current local day.
create or replace function private.clinic_today(p_clinic uuid) returns date
  language sql stable
  security definer
  set search_path = ''
  as $$ select (now() at time zone c.timezone)::date from public.clinics c where c.id = p_clinic $$;

-- "Room 3" for "3", else the room as given.
create or replace function private.room_label(p_room text) returns text
  language sql immutable
  set search_path = ''
  as $$
    select case when p_room is null or btrim(p_room) = '' then 'the consultation room'
                when p_room ~ '^[0-9]+[A-Za-z]?$' then 'Room ' || p_room
                else p_room end
  $$;

-- The room as compared: its label, lower case ("1" is "Room 1").
create or replace function private.room_key(p_room text) returns text
  language sql immutable
  set search_path = ''
  as $$ select lower(private.room_label(btrim(p_room))) $$;

-- "A012": a kind letter and the per-clinic, per-day counter (row-locked upsert, so concurrent
-- callers never share a number).
create or replace function private.queue_next_code(p_clinic uuid, p_day date, p_letter text)
  returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_n integer := private.next_number(p_clinic, p_day, 'ticket_' || p_letter);
begin
  return p_letter || case when v_n < 1000 then lpad(v_n::text, 3, '0') else v_n::text end;
end
$$;
revoke all on function private.queue_next_code(uuid, date, text) from public;

-- The waiting line of a clinic's day in policy order (see THE FAIRNESS POLICY above).
create or replace function private.queue_line(p_clinic uuid, p_day date)
  returns table (
    ticket_id uuid,
    doctor_id uuid,
    rank bigint,
    due_at timestamptz,
    effective_at timestamptz,
    waiting_since timestamptz,
    late boolean,
    overdue boolean
  )
  language sql stable
  security definer
  set search_path = ''
  as $$
    with s as (
      select
        make_interval(mins => private.queue_setting(c.settings, 'lateness_grace_minutes', 10))
          as grace,
        make_interval(mins => private.queue_setting(c.settings, 'priority_step_minutes', 15))
          as step,
        make_interval(mins => private.queue_setting(c.settings, 'max_wait_minutes', 90))
          as cap
      from public.clinics c where c.id = p_clinic
    ),
    k as (
      select t.id, t.doctor_id, t.code, t.priority, t.checked_in_at, s.step, s.cap,
             (t.kind = 'appointment' and t.scheduled_at is not null
               and t.checked_in_at > t.scheduled_at + s.grace) as late,
             case when t.kind = 'appointment' and t.scheduled_at is not null
                   and t.checked_in_at <= t.scheduled_at + s.grace
                  then t.scheduled_at else t.checked_in_at end as due_at
      from public.queue_tickets t, s
      where t.clinic_id = p_clinic and t.service_date = p_day and t.status = 'waiting'
    ),
    e as (
      select k.*,
             k.due_at - k.priority * k.step as effective_at,
             greatest(k.checked_in_at, k.due_at) as waiting_since,
             now() >= greatest(k.checked_in_at, k.due_at) + k.cap as overdue
      from k
    )
    select e.id, e.doctor_id,
           row_number() over (
             order by e.overdue desc,
                      case when e.overdue then e.waiting_since end asc nulls last,
                      e.effective_at, e.checked_in_at, e.code
           ),
           e.due_at, e.effective_at, e.waiting_since, e.late, e.overdue
    from e
  $$;
revoke all on function private.queue_line(uuid, date) from public;

-- Place and people ahead of every waiting ticket: `position` is the clinic-wide place (what the
-- board shows); `people_ahead` counts the waiting tickets before it that the same doctor would
-- see first (same doctor, or either ticket for no doctor in particular).
create or replace function private.queue_places(p_clinic uuid, p_day date)
  returns table (ticket_id uuid, doctor_id uuid, "position" bigint, people_ahead bigint)
  language sql stable
  security definer
  set search_path = ''
  as $$
    with l as (select * from private.queue_line(p_clinic, p_day))
    select a.ticket_id, a.doctor_id, a.rank,
           (select count(*) from l b
             where b.rank < a.rank
               and (a.doctor_id is null or b.doctor_id is null or b.doctor_id = a.doctor_id))
    from l a
  $$;
revoke all on function private.queue_places(uuid, date) from public;

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

-- Position, people ahead and estimated wait of one ticket (null fields once it is called):
--   for a ticket of doctor D: people ahead × D's rolling duration + what remains of D's
--   current consultation (a called patient counts as a full one);
--   for a ticket for no doctor in particular: people ahead × the mean duration of the doctors
--   calling today ÷ their number.
-- Readable by the ticket's patient and the clinic's staff.
create or replace function private.queue_ticket_info(p_ticket uuid) returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_t public.queue_tickets;
  v_pos bigint;
  v_ahead bigint;
  v_minutes numeric;
  v_samples integer;
  v_current numeric := 0;
  v_doctors integer;
  v_wait numeric;
begin
  select * into v_t from public.queue_tickets t where t.id = p_ticket;
  if not found or not (
    v_t.patient_id in (select private.my_patient_ids())
    or v_t.clinic_id in (select private.staff_clinic_ids())
  ) then
    return null;
  end if;
  if v_t.status <> 'waiting' then
    return jsonb_build_object('position', null, 'people_ahead', 0,
      'estimated_wait_minutes', case when v_t.status = 'called' then 0 end,
      'service_minutes', null, 'samples', 0);
  end if;
  select p.position, p.people_ahead into v_pos, v_ahead
  from private.queue_places(v_t.clinic_id, v_t.service_date) p where p.ticket_id = v_t.id;

  if v_t.doctor_id is not null then
    select d.minutes, d.samples into v_minutes, v_samples
    from private.doctor_service_minutes(v_t.doctor_id) d;
    select coalesce(sum(case
             when o.status = 'serving' then greatest(v_minutes
               - extract(epoch from now() - coalesce(o.consultation_start_at, now())) / 60, 0)
             else v_minutes end), 0)
      into v_current
    from public.queue_tickets o
    where o.clinic_id = v_t.clinic_id and o.service_date = v_t.service_date
      and o.doctor_id = v_t.doctor_id and o.status in ('called', 'serving');
    v_wait := v_ahead * v_minutes + v_current;
  else
    with today as (
      select distinct o.doctor_id from public.queue_tickets o
      where o.clinic_id = v_t.clinic_id and o.service_date = v_t.service_date
        and o.doctor_id is not null and o.called_at is not null
    )
    select avg(d.minutes), coalesce(sum(d.samples), 0)::integer, count(*)::integer
      into v_minutes, v_samples, v_doctors
    from today, lateral private.doctor_service_minutes(today.doctor_id) d;
    if v_doctors = 0 then
      select avg(d.minutes), coalesce(sum(d.samples), 0)::integer into v_minutes, v_samples
      from public.doctors doc, lateral private.doctor_service_minutes(doc.id) d
      where doc.clinic_id = v_t.clinic_id and doc.is_active and doc.deleted_at is null;
    end if;
    v_minutes := coalesce(v_minutes, 10);
    v_wait := v_ahead * v_minutes / greatest(v_doctors, 1);
  end if;
  return jsonb_build_object('position', v_pos, 'people_ahead', v_ahead,
    'estimated_wait_minutes', ceil(v_wait)::integer,
    'service_minutes', round(v_minutes, 1), 'samples', coalesce(v_samples, 0));
end
$$;
revoke all on function private.queue_ticket_info(uuid) from public;

-- ---------------------------------------------------------------------------------------
-- What follows from a change of a ticket
-- ---------------------------------------------------------------------------------------

-- The board of a clinic's day after a change of ticket `p_changed`: the day's version goes up
-- by one, and the changed ticket's row (or its removal) and every row whose place, status, room
-- or call changed are written with it. Positions are places in the waiting line
-- (private.queue_line).
create or replace function private.refresh_board(p_clinic uuid, p_day date, p_changed uuid)
  returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_version bigint;
begin
  insert into public.queue_board_versions as v (clinic_id, service_date, version)
  values (p_clinic, p_day, 1)
  on conflict (clinic_id, service_date)
    do update set version = v.version + 1, updated_at = now()
  returning v.version into v_version;

  delete from public.queue_board b
  where b.ticket_id = p_changed
    and not exists (select 1 from public.queue_tickets t where t.id = p_changed);

  insert into public.queue_board as b
    (ticket_id, clinic_id, service_date, code, status, room, called_at, position, version)
  select t.id, t.clinic_id, t.service_date, t.code, t.status, t.room, t.called_at,
         l.rank, v_version
  from public.queue_tickets t
  left join private.queue_line(p_clinic, p_day) l on l.ticket_id = t.id
  where t.clinic_id = p_clinic and t.service_date = p_day
  on conflict (ticket_id) do update
    set status = excluded.status, room = excluded.room, called_at = excluded.called_at,
        position = excluded.position, code = excluded.code, version = excluded.version,
        updated_at = now()
    where b.ticket_id = p_changed
       or (b.status, b.room, b.called_at, b.position, b.code)
          is distinct from
          (excluded.status, excluded.room, excluded.called_at, excluded.position, excluded.code);
end
$$;
revoke all on function private.refresh_board(uuid, date, uuid) from public;

create or replace function private.queue_ticket_changed() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'DELETE' then
    perform private.refresh_board(old.clinic_id, old.service_date, old.id);
  else
    perform private.refresh_board(new.clinic_id, new.service_date, new.id);
  end if;
  return null;
end
$$;
revoke all on function private.queue_ticket_changed() from public;

-- "Ticket A012: please go to Room 3", to the ticket's patient.
create or replace function private.queue_notify_called(p_ticket public.queue_tickets)
  returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_tz text;
  v_room text := private.room_label(p_ticket.room);
begin
  select c.timezone into v_tz from public.clinics c where c.id = p_ticket.clinic_id;
  return private.notify(p_ticket.clinic_id, p_ticket.patient_id, 'ticket_called',
    format('Ticket %s: please go to %s', p_ticket.code, v_room),
    format('It is your turn: please go to %s now (called at %s, clinic time).', v_room,
      private.local_time(p_ticket.called_at, v_tz)),
    jsonb_build_object('ticket_id', p_ticket.id, 'code', p_ticket.code, 'room', p_ticket.room,
      'called_at', p_ticket.called_at, 'call_count', p_ticket.call_count,
      'local_time', private.local_time(p_ticket.called_at, v_tz), 'timezone', v_tz));
end
$$;
revoke all on function private.queue_notify_called(public.queue_tickets) from public;

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

create or replace function private.queue_ticket_near() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  perform private.queue_notify_near(new.clinic_id, new.service_date);
  return null;
end
$$;
revoke all on function private.queue_ticket_near() from public;

-- Outbound webhook events (thin payloads, no patient data).
create or replace function private.queue_ticket_webhook_event() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  if tg_op = 'INSERT' then
    v_type := 'queue.ticket_created';
  elsif new.status = 'called' and (old.status <> 'called' or new.call_count > old.call_count) then
    v_type := 'queue.ticket_called';
  elsif new.status is distinct from old.status then
    v_type := 'queue.ticket_status_changed';
  else
    return null;
  end if;
  perform private.webhook_emit(new.clinic_id, v_type, jsonb_build_object(
    'ticket_id', new.id,
    'code', new.code,
    'kind', new.kind,
    'status', new.status,
    'previous_status', case when tg_op = 'UPDATE' then old.status end,
    'service_date', new.service_date,
    'room', new.room,
    'doctor_id', new.doctor_id,
    'appointment_id', new.appointment_id,
    'called_at', new.called_at,
    'call_count', new.call_count
  ));
  return null;
end
$$;
revoke all on function private.queue_ticket_webhook_event() from public;

-- Triggers fire in name order: `board` before `near`, so "N away" sees current positions.
create trigger board after insert or update or delete on public.queue_tickets
  for each row execute function private.queue_ticket_changed();
create trigger near after insert or update on public.queue_tickets
  for each row execute function private.queue_ticket_near();
create trigger touch before update on public.queue_tickets
  for each row execute function private.touch_updated_at();
create trigger webhook_event_insert after insert on public.queue_tickets
  for each row execute function private.queue_ticket_webhook_event();
create trigger webhook_event_update after update of status, call_count on public.queue_tickets
  for each row when (old.status is distinct from new.status or old.call_count <> new.call_count)
  execute function private.queue_ticket_webhook_event();
create trigger audit after insert or update or delete on public.queue_tickets
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------
-- Commands
-- ---------------------------------------------------------------------------------------

-- Keeps the appointment's status in step with its ticket; a status the appointment can no
-- longer take (its old slot was re-booked meanwhile) is left as it was.
create or replace function private.queue_sync_appointment(
  p_appointment uuid,
  p_status public.appointment_status,
  p_reason text default null
) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if p_appointment is null then
    return;
  end if;
  begin
    update public.appointments a
    set status = p_status,
        cancelled_at = case when p_status = 'cancelled' then now() else a.cancelled_at end,
        cancelled_by = case when p_status = 'cancelled' then auth.uid() else a.cancelled_by end,
        cancellation_reason = case when p_status = 'cancelled' then p_reason
                                   else a.cancellation_reason end
    where a.id = p_appointment and a.status is distinct from p_status;
  exception when exclusion_violation then
    null;
  end;
end
$$;
revoke all on function private.queue_sync_appointment(uuid, public.appointment_status, text)
  from public;

-- Check-in of a booked appointment: by its patient within the clinic's window, or by staff of
-- the clinic on the day. Idempotent: a second check-in returns the same ticket.
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
  if v_appt.status not in ('scheduled', 'confirmed') then
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

-- A walk-in registered by staff (patient and doctor optional; priority 0–9).
create or replace function private.queue_walk_in(
  p_clinic uuid,
  p_patient uuid default null,
  p_doctor uuid default null,
  p_priority integer default 0
) returns setof public.queue_tickets
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_today date;
  v_ticket public.queue_tickets;
begin
  if p_clinic is null or p_clinic not in (select private.staff_clinic_ids()) then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can register walk-ins');
  end if;
  if p_patient is not null and not exists (
    select 1 from public.patients p
    where p.id = p_patient and p.clinic_id = p_clinic and p.deleted_at is null
  ) then
    perform private.raise_api(404, 'not_found', 'No such patient in this clinic');
  end if;
  if p_doctor is not null and not exists (
    select 1 from public.doctors d
    where d.id = p_doctor and d.clinic_id = p_clinic and d.is_active and d.deleted_at is null
  ) then
    perform private.raise_api(404, 'not_found', 'No such doctor in this clinic');
  end if;
  if coalesce(p_priority, 0) not between 0 and 9 then
    perform private.raise_api(400, 'invalid_request', 'Priority must be between 0 and 9');
  end if;
  v_today := private.clinic_today(p_clinic);
  insert into public.queue_tickets
    (clinic_id, service_date, code, kind, priority, patient_id, doctor_id)
  values (p_clinic, v_today, private.queue_next_code(p_clinic, v_today, 'W'), 'walk_in',
    coalesce(p_priority, 0), p_patient, p_doctor)
  returning * into v_ticket;
  return next v_ticket;
end
$$;
revoke all on function private.queue_walk_in(uuid, uuid, uuid, integer) from public;

-- Call-next for a room: the first waiting ticket in policy order for the doctor (the given one;
-- else the caller when they are a doctor of the clinic; else the doctor whose default room this
-- is; else any ticket). FOR UPDATE SKIP LOCKED: simultaneous presses get different tickets.
-- Returns no row when nobody is waiting for this doctor.
create or replace function private.queue_call_next(
  p_clinic uuid,
  p_room text,
  p_doctor uuid default null
) returns setof public.queue_tickets
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_today date;
  v_doctor uuid := p_doctor;
  v_ticket public.queue_tickets;
begin
  if p_clinic is null or p_clinic not in (select private.staff_clinic_ids()) then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can call patients');
  end if;
  if v_doctor is not null and not exists (
    select 1 from public.doctors d
    where d.id = v_doctor and d.clinic_id = p_clinic and d.deleted_at is null
  ) then
    perform private.raise_api(404, 'not_found', 'No such doctor in this clinic');
  end if;
  if v_doctor is null then
    select d.id into v_doctor from public.doctors d
    where d.clinic_id = p_clinic and d.user_id = (select auth.uid()) and d.deleted_at is null;
  end if;
  if v_doctor is null then
    select min(d.id::text)::uuid into v_doctor from public.doctors d
    where d.clinic_id = p_clinic and d.default_room = p_room and d.is_active
      and d.deleted_at is null
    having count(*) = 1;
  end if;
  v_today := private.clinic_today(p_clinic);

  select t.* into v_ticket
  from public.queue_tickets t
  join private.queue_line(p_clinic, v_today) l on l.ticket_id = t.id
  where t.clinic_id = p_clinic and t.service_date = v_today and t.status = 'waiting'
    and (v_doctor is null or t.doctor_id is null or t.doctor_id = v_doctor)
  order by l.rank
  limit 1
  for update of t skip locked;
  if not found then
    return;
  end if;
  if v_ticket.status <> 'waiting' then
    raise exception 'The queue changed; please retry' using errcode = '40001';
  end if;

  update public.queue_tickets t
  set status = 'called', room = p_room, called_at = now(), call_count = t.call_count + 1,
      called_by = auth.uid(), doctor_id = coalesce(t.doctor_id, v_doctor)
  where t.id = v_ticket.id
  returning * into v_ticket;
  perform private.queue_notify_called(v_ticket);
  return next v_ticket;
end
$$;
revoke all on function private.queue_call_next(uuid, text, uuid) from public;

-- Call-next into a room, one patient per room: a room is occupied while a ticket of the day is
-- `called` or `serving` in it (rooms compare by their label, case-insensitively: "1" is
-- "Room 1"). Call-next into an occupied room answers 409 `room_occupied` (details: the occupying
-- ticket's code and status) unless the caller confirms with `p_replace`; then the occupant makes
-- way first:
--   called  → waiting    the patient never came in: back in the line at their place (their due
--                        time is unchanged, so they are usually next), room cleared;
--   serving → completed  the consultation ended without the console being told.
-- A press into an empty queue stays 404 `queue_empty`, occupied or not. Presses for one room
-- are serialized (a transaction-scoped advisory lock), so two of them never both see it free.
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

-- One ticket transition, by staff of the ticket's clinic (the patient may cancel their own):
--   recall    called → called (announced again, room may change); no_show → called within
--             no_show_recall_minutes of being marked
--   start     called → serving        (consultation_start_at)
--   complete  serving → completed     (consultation_end_at)
--   no_show   called → no_show        (no_show_at; the patient's no-show count + 1)
--   cancel    waiting | called → cancelled (cancelled_at; the appointment is cancelled)
--   restore   cancelled | no_show → waiting, today only, by staff: a mis-click at the desk is
--             undone in one step. The ticket goes back to its place (its due time is
--             unchanged), a no-show's count is taken back, the appointment is checked in again
--             (left as it is when its slot was booked by someone else meanwhile).
-- Every change is timestamped here and audited by the table's audit trigger.
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
revoke all on function private.queue_transition(uuid, text, text) from public;

grant execute on function
  private.queue_check_in(uuid),
  private.queue_walk_in(uuid, uuid, uuid, integer),
  private.queue_call_next(uuid, text, uuid),
  private.queue_transition(uuid, text, text),
  private.queue_ticket_info(uuid),
  private.clinic_today(uuid)
  to authenticated, service_role;
grant execute on function private.clinic_today(uuid) to anon;

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------------------

alter table public.queue_tickets enable row level security;
alter table public.queue_tickets force row level security;
create policy tickets_patient_read on public.queue_tickets for select to authenticated
  using (patient_id in (select private.my_patient_ids()));
create policy tickets_staff on public.queue_tickets for all to authenticated
  using (clinic_id in (select private.staff_clinic_ids()))
  with check (clinic_id in (select private.staff_clinic_ids()));

alter table public.queue_board enable row level security;
alter table public.queue_board force row level security;
create policy board_members_read on public.queue_board for select to authenticated
  using (clinic_id in (select private.member_clinic_ids()));
create policy board_token_read on public.queue_board for select to anon
  using (clinic_id = (select private.board_clinic_id()));

alter table public.queue_board_versions enable row level security;
alter table public.queue_board_versions force row level security;
create policy board_versions_members_read on public.queue_board_versions for select
  to authenticated
  using (clinic_id in (select private.member_clinic_ids()));
create policy board_versions_token_read on public.queue_board_versions for select to anon
  using (clinic_id = (select private.board_clinic_id()));

-- Nothing but what follows: a target's default privileges (Supabase grants everything in
-- public to anon, authenticated and service_role) are taken back first, table by table.
revoke all on public.queue_tickets, public.queue_board, public.queue_board_versions
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.queue_tickets, public.queue_board,
  public.queue_board_versions to authenticated, service_role;
-- Clients never write the board: its trigger does (private.refresh_board).
revoke insert, update, delete on public.queue_board, public.queue_board_versions
  from authenticated;
-- anon: a clinic's board, with a board token (policies board_token_read and
-- board_versions_token_read).
grant select on public.queue_board, public.queue_board_versions to anon;

-- ---------------------------------------------------------------------------------------
-- Answers: what the queue's routes return
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

-- The commands: the rules are private.queue_* (above); these run one as the caller and answer
-- its ticket.
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

-- Call-next in the clinic of `p_code`; 404 queue_empty when nobody is waiting for the room,
-- 409 room_occupied unless `p_replace` (private.queue_call_to_room).
create or replace function api.queue_call_next(
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

-- A walk-in: for a patient of the clinic (`p_patient`), or a new patient registered in the
-- same transaction (`p_new_patient`: full_name, date_of_birth, gender, phone), or nobody. A new
-- patient who likely duplicates a registered one (private.patient_duplicates) is refused with
-- 409 possible_duplicate (details: the candidates, masked) unless `p_confirm_new`.
create or replace function api.queue_walk_in(
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
-- statement, one snapshot: the rows and the version line up. A branch name is public (the
-- clinic list shows it to anyone), so the board may show it: clinics of one practice share a
-- name.
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

revoke all on function api.queue_check_in(uuid), api.queue_call_next(text, text, uuid, boolean),
  api.queue_walk_in(text, uuid, jsonb, uuid, integer, boolean),
  api.queue_transition(uuid, text, text),
  api.queue_board(text), api.queue_tickets(text, public.ticket_status), api.my_queue(text)
  from public;
grant execute on function api.queue_check_in(uuid), api.queue_call_next(text, text, uuid, boolean),
  api.queue_walk_in(text, uuid, jsonb, uuid, integer, boolean),
  api.queue_transition(uuid, text, text),
  api.queue_board(text), api.queue_tickets(text, public.ticket_status), api.my_queue(text)
  to authenticated;
grant execute on function api.queue_board(text) to anon;
