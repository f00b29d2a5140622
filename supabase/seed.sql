-- Demo data for development and tests (never loaded in production).
-- Clinic GFC-TP (Tampines, Asia/Singapore) and GFC-BD (Bedok) for isolation checks.
-- Every demo user's password is Demo123! (PBKDF2-SHA256, 600k iterations).
-- Each clinic starts with its `consultation` appointment type (trigger default_type,
-- 20261207000300_appointment_types.sql): every doctor, each doctor's slot length.

insert into public.clinics (id, code, name, branch_name, timezone, registration_number, address,
  postal_code, phone, email, settings)
values
  ('11111111-1111-4111-8111-111111111111', 'GFC-TP', 'Gabriel Family Clinic', 'Tampines',
   'Asia/Singapore', 'HCI-2024-0001', '1 Tampines Central 5, #01-01', '529508', '+65 6789 1234',
   'tampines@gabrielclinic.sg', '{"queue": {"check_in_window_minutes": 60, "near_threshold": 3}}'),
  ('22222222-2222-4222-8222-222222222222', 'GFC-BD', 'Gabriel Family Clinic', 'Bedok',
   'Asia/Singapore', 'HCI-2024-0002', '311 New Upper Changi Rd, #02-10', '467360', '+65 6241 5678',
   'bedok@gabrielclinic.sg', '{"queue": {"check_in_window_minutes": 60, "near_threshold": 3}}');

insert into public.users (id, email, full_name, phone, email_verified_at)
values
  ('a0000000-0000-4000-8000-000000000001', 'admin@demo.com', 'Grace Admin', '+65 9000 0001', now()),
  ('a0000000-0000-4000-8000-000000000002', 'doctor.tan@demo.com', 'Dr Tan Wei Ming', '+65 9000 0002', now()),
  ('a0000000-0000-4000-8000-000000000003', 'patient.lim@demo.com', 'Lim Mei Ling', '+65 9000 0003', now()),
  ('a0000000-0000-4000-8000-000000000004', 'nurse.ong@demo.com', 'Ong Siew Hoon', '+65 9000 0004', now()),
  ('a0000000-0000-4000-8000-000000000005', 'staff.koh@demo.com', 'Koh Jun Jie', '+65 9000 0005', now()),
  ('a0000000-0000-4000-8000-000000000006', 'doctor.lee@demo.com', 'Dr Lee Hui Min', '+65 9000 0006', now()),
  ('b0000000-0000-4000-8000-000000000001', 'admin.bedok@demo.com', 'Bala Admin', '+65 9000 0101', now()),
  ('b0000000-0000-4000-8000-000000000002', 'doctor.ng@demo.com', 'Dr Ng Kai Wen', '+65 9000 0102', now()),
  ('b0000000-0000-4000-8000-000000000003', 'patient.chan@demo.com', 'Chan Li Hua', '+65 9000 0103', now());

insert into private.credentials (user_id, password_hash)
select id, 'pbkdf2_sha256$600000$Z2ZjLWRlbW8tc2VlZC1zYWx0$Zy8cOWmM2I07NEqRAMPm357E7dEHSBYaoNra9Lm326c='
from public.users;

insert into public.clinic_members (user_id, clinic_id, role, is_primary)
values
  ('a0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'admin', true),
  ('a0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'doctor', true),
  ('a0000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', 'patient', true),
  ('a0000000-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', 'nurse', true),
  ('a0000000-0000-4000-8000-000000000005', '11111111-1111-4111-8111-111111111111', 'staff', true),
  ('a0000000-0000-4000-8000-000000000006', '11111111-1111-4111-8111-111111111111', 'doctor', true),
  ('b0000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'admin', true),
  ('b0000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'doctor', true),
  ('b0000000-0000-4000-8000-000000000003', '22222222-2222-4222-8222-222222222222', 'patient', true);

insert into public.staff (clinic_id, user_id, employee_id, department, position)
values
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000001', 'TP-001', 'Administration', 'Clinic Manager'),
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000004', 'TP-004', 'Nursing', 'Staff Nurse'),
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000005', 'TP-005', 'Front Desk', 'Receptionist'),
  ('22222222-2222-4222-8222-222222222222', 'b0000000-0000-4000-8000-000000000001', 'BD-001', 'Administration', 'Clinic Manager');

insert into public.doctors (id, clinic_id, user_id, display_name, medical_registration_number,
  specializations, languages, consultation_fee, default_room)
values
  ('d0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
   'a0000000-0000-4000-8000-000000000002', 'Dr Tan Wei Ming', 'M12345A', '{General Practice}',
   '{English,Mandarin}', 35.00, 'Room 1'),
  ('d0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111',
   'a0000000-0000-4000-8000-000000000006', 'Dr Lee Hui Min', 'M23456B', '{General Practice,Paediatrics}',
   '{English,Malay}', 35.00, 'Room 2'),
  ('d0000000-0000-4000-8000-000000000003', '22222222-2222-4222-8222-222222222222',
   'b0000000-0000-4000-8000-000000000002', 'Dr Ng Kai Wen', 'M34567C', '{General Practice}',
   '{English}', 30.00, 'Room 1');

-- Mon–Sat 09:00–13:00 and 14:00–18:00 clinic time, a 10:30–10:45 tea break, 15-minute slots.
insert into public.doctor_schedules (doctor_id, clinic_id, slot_minutes, buffer_minutes,
  max_per_day, advance_days, min_notice_minutes)
select id, clinic_id, 15, 0, 28, 30, 30 from public.doctors;

insert into public.doctor_schedule_hours (doctor_id, clinic_id, weekday, kind, starts, ends)
select d.id, d.clinic_id, w.weekday, h.kind, h.starts, h.ends
from public.doctors d
cross join generate_series(1, 6) as w (weekday)
cross join (values
  ('work', time '09:00', time '13:00'),
  ('work', time '14:00', time '18:00'),
  ('break', time '10:30', time '10:45')
) as h (kind, starts, ends);

insert into public.patients (id, clinic_id, user_id, patient_number, full_name, date_of_birth,
  gender, phone, email, sms_consent, email_consent)
values
  ('e0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
   'a0000000-0000-4000-8000-000000000003', 'TP-P-000001', 'Lim Mei Ling', '1985-03-14', 'female',
   '+65 9000 0003', 'patient.lim@demo.com', true, true),
  ('e0000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222',
   'b0000000-0000-4000-8000-000000000003', 'BD-P-000001', 'Chan Li Hua', '1979-11-02', 'female',
   '+65 9000 0103', 'patient.chan@demo.com', true, true);

insert into public.feature_flags (name, description, is_enabled, rollout_percentage)
values ('telemedicine', 'Video consultations', false, 0),
       ('queue_sms', 'SMS when a ticket is called', true, 100);

insert into public.system_settings (clinic_id, category, key, value, description, is_public)
values (null, 'queue', 'reconnect_notice_seconds', '30', 'Board offline marker delay', true);
