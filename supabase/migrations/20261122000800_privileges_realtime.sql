-- Table and column privileges, self-update guards, and the realtime publication.
-- RLS decides which rows; these grants decide which tables and columns a role may touch.

grant select, insert, update, delete on all tables in schema public to authenticated, service_role;
grant usage, select on all sequences in schema public to authenticated, service_role;
grant all on all tables in schema private to service_role;
grant all on all tables in schema audit to service_role;
grant usage on schema audit to service_role;

-- anon: public clinic information and (with a board token) its clinic's board; no more.
grant select (id, code, name, branch_name, timezone, address, postal_code, phone, email, website)
  on public.clinics to anon;
grant select (id, clinic_id, display_name, specializations, languages, bio, consultation_fee)
  on public.doctors to anon;
grant select on public.queue_board, public.queue_board_versions to anon;

-- A user edits their own profile fields, never flags such as is_superadmin.
revoke update on public.users from authenticated;
grant update (full_name, display_name, phone, language, notification_preferences)
  on public.users to authenticated;

-- Notifications: the owner can only mark them read.
revoke insert, update, delete on public.notifications from authenticated;
grant update (read_at) on public.notifications to authenticated;

-- Endpoint secrets are shown once at creation, never read back.
revoke select on public.webhook_endpoints from authenticated;
grant select (id, clinic_id, url, description, events, enabled, disabled_at, disabled_reason,
  failing_since, created_by, created_at, updated_at, previous_secret_expires_at)
  on public.webhook_endpoints to authenticated;

-- Append-only or service-written tables.
revoke insert, update, delete on public.webhook_inbox, public.webhook_outbox,
  public.webhook_deliveries, public.webhook_delivery_attempts, public.webhook_security_log,
  public.jobs, public.queue_board, public.queue_board_versions, public.notification_deliveries
  from authenticated;

-- When the caller is a patient (not staff of the row's clinic), only the listed columns may
-- change. SECURITY INVOKER on purpose: inside a security-definer routine current_user is the
-- owner and the guard stands aside, so the database's own functions are not restricted.
create or replace function private.guard_self_update() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_bad text[];
begin
  if current_user <> 'authenticated' then
    return new;
  end if;
  if new.clinic_id in (select private.staff_clinic_ids()) then
    return new;
  end if;
  select array_agg(n.key order by n.key) into v_bad
  from jsonb_each(to_jsonb(new)) n
  where n.key <> all (tg_argv[0]::text[]) and n.value is distinct from to_jsonb(old) -> n.key;
  if v_bad is not null then
    raise exception 'not allowed to change %', array_to_string(v_bad, ', ')
      using errcode = '42501';
  end if;
  return new;
end
$$;

create trigger guard before update on public.patients
  for each row execute function private.guard_self_update(
    '{phone,email,address,postal_code,emergency_contact_name,emergency_contact_phone,preferred_language,preferred_doctor_id,sms_consent,email_consent,whatsapp_consent,marketing_consent,consent_updated_at,updated_at}'
  );
create trigger guard before update on public.appointments
  for each row execute function private.guard_self_update(
    '{period,doctor_id,visit_reason,status,hold_expires_at,service_date,appointment_number,cancelled_at,cancelled_by,cancellation_reason,rescheduled_from,updated_at}'
  );

-- Realtime: changes of these tables are streamed by the realtime server (logical replication).
-- REPLICA IDENTITY FULL so UPDATE/DELETE carry the whole old row, which authorization needs.
alter table public.appointments replica identity full;
alter table public.queue_tickets replica identity full;
alter table public.queue_board replica identity full;
alter table public.queue_board_versions replica identity full;
alter table public.notifications replica identity full;
alter table public.clinic_members replica identity full;
alter table public.board_tokens replica identity full;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
alter publication supabase_realtime add table
  public.appointments, public.queue_tickets, public.queue_board, public.queue_board_versions,
  public.notifications, public.clinic_members, public.board_tokens;
