-- Several clinics per account, guardians and dependants.
--
-- One account, one patient record per clinic: a signed-in user registers at another clinic of
-- the platform themselves (api.register_at_clinic: a patient record and a patient membership,
-- idempotent, refused by an inactive clinic or one not accepting new patients); the picker
-- offers the clinics they can book or join (api.my_clinics).
--
-- A guardian account books for dependants (children, elderly parents): public.guardianships
-- links the guardian's user to a dependant's patient record of a clinic where the guardian is
-- registered. A guardian creates the dependant's record and the link in one step
-- (api.add_dependant: their declaration is the consent; nobody links to an existing record,
-- which may hold someone else's health data, by typing its details), lists and removes links.
-- The guardian sees exactly their dependants' patient rows, appointments and queue tickets
-- (private.my_dependant_ids in the *_guardian_* policies, nothing clinical) and holds, books,
-- cancels and reschedules for them (private.booking_target); notifications about a dependant
-- without an account go to their guardian (private.notify). Staff of the clinic see the
-- guardians on the patient's summary.

create table public.guardianships (
  id uuid primary key default gen_random_uuid(),
  guardian_id uuid not null references public.users (id) on delete cascade,
  patient_id uuid not null,
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  relationship text not null check (relationship in ('child', 'parent', 'spouse', 'other')),
  created_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  unique (guardian_id, patient_id),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id) on delete cascade
);
create index guardianships_patient on public.guardianships (patient_id);

create trigger audit after insert or update or delete on public.guardianships
  for each row execute function audit.log_change();

-- The realtime server mirrors who guards whom (realtime/db/directory.ts), as it does
-- private.my_patient_ids(): a removed link stops the dependant's changes at once.
alter publication realtime_directory add table public.guardianships
  (id, guardian_id, patient_id);

-- The caller's dependants' live patient records (policy helper, as private.my_patient_ids).
create or replace function private.my_dependant_ids() returns setof uuid
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return query
    select g.patient_id from public.guardianships g
    join public.patients p on p.id = g.patient_id
    where g.guardian_id = (select auth.uid()) and p.deleted_at is null;
end
$$;
revoke all on function private.my_dependant_ids() from public;
grant execute on function private.my_dependant_ids() to authenticated, service_role;

alter table public.guardianships enable row level security;
alter table public.guardianships force row level security;
-- Guardians read and remove their own links; staff read, make (api.link_guardian: an existing
-- record, after the front desk has checked who is who) and remove their clinic's. A guardian
-- makes a link only with a new record (api.add_dependant).
create policy guardianships_read on public.guardianships for select to authenticated
  using (guardian_id = (select auth.uid()) or clinic_id in (select private.staff_clinic_ids()));
create policy guardianships_guardian_delete on public.guardianships for delete to authenticated
  using (guardian_id = (select auth.uid()));
create policy guardianships_staff_insert on public.guardianships for insert to authenticated
  with check (clinic_id in (select private.staff_clinic_ids()));
create policy guardianships_staff_delete on public.guardianships for delete to authenticated
  using (clinic_id in (select private.staff_clinic_ids()));

revoke all on public.guardianships from anon, authenticated, service_role;
grant select, delete on public.guardianships to authenticated;
grant insert (guardian_id, patient_id, clinic_id, relationship, created_by)
  on public.guardianships to authenticated;
grant select, insert, update, delete on public.guardianships to service_role;

