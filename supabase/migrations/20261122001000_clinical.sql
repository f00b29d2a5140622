-- Clinical records: medical records, prescriptions, lab and imaging results, vaccinations,
-- telemedicine sessions; and payments, their items and insurance claims.
-- Clinical rows are visible to the patient they belong to, to the clinic's nurses, and to
-- doctors of the clinic who treat the patient (private.treats_patient); clinicians of the
-- clinic write them. Money is read by the patient it concerns and handled by the clinic's staff
-- and admins.

create table public.medical_records (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  doctor_id uuid,
  appointment_id uuid unique,
  record_date date not null default current_date,
  temperature_celsius numeric(4, 2),
  blood_pressure_systolic integer,
  blood_pressure_diastolic integer,
  heart_rate_bpm integer,
  oxygen_saturation_percent integer check (oxygen_saturation_percent between 0 and 100),
  height_cm numeric(5, 2),
  weight_kg numeric(5, 2),
  chief_complaint text,
  history_of_present_illness text,
  physical_examination jsonb not null default '{}',
  primary_diagnosis text,
  primary_diagnosis_code text, -- ICD-10
  secondary_diagnoses jsonb not null default '[]',
  treatment_plan text,
  follow_up_date date,
  follow_up_instructions text,
  mc_start_date date,
  mc_end_date date,
  is_sensitive boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, clinic_id),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id),
  foreign key (appointment_id, clinic_id) references public.appointments (id, clinic_id),
  check (mc_end_date is null or mc_end_date >= mc_start_date)
);

create table public.prescriptions (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  doctor_id uuid not null,
  medical_record_id uuid,
  prescription_date date not null default current_date,
  status text not null default 'active' check (status in ('active', 'dispensed', 'cancelled', 'expired')),
  valid_until date,
  dispensed_at timestamptz,
  doctor_notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, clinic_id),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id),
  foreign key (medical_record_id, clinic_id) references public.medical_records (id, clinic_id)
);

create table public.prescription_items (
  id uuid primary key default gen_random_uuid(),
  prescription_id uuid not null,
  clinic_id uuid not null,
  patient_id uuid not null,
  medication_name text not null,
  dosage text not null,
  frequency text not null,
  route text,
  duration text,
  quantity integer not null check (quantity > 0),
  instructions text,
  is_controlled_drug boolean not null default false,
  created_at timestamptz not null default now(),
  foreign key (prescription_id, clinic_id) references public.prescriptions (id, clinic_id)
    on delete cascade,
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id)
);

create table public.lab_results (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  doctor_id uuid,
  medical_record_id uuid,
  lab_name text not null,
  test_date date not null,
  tests_ordered jsonb not null default '[]',
  results jsonb not null default '{}',
  has_critical_values boolean not null default false,
  status text not null default 'pending' check (status in ('pending', 'partial', 'final', 'cancelled')),
  reviewed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id),
  foreign key (medical_record_id, clinic_id) references public.medical_records (id, clinic_id)
);

create table public.imaging_results (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  doctor_id uuid,
  medical_record_id uuid,
  imaging_type text not null,
  body_part text,
  imaging_date date not null,
  findings text,
  impression text,
  status text not null default 'pending' check (status in ('pending', 'final', 'cancelled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id),
  foreign key (medical_record_id, clinic_id) references public.medical_records (id, clinic_id)
);

create table public.vaccination_records (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  administered_by uuid references public.users (id) on delete set null,
  vaccine_name text not null,
  lot_number text,
  dose_number integer check (dose_number > 0),
  administered_date date not null,
  next_dose_due_date date,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id)
);

create table public.telemedicine_sessions (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  appointment_id uuid unique,
  patient_id uuid not null,
  doctor_id uuid not null,
  room_name text,
  status text not null default 'scheduled'
    check (status in ('scheduled', 'live', 'ended', 'cancelled')),
  scheduled_start timestamptz not null,
  scheduled_end timestamptz not null,
  actual_start timestamptz,
  actual_end timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (scheduled_end > scheduled_start),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (doctor_id, clinic_id) references public.doctors (id, clinic_id),
  foreign key (appointment_id, clinic_id) references public.appointments (id, clinic_id)
);

create table public.payments (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  appointment_id uuid,
  amount numeric(10, 2) not null check (amount >= 0),
  currency text not null default 'SGD' check (currency ~ '^[A-Z]{3}$'),
  status public.payment_status not null default 'pending',
  provider text not null default 'stripe',
  provider_payment_id text,
  -- Provider's event time of the last applied update: out-of-order events never move a
  -- payment backwards.
  provider_event_at timestamptz,
  paid_at timestamptz,
  refunded_amount numeric(10, 2) not null default 0 check (refunded_amount >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (provider, provider_payment_id),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id),
  foreign key (appointment_id, clinic_id) references public.appointments (id, clinic_id)
);

create table public.payment_items (
  id uuid primary key default gen_random_uuid(),
  payment_id uuid not null references public.payments (id) on delete cascade,
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  description text not null,
  quantity integer not null default 1 check (quantity > 0),
  unit_price numeric(10, 2) not null check (unit_price >= 0),
  total_price numeric(10, 2) not null check (total_price >= 0)
);

create table public.insurance_claims (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  patient_id uuid not null,
  payment_id uuid references public.payments (id) on delete cascade,
  claim_number text not null,
  insurance_provider text not null,
  claimed_amount numeric(10, 2) not null check (claimed_amount >= 0),
  approved_amount numeric(10, 2),
  status text not null default 'pending'
    check (status in ('pending', 'submitted', 'approved', 'rejected', 'paid')),
  submitted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, claim_number),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id)
);

