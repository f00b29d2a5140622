-- Consent to be reached off the app, per channel (e-mail, SMS, WhatsApp, web push), and the
-- patient's language. patients.<channel>_consent is the current state private.notify reads;
-- private.set_consent is the one place it changes, and every change is kept in
-- public.consent_history (who, when, channel, granted, source). Client roles cannot write the
-- consent columns directly (private.guard_consent); the patient changes their own from the app
-- and the clinic's staff at the front desk through private.change_consents, which decides who
-- may. The profile (language, phone, consents) as the routes answer it (api.*profile,
-- api.*consent*); sign-up and the front desk's walk-in registration record consent too.

alter table public.patients add column push_consent boolean not null default false;

-- The languages messages and the PWA are written in: English, 简体中文, Bahasa Melayu, தமிழ்.
-- One list; the edge's copy (edge/routes/profile.ts) is checked against it by a test.
create or replace function private.languages() returns text[]
  language sql immutable parallel safe
  as $$ select '{en,zh,ms,ta}'::text[] $$;
revoke all on function private.languages() from public;
grant execute on function private.languages() to anon, authenticated, service_role;

alter table public.patients add constraint patients_preferred_language_check
  check (preferred_language = any (private.languages()));
alter table public.users add constraint users_language_check
  check (language = any (private.languages()));

-- The channels a patient consents to, and where a change comes from.
create or replace function private.consent_channels() returns text[]
  language sql immutable parallel safe
  as $$ select '{email,sms,whatsapp,push}'::text[] $$;
create or replace function private.consent_sources() returns text[]
  language sql immutable parallel safe
  as $$
    select '{app,front_desk,signup,stop_keyword,unsubscribe_link,bounce,complaint}'::text[]
  $$;
revoke all on function private.consent_channels(), private.consent_sources() from public;
grant execute on function private.consent_channels(), private.consent_sources()
  to anon, authenticated, service_role;

create table public.consent_history (
  id bigint generated always as identity primary key,
  patient_id uuid not null,
  clinic_id uuid not null,
  channel text not null check (channel = any (private.consent_channels())),
  granted boolean not null,
  source text not null check (source = any (private.consent_sources())),
  changed_by uuid references public.users (id) on delete set null, -- null: no signed-in caller
  changed_at timestamptz not null default now(),
  foreign key (patient_id, clinic_id) references public.patients (id, clinic_id) on delete cascade
);
create index consent_history_patient on public.consent_history (patient_id, changed_at desc, id desc);
create index consent_history_clinic on public.consent_history (clinic_id);

-- Read by the patient's own account and the clinic's staff; written only by private.set_consent.
alter table public.consent_history enable row level security;
alter table public.consent_history force row level security;
create policy consent_history_read on public.consent_history for select to authenticated
  using (patient_id in (select private.my_patient_ids())
         or clinic_id in (select private.staff_clinic_ids()));
-- Nothing but what follows (Supabase's default privileges on public are taken back first).
revoke all on public.consent_history from anon, authenticated, service_role;
revoke all on sequence public.consent_history_id_seq from anon, authenticated, service_role;
grant select on public.consent_history to authenticated, service_role;

-- Client roles never write the consent state directly: only through private.set_consent (whose
-- owner is not a client role, so this guard stands aside for it, as for the database's own
-- functions). SECURITY INVOKER on purpose, like private.guard_self_update.
create or replace function private.guard_consent() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user not in ('anon', 'authenticated', 'service_role') then
    return new;
  end if;
  if (tg_op = 'INSERT' and (new.email_consent or new.sms_consent or new.whatsapp_consent
        or new.push_consent or new.consent_updated_at is not null))
     or (tg_op = 'UPDATE' and (new.email_consent, new.sms_consent, new.whatsapp_consent,
        new.push_consent, new.consent_updated_at) is distinct from (old.email_consent,
        old.sms_consent, old.whatsapp_consent, old.push_consent, old.consent_updated_at)) then
    raise exception 'consent changes only through private.set_consent' using errcode = '42501';
  end if;
  return new;
end
$$;
create trigger guard_consent before insert or update on public.patients
  for each row execute function private.guard_consent();

-- THE place a consent changes: sets patients.<p_channel>_consent to `p_granted` and, when that
-- is a change, records it (who: the signed-in caller, if any). Answers 400 for an unknown
-- channel or source, 404 for an unknown patient. For the server's own work (sign-up, inbound
-- keywords, unsubscribe links, bounces); clients go through private.change_consents.
create or replace function private.set_consent(
  p_patient uuid,
  p_channel text,
  p_granted boolean,
  p_source text
) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_patient public.patients;
  v_current boolean;