-- What a guardian may do for a dependant is what a patient may do for themselves (the
-- patient's policies of 000300_identity, 000800_scheduling_booking, 000900_queue), minus
-- updating the record: read it, its appointments and queue tickets, and book for it.
create policy patients_guardian_read on public.patients for select to authenticated
  using (id in (select private.my_dependant_ids()));
create policy appointments_guardian_read on public.appointments for select to authenticated
  using (patient_id in (select private.my_dependant_ids()));
create policy appointments_guardian_insert on public.appointments for insert to authenticated
  with check (patient_id in (select private.my_dependant_ids())
    and clinic_id in (select private.member_clinic_ids()));
create policy appointments_guardian_update on public.appointments for update to authenticated
  using (patient_id in (select private.my_dependant_ids()))
  with check (patient_id in (select private.my_dependant_ids())
    and status in ('held', 'scheduled', 'confirmed', 'cancelled', 'rescheduled'));
create policy appointments_guardian_delete on public.appointments for delete to authenticated
  using (patient_id in (select private.my_dependant_ids()) and status = 'held');
create policy tickets_guardian_read on public.queue_tickets for select to authenticated
  using (patient_id in (select private.my_dependant_ids()));

-- ---------------------------------------------------------------------------------------
-- Registering at another clinic
-- ---------------------------------------------------------------------------------------

-- An active clinic by code, for a signed-in caller: 401 without one, 404 for no such clinic.
create or replace function private.caller_clinic(p_code text) returns public.clinics
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
begin
  if auth.uid() is null then
    perform private.raise_api(401, 'auth_required', 'Sign in to do this');
  end if;
  select * into v_clinic from public.clinics
  where code = upper(p_code) and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  return v_clinic;
end
$$;
revoke all on function private.caller_clinic(text) from public;

-- Whether the clinic ended the user's registration (revoked their patient membership or
-- deleted their record): they do not register there again by themselves.
create or replace function private.left_clinic(p_clinic uuid, p_user uuid) returns boolean
  language sql stable
  set search_path = ''
  as $$
    select exists (select 1 from public.clinic_members m where m.user_id = p_user
        and m.clinic_id = p_clinic and m.role = 'patient' and m.revoked_at is not null)
      or exists (select 1 from public.patients p where p.user_id = p_user
        and p.clinic_id = p_clinic and p.deleted_at is not null)
  $$;
revoke all on function private.left_clinic(uuid, uuid) from public;

create or replace function private.my_patient_json(p public.patients, c public.clinics)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('id', p.id, 'clinic_code', c.code, 'clinic_name', c.name,
      'branch_name', c.branch_name, 'patient_number', p.patient_number,
      'full_name', p.full_name, 'date_of_birth', p.date_of_birth, 'gender', p.gender)
  $$;
revoke all on function private.my_patient_json(public.patients, public.clinics) from public;
grant execute on function private.my_patient_json(public.patients, public.clinics)
  to authenticated, service_role;

-- The caller's patient record at the clinic `p_code`, made when missing: the name, date of
-- birth, gender, phone, e-mail and language of their latest record elsewhere (or `p_details`:
-- date_of_birth, gender, phone — required when there is none) and a patient membership.
-- Idempotent: a second call answers the same record with `created` false. 404 for an inactive
-- or unknown clinic, 409 `not_accepting_patients`, 403 when the clinic removed the caller.
-- SECURITY DEFINER: patients and memberships are written by staff only; the caller is
-- auth.uid() and nothing in `p_details` names anyone.
create or replace function api.register_at_clinic(p_code text, p_details jsonb default '{}')
  returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.caller_clinic(p_code);
  v_uid uuid := auth.uid();
  v_user public.users;
  v_from public.patients;
  v_row public.patients;
  v_details jsonb := coalesce(p_details, '{}');
begin
  select * into v_user from public.users where id = v_uid and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(401, 'auth_required', 'Sign in to do this');
  end if;
  -- One registration at a time per account and clinic: the second of two racing calls finds
  -- the first's record.
  perform pg_advisory_xact_lock(hashtextextended('register:' || v_uid || v_clinic.id, 0));
  if private.left_clinic(v_clinic.id, v_uid) then
    perform private.raise_api(403, 'registration_refused',
      'The clinic closed your registration; please contact it');
  end if;
  select * into v_row from public.patients where user_id = v_uid and clinic_id = v_clinic.id;
  if found then
    insert into public.clinic_members (user_id, clinic_id, role)
    values (v_uid, v_clinic.id, 'patient') on conflict (user_id, clinic_id, role) do nothing;
    return jsonb_build_object('patient', private.my_patient_json(v_row, v_clinic),
      'created', false);
  end if;
  if not v_clinic.accepts_new_patients then
    perform private.raise_api(409, 'not_accepting_patients',
      'This clinic is not taking new patients');
  end if;
  select * into v_from from public.patients
  where user_id = v_uid and deleted_at is null order by created_at desc limit 1;
  begin
    insert into public.patients (clinic_id, user_id, patient_number, full_name, date_of_birth,
      gender, phone, email, preferred_language)
    values (v_clinic.id, v_uid, private.next_patient_number(v_clinic.id),
      coalesce(v_from.full_name, v_user.full_name),
      coalesce((v_details ->> 'date_of_birth')::date, v_from.date_of_birth),
      coalesce((v_details ->> 'gender')::public.gender, v_from.gender),
      coalesce(v_details ->> 'phone', v_from.phone, v_user.phone),
      coalesce(v_from.email, v_user.email), coalesce(v_from.preferred_language, v_user.language))
    returning * into v_row;
  exception when not_null_violation then
    perform private.raise_api(400, 'details_required',
      'Give your date of birth and gender to register', jsonb_build_object(
        'fields', jsonb_build_array('date_of_birth', 'gender')));
  end;
  insert into public.clinic_members (user_id, clinic_id, role)
  values (v_uid, v_clinic.id, 'patient') on conflict (user_id, clinic_id, role) do nothing;
  return jsonb_build_object('patient', private.my_patient_json(v_row, v_clinic), 'created', true);
