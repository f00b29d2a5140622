-- Clinical records (seed 000): medical records, prescriptions, lab and imaging results,
-- vaccinations, telemedicine sessions; and payments.
-- Visible to the patient they belong to, to the clinic's nurses, and to doctors of the clinic
-- who treat the patient. Written by clinicians of the clinic.

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

do $$
declare
  t text;
begin
  foreach t in array array[
    'medical_records', 'prescriptions', 'lab_results', 'imaging_results',
    'vaccination_records', 'telemedicine_sessions', 'payments', 'insurance_claims'
  ] loop
    execute format(
      'create trigger touch before update on public.%I for each row execute function private.touch_updated_at()',
      t);
  end loop;

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
