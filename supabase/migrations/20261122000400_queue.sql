-- Queue: per-clinic, per-day tickets and the PII-free board projection a TV may read.

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

-- Waiting-line order: priority first, then booked time (or arrival for walk-ins), then
-- arrival. The call-next policy may refine this; the board shows this order.
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

create trigger board after insert or update or delete on public.queue_tickets
  for each row execute function private.queue_ticket_changed();
create trigger touch before update on public.queue_tickets
  for each row execute function private.touch_updated_at();

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
