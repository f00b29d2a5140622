-- Web push subscriptions: one row per browser push endpoint (the PushSubscription a browser
-- hands the PWA), owned by the signed-in user who subscribed on that browser. The job worker
-- (service_role) sends each push notification to every subscription of the user it is for
-- (edge/notify/push.ts) and prunes a subscription the push service reports gone (404/410).

create table public.push_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  -- The push service's URL for this browser: always https (RFC 8030), a capability URL.
  endpoint text not null unique
    check (endpoint ~ '^https://[^\s/?#]+[^\s]*$' and length(endpoint) <= 2048),
  -- The browser's P-256 public key (65-byte uncompressed point) and 16-byte auth secret,
  -- base64url without padding, as PushSubscription.toJSON() gives them (RFC 8291).
  p256dh text not null check (p256dh ~ '^B[A-Za-z0-9_-]{86}$'),
  auth text not null check (auth ~ '^[A-Za-z0-9_-]{22}$'),
  user_agent text check (length(user_agent) <= 500),
  created_at timestamptz not null default now(),
  last_success_at timestamptz,
  failure_count integer not null default 0 check (failure_count >= 0)
);
create index push_subscriptions_user on public.push_subscriptions (user_id);

-- ---------------------------------------------------------------------------------------
-- Row-level security and privileges: a user sees, adds, refreshes and removes only their own
-- subscriptions; the worker (service_role) reads, marks and prunes them.
-- ---------------------------------------------------------------------------------------

alter table public.push_subscriptions enable row level security;
alter table public.push_subscriptions force row level security;
create policy push_subscriptions_own_read on public.push_subscriptions for select
  to authenticated using (user_id = (select auth.uid()));
create policy push_subscriptions_own_insert on public.push_subscriptions for insert
  to authenticated with check (user_id = (select auth.uid()));
create policy push_subscriptions_own_update on public.push_subscriptions for update
  to authenticated using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
create policy push_subscriptions_own_delete on public.push_subscriptions for delete
  to authenticated using (user_id = (select auth.uid()));

-- Nothing but what follows (Supabase's default privileges on public are taken back first).
revoke all on public.push_subscriptions from anon, authenticated, service_role;
grant select, insert, delete on public.push_subscriptions to authenticated;
-- A re-subscription refreshes the keys of the caller's own row (upsert by endpoint).
grant update (p256dh, auth, user_agent, failure_count) on public.push_subscriptions
  to authenticated;
grant select, insert, update, delete on public.push_subscriptions to service_role;

-- ---------------------------------------------------------------------------------------
-- Answers (the caller's own subscriptions; never the keys)
-- ---------------------------------------------------------------------------------------

create or replace function private.push_subscription_json(s public.push_subscriptions)
  returns json
  language sql stable
  as $$
    select json_build_object('id', s.id, 'endpoint', s.endpoint, 'user_agent', s.user_agent,
      'created_at', private.iso_utc(s.created_at),
      'last_success_at', private.iso_utc(s.last_success_at))
  $$;

-- An endpoint belongs to one browser: when another account subscribed on it before (a shared
-- device, the previous user signed out), the browser now delivers to the caller, so that
-- row goes. SECURITY DEFINER: the caller cannot see another user's row; it learns nothing
-- (no answer) and can only drop an endpoint it presents, a capability URL only that
-- browser and its push service know.
create or replace function private.push_release_endpoint(p_endpoint text) returns void
  language sql
  security definer
  set search_path = ''
  as $$
    delete from public.push_subscriptions s
    where s.endpoint = p_endpoint and s.user_id <> (select auth.uid())
  $$;

-- Subscribes the caller's browser (upsert by endpoint: a re-subscription refreshes the keys
-- and forgets past failures). A bad endpoint or key is a 400 naming the field. An account keeps
-- its 10 newest subscriptions: every push fans out to all of them, so the fan-out (and what
-- one account can make the worker send) stays small.
create or replace function api.push_subscribe(
  p_endpoint text,
  p_p256dh text,
  p_auth text,
  p_user_agent text default null
) returns json
  language plpgsql
  set search_path = ''
  as $$
declare
  v_row public.push_subscriptions;
  v_constraint text;
begin
  begin
    perform private.push_release_endpoint(p_endpoint);
    insert into public.push_subscriptions (user_id, endpoint, p256dh, auth, user_agent)
    values ((select auth.uid()), p_endpoint, p_p256dh, p_auth, left(p_user_agent, 500))
    on conflict (endpoint) do update
      set p256dh = excluded.p256dh, auth = excluded.auth, user_agent = excluded.user_agent,
          failure_count = 0
    returning * into v_row;
    delete from public.push_subscriptions s
    where s.user_id = v_row.user_id and s.id <> v_row.id
      and s.id not in (select k.id from public.push_subscriptions k
                       where k.user_id = v_row.user_id and k.id <> v_row.id
                       order by k.created_at desc, k.id desc limit 9);
  exception when check_violation then
    get stacked diagnostics v_constraint = constraint_name;
    perform private.raise_api(400, 'invalid_request', 'The subscription is invalid',
      jsonb_build_array(jsonb_build_object(
        'path', case
          when v_constraint like '%p256dh%' then 'keys.p256dh'
          when v_constraint like '%auth%' then 'keys.auth'
          else 'endpoint' end,
        'message', case
          when v_constraint like '%p256dh%' then 'Not a base64url P-256 public key (65 bytes)'
          when v_constraint like '%auth%' then 'Not a base64url 16-byte secret'
          else 'Not an https URL' end)));
  end;
  return json_build_object('subscription', private.push_subscription_json(v_row));
end
$$;

create or replace function api.push_subscriptions() returns json
  language sql stable
  set search_path = ''
  as $$
    select json_build_object('subscriptions', coalesce(
      json_agg(private.push_subscription_json(s) order by s.created_at, s.id), '[]'::json))
    from public.push_subscriptions s
    where s.user_id = (select auth.uid())
  $$;

create or replace function api.push_unsubscribe(p_id uuid) returns json
  language plpgsql
  set search_path = ''
  as $$
begin
  delete from public.push_subscriptions s where s.id = p_id;
  if not found then
    perform private.raise_api(404, 'not_found', 'No such subscription');
  end if;
  return json_build_object('deleted', true);
end
$$;

revoke all on function private.push_subscription_json(public.push_subscriptions),
  private.push_release_endpoint(text), api.push_subscribe(text, text, text, text),
  api.push_subscriptions(), api.push_unsubscribe(uuid) from public;
grant execute on function private.push_subscription_json(public.push_subscriptions),
  private.push_release_endpoint(text), api.push_subscribe(text, text, text, text),
  api.push_subscriptions(), api.push_unsubscribe(uuid) to authenticated;
