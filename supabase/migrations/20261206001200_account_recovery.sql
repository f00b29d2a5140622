-- Account recovery and verification: password reset by e-mail link, e-mail verification,
-- change of password and of e-mail address.
--
-- Every account e-mail (these and the sign-in unlock link) goes one way: a job
-- (`auth.account_email`, `auth.unlock_link`; edge/auth/account_mail.ts) makes the token, stores
-- only its hash here, renders the text from public.notification_templates in the account's
-- language (kinds `password_reset`, `email_verify`, `email_change`, `login_unlock`; e-mail
-- only, variables {{link}} and {{minutes}}) and sends it through the e-mail transport. No
-- notification row: these mails are about the account, not a clinic, and their link must never
-- be stored in clear.
--
-- A reset request never looks the account up: api.password_reset_request counts the rate
-- limits and queues the same job for a known and an unknown address; the worker finds out,
-- off the request path, and sends nothing for an unknown one. So the answer and the work done
-- before it are the same.

create table private.account_tokens (
  token_hash text primary key,
  user_id uuid not null references public.users (id) on delete cascade,
  purpose text not null check (purpose in ('password_reset', 'email_verify', 'email_change')),
  -- Where the link went: the account's address, or for `email_change` the new one.
  email extensions.citext not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index account_tokens_user on private.account_tokens (user_id, purpose);
create index account_tokens_expires on private.account_tokens (expires_at);
alter table private.account_tokens enable row level security;
alter table private.account_tokens force row level security;
grant all on private.account_tokens to service_role;

-- ---------------------------------------------------------------------------------------
-- Templates of the account e-mails
-- ---------------------------------------------------------------------------------------

-- As before, plus the account kinds: e-mail only, the link and its lifetime in minutes.
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
    end
  $$;

with greeting (language, hello, ignore) as (values
  ('en', 'Hello,', 'If you did not ask for this, you can ignore this e-mail.'),
  ('zh', '您好，', '如果这不是您本人的操作，请忽略此邮件。'),
  ('ms', 'Salam sejahtera,', 'Jika anda tidak memintanya, abaikan e-mel ini.'),
  ('ta', 'வணக்கம்,', 'இதை நீங்கள் கோரவில்லை என்றால், இந்த மின்னஞ்சலைப் புறக்கணிக்கலாம்.')
),
texts (kind, language, subject, message, action) as (values
  ('password_reset', 'en', 'Reset your clinic account password',
   'Someone asked to reset the password of your clinic account. The link works once, within {{minutes}} minutes; every device signed in to the account is signed out when the new password is set.',
   'Choose a new password'),
  ('email_verify', 'en', 'Confirm your e-mail address',
   'Please confirm that this is the e-mail address of your clinic account. The link works once, within {{minutes}} minutes.',
   'Confirm this address'),
  ('email_change', 'en', 'Confirm your new e-mail address',
   'Your clinic account asked to use this e-mail address from now on. The change takes effect when you open the link (once, within {{minutes}} minutes).',
   'Use this address'),
  ('login_unlock', 'en', 'Unlock sign-in to your clinic account',
   'Someone signed in to your clinic account with the right password from a browser we did not let in, after repeated failed attempts on the account. If that was you, open the link in the browser you sign in with, then sign in again (the link works once, within {{minutes}} minutes). If it was not you, someone knows your password: reset it.',
   'Unlock this browser'),

  ('password_reset', 'zh', '重设您的诊所账户密码',
   '有人请求重设您诊所账户的密码。此链接只能使用一次，{{minutes}} 分钟内有效；设置新密码后，所有已登录该账户的设备都会被登出。',
   '设置新密码'),
  ('email_verify', 'zh', '确认您的电子邮件地址',
   '请确认这是您诊所账户的电子邮件地址。此链接只能使用一次，{{minutes}} 分钟内有效。',
   '确认此地址'),
  ('email_change', 'zh', '确认您的新电子邮件地址',
   '您的诊所账户请求今后使用此电子邮件地址。打开链接后更改即生效（只能使用一次，{{minutes}} 分钟内有效）。',
   '使用此地址'),
  ('login_unlock', 'zh', '解锁您诊所账户的登录',
   '在该账户多次登录失败后，有人用正确的密码从一个未被允许的浏览器登录您的诊所账户。如果是您本人，请在您登录用的浏览器中打开此链接，然后重新登录（只能使用一次，{{minutes}} 分钟内有效）。如果不是您，说明有人知道您的密码：请重设密码。',
   '解锁此浏览器'),

  ('password_reset', 'ms', 'Tetapkan semula kata laluan akaun klinik anda',
   'Seseorang meminta untuk menetapkan semula kata laluan akaun klinik anda. Pautan ini berfungsi sekali sahaja, dalam masa {{minutes}} minit; setiap peranti yang log masuk ke akaun ini akan dilog keluar apabila kata laluan baharu ditetapkan.',
   'Pilih kata laluan baharu'),
  ('email_verify', 'ms', 'Sahkan alamat e-mel anda',
   'Sila sahkan bahawa ini alamat e-mel akaun klinik anda. Pautan ini berfungsi sekali sahaja, dalam masa {{minutes}} minit.',
   'Sahkan alamat ini'),
  ('email_change', 'ms', 'Sahkan alamat e-mel baharu anda',
   'Akaun klinik anda meminta untuk menggunakan alamat e-mel ini mulai sekarang. Perubahan berkuat kuasa apabila anda membuka pautan ini (sekali sahaja, dalam masa {{minutes}} minit).',
   'Gunakan alamat ini'),
  ('login_unlock', 'ms', 'Buka kunci log masuk akaun klinik anda',
   'Seseorang log masuk ke akaun klinik anda dengan kata laluan yang betul daripada pelayar yang tidak kami benarkan, selepas beberapa percubaan gagal. Jika itu anda, buka pautan ini dalam pelayar yang anda gunakan, kemudian log masuk semula (sekali sahaja, dalam masa {{minutes}} minit). Jika bukan anda, seseorang mengetahui kata laluan anda: tetapkan semula kata laluan.',
   'Buka kunci pelayar ini'),

  ('password_reset', 'ta', 'உங்கள் கிளினிக் கணக்கின் கடவுச்சொல்லை மீட்டமைக்கவும்',
   'உங்கள் கிளினிக் கணக்கின் கடவுச்சொல்லை மீட்டமைக்க ஒருவர் கோரினார். இந்த இணைப்பு {{minutes}} நிமிடங்களுக்குள் ஒருமுறை மட்டுமே செயல்படும்; புதிய கடவுச்சொல் அமைக்கப்பட்டதும் கணக்கில் உள்நுழைந்த எல்லா சாதனங்களும் வெளியேற்றப்படும்.',
   'புதிய கடவுச்சொல்லைத் தேர்ந்தெடுக்கவும்'),
  ('email_verify', 'ta', 'உங்கள் மின்னஞ்சல் முகவரியை உறுதிப்படுத்தவும்',
   'இது உங்கள் கிளினிக் கணக்கின் மின்னஞ்சல் முகவரி என்பதை உறுதிப்படுத்தவும். இந்த இணைப்பு {{minutes}} நிமிடங்களுக்குள் ஒருமுறை மட்டுமே செயல்படும்.',
   'இந்த முகவரியை உறுதிப்படுத்தவும்'),
  ('email_change', 'ta', 'உங்கள் புதிய மின்னஞ்சல் முகவரியை உறுதிப்படுத்தவும்',
   'இனி இந்த மின்னஞ்சல் முகவரியைப் பயன்படுத்த உங்கள் கிளினிக் கணக்கு கோரியது. இணைப்பைத் திறந்ததும் மாற்றம் நடைமுறைக்கு வரும் ({{minutes}} நிமிடங்களுக்குள் ஒருமுறை மட்டும்).',
   'இந்த முகவரியைப் பயன்படுத்தவும்'),
  ('login_unlock', 'ta', 'உங்கள் கிளினிக் கணக்கின் உள்நுழைவைத் திறக்கவும்',
   'பல தோல்வியடைந்த முயற்சிகளுக்குப் பிறகு, நாங்கள் அனுமதிக்காத ஒரு உலாவியிலிருந்து சரியான கடவுச்சொல்லுடன் ஒருவர் உங்கள் கிளினிக் கணக்கில் உள்நுழைந்தார். அது நீங்கள் என்றால், நீங்கள் உள்நுழையும் உலாவியில் இந்த இணைப்பைத் திறந்து மீண்டும் உள்நுழையவும் ({{minutes}} நிமிடங்களுக்குள் ஒருமுறை மட்டும்). அது நீங்கள் இல்லை என்றால், உங்கள் கடவுச்சொல் வேறொருவருக்குத் தெரியும்: அதை மீட்டமைக்கவும்.',
   'இந்த உலாவியைத் திறக்கவும்')
)
insert into public.notification_templates (kind, channel, language, subject, body, html)
select t.kind, 'email', t.language, t.subject,
  g.hello || E'\n\n' || t.message || E'\n\n' || t.action || E':\n{{link}}\n\n' || g.ignore,
  '<p>' || g.hello || E'</p>\n<p>' || t.message || E'</p>\n<p><a href="{{link}}">' || t.action
    || E'</a></p>\n<p>' || g.ignore || '</p>'
from texts t
join greeting g on g.language = t.language;

-- ---------------------------------------------------------------------------------------
-- Issuing a link (the mail jobs)
-- ---------------------------------------------------------------------------------------

-- One account e-mail of `p_purpose` with a link whose token hashes to `p_token_hash`, valid
-- for `p_ttl_seconds`: stores the token and answers the address, the language and the rendered
-- texts, with {{link}} left for the job to fill in (the link never reaches the database). Null
-- when there is nobody to send it to: no active account with a password for a reset, an
-- address already verified, a new address taken meanwhile, an account gone.
-- `p_user` names the account, except for `password_reset` (`p_email`, as typed); for
-- `email_change` `p_email` is the new address.
create or replace function private.account_mail(
  p_purpose text,
  p_user uuid,
  p_email text,
  p_token_hash text,
  p_ttl_seconds integer
) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_user public.users;
  v_to text;
  v_t public.notification_templates;
  v_vars jsonb;
begin
  if p_purpose = 'password_reset' then
    select u.* into v_user from public.users u
    where u.email operator(extensions.=) p_email::extensions.citext
      and exists (select 1 from private.credentials c where c.user_id = u.id);
  else
    select u.* into v_user from public.users u where u.id = p_user;
  end if;
  if v_user.id is null or not v_user.is_active or v_user.deleted_at is not null then
    return null;
  end if;
  v_to := case p_purpose when 'email_change' then p_email else v_user.email::text end;
  if p_purpose = 'login_unlock' then
    perform private.login_unlock_issue(v_user.id, p_token_hash, p_ttl_seconds);
  elsif (p_purpose = 'email_verify' and v_user.email_verified_at is not null)
     or (p_purpose = 'email_change' and exists (
       select 1 from public.users u where u.email operator(extensions.=) v_to::extensions.citext))
  then
    return null;
  else
    insert into private.account_tokens (token_hash, user_id, purpose, email, expires_at)
    values (p_token_hash, v_user.id, p_purpose, v_to, now() + make_interval(secs => p_ttl_seconds));
  end if;
  v_t := private.notification_template(null, p_purpose, 'email', v_user.language);
  if v_t.id is null then
    raise exception 'no e-mail template for %', p_purpose using errcode = '22023';
  end if;
  -- A value that looks like a placeholder is left as it is: the job puts the link there.
  v_vars := jsonb_build_object('link', '{{link}}', 'minutes', p_ttl_seconds / 60);
  return jsonb_build_object(
    'to', v_to,
    'language', v_t.language,
    'subject', private.render_template(v_t.subject, v_vars, false),
    'text', private.render_template(v_t.body, v_vars, false),
    'html', private.render_template(v_t.html, v_vars, true));
end
$$;

-- ---------------------------------------------------------------------------------------
-- Requests (the edge's privileged path; each answers the rate limit's wait, 0 when queued)
-- ---------------------------------------------------------------------------------------

-- "Forgot password": the same work for every address — one rate-limit hit per address as
-- typed and, under the limit, one job. Whether the account exists is the worker's business.
create or replace function api.password_reset_request(
  p_email text,
  p_url text,
  p_limit integer,
  p_window_seconds integer
) returns integer
  language plpgsql
  security definer -- queues a job (private.enqueue_job), as api.login_failed
  set search_path = ''
  as $$
declare
  v_wait integer := api.rate_limit_hit('reset:email:' || lower(p_email), p_limit,
    p_window_seconds);
begin
  if v_wait = 0 then
    perform private.enqueue_job('auth.account_email', jsonb_build_object(
      'purpose', 'password_reset', 'email', lower(p_email), 'url', p_url));
  end if;
  return v_wait;
end
$$;

-- A verification link to the account's own address (409 when it is verified already).
create or replace function api.email_verify_request(
  p_user uuid,
  p_url text,
  p_limit integer,
  p_window_seconds integer
) returns integer
  language plpgsql
  security definer -- queues a job (private.enqueue_job), as api.login_failed
  set search_path = ''
  as $$
declare
  v_wait integer;
begin
  if exists (select 1 from public.users u where u.id = p_user and u.email_verified_at is not null)
  then
    perform private.raise_api(409, 'email_already_verified', 'This address is verified already');
  end if;
  v_wait := api.rate_limit_hit('account_mail:user:' || p_user, p_limit, p_window_seconds);
  if v_wait = 0 then
    perform private.enqueue_job('auth.account_email', jsonb_build_object(
      'purpose', 'email_verify', 'user_id', p_user, 'url', p_url));
  end if;
  return v_wait;
end
$$;

-- A confirmation link to `p_new_email`; the address changes only when it is opened.
create or replace function api.email_change_request(
  p_user uuid,
  p_new_email text,
  p_url text,
  p_limit integer,
  p_window_seconds integer
) returns integer
  language plpgsql
  security definer -- queues a job (private.enqueue_job), as api.login_failed
  set search_path = ''
  as $$
declare
  v_wait integer;
begin
  if exists (select 1 from public.users u
             where u.email operator(extensions.=) p_new_email::extensions.citext) then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end if;
  v_wait := api.rate_limit_hit('account_mail:user:' || p_user, p_limit, p_window_seconds);
  if v_wait = 0 then
    perform private.enqueue_job('auth.account_email', jsonb_build_object(
      'purpose', 'email_change', 'user_id', p_user, 'email', p_new_email, 'url', p_url));
  end if;
  return v_wait;
end
$$;

-- ---------------------------------------------------------------------------------------
-- Using a link
-- ---------------------------------------------------------------------------------------

-- Uses a token of one of `p_purposes` once: 400 unknown, 410 used or expired.
create or replace function private.account_token_use(p_token_hash text, p_purposes text[])
  returns private.account_tokens
  language plpgsql
  set search_path = ''
  as $$
declare
  v_token private.account_tokens;
begin
  select * into v_token from private.account_tokens t
  where t.token_hash = p_token_hash and t.purpose = any (p_purposes)
  for update;
  if not found then
    perform private.raise_api(400, 'invalid_token', 'This link is not valid');
  elsif v_token.used_at is not null then
    perform private.raise_api(410, 'token_used', 'This link has been used already');
  elsif v_token.expires_at <= now() then
    perform private.raise_api(410, 'token_expired', 'This link has expired');
  end if;
  update private.account_tokens set used_at = now()
  where user_id = v_token.user_id and purpose = v_token.purpose and used_at is null;
  return v_token;
end
$$;

-- Every session of the account but `p_keep` (a refresh-token family) ends.
create or replace function private.revoke_sessions(p_user uuid, p_keep uuid default null)
  returns integer
  language sql
  set search_path = ''
  as $$
    with gone as (
      update private.refresh_tokens set revoked_at = now()
      where user_id = p_user and revoked_at is null
        and family_id is distinct from p_keep
      returning 1
    )
    select count(*)::integer from gone
  $$;

-- A new password from a reset link: every session ends, the sign-in throttling of the account
-- is forgotten (its owner proved to hold the mailbox), and so is every other reset link.
create or replace function api.password_reset(p_token_hash text, p_password_hash text)
  returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_token private.account_tokens := private.account_token_use(p_token_hash, '{password_reset}');
  v_user public.users;
begin
  select * into v_user from public.users where id = v_token.user_id;
  if not v_user.is_active or v_user.deleted_at is not null
     or v_user.email operator(extensions.<>) v_token.email then
    perform private.raise_api(410, 'token_expired', 'This link has expired');
  end if;
  perform api.password_change(v_user.id, null, p_password_hash);
  delete from private.login_failures where account = lower(v_user.email::text);
  update public.users set email_verified_at = coalesce(email_verified_at, now())
  where id = v_user.id;
end
$$;

-- A verification or e-mail change link: the address it went to becomes the account's, verified.
create or replace function api.email_confirm(p_token_hash text) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_token private.account_tokens :=
    private.account_token_use(p_token_hash, '{email_verify,email_change}');
begin
  begin
    update public.users
    set email = v_token.email, email_verified_at = now()
    where id = v_token.user_id and is_active and deleted_at is null
      and (v_token.purpose = 'email_change' or email operator(extensions.=) v_token.email);
  exception when unique_violation then
    perform private.raise_api(409, 'email_taken', 'An account with this email already exists');
  end;
  if not found then
    perform private.raise_api(410, 'token_expired', 'This link has expired');
  end if;
  return jsonb_build_object('purpose', v_token.purpose, 'email', v_token.email);
end
$$;

-- ---------------------------------------------------------------------------------------
-- Change of password (signed in)
-- ---------------------------------------------------------------------------------------

-- The stored hash of a signed-in user's password, to check the current one (null: none).
create or replace function api.password_hash_of(p_user uuid) returns text
  language sql stable
  set search_path = ''
  as $$
    select c.password_hash from private.credentials c where c.user_id = p_user
  $$;

-- The new password; every other session of the account ends.
create or replace function api.password_change(p_user uuid, p_session uuid, p_password_hash text)
  returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  update private.credentials set password_hash = p_password_hash, password_changed_at = now()
  where user_id = p_user;
  if not found then
    perform private.raise_api(409, 'no_password', 'This account signs in without a password');
  end if;
  perform private.revoke_sessions(p_user, p_session);
end
$$;

-- ---------------------------------------------------------------------------------------
-- The signed-in user says whether the address is verified
-- ---------------------------------------------------------------------------------------

create or replace function api.me() returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object(
      'id', u.id,
      'email', u.email,
      'email_verified', u.email_verified_at is not null,
      'full_name', u.full_name,
      'display_name', u.display_name,
      'phone', u.phone,
      'language', u.language,
      'is_superadmin', u.is_superadmin,
      'memberships', coalesce((
        select jsonb_agg(jsonb_build_object(
          'clinic_id', m.clinic_id, 'clinic_code', c.code, 'clinic_name', c.name,
          'role', m.role, 'is_primary', m.is_primary) order by m.is_primary desc, c.code)
        from public.clinic_members m join public.clinics c on c.id = m.clinic_id
        where m.user_id = u.id and m.revoked_at is null), '[]'::jsonb),
      'patients', coalesce((
        select jsonb_agg(jsonb_build_object(
          'id', p.id, 'clinic_id', p.clinic_id, 'patient_number', p.patient_number,
          'full_name', p.full_name) order by p.patient_number)
        from public.patients p where p.user_id = u.id and p.deleted_at is null), '[]'::jsonb)
    )
    from public.users u
    where u.id = (select auth.uid())
  $$;

-- ---------------------------------------------------------------------------------------
-- Housekeeping: account links a day past expiry go with the rest (`auth.purge_expired`)
-- ---------------------------------------------------------------------------------------

create or replace function private.purge_account_tokens() returns integer
  language sql
  set search_path = ''
  as $$
    with gone as (
      delete from private.account_tokens where expires_at < now() - interval '1 day'
      returning 1
    )
    select count(*)::integer from gone
  $$;

-- ---------------------------------------------------------------------------------------
-- Privileges: the service's privileged path only
-- ---------------------------------------------------------------------------------------

revoke all on function
  private.account_mail(text, uuid, text, text, integer),
  api.password_reset_request(text, text, integer, integer),
  api.email_verify_request(uuid, text, integer, integer),
  api.email_change_request(uuid, text, text, integer, integer),
  private.account_token_use(text, text[]),
  private.revoke_sessions(uuid, uuid),
  api.password_reset(text, text),
  api.email_confirm(text),
  api.password_hash_of(uuid),
  api.password_change(uuid, uuid, text),
  private.purge_account_tokens()
  from public;
grant execute on function
  private.account_mail(text, uuid, text, text, integer),
  api.password_reset_request(text, text, integer, integer),
  api.email_verify_request(uuid, text, integer, integer),
  api.email_change_request(uuid, text, text, integer, integer),
  private.account_token_use(text, text[]),
  private.revoke_sessions(uuid, uuid),
  api.password_reset(text, text),
  api.email_confirm(text),
  api.password_hash_of(uuid),
  api.password_change(uuid, uuid, text),
  private.purge_account_tokens()
  to service_role;