begin
  if p_channel is null or p_channel <> all (private.consent_channels()) then
    perform private.raise_api(400, 'invalid_request', 'Unknown consent channel',
      jsonb_build_object('channel', p_channel));
  end if;
  if p_source is null or p_source <> all (private.consent_sources()) then
    perform private.raise_api(400, 'invalid_request', 'Unknown consent source',
      jsonb_build_object('source', p_source));
  end if;
  if p_granted is null then
    perform private.raise_api(400, 'invalid_request', 'Consent must be true or false');
  end if;
  select * into v_patient from public.patients p where p.id = p_patient for update;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such patient');
  end if;
  v_current := (to_jsonb(v_patient) ->> (p_channel || '_consent'))::boolean;
  if v_current = p_granted then
    return;
  end if;
  update public.patients p set
    email_consent = case when p_channel = 'email' then p_granted else p.email_consent end,
    sms_consent = case when p_channel = 'sms' then p_granted else p.sms_consent end,
    whatsapp_consent = case when p_channel = 'whatsapp' then p_granted else p.whatsapp_consent end,
    push_consent = case when p_channel = 'push' then p_granted else p.push_consent end,
    consent_updated_at = now()
  where p.id = p_patient;
  insert into public.consent_history (patient_id, clinic_id, channel, granted, source, changed_by)
  values (p_patient, v_patient.clinic_id, p_channel, p_granted, p_source,
    (select u.id from public.users u where u.id = (select auth.uid())));
end
$$;
revoke all on function private.set_consent(uuid, text, boolean, text) from public;
grant execute on function private.set_consent(uuid, text, boolean, text) to service_role;

-- The changes of a request's `consents` object ({"sms": true, …}; null: none), in the order of
-- private.consent_channels(); 400 unless an object of booleans (unknown channels: set_consent).
create or replace function private.consent_changes(p_consents jsonb)
  returns table (channel text, granted boolean)
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  if p_consents is null then
    return;
  end if;
  if jsonb_typeof(p_consents) <> 'object' then
    perform private.raise_api(400, 'invalid_request', 'consents must be an object');
  end if;
  if exists (select 1 from jsonb_each(p_consents) c where jsonb_typeof(c.value) <> 'boolean') then
    perform private.raise_api(400, 'invalid_request', 'A consent must be true or false');
  end if;
  return query
    select c.key, c.value::boolean from jsonb_each(p_consents) c
    order by array_position(private.consent_channels(), c.key) nulls last, c.key;
end
$$;
revoke all on function private.consent_changes(jsonb) from public;
grant execute on function private.consent_changes(jsonb) to authenticated, service_role;

-- A client's consent changes `p_consents` ({"sms": true, …}) for one patient: from the app
-- (`p_source` app) only the patient's own record, at the front desk (front_desk) only a patient
-- of a clinic where the caller is staff; else 404. Each through private.set_consent.
create or replace function private.change_consents(
  p_patient uuid,
  p_consents jsonb,
  p_source text
) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_change record;
begin
  if p_source = 'app' then
    if p_patient is null or p_patient not in (select private.my_patient_ids()) then
      perform private.raise_api(404, 'not_found', 'No such patient');
    end if;
  elsif p_source = 'front_desk' then
    if not exists (select 1 from public.patients p
                   where p.id = p_patient and p.deleted_at is null
                     and p.clinic_id in (select private.staff_clinic_ids())) then
      perform private.raise_api(404, 'not_found', 'No such patient in this clinic');
    end if;
  else
    perform private.raise_api(400, 'invalid_request', 'Unknown consent source');
  end if;
  for v_change in select * from private.consent_changes(p_consents) loop
    perform private.set_consent(p_patient, v_change.channel, v_change.granted, p_source);
  end loop;
end
$$;
revoke all on function private.change_consents(uuid, jsonb, text) from public;
grant execute on function private.change_consents(uuid, jsonb, text) to authenticated;

