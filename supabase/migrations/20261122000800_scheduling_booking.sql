-- Scheduling and booking: doctors' weekly schedules, appointments (slot holds included) with
-- everything that follows from a change of one (its number, the patient's notification, the
-- outbound webhook event, the audit trail), visit reminders, availability, holds, idempotent
-- booking, cancel and reschedule, appointment lists.
--
-- Availability is computed from the doctor's weekly hours in the clinic's local time: each
-- work period is turned into absolute instants for that date in the clinic's zone, and slots
-- are stepped in absolute minutes (slot length + buffer) from the period's start. On a
-- spring-forward day a 00:00–04:00 shift therefore has 3 hours of slots; on a fall-back day
-- it has 5 (the repeated local hour appears twice, with different UTC offsets). A period
-- starting inside a DST gap begins at the equivalent standard-time instant (PostgreSQL's rule).
--
-- Booking is SECURITY INVOKER: RLS decides who may insert or update which appointment. The
-- few helpers that must see every appointment of a doctor (is the slot free? how loaded is
-- the day?) are SECURITY DEFINER and answer only yes/no or a count.

create table public.doctor_schedules (
  doctor_id uuid primary key,
  clinic_id uuid not null,
  slot_minutes integer not null default 15 check (slot_minutes between 5 and 240),
  buffer_minutes integer not null default 0 check (buffer_minutes between 0 and 120),
  max_per_day integer check (max_per_day > 0),
  advance_days integer not null default 30 check (advance_days between 0 and 365),
  min_notice_minutes integer not null default 60 check (min_notice_minutes >= 0),
  updated_at timestamptz not null default now(),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id) on delete cascade
);

-- Weekly hours in the clinic's local time: `work` periods, minus `break` periods.
create table public.doctor_schedule_hours (
  id uuid primary key default gen_random_uuid(),
  doctor_id uuid not null,
  clinic_id uuid not null,
  weekday smallint not null check (weekday between 0 and 6), -- 0 = Sunday, as extract(dow)
  kind text not null default 'work' check (kind in ('work', 'break')),
  starts time not null,
  ends time not null,
  check (starts < ends),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id) on delete cascade
);
create index doctor_schedule_hours_doctor on public.doctor_schedule_hours (doctor_id, weekday);

create table public.doctor_blocked_dates (
  id uuid primary key default gen_random_uuid(),
  doctor_id uuid not null,
  clinic_id uuid not null,
  day date not null,
  reason text,
  unique (doctor_id, day),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id) on delete cascade
);

create type public.appointment_status as enum (
  'held', 'scheduled', 'confirmed', 'checked_in', 'in_progress', 'completed', 'cancelled',
  'no_show', 'rescheduled'
);
create type public.payment_status as enum (
  'unpaid', 'pending', 'paid', 'partially_refunded', 'refunded', 'failed', 'cancelled'
);

-- An appointment occupies `period` (a tstzrange: absolute instants, so the no-overlap rule
-- cannot depend on any session's time zone). A slot hold is an appointment row in status
-- `held` with `hold_expires_at`; the same exclusion constraint covers holds and bookings, so
-- no two can ever overlap for one doctor.
create table public.appointments (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  doctor_id uuid not null,
  period tstzrange not null,
  service_date date not null, -- the clinic-local day of lower(period), set by trigger
  appointment_number text,
  status public.appointment_status not null default 'scheduled',
  hold_expires_at timestamptz,
  appointment_type text not null default 'consultation',
  visit_reason text check (length(visit_reason) <= 1000),
  internal_notes text,
  source text not null default 'web',
  payment_status public.payment_status not null default 'unpaid',
  booked_by uuid references public.users (id) on delete set null,
  cancelled_by uuid references public.users (id) on delete set null,
  cancelled_at timestamptz,
  cancellation_reason text,
  rescheduled_from uuid references public.appointments (id) on delete set null,
  checked_in_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, clinic_id),
  unique (clinic_id, appointment_number),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id),
  constraint appointments_period_valid check (
    not isempty(period) and lower(period) is not null and upper(period) is not null
    and lower_inc(period) and not upper_inc(period)
    and upper(period) - lower(period) <= interval '8 hours'
  ),
  constraint appointments_hold_expiry check ((status = 'held') = (hold_expires_at is not null)),
  constraint appointments_numbered check (status = 'held' or appointment_number is not null),
  constraint appointments_no_overlap exclude using gist (doctor_id with =, period with &&)
    where (status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress'))
);
create index appointments_clinic_day on public.appointments (clinic_id, service_date);
create index appointments_patient on public.appointments (patient_id, service_date);
create index appointments_holds on public.appointments (hold_expires_at) where status = 'held';
-- The daily cap's count (private.day_load, private.booking_slot).
create index appointments_doctor_day on public.appointments (doctor_id, service_date);

-- ---------------------------------------------------------------------------------------
-- What follows from a change of an appointment
-- ---------------------------------------------------------------------------------------

-- Sets the clinic-local service date and, when an appointment stops being a hold, its
-- human-readable number `<CLINIC>-<YYMMDD>-<NNN>` from the per-day counter (never COUNT+1):
-- at least three digits and never cut (lpad would truncate the 1,000th of a day back to
-- "…-100"). One statement reads the clinic's zone and code and upserts the day's counter.
create or replace function private.appointment_defaults() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_code text;
  v_n integer;
  v_tz text;
