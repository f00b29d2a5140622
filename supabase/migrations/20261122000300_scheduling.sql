-- Scheduling: doctor schedules, appointments (holds included), idempotency records.

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
-- cannot depend on any session's time zone, unlike seed 000's constraint). A slot hold is an
-- appointment row in status `held` with `hold_expires_at` (seed 004); the same exclusion
-- constraint covers holds and bookings, so no two can ever overlap for one doctor.
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
      new.service_date := null; -- no such clinic (as before: a NOT NULL violation)
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

create trigger defaults before insert or update of period, status, clinic_id on public.appointments
  for each row execute function private.appointment_defaults();
create trigger touch before update on public.appointments
  for each row execute function private.touch_updated_at();
create trigger touch before update on public.doctor_schedules
  for each row execute function private.touch_updated_at();

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

-- Does one of the caller's doctor identities treat this patient (an appointment between
-- them, past or future)?
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

-- Idempotency-Key records (IETF httpapi draft): per caller, kept at least 24 hours.
create table public.idempotency_keys (
  user_id uuid not null references public.users (id) on delete cascade,
  key text not null check (length(key) between 1 and 255),
  endpoint text not null,
  request_hash text not null,
  response_status integer not null,
  response_body jsonb not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '24 hours',
  primary key (user_id, endpoint, key),
  check (expires_at >= created_at + interval '24 hours')
);

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
-- and stops at the first true arm, so a patient's booking never runs the staff helper (with
-- one permissive policy per role, it ran all of them: 3 extra helper calls per booking).
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

alter table public.idempotency_keys enable row level security;
alter table public.idempotency_keys force row level security;
create policy idempotency_own on public.idempotency_keys for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
