-- Edge API (issue 3), part 3: indexes the booking path needs, found by profiling bench/booking
-- (pg_stat_user_functions, track_functions = all):
--
-- * Indexes the RLS helpers and the daily-cap count need: patients(user_id) and
--   doctors(user_id) (private.my_patient_ids / my_doctor_ids ran a sequential scan of every
--   patient or doctor on every policy check), appointments(doctor_id, service_date).

create index if not exists patients_user on public.patients (user_id);
create index if not exists doctors_user on public.doctors (user_id);
create index if not exists appointments_doctor_day on public.appointments (doctor_id, service_date);

