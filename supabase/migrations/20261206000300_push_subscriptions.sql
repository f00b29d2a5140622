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

grant select, insert, delete on public.push_subscriptions to authenticated;
-- A re-subscription refreshes the keys of the caller's own row (upsert by endpoint).
grant update (p256dh, auth, user_agent, failure_count) on public.push_subscriptions
  to authenticated;
grant select, insert, update, delete on public.push_subscriptions to service_role;