end
$$;
revoke all on function api.register_at_clinic(text, jsonb) from public;
grant execute on function api.register_at_clinic(text, jsonb) to authenticated;

-- The clinics the caller can book at (they have a record there: `registered`) or join
-- (active, taking new patients), by name. Lists only; books nothing.
create or replace function api.my_clinics() returns jsonb
  language sql stable
  security definer
  set search_path = ''
  as $$
    select jsonb_build_object('clinics', coalesce(jsonb_agg(jsonb_build_object(
        'code', c.code, 'name', c.name, 'branch_name', c.branch_name, 'timezone', c.timezone,
        'registered', p.id is not null, 'patient_id', p.id) order by c.name, c.code), '[]'))
    from public.clinics c
    left join public.patients p
      on p.clinic_id = c.id and p.user_id = (select auth.uid()) and p.deleted_at is null
    where c.is_active and c.deleted_at is null
      and (p.id is not null or (c.accepts_new_patients
        and not private.left_clinic(c.id, (select auth.uid()))))
  $$;
revoke all on function api.my_clinics() from public;
grant execute on function api.my_clinics() to authenticated;

-- ---------------------------------------------------------------------------------------
-- Dependants
-- ---------------------------------------------------------------------------------------

create or replace function private.dependant_json(g public.guardianships) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select private.my_patient_json(p, c) || jsonb_build_object(
      'relationship', g.relationship, 'linked_at', g.created_at)
    from public.patients p join public.clinics c on c.id = p.clinic_id
    where p.id = g.patient_id
  $$;
revoke all on function private.dependant_json(public.guardianships) from public;
grant execute on function private.dependant_json(public.guardianships)
  to authenticated, service_role;

-- How many dependants one account may hold: a family, not a registry.
create or replace function private.max_dependants() returns integer
  language sql immutable parallel safe
  as $$ select 20 $$;
revoke all on function private.max_dependants() from public;

-- A dependant's patient record at the clinic `p_code`, made by a guardian registered there
-- (403 `not_a_patient` otherwise), and the link: `p_request` {full_name, date_of_birth,
-- gender, relationship, phone?}. The record has no account; its phone and emergency contact
-- default to the guardian's. The same name and date of birth among the guardian's dependants
-- there answer the existing one (`created` false), so a retried request adds nobody twice.
-- SECURITY DEFINER: only staff write patients; the caller is auth.uid().
create or replace function api.add_dependant(p_code text, p_request jsonb) returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.caller_clinic(p_code);
  v_uid uuid := auth.uid();
  v_self public.patients;
  v_name text := regexp_replace(btrim(p_request ->> 'full_name'), '\s+', ' ', 'g');
  v_birth date := (p_request ->> 'date_of_birth')::date;
  v_link public.guardianships;
  v_patient uuid;
begin
  select * into v_self from public.patients
  where clinic_id = v_clinic.id and user_id = v_uid and deleted_at is null;
  if not found or not exists (select 1 from public.clinic_members m where m.user_id = v_uid
      and m.clinic_id = v_clinic.id and m.revoked_at is null) then
    perform private.raise_api(403, 'not_a_patient', 'Register at this clinic first');
  end if;
  if v_birth > (now() at time zone v_clinic.timezone)::date then
    perform private.raise_api(400, 'invalid_request', 'The date of birth is in the future');
  end if;
  perform pg_advisory_xact_lock(hashtextextended('dependants:' || v_uid, 0));
  select g.* into v_link from public.guardianships g
  join public.patients p on p.id = g.patient_id
  where g.guardian_id = v_uid and g.clinic_id = v_clinic.id and p.deleted_at is null
    and p.date_of_birth = v_birth and lower(p.full_name) = lower(v_name);
  if found then
    return jsonb_build_object('dependant', private.dependant_json(v_link), 'created', false);
  end if;
  if (select count(*) from public.guardianships g where g.guardian_id = v_uid)
     >= private.max_dependants() then
    perform private.raise_api(409, 'too_many_dependants',
      format('One account may look after at most %s people', private.max_dependants()));
  end if;
  if not v_clinic.accepts_new_patients then
    perform private.raise_api(409, 'not_accepting_patients',
      'This clinic is not taking new patients');
  end if;
  insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender,
    phone, preferred_language, emergency_contact_name, emergency_contact_phone)
  values (v_clinic.id, private.next_patient_number(v_clinic.id), v_name, v_birth,
    (p_request ->> 'gender')::public.gender, coalesce(p_request ->> 'phone', v_self.phone),
    v_self.preferred_language, v_self.full_name, v_self.phone)
  returning id into v_patient;
  insert into public.guardianships (guardian_id, patient_id, clinic_id, relationship, created_by)
  values (v_uid, v_patient, v_clinic.id, p_request ->> 'relationship', v_uid)
  returning * into v_link;
  return jsonb_build_object('dependant', private.dependant_json(v_link), 'created', true);