-- ---------------------------------------------------------------------------------------
-- Payments from the provider's events (inbound webhooks), in any order
-- ---------------------------------------------------------------------------------------

-- Progress order of a payment: an update never moves a payment to a lower rank once it is
-- paid, and otherwise only a newer provider event (or an equally old one of higher rank)
-- applies.
create or replace function private.payment_status_rank(p_status public.payment_status)
  returns integer
  language sql immutable
  set search_path = ''
  as $$
    select case p_status
      when 'unpaid' then 0 when 'pending' then 1 when 'failed' then 2 when 'cancelled' then 3
      when 'paid' then 4 when 'partially_refunded' then 5 when 'refunded' then 6 end
  $$;

create or replace function private.payment_event_applies(
  p_old public.payment_status,
  p_old_at timestamptz,
  p_new public.payment_status,
  p_new_at timestamptz
) returns boolean
  language sql immutable
  set search_path = ''
  as $$
    select case
      when p_old_at is null then true
      when private.payment_status_rank(p_old) >= 4
        and private.payment_status_rank(p_new) < private.payment_status_rank(p_old) then false
      when p_new_at > p_old_at then true
      when p_new_at = p_old_at then private.payment_status_rank(p_new)
        > private.payment_status_rank(p_old)
      else false
    end
  $$;

-- Applies one provider payment event. Creates the payment when it is unknown and the
-- metadata names a patient of the clinic; returns created | updated | stale | unmatched.
-- The appointment's payment status follows the best payment it has.
create or replace function private.apply_payment_event(
  p_provider text,
  p_provider_payment_id text,
  p_clinic uuid,
  p_patient uuid,
  p_appointment uuid,
  p_amount numeric,
  p_currency text,
  p_status public.payment_status,
  p_event_at timestamptz,
  p_refunded numeric default null
) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_payment public.payments;
  v_outcome text;
  v_appointment uuid;
begin
  select * into v_payment from public.payments p
  where p.provider = p_provider and p.provider_payment_id = p_provider_payment_id
  for update;
  if not found then
    if p_clinic is null or p_patient is null or p_amount is null
      or not exists (
        select 1 from public.patients pt where pt.id = p_patient and pt.clinic_id = p_clinic
      ) then
      return 'unmatched';
    end if;
    if p_appointment is not null and not exists (
      select 1 from public.appointments a
      where a.id = p_appointment and a.clinic_id = p_clinic and a.patient_id = p_patient
    ) then
      p_appointment := null;
    end if;
    insert into public.payments as p (
      clinic_id, patient_id, appointment_id, amount, currency, status, provider,
      provider_payment_id, provider_event_at, paid_at, refunded_amount
    ) values (
      p_clinic, p_patient, p_appointment, p_amount, upper(coalesce(p_currency, 'SGD')),
      p_status, p_provider, p_provider_payment_id, p_event_at,
      case when private.payment_status_rank(p_status) >= 4 then p_event_at end,
      coalesce(p_refunded, 0)
    )
    on conflict (provider, provider_payment_id) do nothing
    returning p.appointment_id into v_appointment;
    if not found then
      -- A concurrent event created it: apply this one on top.
      return private.apply_payment_event(p_provider, p_provider_payment_id, p_clinic, p_patient,
        p_appointment, p_amount, p_currency, p_status, p_event_at, p_refunded);
    end if;
    v_outcome := 'created';
  else
    if not private.payment_event_applies(v_payment.status, v_payment.provider_event_at,
      p_status, p_event_at) then
      return 'stale';
    end if;
    update public.payments p
    set status = p_status,
        provider_event_at = p_event_at,
        amount = coalesce(p_amount, p.amount),
        paid_at = case when private.payment_status_rank(p_status) >= 4
          then coalesce(p.paid_at, p_event_at) else p.paid_at end,
        refunded_amount = greatest(p.refunded_amount, coalesce(p_refunded, 0))
    where p.id = v_payment.id;
    v_appointment := v_payment.appointment_id;
    v_outcome := 'updated';
  end if;
  if v_appointment is not null then
    update public.appointments a
    set payment_status = best.status
    from (
      select p.status from public.payments p
      where p.appointment_id = v_appointment
      order by case p.status when 'refunded' then 6 when 'partially_refunded' then 5
        when 'paid' then 4 when 'pending' then 3 when 'failed' then 2 when 'cancelled' then 1
        else 0 end desc, p.provider_event_at desc nulls last
      limit 1
    ) best
    where a.id = v_appointment and a.payment_status is distinct from best.status;
  end if;
  return v_outcome;