begin
  if new.status <> 'held' and new.appointment_number is null then
    -- The local date, the clinic's code and the next number of that clinic day.
    insert into private.day_counters as d (clinic_id, day, kind, value)
    select c.id, (lower(new.period) at time zone c.timezone)::date, 'appointment', 1
    from public.clinics c where c.id = new.clinic_id
    on conflict (clinic_id, day, kind) do update set value = d.value + 1
    returning d.day, d.value, (select c.code from public.clinics c where c.id = d.clinic_id)
    into new.service_date, v_n, v_code;
    if v_n is null then
      new.service_date := null; -- no such clinic: the row fails its NOT NULL check
    else
      new.appointment_number := format('%s-%s-%s', v_code, to_char(new.service_date, 'YYMMDD'),
        lpad(v_n::text, greatest(3, length(v_n::text)), '0'));
    end if;
  else
    select c.timezone into v_tz from public.clinics c where c.id = new.clinic_id;
    new.service_date := (lower(new.period) at time zone v_tz)::date;
  end if;
  if new.status <> 'held' then
    new.hold_expires_at := null;
  end if;
  return new;
end
$$;
revoke all on function private.appointment_defaults() from public;

-- Booking notifications, written in the transaction that changes the appointment.
--   confirmed:   inserted as scheduled/confirmed, or a hold turned into a booking
--   rescheduled: a booking's time or doctor moved, or a new booking that `rescheduled_from`
--                another (the old row's status 'rescheduled' then says nothing itself)
--   cancelled:   a booking (not a hold) became cancelled
-- Reads the clinic and the doctor once, in one query.
create or replace function private.appointment_notify() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_kind text;
  v_tz text;
  v_when text;
  v_place text;
  v_title text;
  v_body text;
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
  if v_kind is null then
    return null;
  end if;

  select c.timezone,
    format('with %s at %s', d.display_name, c.name || coalesce(' (' || c.branch_name || ')', ''))
  into v_tz, v_place
  from public.clinics c, public.doctors d
  where c.id = new.clinic_id and d.id = new.doctor_id;
  v_when := private.local_datetime(lower(new.period), v_tz);
  case v_kind
    when 'booking_confirmed' then
      v_title := 'Appointment confirmed';
      v_body := format('Your appointment %s is confirmed for %s (clinic time). Ref %s.',
        v_place, v_when, new.appointment_number);
    when 'booking_rescheduled' then
      v_title := 'Appointment rescheduled';
      v_body := format('Your appointment %s has been moved to %s (clinic time). Ref %s.',
        v_place, v_when, new.appointment_number);
    else
      v_title := 'Appointment cancelled';
      v_body := format('Your appointment %s on %s (clinic time) has been cancelled. Ref %s.',
        v_place, v_when, new.appointment_number);
  end case;
  perform private.notify(new.clinic_id, new.patient_id, v_kind, v_title, v_body,
    jsonb_build_object('appointment_id', new.id, 'start', lower(new.period),
      'local_time', v_when, 'timezone', v_tz));
  return null;
end
$$;
revoke all on function private.appointment_notify() from public;

-- Outbound webhook events. Thin payloads: ids, statuses and times; never names, reasons or
-- clinical details. Asks first whether the clinic has a subscribed endpoint (most have none)
-- before building the payload; private.webhook_emit still decides.
create or replace function private.appointment_webhook_event() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  if new.status = 'held' then
    return null;
  end if;
  if tg_op = 'INSERT' or old.status = 'held' then
    v_type := case
      when new.status = 'cancelled' then null -- a hold given up
      when new.rescheduled_from is not null then 'appointment.rescheduled'
      else 'appointment.created' end;
  elsif new.status = 'cancelled' and old.status <> 'cancelled' then
    v_type := 'appointment.cancelled';
  elsif new.status = 'rescheduled' then
    v_type := null; -- the replacement appointment carries appointment.rescheduled
  elsif new.period is distinct from old.period then
    v_type := 'appointment.rescheduled';
  elsif new.status is distinct from old.status then
    v_type := 'appointment.status_changed';
  end if;
  if v_type is null then
    return null;
  end if;
  -- Nobody subscribed: no payload to build.
  if not exists (
    select 1 from public.webhook_endpoints e
    where e.clinic_id = new.clinic_id and e.enabled
      and (v_type = any (e.events) or '*' = any (e.events))
  ) then
    return null;
  end if;
  perform private.webhook_emit(new.clinic_id, v_type, jsonb_build_object(
    'appointment_id', new.id,
    'appointment_number', new.appointment_number,
    'status', new.status,
    'previous_status', case when tg_op = 'UPDATE' then old.status end,
    'doctor_id', new.doctor_id,
    'patient_id', new.patient_id,
    'start', lower(new.period),
    'end', upper(new.period),
    'previous_start', case when tg_op = 'UPDATE' and new.period is distinct from old.period
      then lower(old.period) end,
    'rescheduled_from', new.rescheduled_from,
    'payment_status', new.payment_status
  ));
  return null;
end
$$;
revoke all on function private.appointment_webhook_event() from public;

-- Triggers fire in name order: `defaults`, `guard` and `touch` before the row is written,
-- then `audit`, `notify` and the webhook events after it.
create trigger defaults before insert or update of period, status, clinic_id on public.appointments
  for each row execute function private.appointment_defaults();
create trigger touch before update on public.appointments
  for each row execute function private.touch_updated_at();
create trigger guard before update on public.appointments
  for each row execute function private.guard_self_update(
    '{period,doctor_id,visit_reason,status,hold_expires_at,service_date,appointment_number,cancelled_at,cancelled_by,cancellation_reason,rescheduled_from,updated_at}'
  );
create trigger notify after insert or update of status, period, doctor_id on public.appointments
  for each row execute function private.appointment_notify();
create trigger webhook_event_insert after insert on public.appointments
  for each row when (new.status <> 'held')
  execute function private.appointment_webhook_event();
create trigger webhook_event_update after update of status, period on public.appointments
  for each row when (old.status is distinct from new.status or old.period is distinct from new.period)
  execute function private.appointment_webhook_event();
create trigger audit after insert or update or delete on public.appointments
  for each row execute function audit.log_change();

create trigger touch before update on public.doctor_schedules
  for each row execute function private.touch_updated_at();
create trigger audit after insert or update or delete on public.doctor_schedules
  for each row execute function audit.log_change();
create trigger audit after insert or update or delete on public.doctor_schedule_hours
  for each row execute function audit.log_change();
create trigger audit after insert or update or delete on public.doctor_blocked_dates
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------------------

-- Does one of the caller's doctor identities treat this patient (an appointment between
-- them, past or future)? Decides which clinical rows a doctor reads.
create or replace function private.treats_patient(p_patient uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.appointments a
      where a.patient_id = p_patient
        and a.doctor_id in (select private.my_doctor_ids())
        and a.status <> 'held'
    )
  $$;

