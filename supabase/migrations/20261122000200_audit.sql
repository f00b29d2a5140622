-- Audit: a month-partitioned log written by a trigger on every sensitive table, recording the
-- actor (from the request's JWT claims), the clinic, old/new values and the changed fields.
-- Each domain attaches the `audit` trigger to its own tables; a clinic's admins read their
-- clinic's entries (policy audit_admin_read, with the membership helpers in _identity.sql).

create schema if not exists audit;
revoke all on schema audit from public;
grant usage on schema audit to authenticated, service_role;

create table audit.logs (
  id bigint generated always as identity,
  table_schema text not null,
  table_name text not null,
  record_id text,
  action text not null check (action in ('INSERT', 'UPDATE', 'DELETE')),
  actor_id uuid,
  actor_role text,
  clinic_id uuid,
  old_values jsonb,
  new_values jsonb,
  changed_fields text[],
  request_id text,
  created_at timestamptz not null default now(),
  primary key (id, created_at)
) partition by range (created_at);
create index audit_logs_record on audit.logs (table_name, record_id);
create index audit_logs_clinic on audit.logs (clinic_id, created_at);
create index audit_logs_actor on audit.logs (actor_id, created_at);

-- A catch-all so a missing partition can never make a write fail.
create table audit.logs_default partition of audit.logs default;

-- Creates the monthly partitions from last month to `months_ahead` months ahead (idempotent;
-- the job worker calls it daily).
create or replace function audit.ensure_partitions(months_ahead integer default 3)
  returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_month date := date_trunc('month', now() at time zone 'UTC')::date - interval '1 month';
  v_name text;
  v_created integer := 0;
begin
  for i in 0..months_ahead + 1 loop
    v_name := format('logs_%s', to_char(v_month, 'YYYY_MM'));
    if to_regclass(format('audit.%I', v_name)) is null then
      -- Rows that fell into the default partition (the worker did not run for a while) move
      -- into the new month's table before it is attached, so attaching cannot fail.
      execute format('create table audit.%I (like audit.logs including defaults including constraints)', v_name);
      execute format(
        'with moved as (delete from audit.logs_default where created_at >= %L and created_at < %L returning *) '
        'insert into audit.%I overriding system value select * from moved',
        v_month::timestamp at time zone 'UTC', (v_month + interval '1 month')::timestamp at time zone 'UTC',
        v_name);
      execute format(
        'alter table audit.logs attach partition audit.%I for values from (%L) to (%L)',
        v_name, v_month::timestamp at time zone 'UTC',
        (v_month + interval '1 month')::timestamp at time zone 'UTC');
      execute format('alter table audit.%I enable row level security', v_name);
      execute format('alter table audit.%I force row level security', v_name);
      v_created := v_created + 1;
    end if;
    v_month := v_month + interval '1 month';
  end loop;
  return v_created;
end
$$;
revoke all on function audit.ensure_partitions(integer) from public;

select audit.ensure_partitions(3);

alter table audit.logs enable row level security;
alter table audit.logs force row level security;
alter table audit.logs_default enable row level security;
alter table audit.logs_default force row level security;
grant select on audit.logs to authenticated, service_role;
-- The partitions made so far included.
grant all on all tables in schema audit to service_role;

-- Columns never copied into the audit log.
create or replace function audit.redact(v jsonb) returns jsonb
  language sql immutable
  as $$
    select v operator(pg_catalog.-)
      '{secret,previous_secret,password_hash,token_hash,nric_encrypted}'::pg_catalog.text[]
  $$;

create or replace function audit.log_change() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_old jsonb;
  v_new jsonb;
  v_changed text[];
  v_row jsonb;
begin
  if tg_op <> 'INSERT' then v_old := audit.redact(to_jsonb(old)); end if;
  if tg_op <> 'DELETE' then v_new := audit.redact(to_jsonb(new)); end if;
  if tg_op = 'UPDATE' then
    -- Compared before redaction: a change of a redacted column (a secret rotation) is still
    -- on record by name, without its values.
    select array_agg(n.key order by n.key) into v_changed
    from jsonb_each(to_jsonb(new)) n
    where n.key <> 'updated_at' and n.value is distinct from to_jsonb(old) -> n.key;
    if v_changed is null then
      return null; -- nothing but updated_at changed
    end if;
  end if;
  v_row := coalesce(v_new, v_old);
  insert into audit.logs (
    table_schema, table_name, record_id, action, actor_id, actor_role, clinic_id,
    old_values, new_values, changed_fields, request_id
  ) values (
    tg_table_schema, tg_table_name, v_row ->> 'id', tg_op, auth.uid(), auth.role(),
    case when tg_table_name = 'clinics' then (v_row ->> 'id')::uuid
         else (v_row ->> 'clinic_id')::uuid end,
    v_old, v_new, v_changed, nullif(current_setting('request.id', true), '')
  );
  return null;
end
$$;
revoke all on function audit.log_change() from public;
