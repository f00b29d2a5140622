-- Staff find and register a clinic's patients at the front desk: a trigram-indexed search by
-- name, patient number or phone, and the registration of a walk-in patient without an account.

-- What a search matches: name, patient number and the phone's digits (and +), lower-cased.
create or replace function private.patient_search_text(
  p_full_name text,
  p_patient_number text,
  p_phone text
) returns text
  language sql immutable parallel safe
  set search_path = ''
  as $$
    select lower(p_full_name || ' ' || p_patient_number || ' '
      || coalesce(regexp_replace(p_phone, '[^0-9+]', '', 'g'), ''))
  $$;
grant execute on function private.patient_search_text(text, text, text) to authenticated,
  service_role;

create index patients_search_trgm on public.patients
  using gin (private.patient_search_text(full_name, patient_number, phone)
    extensions.gin_trgm_ops)
  where deleted_at is null;

-- The clinic's patients whose name, number or phone contains `p_query` (at least two
-- characters; a phone may be typed with spaces or dashes), for its staff: best name match
-- first, at most `p_limit` (1–50). SECURITY INVOKER: RLS decides which rows the caller sees.
create or replace function api.search_patients(p_code text, p_query text, p_limit integer)
  returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic public.clinics := private.staff_clinic(p_code);
  v_query text := lower(btrim(p_query));
  v_digits text := regexp_replace(p_query, '[^0-9]', '', 'g');
  v_like text;
begin
  if length(v_query) < 2 then
    perform private.raise_api(400, 'invalid_request', 'Search with at least two characters');
  end if;
  v_like := '%' || replace(replace(replace(v_query, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  return jsonb_build_object('patients', coalesce((
    select jsonb_agg(jsonb_build_object('id', m.id, 'patient_number', m.patient_number,
        'full_name', m.full_name, 'date_of_birth', m.date_of_birth, 'gender', m.gender,
        'phone', m.phone) order by m.rank desc, m.full_name, m.patient_number)
    from (
      select p.id, p.patient_number, p.full_name, p.date_of_birth, p.gender, p.phone,
        greatest(extensions.similarity(lower(p.full_name), v_query),
          case when lower(p.patient_number) = v_query then 2 else 0 end) as rank
      from public.patients p
      where p.clinic_id = v_clinic.id and p.deleted_at is null
        and (private.patient_search_text(p.full_name, p.patient_number, p.phone) like v_like
             or (length(v_digits) >= 4
                 and private.patient_search_text(p.full_name, p.patient_number, p.phone)
                   like '%' || v_digits || '%'))
      order by rank desc, p.full_name, p.patient_number
      limit least(greatest(coalesce(p_limit, 20), 1), 50)
    ) m), '[]'::jsonb));
end
$$;
revoke all on function api.search_patients(text, text, integer) from public;
grant execute on function api.search_patients(text, text, integer) to authenticated;

-- A patient record for a walk-in without an account, registered by staff of the clinic (the
-- next patient number of the clinic). Returns the patient's id.
create or replace function private.register_patient(
  p_clinic uuid,
  p_full_name text,
  p_date_of_birth date,
  p_gender public.gender,
  p_phone text default null
) returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_id uuid;
begin
  if p_clinic is null or p_clinic not in (select private.staff_clinic_ids()) then
    perform private.raise_api(403, 'forbidden', 'Only staff of this clinic can register patients');
  end if;
  insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender, phone)
  values (p_clinic, private.next_patient_number(p_clinic), btrim(p_full_name), p_date_of_birth,
    p_gender, p_phone)
  returning id into v_id;
  return v_id;
end
$$;
revoke all on function private.register_patient(uuid, text, date, public.gender, text) from public;
grant execute on function private.register_patient(uuid, text, date, public.gender, text)
  to authenticated;