end
$$;
revoke all on function private.apply_payment_event(text, text, uuid, uuid, uuid, numeric, text,
  public.payment_status, timestamptz, numeric) from public;
grant execute on function private.apply_payment_event(text, text, uuid, uuid, uuid, numeric,
  text, public.payment_status, timestamptz, numeric) to service_role;

-- Outbound webhook events of payments (thin payloads: ids, status, amounts).
create or replace function private.payment_webhook_event() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  v_type := case new.status
    when 'paid' then 'payment.completed'
    when 'failed' then 'payment.failed'
    when 'refunded' then 'payment.refunded'
    when 'partially_refunded' then 'payment.refunded'
    else null end;
  if v_type is null then
    return null;
  end if;
  perform private.webhook_emit(new.clinic_id, v_type, jsonb_build_object(
    'payment_id', new.id,
    'appointment_id', new.appointment_id,
    'patient_id', new.patient_id,
    'status', new.status,
    'amount', new.amount,
    'currency', new.currency,
    'refunded_amount', new.refunded_amount,
    'provider', new.provider,
    'paid_at', new.paid_at
  ));
  return null;
end
$$;
revoke all on function private.payment_webhook_event() from public;

-- ---------------------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------------------

create trigger touch before update on public.medical_records
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.medical_records
  for each row execute function audit.log_change();

create trigger touch before update on public.prescriptions
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.prescriptions
  for each row execute function audit.log_change();

create trigger audit after insert or update or delete on public.prescription_items
  for each row execute function audit.log_change();

create trigger touch before update on public.lab_results
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.lab_results
  for each row execute function audit.log_change();

create trigger touch before update on public.imaging_results
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.imaging_results
  for each row execute function audit.log_change();

create trigger touch before update on public.vaccination_records
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.vaccination_records
  for each row execute function audit.log_change();

create trigger touch before update on public.telemedicine_sessions
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.telemedicine_sessions
  for each row execute function audit.log_change();

create trigger touch before update on public.payments
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.payments
  for each row execute function audit.log_change();

create trigger webhook_event_insert after insert on public.payments
  for each row execute function private.payment_webhook_event();

create trigger webhook_event_update after update of status, refunded_amount on public.payments
  for each row when (old.status is distinct from new.status
    or old.refunded_amount <> new.refunded_amount)
  execute function private.payment_webhook_event();

create trigger touch before update on public.insurance_claims
  for each row execute function private.touch_updated_at();

create trigger audit after insert or update or delete on public.insurance_claims
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------------------

do $$
declare
  t text;
begin
  -- Clinical tables: the patient, the clinic's nurses, and treating doctors read; clinicians
  -- of the clinic write.
  foreach t in array array[
    'medical_records', 'prescriptions', 'prescription_items', 'lab_results', 'imaging_results',
    'vaccination_records', 'telemedicine_sessions'
  ] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
    execute format($p$
      create policy clinical_patient_read on public.%I for select to authenticated
        using (patient_id in (select private.my_patient_ids()))$p$, t);
    execute format($p$
      create policy clinical_care_team_read on public.%I for select to authenticated
        using (clinic_id in (select private.nurse_clinic_ids())
          or (clinic_id in (select private.clinician_clinic_ids())
              and private.treats_patient(patient_id)))$p$, t);
    execute format($p$
      create policy clinical_clinician_write on public.%I for insert to authenticated
        with check (clinic_id in (select private.clinician_clinic_ids()))$p$, t);
    execute format($p$
      create policy clinical_clinician_update on public.%I for update to authenticated
        using (clinic_id in (select private.clinician_clinic_ids()))
        with check (clinic_id in (select private.clinician_clinic_ids()))$p$, t);
  end loop;

  -- Money: the patient reads their own; the clinic's staff and admins read and write.
  foreach t in array array['payments', 'payment_items', 'insurance_claims'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
    execute format($p$
      create policy money_staff on public.%I for all to authenticated
        using (clinic_id in (select private.clinic_ids_with('{staff,admin}')))
        with check (clinic_id in (select private.clinic_ids_with('{staff,admin}')))$p$, t);
  end loop;
end
$$;

create policy payments_patient_read on public.payments for select to authenticated
  using (patient_id in (select private.my_patient_ids()));
create policy payment_items_patient_read on public.payment_items for select to authenticated
  using (payment_id in (
    select p.id from public.payments p where p.patient_id in (select private.my_patient_ids())
  ));
create policy claims_patient_read on public.insurance_claims for select to authenticated
  using (patient_id in (select private.my_patient_ids()));

-- Nothing but what follows: a target's default privileges (Supabase grants everything in
-- public to anon, authenticated and service_role) are taken back first, table by table.
revoke all on public.medical_records, public.prescriptions, public.prescription_items,
  public.lab_results, public.imaging_results, public.vaccination_records,
  public.telemedicine_sessions, public.payments, public.payment_items, public.insurance_claims
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.medical_records, public.prescriptions,
  public.prescription_items, public.lab_results, public.imaging_results,
  public.vaccination_records, public.telemedicine_sessions, public.payments,
  public.payment_items, public.insurance_claims
  to authenticated, service_role;
