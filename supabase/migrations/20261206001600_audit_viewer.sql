-- The audit viewer: a clinic's admins page through their clinic's audit entries, filtered by
-- table, actor, patient and date (in the clinic's time zone), newest first, keyset-paginated.
-- Who sees an entry is audit.logs' policy: the clinic's admins, and for an entry about health
-- data (a table of the clinical domain) only when they may read that record itself right now
-- (its own RLS decides: nurses, treating doctors), so the log never shows an admin more health
-- data than the record would.

-- The tables holding health data: those readable under the clinical care-team policy
-- (tests/db/audit_viewer_test.ts checks this list against the policies).
create or replace function audit.health_tables() returns text[]
  language sql immutable
  as $$
    select '{medical_records,prescriptions,prescription_items,lab_results,imaging_results,vaccination_records,telemedicine_sessions}'::text[]
  $$;
revoke all on function audit.health_tables() from public;
grant execute on function audit.health_tables() to authenticated, service_role;

-- Whether the caller may read the row `p_id` of `public.<p_table>` under that table's RLS
-- (security invoker on purpose: the record's own policies are the one home of the rule).
create or replace function audit.record_visible(p_table text, p_id text) returns boolean
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_seen boolean;
begin
  if p_id is null or p_id !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
    return false;
  end if;
  execute format('select exists (select 1 from public.%I where id = $1::uuid)', p_table)
    into v_seen using p_id;
  return v_seen;
end
$$;
revoke all on function audit.record_visible(text, text) from public;
grant execute on function audit.record_visible(text, text) to authenticated, service_role;

drop policy audit_admin_read on audit.logs;
create policy audit_admin_read on audit.logs for select to authenticated
  using (clinic_id in (select private.admin_clinic_ids())
    and (table_name <> all (audit.health_tables())
      or audit.record_visible(table_name, record_id)));

-- The patient an entry is about: the patients row itself, or the row's patient_id.
create or replace function audit.entry_patient(
  p_table text, p_record text, p_old jsonb, p_new jsonb
) returns text
  language sql immutable
  as $$
    select case when p_table = 'patients' then p_record
      else coalesce(p_new ->> 'patient_id', p_old ->> 'patient_id') end
  $$;
revoke all on function audit.entry_patient(text, text, jsonb, jsonb) from public;
grant execute on function audit.entry_patient(text, text, jsonb, jsonb) to authenticated,
  service_role;

create index audit_logs_clinic_table on audit.logs (clinic_id, table_name, created_at);
create index audit_logs_clinic_patient on audit.logs
  (clinic_id, audit.entry_patient(table_name, record_id, old_values, new_values), created_at);

-- One page of the clinic's audit entries (admins), newest first. `p_before` is the previous
-- page's `next_cursor` ("<microseconds since the epoch>.<id>" of its last entry).
create or replace function api.audit_entries(
  p_code text,
  p_table text default null,
  p_actor uuid default null,
  p_patient uuid default null,
  p_from date default null,
  p_to date default null,
  p_before text default null,
  p_limit integer default 50
) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_tz text := (select c.timezone from public.clinics c where c.id = v_clinic);
  v_before_at timestamptz;
  v_before_id bigint;
  v_limit integer := least(greatest(coalesce(p_limit, 50), 1), 200);
  v_rows jsonb;
  v_last text;
begin
  if p_from is not null and p_to is not null and p_to < p_from then
    perform private.raise_api(400, 'invalid_range', 'The end date is before the start date');
  end if;
  if p_before is not null then
    if p_before !~ '^[0-9]{1,18}\.[0-9]{1,18}$' then
      perform private.raise_api(400, 'invalid_cursor', 'Not a cursor from a previous page');
    end if;
    v_before_at := timestamptz 'epoch'
      + split_part(p_before, '.', 1)::bigint * interval '1 microsecond';
    v_before_id := split_part(p_before, '.', 2)::bigint;
  end if;

  with page as (
    select l.*
    from audit.logs l
    where l.clinic_id = v_clinic
      and (p_table is null or l.table_name = p_table)
      and (p_actor is null or l.actor_id = p_actor)
      and (p_patient is null
        or audit.entry_patient(l.table_name, l.record_id, l.old_values, l.new_values)
          = p_patient::text)
      and (p_from is null or l.created_at >= p_from::timestamp at time zone v_tz)
      and (p_to is null or l.created_at < (p_to + 1)::timestamp at time zone v_tz)
      and (v_before_at is null or (l.created_at, l.id) < (v_before_at, v_before_id))
    order by l.created_at desc, l.id desc
    limit v_limit
  )
  select
    coalesce(jsonb_agg(jsonb_build_object(
      'id', p.id::text,
      'at', private.iso_utc(p.created_at),
      'table', p.table_name,
      'record_id', p.record_id,
      'action', p.action,
      'actor', case when p.actor_id is null then null else jsonb_build_object(
        'id', p.actor_id, 'role', p.actor_role, 'name', u.full_name, 'email', u.email) end,
      'patient_id', audit.entry_patient(p.table_name, p.record_id, p.old_values, p.new_values),
      'changed_fields', p.changed_fields,
      'old_values', p.old_values,
      'new_values', p.new_values
    ) order by p.created_at desc, p.id desc), '[]'::jsonb),
    (array_agg(
      (extract(epoch from p.created_at) * 1000000)::bigint::text || '.' || p.id
      order by p.created_at asc, p.id asc))[1]
  into v_rows, v_last
  from page p
  left join public.users u on u.id = p.actor_id;

  return jsonb_build_object('entries', v_rows,
    'next_cursor', case when jsonb_array_length(v_rows) = v_limit then v_last end);
end
$$;
revoke all on function api.audit_entries(text, text, uuid, uuid, date, date, text, integer)
  from public;
grant execute on function api.audit_entries(text, text, uuid, uuid, date, date, text, integer)
  to authenticated;
