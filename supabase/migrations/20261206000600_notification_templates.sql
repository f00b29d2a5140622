-- What a notification says, on which channel, in which language, to whom and when.
--
-- Texts are data: public.notification_templates holds one template per kind × channel ×
-- language; the shipped ones (clinic_id null) are filled here, and a clinic's admins may
-- override any of them for their clinic. private.notify renders them in the caller's
-- transaction: the in-app notification in the account's language, each channel delivery in the
-- patient's preferred_language (English when there is no template in it), with clinic-local
-- dates and times. Placeholders are {{name}}; which names a kind offers on a channel is
-- private.template_variables, checked on every template, so nothing clinical can be put into
-- an SMS, WhatsApp or push text (no doctor there; a visit's reason is never a variable).
-- Reminders respect the clinic's quiet hours; queue calls always go at once.

-- ---------------------------------------------------------------------------------------
-- Languages, clinic-local dates, rooms
-- ---------------------------------------------------------------------------------------

-- The clinic-local date of `p_at` in one of private.languages(): "Tue 24 Nov 2026",
-- "2026年11月24日（周二）", "Selasa, 24 November 2026", "செவ்வாய், 24 நவம்பர் 2026".
create or replace function private.local_date(p_at timestamptz, p_tz text, p_language text)
  returns text
  language sql stable
  set search_path = ''
  as $$
    select case p_language
      when 'zh' then pg_catalog.to_char(l.d, 'YYYY"年"FMMM"月"FMDD"日"')
        || '（' || (array['周日', '周一', '周二', '周三', '周四', '周五', '周六'])[l.dow] || '）'
      when 'ms' then (array['Ahad', 'Isnin', 'Selasa', 'Rabu', 'Khamis', 'Jumaat', 'Sabtu'])[l.dow]
        || ', ' || pg_catalog.to_char(l.d, 'FMDD') || ' '
        || (array['Januari', 'Februari', 'Mac', 'April', 'Mei', 'Jun', 'Julai', 'Ogos',
                  'September', 'Oktober', 'November', 'Disember'])[l.month]
        || ' ' || pg_catalog.to_char(l.d, 'YYYY')
      when 'ta' then (array['ஞாயிறு', 'திங்கள்', 'செவ்வாய்', 'புதன்', 'வியாழன்', 'வெள்ளி',
                            'சனி'])[l.dow]
        || ', ' || pg_catalog.to_char(l.d, 'FMDD') || ' '
        || (array['ஜனவரி', 'பிப்ரவரி', 'மார்ச்', 'ஏப்ரல்', 'மே', 'ஜூன்', 'ஜூலை', 'ஆகஸ்ட்',
                  'செப்டம்பர்', 'அக்டோபர்', 'நவம்பர்', 'டிசம்பர்'])[l.month]
        || ' ' || pg_catalog.to_char(l.d, 'YYYY')
      else pg_catalog.to_char(l.d, 'Dy FMDD Mon YYYY') end
    from (select p_at at time zone p_tz as d,
            extract(dow from p_at at time zone p_tz)::integer + 1 as dow,
            extract(month from p_at at time zone p_tz)::integer as month) l
  $$;

-- private.room_label in one of private.languages(): what a room number is stays decided there.
create or replace function private.room_label(p_room text, p_language text) returns text
  language sql immutable
  set search_path = ''
  as $$
    select case
      when l.label = 'the consultation room' then case p_language
        when 'zh' then '诊室' when 'ms' then 'bilik rawatan' when 'ta' then 'ஆலோசனை அறை'
        else l.label end
      when l.label = 'Room ' || p_room then case p_language
        when 'zh' then p_room || '号诊室' when 'ms' then 'Bilik ' || p_room
        when 'ta' then 'அறை ' || p_room else l.label end
      else l.label end
    from (select private.room_label(p_room) as label) l
  $$;

create or replace function private.html_escape(p_text text) returns text
  language sql immutable
  set search_path = ''
  as $$
    select replace(replace(replace(replace(replace(p_text,
      '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
  $$;

-- ---------------------------------------------------------------------------------------
-- Templates
-- ---------------------------------------------------------------------------------------

-- The placeholders a kind's templates may use on a channel (null: no such kind). The kinds are
-- the notifications' kinds and `queue_next` (how queue_near says "nobody ahead"). Every
-- notification knows its clinic and, from the moment it is about, the clinic-local date and
-- time. The doctor is named in the app and by e-mail only: a doctor's name can reveal what a
-- visit is about, and SMS, WhatsApp and push texts show on lock screens.
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
    end
  $$;

-- The {{placeholder}} names used in a text, each once, in the order they first appear.
create or replace function private.template_placeholders(p_text text) returns text[]
  language sql immutable
  set search_path = ''
  as $$
    select coalesce(array_agg(p.name order by p.first), '{}')
    from (select m.m[1] as name, min(m.i) as first
          from regexp_matches(coalesce(p_text, ''), '\{\{([a-z_]+)\}\}', 'g')
            with ordinality as m (m, i)
          group by 1) p
  $$;

create table public.notification_templates (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid references public.clinics (id) on delete cascade, -- null: shipped default
  kind text not null,
  channel text not null check (channel in ('in_app', 'email', 'sms', 'whatsapp', 'push')),
  language text not null check (language = any (private.languages())),
  -- in-app and push: the title; e-mail: the subject line; SMS and WhatsApp: none.
  subject text check (length(subject) between 1 and 200),
  body text not null check (length(body) between 1 and 2000),
  html text check (length(html) between 1 and 20000), -- e-mail only
  -- WhatsApp only: the provider's approved template of this text (Twilio: its Content SID),
  -- sent outside the 24-hour window with the placeholders' values numbered in the order they
  -- first appear in `body` ({{1}}, {{2}}, … in the approved text).
  provider_template text check (length(provider_template) between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique nulls not distinct (clinic_id, kind, channel, language),
  constraint notification_templates_shape check (
    (subject is not null) = (channel in ('in_app', 'email', 'push'))
    and (html is not null) = (channel = 'email')
    and (provider_template is null or channel = 'whatsapp')),
  constraint notification_templates_placeholders check (
    coalesce(private.template_placeholders(concat_ws(' ', subject, body, html))
      operator(pg_catalog.<@) private.template_variables(kind, channel), false))
);

create trigger touch before update on public.notification_templates
  for each row execute function private.touch_updated_at();

-- The shipped texts: per kind and language a title, the full message (app, e-mail) and a short
-- one for SMS, WhatsApp and push, expanded to the five channels.
with greeting (language, hello) as (values
  ('en', 'Hello,'), ('zh', '您好，'), ('ms', 'Salam sejahtera,'), ('ta', 'வணக்கம்,')
),
texts (kind, language, title, message, short) as (values
  ('booking_confirmed', 'en', 'Appointment confirmed',
   'Your appointment with {{doctor}} at {{clinic}} is confirmed for {{date}} at {{time}} (clinic time). Ref {{ref}}.',
   '{{clinic}}: your appointment on {{date}} at {{time}} (clinic time) is confirmed. Ref {{ref}}.'),
  ('booking_rescheduled', 'en', 'Appointment rescheduled',
   'Your appointment with {{doctor}} at {{clinic}} has been moved to {{date}} at {{time}} (clinic time). Ref {{ref}}.',
   '{{clinic}}: your appointment has been moved to {{date}} at {{time}} (clinic time). Ref {{ref}}.'),
  ('booking_cancelled', 'en', 'Appointment cancelled',
   'Your appointment with {{doctor}} at {{clinic}} on {{date}} at {{time}} (clinic time) has been cancelled. Ref {{ref}}.',
   '{{clinic}}: your appointment on {{date}} at {{time}} (clinic time) has been cancelled. Ref {{ref}}.'),
  ('appointment_reminder', 'en', 'Appointment reminder',
   'Reminder: your appointment with {{doctor}} at {{clinic}} is on {{date}} at {{time}} (clinic time). Ref {{ref}}.',
   '{{clinic}}: reminder, your appointment is on {{date}} at {{time}} (clinic time). Ref {{ref}}.'),
  ('ticket_called', 'en', 'Ticket {{code}}: please go to {{room}}',
   'It is your turn: please go to {{room}} now (called at {{time}}, clinic time).',
   '{{clinic}}: ticket {{code}}, it is your turn. Please go to {{room}} now.'),
  ('queue_near', 'en', 'Ticket {{code}}: you are {{people_ahead}} away',
   'People ahead of you at {{clinic}}: {{people_ahead}} (as of {{time}}, clinic time). Please stay close to the waiting area.',
   '{{clinic}}: ticket {{code}}, people ahead of you: {{people_ahead}}. Please stay close to the waiting area.'),
  ('queue_next', 'en', 'Ticket {{code}}: you are next',
   'Nobody is ahead of you at {{clinic}} (as of {{time}}, clinic time). Please stay close to the waiting area.',
   '{{clinic}}: ticket {{code}}, you are next. Please stay close to the waiting area.'),

  ('booking_confirmed', 'zh', '预约已确认',
   '您在{{clinic}}与{{doctor}}的预约已确认：{{date}} {{time}}（诊所时间）。编号 {{ref}}。',
   '{{clinic}}：您的预约已确认，时间 {{date}} {{time}}（诊所时间）。编号 {{ref}}。'),
  ('booking_rescheduled', 'zh', '预约已改期',
   '您在{{clinic}}与{{doctor}}的预约已改至 {{date}} {{time}}（诊所时间）。编号 {{ref}}。',
   '{{clinic}}：您的预约已改至 {{date}} {{time}}（诊所时间）。编号 {{ref}}。'),
  ('booking_cancelled', 'zh', '预约已取消',
   '您在{{clinic}}与{{doctor}}于 {{date}} {{time}}（诊所时间）的预约已取消。编号 {{ref}}。',
   '{{clinic}}：您于 {{date}} {{time}}（诊所时间）的预约已取消。编号 {{ref}}。'),
  ('appointment_reminder', 'zh', '预约提醒',
   '提醒：您在{{clinic}}与{{doctor}}的预约时间为 {{date}} {{time}}（诊所时间）。编号 {{ref}}。',
   '{{clinic}}：提醒您，预约时间为 {{date}} {{time}}（诊所时间）。编号 {{ref}}。'),
  ('ticket_called', 'zh', '{{code}} 号请到{{room}}',
   '轮到您了：请现在前往{{room}}（叫号时间 {{time}}，诊所时间）。',
   '{{clinic}}：{{code}} 号，轮到您了，请现在前往{{room}}。'),
  ('queue_near', 'zh', '{{code}} 号：前面还有 {{people_ahead}} 人',
   '{{clinic}}：您前面还有 {{people_ahead}} 人（截至诊所时间 {{time}}）。请在候诊区附近等候。',
   '{{clinic}}：{{code}} 号，您前面还有 {{people_ahead}} 人，请在候诊区附近等候。'),
  ('queue_next', 'zh', '{{code}} 号：下一位就是您',
   '{{clinic}}：您前面已没有人（截至诊所时间 {{time}}）。请在候诊区附近等候。',
   '{{clinic}}：{{code}} 号，下一位就是您，请在候诊区附近等候。'),

  ('booking_confirmed', 'ms', 'Temujanji disahkan',
   'Temujanji anda dengan {{doctor}} di {{clinic}} disahkan pada {{date}} jam {{time}} (waktu klinik). Rujukan {{ref}}.',
   '{{clinic}}: temujanji anda pada {{date}} jam {{time}} (waktu klinik) disahkan. Rujukan {{ref}}.'),
  ('booking_rescheduled', 'ms', 'Temujanji dijadualkan semula',
   'Temujanji anda dengan {{doctor}} di {{clinic}} telah dipindahkan ke {{date}} jam {{time}} (waktu klinik). Rujukan {{ref}}.',
   '{{clinic}}: temujanji anda telah dipindahkan ke {{date}} jam {{time}} (waktu klinik). Rujukan {{ref}}.'),
  ('booking_cancelled', 'ms', 'Temujanji dibatalkan',
   'Temujanji anda dengan {{doctor}} di {{clinic}} pada {{date}} jam {{time}} (waktu klinik) telah dibatalkan. Rujukan {{ref}}.',
   '{{clinic}}: temujanji anda pada {{date}} jam {{time}} (waktu klinik) telah dibatalkan. Rujukan {{ref}}.'),
  ('appointment_reminder', 'ms', 'Peringatan temujanji',
   'Peringatan: temujanji anda dengan {{doctor}} di {{clinic}} adalah pada {{date}} jam {{time}} (waktu klinik). Rujukan {{ref}}.',
   '{{clinic}}: peringatan, temujanji anda pada {{date}} jam {{time}} (waktu klinik). Rujukan {{ref}}.'),
  ('ticket_called', 'ms', 'Tiket {{code}}: sila ke {{room}}',
   'Giliran anda: sila ke {{room}} sekarang (dipanggil pada {{time}}, waktu klinik).',
   '{{clinic}}: tiket {{code}}, giliran anda. Sila ke {{room}} sekarang.'),
  ('queue_near', 'ms', 'Tiket {{code}}: {{people_ahead}} orang lagi',
   'Bilangan orang di hadapan anda di {{clinic}}: {{people_ahead}} (setakat {{time}}, waktu klinik). Sila tunggu berhampiran ruang menunggu.',
   '{{clinic}}: tiket {{code}}, bilangan orang di hadapan anda: {{people_ahead}}. Sila tunggu berhampiran ruang menunggu.'),
  ('queue_next', 'ms', 'Tiket {{code}}: anda seterusnya',
   'Tiada orang di hadapan anda di {{clinic}} (setakat {{time}}, waktu klinik). Sila tunggu berhampiran ruang menunggu.',
   '{{clinic}}: tiket {{code}}, anda seterusnya. Sila tunggu berhampiran ruang menunggu.'),

  ('booking_confirmed', 'ta', 'சந்திப்பு உறுதிசெய்யப்பட்டது',
   '{{clinic}} இல் {{doctor}} உடனான உங்கள் சந்திப்பு {{date}} {{time}} (கிளினிக் நேரம்) க்கு உறுதிசெய்யப்பட்டது. குறிப்பு எண் {{ref}}.',
   '{{clinic}}: {{date}} {{time}} (கிளினிக் நேரம்) உங்கள் சந்திப்பு உறுதிசெய்யப்பட்டது. குறிப்பு எண் {{ref}}.'),
  ('booking_rescheduled', 'ta', 'சந்திப்பு மாற்றப்பட்டது',
   '{{clinic}} இல் {{doctor}} உடனான உங்கள் சந்திப்பு {{date}} {{time}} (கிளினிக் நேரம்) க்கு மாற்றப்பட்டது. குறிப்பு எண் {{ref}}.',
   '{{clinic}}: உங்கள் சந்திப்பு {{date}} {{time}} (கிளினிக் நேரம்) க்கு மாற்றப்பட்டது. குறிப்பு எண் {{ref}}.'),
  ('booking_cancelled', 'ta', 'சந்திப்பு ரத்துசெய்யப்பட்டது',
   '{{date}} {{time}} (கிளினிக் நேரம்) அன்று {{clinic}} இல் {{doctor}} உடனான உங்கள் சந்திப்பு ரத்துசெய்யப்பட்டது. குறிப்பு எண் {{ref}}.',
   '{{clinic}}: {{date}} {{time}} (கிளினிக் நேரம்) உங்கள் சந்திப்பு ரத்துசெய்யப்பட்டது. குறிப்பு எண் {{ref}}.'),
  ('appointment_reminder', 'ta', 'சந்திப்பு நினைவூட்டல்',
   'நினைவூட்டல்: {{clinic}} இல் {{doctor}} உடனான உங்கள் சந்திப்பு {{date}} {{time}} (கிளினிக் நேரம்) அன்று. குறிப்பு எண் {{ref}}.',
   '{{clinic}}: நினைவூட்டல், உங்கள் சந்திப்பு {{date}} {{time}} (கிளினிக் நேரம்). குறிப்பு எண் {{ref}}.'),
  ('ticket_called', 'ta', 'டிக்கெட் {{code}}: {{room}} க்குச் செல்லவும்',
   'உங்கள் முறை: இப்போது {{room}} க்குச் செல்லவும் (அழைக்கப்பட்ட நேரம் {{time}}, கிளினிக் நேரம்).',
   '{{clinic}}: டிக்கெட் {{code}}, உங்கள் முறை. இப்போது {{room}} க்குச் செல்லவும்.'),
  ('queue_near', 'ta', 'டிக்கெட் {{code}}: இன்னும் {{people_ahead}} பேர்',
   '{{clinic}} இல் உங்களுக்கு முன் உள்ளவர்கள்: {{people_ahead}} ({{time}} நிலவரப்படி, கிளினிக் நேரம்). காத்திருப்புப் பகுதிக்கு அருகில் இருக்கவும்.',
   '{{clinic}}: டிக்கெட் {{code}}, உங்களுக்கு முன் உள்ளவர்கள்: {{people_ahead}}. காத்திருப்புப் பகுதிக்கு அருகில் இருக்கவும்.'),
  ('queue_next', 'ta', 'டிக்கெட் {{code}}: அடுத்தது நீங்கள்',
   '{{clinic}} இல் உங்களுக்கு முன் யாரும் இல்லை ({{time}} நிலவரப்படி, கிளினிக் நேரம்). காத்திருப்புப் பகுதிக்கு அருகில் இருக்கவும்.',
   '{{clinic}}: டிக்கெட் {{code}}, அடுத்தது நீங்கள். காத்திருப்புப் பகுதிக்கு அருகில் இருக்கவும்.')
)
insert into public.notification_templates (kind, channel, language, subject, body, html)
select t.kind, c.channel, t.language,
  case c.channel when 'in_app' then t.title when 'email' then t.title when 'push' then t.title end,
  case c.channel
    when 'in_app' then t.message
    when 'email' then g.hello || E'\n\n' || t.message || E'\n\n{{clinic}}'
    else t.short end,
  case c.channel when 'email' then
    '<p>' || g.hello || E'</p>\n<p>' || t.message || E'</p>\n<p>{{clinic}}</p>' end
from texts t
join greeting g on g.language = t.language
cross join (values ('in_app'), ('email'), ('sms'), ('whatsapp'), ('push')) as c (channel);

-- Attached after the shipped rows: the audit log records the clinics' changes.
create trigger audit after insert or update or delete on public.notification_templates
  for each row execute function audit.log_change();

-- The template of a kind, channel and language: the clinic's own before the shipped one, in the
-- language asked for before English.
create or replace function private.notification_template(
  p_clinic uuid,
  p_kind text,
  p_channel text,
  p_language text
) returns public.notification_templates
  language sql stable
  set search_path = ''
  as $$
    select t from public.notification_templates t
    where t.kind = p_kind and t.channel = p_channel
      and t.language in (p_language, 'en')
      and (t.clinic_id = p_clinic or t.clinic_id is null)
    order by t.language = p_language desc, t.clinic_id is null
    limit 1
  $$;

-- `p_text` with each {{name}} replaced by `p_vars ->> name` (nothing when missing), in one
-- pass: a value that looks like a placeholder stays as it is. HTML-escaped when `p_html`.
create or replace function private.render_template(p_text text, p_vars jsonb, p_html boolean)
  returns text
  language plpgsql immutable
  set search_path = ''
  as $$
declare
  v_out text := '';
  v_rest text := p_text;
  v_name text;
  v_at integer;
  v_value text;
begin
  if p_text is null then
    return null;
  end if;
  loop
    v_name := (regexp_match(v_rest, '\{\{([a-z_]+)\}\}'))[1];
    exit when v_name is null;
    v_at := position('{{' || v_name || '}}' in v_rest);
    v_value := coalesce(p_vars ->> v_name, '');
    v_out := v_out || left(v_rest, v_at - 1)
      || case when p_html then private.html_escape(v_value) else v_value end;
    v_rest := substr(v_rest, v_at + length(v_name) + 4);
  end loop;
  return v_out || v_rest;
end
$$;

-- A kind's message for one channel in (or, without a template in it, instead of) `p_language`,
-- the clinic-local date and time of `p_at` and the room written in the template's language;
-- for WhatsApp also the provider's approved template with its numbered variables, if any.
create or replace function private.render_notification(
  p_clinic uuid,
  p_kind text,
  p_channel text,
  p_language text,
  p_vars jsonb,
  p_at timestamptz,
  p_tz text,
  out subject text,
  out body text,
  out html text,
  out used_language text,
  out provider_template jsonb
)
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_t public.notification_templates;
  v_vars jsonb;
begin
  v_t := private.notification_template(p_clinic, p_kind, p_channel, p_language);
  if v_t.id is null then
    raise exception 'no % template for notification kind %', p_channel, p_kind
      using errcode = '22023';
  end if;
  v_vars := p_vars || jsonb_build_object(
    'date', private.local_date(p_at, p_tz, v_t.language),
    'time', private.local_time(p_at, p_tz),
    'room', private.room_label(p_vars ->> 'room', v_t.language));
  subject := private.render_template(v_t.subject, v_vars, false);
  body := private.render_template(v_t.body, v_vars, false);
  html := private.render_template(v_t.html, v_vars, true);
  used_language := v_t.language;
  if v_t.provider_template is not null then
    provider_template := jsonb_build_object('name', v_t.provider_template, 'variables',
      (select coalesce(jsonb_object_agg(p.i::text, coalesce(v_vars ->> p.name, '')), '{}')
       from unnest(private.template_placeholders(v_t.body)) with ordinality as p (name, i)));
  end if;
end
$$;

-- ---------------------------------------------------------------------------------------
-- Quiet hours (clinics.settings.notifications.quiet_hours)
-- ---------------------------------------------------------------------------------------

-- Absent: 21:00–08:00 clinic-local; false or null: none; else {"start": "HH:MM", "end":
-- "HH:MM"} (start after end spans midnight; equal times: none).
create or replace function private.quiet_hours_valid(p_settings jsonb) returns boolean
  language sql immutable
  set search_path = ''
  as $$
    select q is null or q in ('null'::jsonb, 'false'::jsonb)
      or (jsonb_typeof(q) = 'object'
          and (select array_agg(k order by k) from jsonb_object_keys(q) k) = '{end,start}'
          and coalesce(q ->> 'start' ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
                       and jsonb_typeof(q -> 'start') = 'string'
                       and q ->> 'end' ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
                       and jsonb_typeof(q -> 'end') = 'string', false))
    from (select p_settings #> '{notifications,quiet_hours}' as q) s
  $$;

alter table public.clinics add constraint clinics_quiet_hours_valid
  check (private.quiet_hours_valid(settings));

-- Whether clinic-local time `p_local` falls in the clinic's quiet hours.
create or replace function private.in_quiet_hours(p_settings jsonb, p_local time) returns boolean
  language sql immutable
  set search_path = ''
  as $$
    select coalesce(case when s.b < s.e then p_local >= s.b and p_local < s.e
                         when s.b > s.e then p_local >= s.b or p_local < s.e end, false)
    from (select
      case when q is null then time '21:00' when jsonb_typeof(q) = 'object'
        then (q ->> 'start')::time end as b,
      case when q is null then time '08:00' when jsonb_typeof(q) = 'object'
        then (q ->> 'end')::time end as e
      from (select p_settings #> '{notifications,quiet_hours}' as q) x) s
  $$;

-- ---------------------------------------------------------------------------------------
-- Notifications: whom, in which language, on which channels
-- ---------------------------------------------------------------------------------------

-- A walk-in without an account is still told by SMS: its notification has no user, only the
-- patient (and the deliveries hang on it as for everybody).
alter table public.notifications
  alter column user_id drop not null,
  add column patient_id uuid,
  add constraint notifications_patient foreign key (patient_id, clinic_id)
    references public.patients (id, clinic_id) on delete cascade,
  add constraint notifications_someone check (user_id is not null or patient_id is not null);
create index notifications_patient on public.notifications (patient_id)
  where patient_id is not null;

-- What each delivery says, rendered by private.notify when it is created (the transports never
-- compose texts); those written before are filled from their notification.
alter table public.notification_deliveries
  add column subject text,
  add column body text,
  add column html text,
  add column language text not null default 'en',
  add column template jsonb; -- {"name", "variables"}: see notification_templates
update public.notification_deliveries d
set subject = n.title,
    body = case when d.channel = 'email' then n.body else n.title || E'\n' || n.body end
from public.notifications n
where n.id = d.notification_id and d.body is null;

drop function private.notify(uuid, uuid, text, text, text, jsonb, uuid);

-- Tells a patient about `p_kind` (a kind of private.template_variables), in the caller's
-- transaction: the in-app notification for the patient's account (its title and body in the
-- account's language) and one pending delivery per channel the patient consented to
-- (patients.*_consent), has an address for (push: a subscription of the account, the delivery's
-- recipient is the account) and has not switched off
-- (users.notification_preferences: {"sms": false} for a channel, {"kinds": {"<kind>":
-- {"sms": false}}} per kind), each rendered in the patient's preferred_language and enqueued
-- as a `notification.deliver` job. Without an account only the queue calls reach the patient,
-- by SMS (the front desk records the phone and the consent). `p_data` is kept with the
-- notification and fills the templates' placeholders with `p_at`, the moment it is about
-- (clinic-local date and time), and the clinic's name; `p_template` names the templates when
-- they are not the kind's own. Returns the notification id, or null when there is nobody to
-- tell.
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
  left join public.users u on u.id = p.user_id and u.is_active and u.deleted_at is null
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
      'notification.deliver:' || v_delivery);
  end loop;
  return v_id;
end
$$;
revoke all on function private.notify(uuid, uuid, text, timestamptz, jsonb, text) from public;

-- ---------------------------------------------------------------------------------------
-- The causes: bookings, reminders, queue calls
-- ---------------------------------------------------------------------------------------

-- Booking notifications, written in the transaction that changes the appointment.
--   confirmed:   inserted as scheduled/confirmed, or a hold turned into a booking
--   rescheduled: a booking's time or doctor moved, or a new booking that `rescheduled_from`
--                another (the old row's status 'rescheduled' then says nothing itself)
--   cancelled:   a booking (not a hold) became cancelled
create or replace function private.appointment_notify() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_kind text;
begin
  if new.status = 'held' then
    return null;
  end if;
  if tg_op = 'INSERT' then
    if new.status in ('scheduled', 'confirmed') then
      v_kind := case when new.rescheduled_from is null then 'booking_confirmed'
                     else 'booking_rescheduled' end;
    end if;
  elsif new.status in ('scheduled', 'confirmed') and old.status = 'held' then
    v_kind := case when new.rescheduled_from is null then 'booking_confirmed'
                   else 'booking_rescheduled' end;
  elsif new.status in ('scheduled', 'confirmed') and old.status in ('scheduled', 'confirmed')
    and (new.period is distinct from old.period or new.doctor_id is distinct from old.doctor_id)
  then
    v_kind := 'booking_rescheduled';
  elsif new.status = 'cancelled' and old.status not in ('cancelled', 'held') then
    v_kind := 'booking_cancelled';
  end if;
  if v_kind is null then
    return null;
  end if;
  perform private.notify(new.clinic_id, new.patient_id, v_kind, lower(new.period),
    private.appointment_notification_data(new));
  return null;
end
$$;
revoke all on function private.appointment_notify() from public;

-- What a notification about an appointment keeps and fills its texts with.
create or replace function private.appointment_notification_data(p_appointment public.appointments)
  returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (
    select jsonb_build_object('appointment_id', p_appointment.id,
      'start', lower(p_appointment.period),
      'local_time', private.local_datetime(lower(p_appointment.period), c.timezone),
      'timezone', c.timezone, 'ref', p_appointment.appointment_number,
      'doctor', d.display_name)
    from public.clinics c, public.doctors d
    where c.id = p_appointment.clinic_id and d.id = p_appointment.doctor_id);
end
$$;
revoke all on function private.appointment_notification_data(public.appointments) from public;

drop function private.appointment_place(public.appointments);

-- Sends every reminder due at `p_now` (at most `p_limit`, earliest visits first) and returns
-- how many it sent. Safe to run concurrently: the reminder's row is claimed before the
-- notification is written, in the same transaction. Nothing is sent in a clinic's quiet hours:
-- a reminder that comes due then is sent by the first sweep after they end, unless the visit
-- has started by then (it is not sent at all).
create or replace function private.send_due_reminders(
  p_now timestamptz default now(),
  p_limit integer default 1000
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_due record;
  v_notification uuid;
  v_count integer := 0;
begin
  for v_due in
    select a as appt, l.lead
    from public.clinics c
    cross join lateral unnest(private.reminder_leads(c.settings)) as l(lead)
    join public.appointments a
      on a.clinic_id = c.id
      and a.service_date between (p_now at time zone c.timezone)::date
        and ((p_now + make_interval(mins => l.lead)) at time zone c.timezone)::date
      and a.status in ('scheduled', 'confirmed')
      and lower(a.period) > p_now
      and lower(a.period) - make_interval(mins => l.lead) <= p_now
      and lower(a.period) - make_interval(mins => l.lead) > a.updated_at
    where c.deleted_at is null
      and not private.in_quiet_hours(c.settings, (p_now at time zone c.timezone)::time)
      and not exists (
        select 1 from private.appointment_reminders r
        where r.appointment_id = a.id and r.starts_at = lower(a.period)
          and r.lead_minutes = l.lead)
    order by lower(a.period), l.lead desc
    limit p_limit
  loop
    insert into private.appointment_reminders (appointment_id, starts_at, lead_minutes)
    values ((v_due.appt).id, lower((v_due.appt).period), v_due.lead)
    on conflict do nothing;
    continue when not found; -- another sweep sent it
    v_notification := private.notify((v_due.appt).clinic_id, (v_due.appt).patient_id,
      'appointment_reminder', lower((v_due.appt).period),
      private.appointment_notification_data(v_due.appt)
        || jsonb_build_object('lead_minutes', v_due.lead));
    update private.appointment_reminders set notification_id = v_notification
    where appointment_id = (v_due.appt).id and starts_at = lower((v_due.appt).period)
      and lead_minutes = v_due.lead;
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
revoke all on function private.send_due_reminders(timestamptz, integer) from public;

-- "Ticket A012: please go to Room 3", to the ticket's patient.
create or replace function private.queue_notify_called(p_ticket public.queue_tickets)
  returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_tz text;
begin
  select c.timezone into v_tz from public.clinics c where c.id = p_ticket.clinic_id;
  return private.notify(p_ticket.clinic_id, p_ticket.patient_id, 'ticket_called',
    p_ticket.called_at,
    jsonb_build_object('ticket_id', p_ticket.id, 'code', p_ticket.code, 'room', p_ticket.room,
      'called_at', p_ticket.called_at, 'call_count', p_ticket.call_count,
      'local_time', private.local_time(p_ticket.called_at, v_tz), 'timezone', v_tz));
end
$$;
revoke all on function private.queue_notify_called(public.queue_tickets) from public;

-- After any ticket change of a clinic's day: every waiting ticket of a patient with at most
-- near_threshold people ahead that has not been told yet gets "you are N away" — except an
-- appointment before its booked time: the policy puts it at its booked time, so people due
-- earlier may still go ahead ("you are next" would not hold). It is told on a change after.
create or replace function private.queue_notify_near(p_clinic uuid, p_day date) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_clinic public.clinics;
  v_n integer;
  v_count integer := 0;
  r record;
begin
  select * into v_clinic from public.clinics c where c.id = p_clinic;
  v_n := private.queue_setting(v_clinic.settings, 'near_threshold', 3);
  if v_n < 0 then
    return 0;
  end if;
  for r in
    select t.id, t.code, t.patient_id, p.people_ahead
    from private.queue_places(p_clinic, p_day) p
    join public.queue_tickets t on t.id = p.ticket_id
    where p.people_ahead <= v_n and t.patient_id is not null
      and (t.scheduled_at is null or t.scheduled_at <= now())
      and not exists (select 1 from private.queue_near_notified n where n.ticket_id = t.id)
  loop
    insert into private.queue_near_notified (ticket_id, people_ahead)
    values (r.id, r.people_ahead) on conflict do nothing;
    if found then
      perform private.notify(p_clinic, r.patient_id, 'queue_near', now(),
        jsonb_build_object('ticket_id', r.id, 'code', r.code, 'people_ahead', r.people_ahead,
          'local_time', private.local_time(now(), v_clinic.timezone),
          'timezone', v_clinic.timezone),
        case when r.people_ahead = 0 then 'queue_next' end);
      v_count := v_count + 1;
    end if;
  end loop;
  return v_count;
end
$$;
revoke all on function private.queue_notify_near(uuid, date) from public;

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------------------

-- Everybody signed in may read the shipped texts; a clinic's admins read and write their
-- clinic's own (never the shipped ones: those change with a migration).
alter table public.notification_templates enable row level security;
alter table public.notification_templates force row level security;
create policy templates_read on public.notification_templates for select to authenticated
  using (clinic_id is null or clinic_id in (select private.admin_clinic_ids()));
create policy templates_admin_write on public.notification_templates for all to authenticated
  using (clinic_id in (select private.admin_clinic_ids()))
  with check (clinic_id in (select private.admin_clinic_ids()));
-- Nothing but what follows (Supabase's default privileges on public are taken back first).
revoke all on public.notification_templates from anon, authenticated, service_role;
grant select, insert, update, delete on public.notification_templates
  to authenticated, service_role;

revoke all on function private.local_date(timestamptz, text, text),
  private.room_label(text, text), private.html_escape(text),
  private.template_variables(text, text), private.template_placeholders(text),
  private.notification_template(uuid, text, text, text),
  private.render_template(text, jsonb, boolean),
  private.render_notification(uuid, text, text, text, jsonb, timestamptz, text),
  private.quiet_hours_valid(jsonb), private.in_quiet_hours(jsonb, time) from public;
-- Evaluated in the templates' and the clinics' check constraints, by whoever writes them.
grant execute on function private.template_variables(text, text),
  private.template_placeholders(text), private.quiet_hours_valid(jsonb)
  to authenticated, service_role;
