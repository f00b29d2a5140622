-- Staff administration: a clinic's admins invite staff by e-mail, change a member's role and
-- revoke a membership; every change is a row change of public.clinic_invitations or
-- public.clinic_members, so the audit triggers record it with the admin as actor.
--
-- The invitation e-mail goes the way account e-mails go (edge/auth/account_mail.ts): a job
-- makes the token, only its hash is stored here (on the invitation), the text is the
-- `staff_invite` template in the invitee's language. A new mail replaces the token, so only the
-- newest link works; accepting uses it up. Accepting creates the account (name and password
-- given with the token) or links the existing account of the invited address: the token proves
-- the mailbox, as a password reset link does.
--
-- A member holds one staff role per clinic (besides a patient record): a new role replaces the
-- old one. A clinic keeps at least one admin.

-- Null until the mail job issues the link, and once withdrawn (an accepted invitation keeps its
-- hash: a replayed link answers "used").
alter table public.clinic_invitations alter column token_hash drop not null;

-- ---------------------------------------------------------------------------------------
-- The invitation e-mail's template
-- ---------------------------------------------------------------------------------------

-- As before, plus `staff_invite` (e-mail only: the clinic, the link, its lifetime in days).
create or replace function private.template_variables(p_kind text, p_channel text)
  returns text[]
  language sql immutable
  set search_path = ''
  as $$
    select case
      when p_kind in ('booking_confirmed', 'booking_rescheduled', 'booking_cancelled',
                      'appointment_reminder')
        then array['clinic', 'date', 'time', 'ref']
          || case when p_channel in ('in_app', 'email') then array['doctor'] else '{}' end
      when p_kind = 'ticket_called' then array['clinic', 'date', 'time', 'code', 'room']
      when p_kind = 'queue_near' then array['clinic', 'date', 'time', 'code', 'people_ahead']
      when p_kind = 'queue_next' then array['clinic', 'date', 'time', 'code']
      when p_kind in ('password_reset', 'email_verify', 'email_change', 'login_unlock')
        and p_channel = 'email' then array['link', 'minutes']
      when p_kind = 'staff_invite' and p_channel = 'email' then array['clinic', 'link', 'days']
    end
  $$;

with texts (language, subject, body, action, ignore) as (values
  ('en', 'You are invited to join {{clinic}}',
   'Hello,' || E'\n\n' || 'You are invited to join the staff of {{clinic}} on the clinic platform. The link works once, within {{days}} days; if you have no account yet, you choose your name and password there.',
   'Accept the invitation',
   'If you did not expect this, you can ignore this e-mail.'),
  ('zh', '邀请您加入{{clinic}}',
   '您好，' || E'\n\n' || '{{clinic}} 邀请您以员工身份加入诊所平台。此链接只能使用一次，{{days}} 天内有效；如果您还没有账户，可以在那里设置姓名和密码。',
   '接受邀请',
   '如果您没有预期收到此邮件，请忽略。'),
  ('ms', 'Anda dijemput menyertai {{clinic}}',
   'Salam sejahtera,' || E'\n\n' || 'Anda dijemput menyertai kakitangan {{clinic}} di platform klinik. Pautan ini berfungsi sekali sahaja, dalam masa {{days}} hari; jika anda belum mempunyai akaun, anda memilih nama dan kata laluan di sana.',
   'Terima jemputan',
   'Jika anda tidak menjangkakannya, abaikan e-mel ini.'),
  ('ta', '{{clinic}} இல் சேர உங்களுக்கு அழைப்பு',
   'வணக்கம்,' || E'\n\n' || 'கிளினிக் தளத்தில் {{clinic}} இன் பணியாளராகச் சேர நீங்கள் அழைக்கப்பட்டுள்ளீர்கள். இந்த இணைப்பு {{days}} நாட்களுக்குள் ஒருமுறை மட்டுமே செயல்படும்; உங்களுக்குக் கணக்கு இல்லையெனில், அங்கே உங்கள் பெயரையும் கடவுச்சொல்லையும் தேர்ந்தெடுக்கலாம்.',
   'அழைப்பை ஏற்கவும்',
   'இதை நீங்கள் எதிர்பார்க்கவில்லை என்றால், இந்த மின்னஞ்சலைப் புறக்கணிக்கலாம்.')
)
insert into public.notification_templates (kind, channel, language, subject, body, html)
select 'staff_invite', 'email', t.language, t.subject,
  t.body || E'\n\n' || t.action || E':\n{{link}}\n\n' || t.ignore,
  '<p>' || replace(t.body, E'\n\n', E'</p>\n<p>') || E'</p>\n<p><a href="{{link}}">' || t.action
    || E'</a></p>\n<p>' || t.ignore || '</p>'