alter table public.doctor_schedules enable row level security;
alter table public.doctor_schedules force row level security;
create policy schedules_read on public.doctor_schedules for select to authenticated
  using (clinic_id in (select private.member_clinic_ids()));
create policy schedules_write on public.doctor_schedules for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids())
    or doctor_id in (select private.my_doctor_ids()))
  with check (clinic_id in (select private.admin_clinic_ids())
    or doctor_id in (select private.my_doctor_ids()));

alter table public.doctor_schedule_hours enable row level security;
alter table public.doctor_schedule_hours force row level security;
create policy schedule_hours_read on public.doctor_schedule_hours for select to authenticated
  using (clinic_id in (select private.member_clinic_ids()));
create policy schedule_hours_write on public.doctor_schedule_hours for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids())
    or doctor_id in (select private.my_doctor_ids()))
  with check (clinic_id in (select private.admin_clinic_ids())
    or doctor_id in (select private.my_doctor_ids()));

alter table public.doctor_blocked_dates enable row level security;
alter table public.doctor_blocked_dates force row level security;
create policy blocked_read on public.doctor_blocked_dates for select to authenticated
  using (clinic_id in (select private.member_clinic_ids()));
create policy blocked_write on public.doctor_blocked_dates for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids())
    or doctor_id in (select private.my_doctor_ids()))
  with check (clinic_id in (select private.admin_clinic_ids())
    or doctor_id in (select private.my_doctor_ids()));

alter table public.appointments enable row level security;
alter table public.appointments force row level security;
-- One policy per command, the patient's arm first: PostgreSQL evaluates an OR left to right
-- and stops at the first true arm, so a patient's booking never runs the staff helper
-- (separate permissive policies per role would each run their helpers on every row).
create policy appointments_read on public.appointments for select to authenticated
  using (patient_id in (select private.my_patient_ids())
    or clinic_id in (select private.staff_clinic_ids()));
create policy appointments_insert on public.appointments for insert to authenticated
  with check ((patient_id in (select private.my_patient_ids())
      and clinic_id in (select private.member_clinic_ids()))
    or clinic_id in (select private.staff_clinic_ids()));
-- Patients may move their own appointments only between these states.
create policy appointments_update on public.appointments for update to authenticated
  using (patient_id in (select private.my_patient_ids())
    or clinic_id in (select private.staff_clinic_ids()))
  with check ((patient_id in (select private.my_patient_ids())
      and status in ('held', 'scheduled', 'confirmed', 'cancelled', 'rescheduled'))
    or clinic_id in (select private.staff_clinic_ids()));
-- Patients delete only their own holds (releasing one); staff anything of their clinic.
create policy appointments_delete on public.appointments for delete to authenticated
  using ((patient_id in (select private.my_patient_ids()) and status = 'held')
    or clinic_id in (select private.staff_clinic_ids()));

-- Nothing but what follows: a target's default privileges (Supabase grants everything in
-- public to anon, authenticated and service_role) are taken back first, table by table.
revoke all on public.doctor_schedules, public.doctor_schedule_hours, public.doctor_blocked_dates,
  public.appointments
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.doctor_schedules, public.doctor_schedule_hours,
  public.doctor_blocked_dates, public.appointments to authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Reminders
-- ---------------------------------------------------------------------------------------