-- ---------------------------------------------------------------------------------------
-- The profile and consents as the routes answer them (RLS: own rows, or the clinic's staff)
-- ---------------------------------------------------------------------------------------

create or replace function private.consent_state(p public.patients) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('email', p.email_consent, 'sms', p.sms_consent,
      'whatsapp', p.whatsapp_consent, 'push', p.push_consent)
  $$;

create or replace function private.consent_change(h public.consent_history) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('patient_id', h.patient_id, 'channel', h.channel,
      'granted', h.granted, 'source', h.source, 'changed_by', h.changed_by,
      'changed_at', private.iso_utc(h.changed_at))
  $$;
-- The consent changes of `p_patients` the caller may read (RLS), newest first, at most
-- `p_limit` (1–200, default 50).
create or replace function private.consent_history_page(p_patients uuid[], p_limit integer)
  returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('history', coalesce((
      select jsonb_agg(private.consent_change(h) order by h.changed_at desc, h.id desc)
      from (select * from public.consent_history h
            where h.patient_id = any (p_patients)
            order by h.changed_at desc, h.id desc
            limit least(greatest(coalesce(p_limit, 50), 1), 200)) h), '[]'::jsonb))
  $$;
revoke all on function private.consent_state(public.patients),
  private.consent_change(public.consent_history),
  private.consent_history_page(uuid[], integer) from public;
grant execute on function private.consent_state(public.patients),
  private.consent_change(public.consent_history),
  private.consent_history_page(uuid[], integer) to authenticated;

create or replace function private.check_language(p_language text) returns void
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  if p_language is not null and p_language <> all (private.languages()) then
    perform private.raise_api(400, 'invalid_request', 'Unsupported language',
      jsonb_build_object('language', p_language, 'supported', private.languages()));
  end if;
end
$$;
revoke all on function private.check_language(text) from public;
grant execute on function private.check_language(text) to authenticated, service_role;

-- The caller's profile: account language and phone, and per patient record (one per clinic)
-- its language and consents.
create or replace function api.my_profile() returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object(
      'user_id', u.id, 'email', u.email, 'full_name', u.full_name, 'phone', u.phone,
      'language', u.language,
      'patients', coalesce((
        select jsonb_agg(jsonb_build_object(
          'patient_id', p.id, 'clinic_code', c.code, 'clinic_name', c.name,
          'patient_number', p.patient_number, 'language', p.preferred_language,
          'consents', private.consent_state(p),
          'consents_updated_at', private.iso_utc(p.consent_updated_at))
          order by c.code)
        from public.patients p join public.clinics c on c.id = p.clinic_id
        where p.user_id = u.id and p.deleted_at is null), '[]'::jsonb))
    from public.users u
    where u.id = (select auth.uid())
  $$;

-- Changes the caller's language and phone (account and every patient record) and consents
-- (every patient record, or the one at clinic `p_code`), source `app`; answers the profile.
create or replace function api.update_my_profile(
  p_code text,
  p_consents jsonb,
  p_language text,
  p_phone text
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := case when p_code is null then null else (private.clinic_by_code(p_code)).id end;
  v_patient uuid;
  v_found boolean := false;
begin
  perform private.check_language(p_language);
  if p_language is not null or p_phone is not null then
    update public.users u set language = coalesce(p_language, u.language),
      phone = coalesce(p_phone, u.phone)
    where u.id = (select auth.uid());
    update public.patients p set preferred_language = coalesce(p_language, p.preferred_language),
      phone = coalesce(p_phone, p.phone)
    where p.user_id = (select auth.uid()) and p.deleted_at is null;
  end if;
  for v_patient in
    select p.id from public.patients p
    where p.user_id = (select auth.uid()) and p.deleted_at is null
      and (v_clinic is null or p.clinic_id = v_clinic)
    order by p.id
  loop
    v_found := true;
    perform private.change_consents(v_patient, p_consents, 'app');
  end loop;
  if p_consents is not null and not v_found then
    perform private.raise_api(404, 'not_found', 'No patient record to change consents for');
  end if;
  return api.my_profile();
end
$$;

-- The consent changes of the caller's patient records (at clinic `p_code`, if given), newest
-- first, at most `p_limit` (1–200).
create or replace function api.my_consent_history(p_code text, p_limit integer) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := case when p_code is null then null else (private.clinic_by_code(p_code)).id end;
begin
  return private.consent_history_page(array(
    select p.id from public.patients p
    where p.id in (select private.my_patient_ids()) and (v_clinic is null or p.clinic_id = v_clinic)),
    p_limit);
end
$$;

-- A patient of clinic `p_code` for its staff (else 403/404), locked when it is to change.
create or replace function private.staff_patient(p_code text, p_patient uuid)
  returns public.patients
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
  v_patient public.patients;
begin
  select * into v_patient from public.patients p
  where p.id = p_patient and p.clinic_id = v_clinic.id and p.deleted_at is null;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such patient in this clinic');
  end if;
  return v_patient;
end
$$;
revoke all on function private.staff_patient(text, uuid) from public;
grant execute on function private.staff_patient(text, uuid) to authenticated;

create or replace function private.patient_consents(p public.patients) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object('patient_id', p.id, 'patient_number', p.patient_number,
      'language', p.preferred_language, 'phone_masked', private.mask_phone(p.phone),
      'email_masked', private.mask_email(p.email::text), 'consents', private.consent_state(p),
      'consents_updated_at', private.iso_utc(p.consent_updated_at))
  $$;
revoke all on function private.patient_consents(public.patients) from public;
grant execute on function private.patient_consents(public.patients) to authenticated;

-- A patient's language and consents, for the clinic's staff (contact details masked).
create or replace function api.patient_consents(p_code text, p_patient uuid) returns jsonb
  language sql
  set search_path = ''
  as $$ select private.patient_consents(private.staff_patient(p_code, p_patient)) $$;

-- The front desk changes a patient's consents (source `front_desk`), language and phone.
create or replace function api.update_patient_consents(
  p_code text,
  p_patient uuid,
  p_consents jsonb,
  p_language text,
  p_phone text
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_patient public.patients := private.staff_patient(p_code, p_patient);
begin
  perform private.check_language(p_language);
  if p_language is not null or p_phone is not null then
    update public.patients p set preferred_language = coalesce(p_language, p.preferred_language),
      phone = coalesce(p_phone, p.phone)
    where p.id = v_patient.id;
  end if;
  perform private.change_consents(v_patient.id, p_consents, 'front_desk');
  return private.patient_consents(
    (select p from public.patients p where p.id = v_patient.id));
end
$$;

create or replace function api.patient_consent_history(
  p_code text,
  p_patient uuid,
  p_limit integer
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_patient public.patients := private.staff_patient(p_code, p_patient);
begin
  return private.consent_history_page(array[v_patient.id], p_limit);
end
$$;

revoke all on function api.my_profile(), api.update_my_profile(text, jsonb, text, text),
  api.my_consent_history(text, integer), api.patient_consents(text, uuid),
  api.update_patient_consents(text, uuid, jsonb, text, text),
  api.patient_consent_history(text, uuid, integer) from public;
grant execute on function api.my_profile(), api.update_my_profile(text, jsonb, text, text),
  api.my_consent_history(text, integer), api.patient_consents(text, uuid),
  api.update_patient_consents(text, uuid, jsonb, text, text),
  api.patient_consent_history(text, uuid, integer) to authenticated;

-- ---------------------------------------------------------------------------------------
-- Sign-up and walk-ins record consent
-- ---------------------------------------------------------------------------------------

-- Sign-up as before, with the patient's language (default en) and consents per channel
-- (`p_consents`, default none), recorded with source `signup`.
drop function api.signup_patient(text, text, text, text, date, public.gender, text, text, integer);
create or replace function api.signup_patient(
  p_clinic_code text,
  p_email text,
  p_password_hash text,
  p_full_name text,
  p_date_of_birth date,
  p_gender public.gender,
  p_phone text,
  p_refresh_hash text,
  p_refresh_ttl integer,
  p_consents jsonb default null,
  p_language text default null
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_user uuid;
  v_patient uuid;
  v_change record;
begin
  perform private.check_language(p_language);
  select * into v_clinic from public.clinics
  where code = upper(p_clinic_code) and is_active and deleted_at is null;
  if not found then
    perform private.raise_api(404, 'clinic_not_found', 'No clinic with that code');
  end if;
  if exists (select 1 from public.users u
             where u.email operator(extensions.=) p_email::extensions.citext) then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end if;
  begin
    insert into public.users (email, full_name, phone, language)
    values (p_email, p_full_name, p_phone, coalesce(p_language, 'en'))
    returning id into v_user;
  exception when unique_violation then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end;
  insert into private.credentials (user_id, password_hash) values (v_user, p_password_hash);
  insert into public.clinic_members (user_id, clinic_id, role, is_primary)
  values (v_user, v_clinic.id, 'patient', true);

  insert into public.patients (clinic_id, user_id, patient_number, full_name, date_of_birth,
    gender, phone, email, preferred_language)
  values (v_clinic.id, v_user, private.next_patient_number(v_clinic.id),
    p_full_name, p_date_of_birth, p_gender, p_phone, p_email, coalesce(p_language, 'en'))
  returning id into v_patient;
  for v_change in select * from private.consent_changes(p_consents) loop
    perform private.set_consent(v_patient, v_change.channel, v_change.granted, 'signup');
  end loop;

  return private.start_session(v_user, v_clinic.id, p_refresh_hash, p_refresh_ttl);
end
$$;
revoke all on function api.signup_patient(text, text, text, text, date, public.gender, text, text,
  integer, jsonb, text) from public;
grant execute on function api.signup_patient(text, text, text, text, date, public.gender, text,
  text, integer, jsonb, text) to service_role;

-- A walk-in as before; a new patient (`p_new_patient`) may carry `sms_consent` (true: the front
-- desk recorded the patient's consent to be told by SMS, source `front_desk`).
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
    if p_new_patient ? 'sms_consent' then
      perform private.change_consents(v_patient,
        jsonb_build_object('sms', p_new_patient -> 'sms_consent'), 'front_desk');
    end if;
  end if;
  select * into v_t
  from private.queue_walk_in(v_clinic.id, v_patient, p_doctor, coalesce(p_priority, 0));
  return private.queue_ticket_answer(v_t);
end
$$;