end
$$;
revoke all on function api.add_dependant(text, jsonb) from public;
grant execute on function api.add_dependant(text, jsonb) to authenticated;

-- The caller's dependants, every clinic (RLS: guardianships_read, patients_guardian_read).
create or replace function api.my_dependants() returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('dependants', coalesce(jsonb_agg(private.dependant_json(g)
      order by p.full_name, g.created_at), '[]'))
    from public.guardianships g join public.patients p on p.id = g.patient_id
    where g.guardian_id = (select auth.uid()) and p.deleted_at is null
  $$;
revoke all on function api.my_dependants() from public;
grant execute on function api.my_dependants() to authenticated;

-- Ends the caller's link to a dependant (RLS: guardianships_guardian_delete). The record stays
-- with the clinic, its bookings too; the guardian no longer sees or books for it.
create or replace function api.remove_dependant(p_patient uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  delete from public.guardianships
  where patient_id = p_patient and guardian_id = (select auth.uid());
  if not found then
    perform private.raise_api(404, 'dependant_not_found', 'No such dependant');
  end if;
end
$$;
revoke all on function api.remove_dependant(uuid) from public;
grant execute on function api.remove_dependant(uuid) to authenticated;

-- The front desk links an account registered at the clinic (by its e-mail) to one of the
-- clinic's patients, as its guardian: a parent to their child's existing record, a child to an
-- elderly parent's. Staff of the clinic only (private.staff_clinic; RLS
-- guardianships_staff_insert has the last word); idempotent (`created` false when linked).
create or replace function api.link_guardian(p_code text, p_patient uuid, p_email text,
  p_relationship text) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
  v_guardian public.users;
  v_created boolean;
begin
  if not exists (select 1 from public.patients p where p.id = p_patient
                 and p.clinic_id = v_clinic.id and p.deleted_at is null) then
    perform private.raise_api(404, 'patient_not_found', 'No such patient at this clinic');
  end if;
  select u.* into v_guardian from public.users u
  where u.email operator(extensions.=) p_email::extensions.citext and u.is_active and u.deleted_at is null
    and exists (select 1 from public.clinic_members m where m.user_id = u.id
                and m.clinic_id = v_clinic.id and m.revoked_at is null);
  if not found then
    perform private.raise_api(404, 'guardian_not_found',
      'No account with that e-mail is registered at this clinic');
  end if;
  if exists (select 1 from public.patients p where p.id = p_patient
             and p.user_id = v_guardian.id) then
    perform private.raise_api(422, 'own_record', 'A patient does not guard their own record');
  end if;
  insert into public.guardianships (guardian_id, patient_id, clinic_id, relationship, created_by)
  values (v_guardian.id, p_patient, v_clinic.id, p_relationship, auth.uid())
  on conflict (guardian_id, patient_id) do nothing;
  v_created := found;
  return jsonb_build_object('guardian', jsonb_build_object('user_id', v_guardian.id,
      'full_name', v_guardian.full_name, 'relationship', (
        select g.relationship from public.guardianships g
        where g.guardian_id = v_guardian.id and g.patient_id = p_patient)),
    'created', v_created);
end
$$;
revoke all on function api.link_guardian(text, uuid, text, text) from public;
grant execute on function api.link_guardian(text, uuid, text, text) to authenticated;

-- The front desk ends a guardian's link to one of the clinic's patients (RLS
-- guardianships_staff_delete).
create or replace function api.unlink_guardian(p_code text, p_patient uuid, p_guardian uuid)
  returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