-- Reminders before a visit, at the lead times of clinics.settings
-- {"notifications": {"reminder_minutes_before": [1440, 120]}} (the default). Nothing is written
-- per booking: the recurring `appointment.reminders` job (every minute) calls
-- private.send_due_reminders, which finds the visits whose reminder has come due and tells their
-- patients. A reminder is sent once per visit, start and lead time (this table's key), so a
-- moved visit is reminded of its new time and a cancelled one of nothing; a reminder that came
-- due before the visit was booked or last changed is not sent (no "tomorrow" reminder for a
-- visit booked three hours ahead); one that came due while no worker ran is sent late, as long
-- as the visit is still ahead.
create table private.appointment_reminders (
  appointment_id uuid not null references public.appointments (id) on delete cascade,
  starts_at timestamptz not null, -- the start the patient was reminded of
  lead_minutes integer not null,
  notification_id uuid references public.notifications (id) on delete set null,
  sent_at timestamptz not null default now(),
  primary key (appointment_id, starts_at, lead_minutes)
);
alter table private.appointment_reminders enable row level security;
alter table private.appointment_reminders force row level security;

-- A clinic's reminder lead times in minutes (positive whole numbers), or the default.
create or replace function private.reminder_leads(p_settings jsonb) returns integer[]
  language sql immutable
  set search_path = ''
  as $$
    select case when jsonb_typeof(s.leads) = 'array' then coalesce(
      (select array_agg(distinct (e.value #>> '{}')::numeric::integer)
       from jsonb_array_elements(s.leads) e
       where jsonb_typeof(e.value) = 'number' and (e.value #>> '{}')::numeric >= 1),
      '{}') else '{1440,120}' end
    from (select p_settings #> '{notifications,reminder_minutes_before}' as leads) s
  $$;

-- "with Dr Tan Wei Ming at Gabriel Family Clinic (Tampines)". PL/pgSQL: PostgreSQL parses and
-- plans a SECURITY DEFINER SQL function on every call (it cannot inline it); PL/pgSQL caches
-- its plans per session.
create or replace function private.appointment_place(p_appointment public.appointments)
  returns text
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (
    select format('with %s at %s', d.display_name,
      c.name || coalesce(' (' || c.branch_name || ')', ''))
    from public.doctors d, public.clinics c
    where d.id = p_appointment.doctor_id and c.id = p_appointment.clinic_id);
end
$$;
revoke all on function private.appointment_place(public.appointments) from public;

-- Sends every reminder due at `p_now` (at most `p_limit`, earliest visits first) and returns
-- how many it sent. Safe to run concurrently: the reminder's row is claimed before the
-- notification is written, in the same transaction.
create or replace function private.send_due_reminders(
  p_now timestamptz default now(),
  p_limit integer default 1000
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_due record;
  v_when text;
  v_notification uuid;
  v_count integer := 0;
begin
  for v_due in
    select a as appt, c.timezone as tz, l.lead
    from public.clinics c
    cross join lateral unnest(private.reminder_leads(c.settings)) as l(lead)
    join public.appointments a
      on a.clinic_id = c.id
      and a.service_date between (p_now at time zone c.timezone)::date
        and ((p_now + make_interval(mins => l.lead)) at time zone c.timezone)::date
      and a.status in ('scheduled', 'confirmed')
      and lower(a.period) > p_now
      and lower(a.period) - make_interval(mins => l.lead) <= p_now
      and lower(a.period) - make_interval(mins => l.lead) > a.updated_at
    where c.deleted_at is null
      and not exists (
        select 1 from private.appointment_reminders r
        where r.appointment_id = a.id and r.starts_at = lower(a.period)
          and r.lead_minutes = l.lead)
    order by lower(a.period), l.lead desc
    limit p_limit
  loop
    insert into private.appointment_reminders (appointment_id, starts_at, lead_minutes)
    values ((v_due.appt).id, lower((v_due.appt).period), v_due.lead)
    on conflict do nothing;
    continue when not found; -- another sweep sent it
    v_when := private.local_datetime(lower((v_due.appt).period), v_due.tz);
    v_notification := private.notify((v_due.appt).clinic_id, (v_due.appt).patient_id,
      'appointment_reminder', 'Appointment reminder',
      format('Reminder: your appointment %s is on %s (clinic time). Ref %s.',
        private.appointment_place(v_due.appt), v_when, (v_due.appt).appointment_number),
      jsonb_build_object('appointment_id', (v_due.appt).id, 'start', lower((v_due.appt).period),
        'local_time', v_when, 'timezone', v_due.tz, 'lead_minutes', v_due.lead));
    update private.appointment_reminders set notification_id = v_notification
    where appointment_id = (v_due.appt).id and starts_at = lower((v_due.appt).period)
      and lead_minutes = v_due.lead;
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
revoke all on function private.send_due_reminders(timestamptz, integer) from public;

-- ---------------------------------------------------------------------------------------
-- Schedule arithmetic (SECURITY DEFINER: schedules are readable by members only, but
-- availability is public)
-- ---------------------------------------------------------------------------------------

-- Every slot of the doctor's schedule on local date `p_day`: work periods minus breaks, on a
-- grid of slot_minutes + buffer_minutes from each period's start; none on a blocked date.
create or replace function private.doctor_day_slots(p_doctor uuid, p_day date)
  returns table (starts timestamptz, ends timestamptz)
  language sql stable
  security definer
  set search_path = ''
  as $$
    with s as (
      select ds.slot_minutes, ds.buffer_minutes, c.timezone as tz
      from public.doctor_schedules ds
      join public.doctors d on d.id = ds.doctor_id
      join public.clinics c on c.id = d.clinic_id
      where ds.doctor_id = p_doctor and d.is_active and d.deleted_at is null
        and not exists (select 1 from public.doctor_blocked_dates b
                        where b.doctor_id = p_doctor and b.day = p_day)
    ),
    periods as (
      select h.kind,
        (p_day + h.starts) at time zone s.tz as lo,
        (p_day + h.ends) at time zone s.tz as hi
      from public.doctor_schedule_hours h, s
      where h.doctor_id = p_doctor and h.weekday = extract(dow from p_day)::smallint
    ),
    grid as (
      select distinct g.g as starts, g.g + make_interval(mins => s.slot_minutes) as ends
      from s, periods w,
        generate_series(w.lo, w.hi - make_interval(mins => s.slot_minutes),
          make_interval(mins => s.slot_minutes + s.buffer_minutes)) as g (g)
      where w.kind = 'work'
    )
    select g.starts, g.ends from grid g
    where not exists (
      select 1 from periods b
      where b.kind = 'break' and tstzrange(b.lo, b.hi) && tstzrange(g.starts, g.ends)
    )
    order by g.starts
  $$;

-- Appointments that count against the doctor's daily cap on local date `p_day`.
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

-- Removes expired holds overlapping `p_range`, then: is the range free for this doctor?
create or replace function private.free_for(p_doctor uuid, p_range tstzrange) returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  delete from public.appointments
  where doctor_id = p_doctor and status = 'held' and hold_expires_at <= now()
    and period && p_range;
  return not exists (
    select 1 from public.appointments a
    where a.doctor_id = p_doctor and a.period && p_range
      and a.status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress')
  );
end
$$;

-- Is `p_start` a bookable slot of the doctor right now (schedule, notice, advance window,
-- daily cap)? Returns the slot's end or raises. With a daily cap, takes a per-doctor-day
-- lock so concurrent bookings cannot overshoot it. Tests the one start against the schedule
-- arithmetically (the grid rule of private.doctor_day_slots) instead of generating the day.
create or replace function private.check_slot(p_doctor uuid, p_start timestamptz)
  returns timestamptz
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_s public.doctor_schedules;
  v_tz text;
  v_day date;
  v_dow smallint;
  v_slot interval;
  v_step integer;
  v_end timestamptz;
begin
  select * into v_s from public.doctor_schedules where doctor_id = p_doctor;
  if not found then
    perform private.raise_api(422, 'outside_schedule', 'The doctor takes no appointments');
  end if;
  select c.timezone into v_tz from public.clinics c where c.id = v_s.clinic_id;
  v_day := (p_start at time zone v_tz)::date;
  if p_start < now() + make_interval(mins => v_s.min_notice_minutes) then
    perform private.raise_api(422, 'too_soon',
      format('Appointments need %s minutes notice', v_s.min_notice_minutes));
  end if;
  if v_day > (now() at time zone v_tz)::date + v_s.advance_days then
    perform private.raise_api(422, 'too_far_ahead',
      format('Appointments can be booked up to %s days ahead', v_s.advance_days));
  end if;
  v_dow := extract(dow from v_day)::smallint;
  v_slot := make_interval(mins => v_s.slot_minutes);
  v_step := (v_s.slot_minutes + v_s.buffer_minutes) * 60;
  v_end := p_start + v_slot;
  if exists (select 1 from public.doctor_blocked_dates b
             where b.doctor_id = p_doctor and b.day = v_day)
     or not exists (
       select 1 from public.doctor_schedule_hours w
       where w.doctor_id = p_doctor and w.weekday = v_dow and w.kind = 'work'
         and p_start >= (v_day + w.starts) at time zone v_tz
         and v_end <= (v_day + w.ends) at time zone v_tz
         and extract(epoch from p_start - ((v_day + w.starts) at time zone v_tz))::bigint
             % v_step = 0)
     or exists (
       select 1 from public.doctor_schedule_hours b
       where b.doctor_id = p_doctor and b.weekday = v_dow and b.kind = 'break'
         and tstzrange((v_day + b.starts) at time zone v_tz, (v_day + b.ends) at time zone v_tz)
             && tstzrange(p_start, v_end)) then
    perform private.raise_api(422, 'outside_schedule',
      'That time is not one of the doctor''s slots');
  end if;
  if v_s.max_per_day is not null then
    perform pg_advisory_xact_lock(hashtext(p_doctor::text), v_day - date '2000-01-01');
    if private.day_load(p_doctor, v_day) >= v_s.max_per_day then
      perform private.raise_api(409, 'slot_unavailable', 'The doctor is fully booked that day');
    end if;
  end if;
  return v_end;
end
$$;

-- Removes expired holds that overlap `p_period` for a doctor, so a new hold or booking can take
-- the slot. SECURITY DEFINER: the caller cannot see other patients' holds.
create or replace function private.release_expired_holds(p_doctor uuid, p_period tstzrange)
  returns integer
  language sql
  security definer
  set search_path = ''
  as $$
    with gone as (
      delete from public.appointments
      where doctor_id = p_doctor and status = 'held' and hold_expires_at <= now()
        and period && p_period
      returning 1
    )
    select count(*)::integer from gone
  $$;
revoke all on function private.release_expired_holds(uuid, tstzrange) from public;
grant execute on function private.release_expired_holds(uuid, tstzrange) to authenticated, service_role;

-- An appointment as the API shows it, from the row and what the caller already knows about
-- its clinic and doctor (inlinable: no SET clause). The branch is looked up by primary key here
-- rather than passed in, so that callers need not know it.
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
revoke all on function private.appointment_json_of(public.appointments, text, text, text, text)
  from public;
grant execute on function private.appointment_json_of(public.appointments, text, text, text, text)
  to authenticated, service_role;

-- An appointment as the API shows it (times in the clinic's zone, with offset): the clinic and
-- doctor looked up, then private.appointment_json_of, so both give the same document; plus
-- `check_in_opens_at` (private.check_in_opens_at) while it can still be checked in.
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

revoke all on function private.doctor_day_slots(uuid, date), private.day_load(uuid, date),
  private.free_for(uuid, tstzrange), private.check_slot(uuid, timestamptz),
  private.appointment_json(public.appointments) from public;
grant execute on function private.doctor_day_slots(uuid, date), private.day_load(uuid, date),
  private.free_for(uuid, tstzrange), private.check_slot(uuid, timestamptz),
  private.appointment_json(public.appointments) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Public clinic information and availability
-- ---------------------------------------------------------------------------------------

-- Clinic and its active doctors (invoker: anon sees exactly its granted columns).
create or replace function api.clinic_info(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_result jsonb;
begin
  select jsonb_build_object(
    'clinic', jsonb_build_object('id', c.id, 'code', c.code, 'name', c.name,
      'branch_name', c.branch_name, 'timezone', c.timezone, 'address', c.address,
      'postal_code', c.postal_code, 'phone', c.phone, 'email', c.email, 'website', c.website),
    'doctors', coalesce((
      select jsonb_agg(jsonb_build_object('id', d.id, 'display_name', d.display_name,
        'specializations', d.specializations, 'languages', d.languages, 'bio', d.bio,
        'consultation_fee', d.consultation_fee) order by d.display_name)
      from public.doctors d where d.clinic_id = c.id), '[]'::jsonb))
  into v_result
  from public.clinics c where c.code = upper(p_code);
  if v_result is null then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  return v_result;
end
$$;

-- Free slots of a clinic's doctors on a local date: schedule slots, within the advance
-- window and minimum notice, below the daily cap, minus appointments and live holds.
create or replace function api.available_slots(p_code text, p_day date, p_doctor uuid default null)
  returns jsonb
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_today date;
  v_slots jsonb;
begin
  select * into v_clinic from public.clinics
  where code = upper(p_code) and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if p_doctor is not null and not exists (
    select 1 from public.doctors d
    where d.id = p_doctor and d.clinic_id = v_clinic.id and d.is_active and d.deleted_at is null
  ) then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;
  v_today := (now() at time zone v_clinic.timezone)::date;

  with docs as (
    select d.id, d.display_name, ds.min_notice_minutes, ds.slot_minutes
    from public.doctors d
    join public.doctor_schedules ds on ds.doctor_id = d.id
    where d.clinic_id = v_clinic.id and d.is_active and d.deleted_at is null
      and (p_doctor is null or d.id = p_doctor)
      and p_day >= v_today and p_day <= v_today + ds.advance_days
      and (ds.max_per_day is null or private.day_load(d.id, p_day) < ds.max_per_day)
  ),
  slots as (
    select o.id as doctor_id, o.display_name, o.slot_minutes, s.starts, s.ends
    from docs o
    cross join lateral private.doctor_day_slots(o.id, p_day) s
    where s.starts >= now() + make_interval(mins => o.min_notice_minutes)
  )
  select coalesce(jsonb_agg(jsonb_build_object(
      'doctor_id', s.doctor_id,
      'doctor_name', s.display_name,
      'start', private.iso_in_zone(s.starts, v_clinic.timezone),
      'end', private.iso_in_zone(s.ends, v_clinic.timezone),
      'local_time', to_char(s.starts at time zone v_clinic.timezone, 'HH24:MI'),
      'duration_minutes', s.slot_minutes
    ) order by s.starts, s.display_name), '[]'::jsonb)
  into v_slots
  from slots s
  where not exists (
    select 1 from public.appointments a
    where a.doctor_id = s.doctor_id and a.period && tstzrange(s.starts, s.ends)
      and a.status in ('held', 'scheduled', 'confirmed', 'checked_in', 'in_progress')
      and (a.status <> 'held' or a.hold_expires_at > now())
  );

  return jsonb_build_object('clinic_code', v_clinic.code, 'date', p_day,
    'timezone', v_clinic.timezone, 'slots', v_slots);
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

-- ---------------------------------------------------------------------------------------
-- Holds and bookings (SECURITY INVOKER: RLS applies)
-- ---------------------------------------------------------------------------------------

create type private.booking_target as (
  clinic_id uuid,
  clinic_code text,
  timezone text,
  patient_id uuid,
  doctor_id uuid,
  starts timestamptz
);

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

create type private.booking_slot as (
  clinic_id uuid,
  clinic_code text,
  clinic_name text,
  timezone text,
  patient_id uuid,
  doctor_id uuid,
  doctor_name text,
  starts timestamptz,
  ends timestamptz
);

-- Who books for whom, with whom, when — and is that slot bookable and free right now?
-- private.booking_target + private.check_slot + private.free_for in one pass: the same rules,
-- checked in the same order, raising the same errors, in three statements (one query for who,
-- with whom and when; the daily count under the per-doctor-day lock; one overlap query, and the
-- expired-hold cleanup only when there is an expired hold), because each PL/pgSQL statement
-- pays executor start-up and shutdown, most of the cost of these checks. Takes the
-- per-doctor-day lock when the doctor has a daily cap (as check_slot does) and clears expired
-- holds in the way (as free_for does). The appointment INSERT stays SECURITY INVOKER, so RLS
-- still has the last word.
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

-- The booking itself (no idempotency): converts the caller's live hold, or takes a free slot.
-- Only a live hold converts: an expired one nobody has taken yet is cleared and the slot is
-- booked through the normal path, with the schedule checks (notice, daily cap).
create or replace function private.book(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_hold_id uuid := (p_request ->> 'hold_id')::uuid;
  v_t private.booking_target;
  v_s private.booking_slot;
  v_row public.appointments;
begin
  if v_hold_id is not null then
    v_t := private.booking_target(p_request);
    select * into v_row from public.appointments
    where id = v_hold_id and status = 'held' and hold_expires_at > now() for update;
    if found then
      if v_row.patient_id <> v_t.patient_id or v_row.doctor_id <> v_t.doctor_id
         or lower(v_row.period) <> v_t.starts then
        perform private.raise_api(422, 'hold_mismatch',
          'The hold is for another patient, doctor or time');
      end if;
      update public.appointments
      set status = 'scheduled', visit_reason = p_request ->> 'visit_reason'
      where id = v_hold_id
      returning * into v_row;
      return private.appointment_json(v_row);
    end if;
    -- No live hold (expired, released or taken back): book the slot like any other — all
    -- checks again, and the expired hold itself is cleared by private.booking_slot.
  end if;
  v_s := private.booking_slot(p_request);
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    visit_reason, booked_by, source)
  values (v_s.clinic_id, v_s.patient_id, v_s.doctor_id, tstzrange(v_s.starts, v_s.ends),
    'scheduled', p_request ->> 'visit_reason', auth.uid(),
    coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return private.appointment_json_of(v_row, v_s.timezone, v_s.clinic_code, v_s.clinic_name,
    v_s.doctor_name);
end
$$;
revoke all on function private.book(jsonb) from public;
grant execute on function private.book(jsonb) to authenticated, service_role;

-- Holds a slot for five minutes: nobody else can hold or book it meanwhile; the holder books
-- it with `hold_id`. A patient keeps one hold per clinic (a new hold releases the old one).
create or replace function api.hold_slot(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_t private.booking_target := private.booking_target(p_request);
  v_end timestamptz;
  v_row public.appointments;
begin
  delete from public.appointments
  where patient_id = v_t.patient_id and clinic_id = v_t.clinic_id and status = 'held';
  v_end := private.check_slot(v_t.doctor_id, v_t.starts);
  if not private.free_for(v_t.doctor_id, tstzrange(v_t.starts, v_end)) then
    perform private.raise_api(409, 'slot_unavailable', 'That time slot is no longer available');
  end if;
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    hold_expires_at, booked_by, source)
  values (v_t.clinic_id, v_t.patient_id, v_t.doctor_id, tstzrange(v_t.starts, v_end), 'held',
    now() + interval '5 minutes', auth.uid(), coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return jsonb_build_object('hold', jsonb_build_object(
    'id', v_row.id,
    'clinic_code', v_t.clinic_code,
    'doctor_id', v_row.doctor_id,
    'patient_id', v_row.patient_id,
    'start', private.iso_in_zone(lower(v_row.period), v_t.timezone),
    'end', private.iso_in_zone(upper(v_row.period), v_t.timezone),
    'expires_at', v_row.hold_expires_at));
end
$$;

create or replace function api.release_hold(p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  delete from public.appointments where id = p_id and status = 'held';
  if not found then
    perform private.raise_api(404, 'hold_not_found', 'No such hold');
  end if;
end
$$;

-- POST /api/bookings with an Idempotency-Key (IETF httpapi draft), per caller:
--  * the same key while the first request is in flight → 409 idempotency_key_in_use;
--  * the same key and payload after it completed → its original status and body again;
--  * the same key with another payload → 422 idempotency_key_mismatch;
--  * records are kept 24 hours (public.idempotency_keys.expires_at).
-- Business failures (slot taken, forbidden, …) are answers too: they are stored and replayed,
-- and their partial writes are rolled back to the savepoint. Unexpected errors roll back
-- everything, key included, so a retry runs afresh.
-- Returns {"status": <http status>, "body": <json>, "replayed": <bool>}.
create or replace function api.book(p_key text, p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_uid uuid := auth.uid();
  v_endpoint constant text := 'POST /api/bookings';
  v_hash text := encode(sha256(convert_to(p_request::text, 'UTF8')), 'hex');
  v_prior public.idempotency_keys;
  v_status integer;
  v_body jsonb;
  v_state text;
  v_code text;
  v_message text;
  v_hint text;
begin
  if v_uid is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to book');
  end if;
  if not pg_try_advisory_xact_lock(hashtext('idempotency:' || v_uid::text), hashtext(p_key)) then
    perform private.raise_api(409, 'idempotency_key_in_use',
      'A request with this Idempotency-Key is still being processed');
  end if;
  select * into v_prior from public.idempotency_keys
  where user_id = v_uid and endpoint = v_endpoint and key = p_key and expires_at > now();
  if found then
    if v_prior.request_hash <> v_hash then
      perform private.raise_api(422, 'idempotency_key_mismatch',
        'This Idempotency-Key was used with a different request');
    end if;
    return jsonb_build_object('status', v_prior.response_status, 'body', v_prior.response_body,
      'replayed', true);
  end if;

  begin
    v_body := jsonb_build_object('appointment', private.book(p_request));
    v_status := 201;
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_code = message_text,
      v_message = pg_exception_detail, v_hint = pg_exception_hint;
    if v_state = '23P01' then
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
  values (v_uid, p_key, v_endpoint, v_hash, v_status, v_body)
  on conflict (user_id, endpoint, key) do update set
    request_hash = excluded.request_hash, response_status = excluded.response_status,
    response_body = excluded.response_body, created_at = now(),
    expires_at = now() + interval '24 hours';
  return jsonb_build_object('status', v_status, 'body', v_body, 'replayed', false);
end
$$;

-- POST /api/bookings as one statement: the caller's role, claims and request id for this
-- transaction (private.act_as, as edge/db/claims.ts#withClaims sets them), then api.book. One
-- round trip in one implicit transaction: a connection "idle in transaction" waiting for the
-- API's event loop would hold the booking's locks (the doctor-day lock, the day's number
-- counter) and a pool connection. api.book runs as it does in any transaction: SECURITY INVOKER
-- under the caller's role, RLS, idempotency, audit, notifications and outbox together.
-- Not callable by the client roles (it would let them pick a role): only its owner — the role
-- the API connects as — may execute it. Not SECURITY DEFINER: such a function may not change
-- the role.
create or replace function private.book_as(
  p_role text,
  p_claims text,
  p_request_id text,
  p_key text,
  p_request jsonb
) returns jsonb
  language plpgsql
  as $$
begin
  perform private.act_as(p_role, p_claims, p_request_id);
  return api.book(p_key, p_request);
end
$$;
revoke all on function private.book_as(text, text, text, text, jsonb) from public;

-- ---------------------------------------------------------------------------------------
-- Cancel, reschedule, read
-- ---------------------------------------------------------------------------------------

-- Cancels a scheduled or confirmed appointment; the slot is free at once (the no-overlap rule
-- ignores cancelled rows). Audited by the appointments audit trigger.
create or replace function api.cancel_appointment(p_id uuid, p_reason text) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_row public.appointments;
begin
  select * into v_row from public.appointments where id = p_id and status <> 'held' for update;
  if not found then
    perform private.raise_api(404, 'appointment_not_found', 'No such appointment');
  end if;
  if v_row.status not in ('scheduled', 'confirmed') then
    perform private.raise_api(409, 'invalid_state',
      format('A %s appointment cannot be cancelled', v_row.status));
  end if;
  update public.appointments
  set status = 'cancelled', cancelled_at = now(), cancelled_by = auth.uid(),
    cancellation_reason = p_reason
  where id = p_id
  returning * into v_row;
  return jsonb_build_object('appointment', private.appointment_json(v_row));
end
$$;

-- Moves an appointment atomically: the old one becomes 'rescheduled' and a new one (pointing
-- back with rescheduled_from) takes the new slot — both or neither.
create or replace function api.reschedule_appointment(p_id uuid, p_start timestamptz, p_doctor uuid)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_old public.appointments;
  v_new public.appointments;
  v_doctor uuid;
  v_end timestamptz;
begin
  select * into v_old from public.appointments where id = p_id and status <> 'held' for update;
  if not found then
    perform private.raise_api(404, 'appointment_not_found', 'No such appointment');
  end if;
  if v_old.status not in ('scheduled', 'confirmed') then
    perform private.raise_api(409, 'invalid_state',
      format('A %s appointment cannot be rescheduled', v_old.status));
  end if;
  v_doctor := coalesce(p_doctor, v_old.doctor_id);
  if v_doctor = v_old.doctor_id and p_start = lower(v_old.period) then
    perform private.raise_api(422, 'same_slot', 'The appointment is already at that time');
  end if;
  if not exists (select 1 from public.doctors d
                 where d.id = v_doctor and d.clinic_id = v_old.clinic_id
                   and d.is_active and d.deleted_at is null) then
    perform private.raise_api(404, 'doctor_not_found', 'No such doctor at this clinic');
  end if;
  update public.appointments set status = 'rescheduled' where id = p_id returning * into v_old;
  v_end := private.check_slot(v_doctor, p_start);
  if not private.free_for(v_doctor, tstzrange(p_start, v_end)) then
    perform private.raise_api(409, 'slot_unavailable', 'That time slot is no longer available');
  end if;
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    appointment_type, visit_reason, booked_by, source, rescheduled_from)
  values (v_old.clinic_id, v_old.patient_id, v_doctor, tstzrange(p_start, v_end), 'scheduled',
    v_old.appointment_type, v_old.visit_reason, auth.uid(), v_old.source, v_old.id)
  returning * into v_new;
  return jsonb_build_object('appointment', private.appointment_json(v_new),
    'previous', private.appointment_json(v_old));
end
$$;

create or replace function api.get_appointment(p_id uuid) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_row public.appointments;
begin
  select * into v_row from public.appointments where id = p_id and status <> 'held';
  if not found then
    perform private.raise_api(404, 'appointment_not_found', 'No such appointment');
  end if;
  return jsonb_build_object('appointment', private.appointment_json(v_row));
end
$$;

-- The caller's own appointments (as a patient, any clinic): upcoming first-to-last, and the
-- most recent `p_past_limit` past or inactive ones.
create or replace function api.my_appointments(p_past_limit integer default 50) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    with mine as (
      select a, lower(a.period) as starts,
        (a.status in ('scheduled', 'confirmed', 'checked_in', 'in_progress')
         and upper(a.period) > now()) as upcoming
      from public.appointments a
      where a.patient_id in (select private.my_patient_ids()) and a.status <> 'held'
    ),
    past as (
      select * from mine where not upcoming order by starts desc limit p_past_limit
    )
    select jsonb_build_object(
      'upcoming', coalesce((
        select jsonb_agg(private.appointment_json(m.a) order by m.starts)
        from mine m where m.upcoming), '[]'::jsonb),
      'past', coalesce((
        select jsonb_agg(private.appointment_json(p.a) order by p.starts desc)
        from past p), '[]'::jsonb)
    )
  $$;

-- A clinic's appointments on a local date, for its staff (patient name and number included).
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
          'patient_name', p.full_name, 'patient_number', p.patient_number)
        order by lower(a.period), a.appointment_number)
      from public.appointments a
      join public.patients p on p.id = a.patient_id
      where a.clinic_id = v_clinic.id and a.service_date = p_day and a.status <> 'held'),
      '[]'::jsonb));
end
$$;

revoke all on function
  api.clinic_info(text),
  api.available_slots(text, date, uuid),
  api.clinic_days(text, uuid, integer),
  api.hold_slot(jsonb),
  api.release_hold(uuid),
  api.book(text, jsonb),
  api.cancel_appointment(uuid, text),
  api.reschedule_appointment(uuid, timestamptz, uuid),
  api.get_appointment(uuid),
  api.my_appointments(integer),
  api.clinic_appointments(text, date)
  from public;
grant execute on function
  api.clinic_info(text),
  api.available_slots(text, date, uuid),
  api.clinic_days(text, uuid, integer)
  to anon, authenticated, service_role;
grant execute on function
  api.hold_slot(jsonb),
  api.release_hold(uuid),
  api.book(text, jsonb),
  api.cancel_appointment(uuid, text),
  api.reschedule_appointment(uuid, timestamptz, uuid),
  api.get_appointment(uuid),
  api.my_appointments(integer),
  api.clinic_appointments(text, date)
  to authenticated;