from texts t;

-- ---------------------------------------------------------------------------------------
-- Roles: one staff role per member and clinic; the last admin stays
-- ---------------------------------------------------------------------------------------

-- 400 unless `p_role` is a staff role.
create or replace function private.require_staff_role(p_role text) returns public.member_role
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  if p_role is null or p_role <> all (private.staff_roles()::text[]) then
    perform private.raise_api(400, 'invalid_role',
      'The role must be one of ' || array_to_string(private.staff_roles(), ', '));
  end if;
  return p_role::public.member_role;
end
$$;

-- Ends `p_user`'s staff role in `p_clinic` (all of them, as a set), unless that leaves the clinic
-- without an active admin (409). Answers whether there was one to end.
create or replace function private.end_staff_role(p_clinic uuid, p_user uuid) returns boolean
  language plpgsql
  set search_path = ''
  as $$
begin
  update public.clinic_members set revoked_at = now()
  where clinic_id = p_clinic and user_id = p_user and revoked_at is null
    and role = any (private.staff_roles());
  if not found then
    return false;
  end if;
  if not exists (select 1 from public.clinic_members m
                 where m.clinic_id = p_clinic and m.role = 'admin' and m.revoked_at is null) then
    perform private.raise_api(409, 'last_admin', 'The clinic must keep at least one admin');
  end if;
  return true;
end
$$;

-- `p_user` becomes `p_role` in `p_clinic`: any other staff role ends, this one starts (again).
create or replace function private.grant_staff_role(
  p_clinic uuid,
  p_user uuid,
  p_role public.member_role,
  p_by uuid
) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.end_staff_role(p_clinic, p_user);
  insert into public.clinic_members (user_id, clinic_id, role, granted_by)
  values (p_user, p_clinic, p_role, p_by)
  on conflict (user_id, clinic_id, role) do update
    set revoked_at = null, granted_by = excluded.granted_by, granted_at = now();
end
$$;

-- ---------------------------------------------------------------------------------------
-- The admins' API (under the caller's claims: RLS and private.admin_clinic decide)
-- ---------------------------------------------------------------------------------------

-- The clinic's active staff and its open invitations.
create or replace function api.list_staff(p_code text) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  return jsonb_build_object(
    'members', coalesce((
      select jsonb_agg(jsonb_build_object(
          'user_id', u.id, 'full_name', u.full_name, 'email', u.email, 'role', m.role,
          'granted_at', m.granted_at)
        order by u.full_name, u.id)
      from public.clinic_members m
      join public.users u on u.id = m.user_id
      where m.clinic_id = v_clinic and m.revoked_at is null
        and m.role = any (private.staff_roles())), '[]'::jsonb),
    'invitations', coalesce((
      select jsonb_agg(jsonb_build_object(
          'id', i.id, 'email', i.email, 'role', i.role, 'created_at', i.created_at,
          'expires_at', i.expires_at, 'expired', i.expires_at <= now())
        order by i.created_at desc, i.id)
      from public.clinic_invitations i
      where i.clinic_id = v_clinic and i.status = 'pending'), '[]'::jsonb));
end
$$;

