-- Supabase Auth as an identity mode (AUTH_MODE=supabase): the project's Supabase Auth users are
-- our users, by id. A user inserted into auth.users (a sign-up, by e-mail, phone or
-- anonymously) gets public.users with the same id — so auth.uid() in every policy is that
-- user — and, when the sign-up names a clinic (`raw_user_meta_data.clinic_code`, with
-- `full_name`, `date_of_birth`, `gender`), a patient record there.
--
-- * Phone-only and anonymous users have no e-mail: public.users.email is nullable (an account
--   without one has none; our own sign-in still needs one, and finds accounts by it).
-- * An e-mail that already belongs to one of our users (an account from our own sign-up, or
--   staff) is linked to the Supabase user once Supabase has confirmed it (`email_confirmed_at`,
--   at sign-up or later): that account takes the Supabase user's id, with everything that
--   refers to it. Before confirmation nothing is linked (nobody gets an account by typing
--   someone else's e-mail).
-- * Linking never aborts Supabase's sign-up: a failure is caught and kept in
--   private.auth_link_failures (as is a patient record that could not be made).

alter table public.users alter column email drop not null;

create table private.auth_link_failures (
  id bigint generated always as identity primary key,
  auth_user_id uuid not null,
  step text not null,
  sqlstate text not null,
  error text not null,
  at timestamptz not null default now()
);
alter table private.auth_link_failures enable row level security;
alter table private.auth_link_failures force row level security;
grant all on private.auth_link_failures to service_role;

-- Gives `p_to` to the account `p_from`: its row and every reference to it (each foreign key to
-- public.users, from the catalog) move to the new id.
create or replace function private.rekey_user(p_from uuid, p_to uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_row jsonb;
  v_ref record;
begin
  select to_jsonb(u) into v_row from public.users u where u.id = p_from for update;
  -- Unique values move with the row: freed on the old one first.
  update public.users set email = null, external_id = null where id = p_from;
  insert into public.users
  select * from jsonb_populate_record(null::public.users, v_row || jsonb_build_object('id', p_to));
  for v_ref in
    select c.conrelid::regclass as tbl, a.attname
    from pg_catalog.pg_constraint c
    join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid = 'public.users'::regclass
      and pg_catalog.array_length(c.conkey, 1) = 1
  loop
    execute pg_catalog.format('update %s set %I = $1 where %I = $2', v_ref.tbl, v_ref.attname,
      v_ref.attname) using p_to, p_from;
  end loop;
  delete from public.users where id = p_from;
end
$$;
revoke all on function private.rekey_user(uuid, uuid) from public;

-- Links one auth.users row (as jsonb: columns differ between Supabase Auth versions) to our
-- users; see the top of this file. Idempotent: called on every insert and update.
create or replace function private.link_auth_user(p_user jsonb) returns text
  language plpgsql
  set search_path = ''
  as $$
declare
  v_id uuid := (p_user ->> 'id')::uuid;
  v_meta jsonb := coalesce(p_user -> 'raw_user_meta_data', '{}');
  v_email text := lower(btrim(p_user ->> 'email'));
  v_confirmed boolean := (p_user ->> 'email_confirmed_at') is not null;
  v_phone text := nullif(btrim(p_user ->> 'phone'), '');
  v_name text;
  v_other uuid;
  v_clinic uuid;
begin
  if v_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' then
    v_email := null;
  end if;
  if v_phone !~ '^[+0-9][0-9 -]{5,19}$' then
    v_phone := null;
  end if;
  if exists (select 1 from public.users where id = v_id) then
    -- Already ours: an e-mail confirmed since is recorded when nobody else has it.
    if v_email is not null and v_confirmed then
      update public.users u set email = v_email
      where u.id = v_id and u.email is null and not exists (
        select 1 from public.users o where o.email operator(extensions.=) v_email::extensions.citext);
    end if;
    return 'linked';
  end if;
  select u.id into v_other from public.users u
  where u.email operator(extensions.=) v_email::extensions.citext;
  if v_other is not null then
    if not v_confirmed then
      return 'awaiting_confirmation';
    end if;
    perform private.rekey_user(v_other, v_id);
    return 'linked_existing';
  end if;

  v_name := left(coalesce(nullif(btrim(v_meta ->> 'full_name'), ''),
    nullif(btrim(v_meta ->> 'name'), ''), split_part(v_email, '@', 1), v_phone, 'Guest'), 200);
  insert into public.users (id, email, full_name, phone)
  values (v_id, v_email, v_name, v_phone);

  if nullif(btrim(v_meta ->> 'clinic_code'), '') is not null then
    begin
      select c.id into strict v_clinic from public.clinics c
      where c.code = upper(btrim(v_meta ->> 'clinic_code')) and c.is_active
        and c.deleted_at is null;
      insert into public.clinic_members (user_id, clinic_id, role, is_primary)
      values (v_id, v_clinic, 'patient', true);
      insert into public.patients (clinic_id, user_id, patient_number, full_name, date_of_birth,
        gender, phone, email)
      values (v_clinic, v_id, private.next_patient_number(v_clinic), v_name,
        (v_meta ->> 'date_of_birth')::date, (v_meta ->> 'gender')::public.gender, v_phone,
        v_email);
    exception when others then
      insert into private.auth_link_failures (auth_user_id, step, sqlstate, error)
      values (v_id, 'patient', sqlstate, sqlerrm);
      return 'linked_without_patient';
    end;
  end if;
  return 'provisioned';
end
$$;
revoke all on function private.link_auth_user(jsonb) from public;

-- The trigger on auth.users: never lets a failure reach Supabase's sign-up.
create or replace function private.on_auth_user() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  begin
    perform private.link_auth_user(to_jsonb(new));
  exception when others then
    begin
      insert into private.auth_link_failures (auth_user_id, step, sqlstate, error)
      values (new.id, 'link', sqlstate, sqlerrm);
    exception when others then
      raise warning 'linking auth user % failed: %', new.id, sqlerrm;
    end;
  end;
  return null;
end
$$;
revoke all on function private.on_auth_user() from public;

-- Only where Supabase Auth's table is (a plain PostgreSQL has no auth.users).
do $$
begin
  if to_regclass('auth.users') is not null then
    drop trigger if exists clinic_link_user on auth.users;
    create trigger clinic_link_user after insert or update on auth.users
      for each row execute function private.on_auth_user();
  end if;
end
$$;
