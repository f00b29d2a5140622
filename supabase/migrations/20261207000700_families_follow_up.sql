-- Families, continued: a guardian checks a dependant in and sees the ticket's place in the
-- queue; sign-up follows clinics.accepts_new_patients; a guardian chooses a dependant's
-- notification consents and language.

-- ---------------------------------------------------------------------------------------
-- Checking a dependant in
-- ---------------------------------------------------------------------------------------

-- Online check-in (private.queue_check_in, whichever migration defined it last) and a ticket's
-- place in the queue (private.queue_ticket_info) are the patient's own: their one identity
-- rule names private.my_patient_ids(). A guardian is let in by widening exactly that rule with
-- the one guardianship rule, private.my_dependant_ids() — the window, the no-show grace and the
-- ticket stay the function's own, wherever they are defined. No wrapper can do this: a child
-- without an account has no identity to run the patient's path under. The migration stops if
-- the rule is no longer written as expected, so a rewrite is noticed here, not in production.
do $$
declare
  v_target record;
  v_def text;
begin
  for v_target in select * from (values
    ('private.queue_check_in(uuid)'::regprocedure,
      'v_appt.patient_id not in (select private.my_patient_ids())',
      'v_appt.patient_id not in (select private.my_patient_ids())
      and v_appt.patient_id not in (select private.my_dependant_ids())'),
    ('private.queue_ticket_info(uuid)'::regprocedure,
      'v_t.patient_id in (select private.my_patient_ids())',
      'v_t.patient_id in (select private.my_patient_ids())
    or v_t.patient_id in (select private.my_dependant_ids())')
  ) as t (fn, rule, widened) loop
    v_def := pg_get_functiondef(v_target.fn);
    if strpos(v_def, v_target.rule) = 0 then
      raise exception '% no longer says "%"', v_target.fn, v_target.rule;
    end if;
    execute replace(v_def, v_target.rule, v_target.widened);
  end loop;
end
$$;

-- The caller's active ticket of today — their own first, else a dependant's (earliest check-in
-- first) — with its clinic and whose it is, as api.my_appointments says it.
create or replace function api.my_queue(p_clinic_code text) returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('ticket', (
      select private.json_extend(
        private.queue_ticket_json(t, private.queue_ticket_info(t.id)),
        json_build_object('clinic_code', c.code, 'clinic_name', c.name,
          'patient_name', p.full_name,
          'for_dependant', p.user_id is distinct from (select auth.uid())))
      from public.queue_tickets t
      join public.clinics c on c.id = t.clinic_id
      join public.patients p on p.id = t.patient_id
      where (t.patient_id in (select private.my_patient_ids())
          or t.patient_id in (select private.my_dependant_ids()))
        and t.service_date = private.clinic_today(t.clinic_id)
        and t.status in ('waiting', 'called', 'serving')
        and (p_clinic_code is null or c.code = upper(p_clinic_code))
      order by p.user_id is distinct from (select auth.uid()), t.checked_in_at, t.id
      limit 1))
  $$;

-- ---------------------------------------------------------------------------------------
-- A clinic not taking new patients
-- ---------------------------------------------------------------------------------------

-- Signing up at a clinic is a new patient too: refused with 409 `not_accepting_patients`
-- before anything is written, as api.register_at_clinic and api.add_dependant refuse theirs.
-- The sign-up itself stays private.signup_patient_own, wherever it was last defined.
alter function api.signup_patient(text, text, text, text, date, public.gender, text, text,
  integer, jsonb, text) rename to signup_patient_own;
alter function api.signup_patient_own(text, text, text, text, date, public.gender, text, text,
  integer, jsonb, text) set schema private;

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
begin
  if exists (select 1 from public.clinics c where c.code = upper(p_clinic_code) and c.is_active
             and c.deleted_at is null and not c.accepts_new_patients) then
    perform private.raise_api(409, 'not_accepting_patients',
      'This clinic is not taking new patients');
  end if;
  return private.signup_patient_own(p_clinic_code, p_email, p_password_hash, p_full_name,
    p_date_of_birth, p_gender, p_phone, p_refresh_hash, p_refresh_ttl, p_consents, p_language);
end
$$;
revoke all on function api.signup_patient(text, text, text, text, date, public.gender, text, text,
  integer, jsonb, text) from public;
grant execute on function api.signup_patient(text, text, text, text, date, public.gender, text,
  text, integer, jsonb, text) to service_role;

-- ---------------------------------------------------------------------------------------
-- A dependant's messages: consents and language
-- ---------------------------------------------------------------------------------------

-- Messages about a dependant without an account of their own go to their guardian
-- (private.notified_user): in the app and by push to the guardian, by SMS, WhatsApp or e-mail
-- to the dependant's record's phone or address, under that record's consents and in its
-- language (private.notify). So the guardian decides those, as a patient does their own: the
-- list says them (`consents`, `language`, `own_account`), api.update_dependant changes them —
-- each consent through private.set_consent, the one home (history with source `app` and the
-- guardian as who changed it). A dependant with an account of their own is told themselves
-- and decides their own: 403 `own_account`.
create or replace function private.dependant_json(g public.guardianships) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select private.my_patient_json(p, c) || jsonb_build_object(
      'relationship', g.relationship, 'linked_at', g.created_at,
      'own_account', p.user_id is not null, 'language', p.preferred_language,
      'consents', private.consent_state(p))
    from public.patients p join public.clinics c on c.id = p.clinic_id
    where p.id = g.patient_id
  $$;

-- `p_changes` {consents?: {"sms": true, …}, language?}: fields left out stay as they are.
-- 404 `dependant_not_found` unless a live dependant of the caller.
create or replace function api.update_dependant(p_patient uuid, p_changes jsonb)
  returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_link public.guardianships;
  v_patient public.patients;
  v_language text := p_changes ->> 'language';
  v_change record;
begin
  select g.* into v_link from public.guardianships g
  where g.guardian_id = (select auth.uid()) and g.patient_id = p_patient
    and p_patient in (select private.my_dependant_ids());
  if not found then
    perform private.raise_api(404, 'dependant_not_found', 'No such dependant');
  end if;
  select * into v_patient from public.patients p where p.id = p_patient for update;
  if v_patient.user_id is not null then
    perform private.raise_api(403, 'own_account',
      'They have an account of their own and choose their messages there');
  end if;
  perform private.check_language(v_language);
  if v_language is distinct from v_patient.preferred_language and v_language is not null then
    update public.patients p set preferred_language = v_language where p.id = p_patient;
  end if;
  for v_change in select * from private.consent_changes(p_changes -> 'consents') loop
    perform private.set_consent(p_patient, v_change.channel, v_change.granted, 'app');
  end loop;
  return jsonb_build_object('dependant', private.dependant_json(v_link));
end
$$;
revoke all on function api.update_dependant(uuid, jsonb) from public;
grant execute on function api.update_dependant(uuid, jsonb) to authenticated;