-- Invites `p_email` as `p_role` (a new invitation replaces a pending one for the address) and
-- queues the e-mail with a link to `p_url`. 409 when the address is staff of the clinic already.
create or replace function api.invite_staff(
  p_code text,
  p_email text,
  p_role text,
  p_url text,
  p_ttl_seconds integer
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_role public.member_role := private.require_staff_role(p_role);
  v_invitation public.clinic_invitations;
begin
  if exists (select 1 from public.clinic_members m
             join public.users u on u.id = m.user_id
             where m.clinic_id = v_clinic and m.revoked_at is null
               and m.role = any (private.staff_roles())
               and u.email operator(extensions.=) p_email::extensions.citext) then
    perform private.raise_api(409, 'already_staff', 'This address is staff of the clinic already');
  end if;
  insert into public.clinic_invitations as i (clinic_id, email, role, invited_by, expires_at)
  values (v_clinic, p_email, v_role, (select auth.uid()),
    now() + make_interval(secs => p_ttl_seconds))
  on conflict (clinic_id, email) do update
    set role = excluded.role, invited_by = excluded.invited_by, status = 'pending',
      token_hash = null, accepted_by = null, accepted_at = null, created_at = now(),
      expires_at = excluded.expires_at
  returning * into v_invitation;
  perform private.queue_invitation_mail(v_invitation.id, p_url);
  return jsonb_build_object('id', v_invitation.id, 'email', v_invitation.email,
    'role', v_invitation.role, 'created_at', v_invitation.created_at,
    'expires_at', v_invitation.expires_at, 'expired', false);
end
$$;

-- Queues the mail of an invitation of a clinic the caller administers (the job queue is not
-- the caller's to write).
create or replace function private.queue_invitation_mail(p_invitation uuid, p_url text)
  returns void
  language plpgsql
  security definer -- queues a job (private.enqueue_job), as api.password_reset_request
  set search_path = ''
  as $$
declare
  v_clinic uuid;
begin
  select i.clinic_id into v_clinic from public.clinic_invitations i
  where i.id = p_invitation and i.clinic_id in (select private.admin_clinic_ids());
  if v_clinic is null then
    perform private.raise_api(404, 'invitation_not_found', 'No such invitation');
  end if;
  perform private.enqueue_job('auth.account_email', jsonb_build_object(
    'purpose', 'staff_invite', 'invitation_id', p_invitation, 'url', p_url), now(), v_clinic);
end
$$;

-- Withdraws a pending invitation: its link stops working.
create or replace function api.revoke_invitation(p_code text, p_id uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  update public.clinic_invitations set status = 'revoked', token_hash = null
  where id = p_id and clinic_id = v_clinic and status = 'pending';
  if not found then
    perform private.raise_api(404, 'invitation_not_found', 'No such pending invitation');
  end if;
end
$$;

-- A staff member's new role (404: not staff of the clinic; 409: the last admin).
create or replace function api.set_member_role(p_code text, p_user uuid, p_role text)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
  v_role public.member_role := private.require_staff_role(p_role);
begin
  if not exists (select 1 from public.clinic_members m
                 where m.clinic_id = v_clinic and m.user_id = p_user and m.revoked_at is null
                   and m.role = any (private.staff_roles())) then
    perform private.raise_api(404, 'member_not_found', 'No such staff member');
  end if;
  perform private.grant_staff_role(v_clinic, p_user, v_role, (select auth.uid()));
  return (select m from jsonb_array_elements(api.list_staff(p_code) -> 'members') m
          where m ->> 'user_id' = p_user::text);
end
$$;

-- Ends a staff member's membership (a patient record of theirs stays); their open realtime
-- streams stop at the next change, their next token has no staff role.
create or replace function api.revoke_member(p_code text, p_user uuid) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_clinic uuid := private.admin_clinic(p_code);
begin
  if not private.end_staff_role(v_clinic, p_user) then
    perform private.raise_api(404, 'member_not_found', 'No such staff member');
  end if;
end
$$;

revoke all on function private.require_staff_role(text), private.end_staff_role(uuid, uuid),
  private.grant_staff_role(uuid, uuid, public.member_role, uuid),
  private.queue_invitation_mail(uuid, text), api.list_staff(text),
  api.invite_staff(text, text, text, text, integer), api.revoke_invitation(text, uuid),
  api.set_member_role(text, uuid, text), api.revoke_member(text, uuid) from public;
grant execute on function private.require_staff_role(text), private.end_staff_role(uuid, uuid),
  private.grant_staff_role(uuid, uuid, public.member_role, uuid),
  private.queue_invitation_mail(uuid, text), api.list_staff(text),
  api.invite_staff(text, text, text, text, integer), api.revoke_invitation(text, uuid),
  api.set_member_role(text, uuid, text), api.revoke_member(text, uuid) to authenticated;
grant execute on function private.require_staff_role(text), private.end_staff_role(uuid, uuid),
  private.grant_staff_role(uuid, uuid, public.member_role, uuid) to service_role;

-- ---------------------------------------------------------------------------------------
-- The mail job and accepting (the edge's privileged path)
-- ---------------------------------------------------------------------------------------

-- The invitation e-mail with a link whose token hashes to `p_token_hash` (replacing any earlier
-- link), rendered in the invitee's language (their account's, else English) with {{link}}
-- left for the job. Null when the invitation is no longer pending.
create or replace function private.invitation_mail(p_invitation uuid, p_token_hash text)
  returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_invitation public.clinic_invitations;
  v_t public.notification_templates;
  v_vars jsonb;
begin
  update public.clinic_invitations set token_hash = p_token_hash
  where id = p_invitation and status = 'pending' and expires_at > now()
  returning * into v_invitation;
  if not found then
    return null;
  end if;
  v_t := private.notification_template(v_invitation.clinic_id, 'staff_invite', 'email',
    coalesce((select u.language from public.users u
              where u.email operator(extensions.=) v_invitation.email), 'en'));
  if v_t.id is null then
    raise exception 'no e-mail template for staff_invite' using errcode = '22023';
  end if;
  v_vars := jsonb_build_object(
    'clinic', (select c.name from public.clinics c where c.id = v_invitation.clinic_id),
    'link', '{{link}}',
    'days', greatest(1, round(extract(epoch from v_invitation.expires_at - now()) / 86400)));
  return jsonb_build_object(
    'to', v_invitation.email,
    'language', v_t.language,
    'subject', private.render_template(v_t.subject, v_vars, false),
    'text', private.render_template(v_t.body, v_vars, false),
    'html', private.render_template(v_t.html, v_vars, true));
end
$$;

-- Accepts the invitation whose link token hashes to `p_token_hash`, once: 400 unknown, 410
-- used, withdrawn or expired. The invited address's account gets the role; without an account
-- one is made from `p_full_name` and `p_password_hash` (400 `account_details_required` when
-- they are missing), its address verified by the link.
create or replace function api.accept_invitation(
  p_token_hash text,
  p_full_name text,
  p_password_hash text
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_invitation public.clinic_invitations;
  v_user public.users;
  v_created boolean := false;
begin
  select * into v_invitation from public.clinic_invitations
  where token_hash = p_token_hash for update;
  if not found then
    perform private.raise_api(400, 'invalid_token', 'This link is not valid');
  elsif v_invitation.status = 'accepted' then
    perform private.raise_api(410, 'token_used', 'This link has been used already');
  elsif v_invitation.status <> 'pending' or v_invitation.expires_at <= now() then
    perform private.raise_api(410, 'token_expired', 'This link has expired');
  end if;
  select * into v_user from public.users u
  where u.email operator(extensions.=) v_invitation.email;
  if v_user.id is null then
    if p_full_name is null or p_password_hash is null then
      perform private.raise_api(400, 'account_details_required',
        'A name and a password are needed to create the account');
    end if;
    insert into public.users (email, full_name, email_verified_at)
    values (v_invitation.email, p_full_name, now())
    returning * into v_user;
    insert into private.credentials (user_id, password_hash) values (v_user.id, p_password_hash);
    v_created := true;
  elsif not v_user.is_active or v_user.deleted_at is not null then
    perform private.raise_api(410, 'token_expired', 'This link has expired');
  else
    update public.users set email_verified_at = coalesce(email_verified_at, now())
    where id = v_user.id;
  end if;
  perform private.grant_staff_role(v_invitation.clinic_id, v_user.id, v_invitation.role,
    v_invitation.invited_by);
  update public.clinic_invitations
  set status = 'accepted', accepted_by = v_user.id, accepted_at = now()
  where id = v_invitation.id;
  return jsonb_build_object(
    'clinic_code', (select c.code from public.clinics c where c.id = v_invitation.clinic_id),
    'role', v_invitation.role, 'email', v_user.email, 'account_created', v_created);
end
$$;

revoke all on function private.invitation_mail(uuid, text),
  api.accept_invitation(text, text, text) from public;
grant execute on function private.invitation_mail(uuid, text),
  api.accept_invitation(text, text, text) to service_role;