begin
  delete from public.guardianships
  where clinic_id = v_clinic.id and patient_id = p_patient and guardian_id = p_guardian;
  if not found then
    perform private.raise_api(404, 'guardian_not_found', 'No such guardian of this patient');
  end if;
end
$$;
revoke all on function api.unlink_guardian(text, uuid, uuid) from public;
grant execute on function api.unlink_guardian(text, uuid, uuid) to authenticated;

-- The caller's and their dependants' appointments (as a patient, any clinic), each with whose
-- visit it is: upcoming first-to-last, and the most recent `p_past_limit` past or inactive.
create or replace function api.my_appointments(p_past_limit integer default 50) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    with mine as (
      select private.appointment_json(a) || jsonb_build_object('patient_name', p.full_name,
          'for_dependant', p.user_id is distinct from (select auth.uid())) as j,
        lower(a.period) as starts,
        (a.status in ('scheduled', 'confirmed', 'checked_in', 'in_progress')
         and upper(a.period) > now()) as upcoming
      from public.appointments a join public.patients p on p.id = a.patient_id
      where (a.patient_id in (select private.my_patient_ids())
          or a.patient_id in (select private.my_dependant_ids()))
        and a.status <> 'held'
    ),
    past as (
      select * from mine where not upcoming order by starts desc limit p_past_limit
    )
    select jsonb_build_object(
      'upcoming', coalesce((
        select jsonb_agg(m.j order by m.starts) from mine m where m.upcoming), '[]'::jsonb),
      'past', coalesce((select jsonb_agg(p.j order by p.starts desc) from past p), '[]'::jsonb)
    )
  $$;

-- A patient as a list shows them to staff (000300_identity), with who looks after them.
create or replace function private.patient_summary(p public.patients) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('id', p.id, 'patient_number', p.patient_number,
      'full_name', p.full_name, 'date_of_birth', p.date_of_birth, 'gender', p.gender,
      'phone_masked', private.mask_phone(p.phone),
      'email_masked', private.mask_email(p.email::text),
      'guardians', coalesce((
        select jsonb_agg(jsonb_build_object('user_id', u.id, 'full_name', u.full_name,
            'relationship', g.relationship, 'phone_masked', private.mask_phone(u.phone))
          order by g.created_at)
        from public.guardianships g join public.users u on u.id = g.guardian_id
        where g.patient_id = p.id), '[]'::jsonb))
  $$;

-- ---------------------------------------------------------------------------------------
-- Booking for a dependant; telling the guardian
-- ---------------------------------------------------------------------------------------

-- Who is booked for whom, with guardians: the decision so far (patients for themselves, staff
-- for any patient of their clinic: 20261206001000_booking_decision and whatever later
-- migration redefined it) keeps its name private.booking_target_own, and
-- private.booking_target puts a guardian's dependant in front of it. A guardian (not staff of
-- the clinic) naming a live dependant of that clinic is decided as booking for themselves there
-- — so a guardian needs their own record at the clinic, and gets what a patient may book —
-- then the visit is the dependant's. Anyone else's `patient_id` stays the old decision's 403.
alter function private.booking_target(jsonb) rename to booking_target_own;

create or replace function private.booking_target(p_request jsonb)
  returns private.booking_target
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_patient uuid := (p_request ->> 'patient_id')::uuid;
  v_uid uuid := auth.uid();
  v_clinic uuid;
  v_t private.booking_target;
begin
  if v_patient is not null then
    -- Most named patients are staff bookings: one probe of the link's key settles those.
    select g.clinic_id into v_clinic from public.guardianships g
    where g.guardian_id = v_uid and g.patient_id = v_patient;
    if found
       and exists (select 1 from public.patients p join public.clinics c on c.id = p.clinic_id
                   where p.id = v_patient and p.deleted_at is null and c.id = v_clinic
                     and c.code = upper(p_request ->> 'clinic_code'))
       and not exists (select 1 from public.clinic_members m
                       where m.user_id = v_uid and m.clinic_id = v_clinic and m.revoked_at is null
                         and m.role = any (private.staff_roles())) then
      v_t := private.booking_target_own(p_request - 'patient_id');
      v_t.patient_id := v_patient;
      return v_t;
    end if;
  end if;
  return private.booking_target_own(p_request);
end
$$;
revoke all on function private.booking_target(jsonb) from public;
grant execute on function private.booking_target(jsonb) to authenticated, service_role;

-- The account a patient's notifications go to: their own, or — a dependant without one — the
-- guardian who linked them first.
-- PL/pgSQL: its plan is kept for the session (a SQL function that cannot be inlined is planned
-- on every call, and this one runs for every notification).
create or replace function private.notified_user(p_patient uuid) returns uuid
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (select coalesce(p.user_id, (
      select g.guardian_id from public.guardianships g
      where g.patient_id = p.id order by g.created_at, g.id limit 1))
    from public.patients p where p.id = p_patient);
end
$$;
revoke all on function private.notified_user(uuid) from public;

-- private.notify (20261206001400_notify_priority) with the account of private.notified_user:
-- a dependant's visits are told to the guardian, in the guardian's language, on the
-- guardian's devices.
create or replace function private.notify(
  p_clinic uuid,
  p_patient uuid,
  p_kind text,
  p_at timestamptz,
  p_data jsonb default '{}',
  p_template text default null
) returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_who record;
  v_patient public.patients;
  v_channels public.delivery_channel[];
  v_recipients text[];
  v_tz text;
  v_vars jsonb;
  v_msg record;
  v_id uuid;
  v_delivery uuid;
begin
  select p as patient, u.id as user_id, u.language as user_language,
    coalesce(u.notification_preferences, '{}') as prefs
  into v_who
  from public.patients p
  left join public.users u
    on u.id = private.notified_user(p.id) and u.is_active and u.deleted_at is null
  where p.id = p_patient and p.deleted_at is null;
  if not found then
    return null;
  end if;
  v_patient := v_who.patient;

  select coalesce(array_agg(c.channel order by c.channel), '{}'),
    coalesce(array_agg(c.recipient order by c.channel), '{}')
  into v_channels, v_recipients
  from (values
    ('email'::public.delivery_channel, v_patient.email_consent, v_patient.email::text),
    ('sms'::public.delivery_channel, v_patient.sms_consent, v_patient.phone),
    ('whatsapp'::public.delivery_channel, v_patient.whatsapp_consent, v_patient.phone),
    ('push'::public.delivery_channel,
      case when v_patient.push_consent then exists (
        select 1 from public.push_subscriptions s where s.user_id = v_who.user_id) end,
      v_who.user_id::text)
  ) as c (channel, consent, recipient)
  where c.consent
    and nullif(btrim(c.recipient), '') is not null
    and (v_who.prefs -> c.channel::text) is distinct from 'false'::jsonb
    and (v_who.prefs -> 'kinds' -> p_kind -> c.channel::text) is distinct from 'false'::jsonb
    and (v_who.user_id is not null
         or (c.channel = 'sms' and p_kind in ('ticket_called', 'queue_near')));
  if v_who.user_id is null and cardinality(v_channels) = 0 then
    return null;
  end if;

  select c.timezone, jsonb_strip_nulls(coalesce(p_data, '{}')) || jsonb_build_object('clinic',
      c.name || coalesce(' (' || c.branch_name || ')', ''))
  into v_tz, v_vars
  from public.clinics c where c.id = p_clinic;

  select * into v_msg from private.render_notification(p_clinic, coalesce(p_template, p_kind),
    'in_app', coalesce(v_who.user_language, v_patient.preferred_language), v_vars, p_at, v_tz);
  insert into public.notifications (clinic_id, user_id, patient_id, kind, title, body, data)
  values (p_clinic, v_who.user_id, v_patient.id, p_kind, v_msg.subject, v_msg.body,
    coalesce(p_data, '{}'))
  returning id into v_id;

  for i in 1 .. cardinality(v_channels) loop
    select * into v_msg from private.render_notification(p_clinic, coalesce(p_template, p_kind),
      v_channels[i]::text, v_patient.preferred_language, v_vars, p_at, v_tz);
    insert into public.notification_deliveries
      (notification_id, clinic_id, channel, recipient, subject, body, html, language, template)
    values (v_id, p_clinic, v_channels[i], v_recipients[i], v_msg.subject, v_msg.body,
      v_msg.html, v_msg.used_language, v_msg.provider_template)
    returning id into v_delivery;
    perform private.enqueue_job('notification.deliver',
      jsonb_build_object('delivery_id', v_delivery), now(), p_clinic,
      'notification.deliver:' || v_delivery, 'default', private.notification_priority(p_kind));
  end loop;
  return v_id;
end
$$;
revoke all on function private.notify(uuid, uuid, text, timestamptz, jsonb, text) from public;
