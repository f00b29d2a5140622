/**
 * Clerk (Standard Webhooks) identity events → `users` and `clinic_members`.
 *
 * - `user.created` / `user.updated`: the user with `external_id` = Clerk id is created or
 *   updated; an existing local account with the same e-mail and no external id is linked.
 * - `user.deleted`: deactivated, memberships revoked, refresh tokens revoked.
 * - `organization.created` / `updated`: links the clinic whose code is the organization's
 *   `public_metadata.clinic_code` (or slug) when it has no organization yet; `deleted` unlinks.
 * - `organizationMembership.*`: grants/revokes the clinic role mapped from the Clerk role
 *   (`org:admin` → admin, `org:doctor`, `org:nurse`, `org:staff`/`org:member` → staff).
 *
 * Order tolerance: a watermark per Clerk object (`private.webhook_sync_state`) holds the
 * provider time of the last applied event; older events are `stale`. Deletions are final.
 *
 * @module
 */

import type postgres from "postgres";
import { NotYetError, PermanentEventError } from "../errors.ts";
import type { EventHandler, InboxEvent } from "./types.ts";

type Tx = postgres.TransactionSql;
type Json = Record<string, unknown>;

const ROLES: Record<string, string> = {
  "org:admin": "admin",
  "org:doctor": "doctor",
  "org:nurse": "nurse",
  "org:staff": "staff",
  "org:member": "staff",
};
const PHONE = /^[+0-9][0-9 -]{5,19}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function obj(value: unknown): Json {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Json : {};
}

function str(value: unknown, max = 255): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= max ? value : null;
}

/** The provider time of the event: the object's `updated_at`, else the event's `timestamp`. */
function eventTime(event: InboxEvent, data: Json): Date {
  for (const value of [data.updated_at, event.json.timestamp]) {
    if (typeof value === "number" && Number.isFinite(value) && value > 0) return new Date(value);
  }
  const header = Number(event.headers["webhook-timestamp"]);
  if (Number.isFinite(header) && header > 0) return new Date(header * 1000);
  throw new PermanentEventError("event without a time");
}

async function advance(
  tx: Tx,
  key: string,
  at: Date | "infinity",
): Promise<{ applies: boolean; previous: Json | null }> {
  const [row] = await tx<{ applies: boolean; previous: Json | null }[]>`
    select applies, previous from private.webhook_sync_advance('clerk', ${key},
      ${at === "infinity" ? "infinity" : at.toISOString()}::text::timestamptz)`;
  return row;
}

function setValue(tx: Tx, key: string, value: Json) {
  return tx`
    update private.webhook_sync_state set value = ${tx.json(value as never)}
    where source = 'clerk' and key = ${key}`;
}

function primary(list: unknown, primaryId: unknown, field: string): string | null {
  if (!Array.isArray(list)) return null;
  const items = list.map(obj);
  const chosen = items.find((i) => i.id === primaryId) ?? items[0];
  return chosen ? str(chosen[field]) : null;
}

async function upsertUser(tx: Tx, event: InboxEvent, data: Json): Promise<string> {
  const clerkId = str(data.id);
  if (!clerkId) throw new PermanentEventError("user event without data.id");
  const { applies } = await advance(tx, `user:${clerkId}`, eventTime(event, data));
  if (!applies) return "stale";

  const email = primary(data.email_addresses, data.primary_email_address_id, "email_address");
  if (!email || !EMAIL.test(email)) return "ignored: no e-mail";
  const phoneRaw = primary(data.phone_numbers, data.primary_phone_number_id, "phone_number");
  const phone = phoneRaw && PHONE.test(phoneRaw) ? phoneRaw : null;
  const name = [str(data.first_name, 100), str(data.last_name, 100)].filter(Boolean).join(" ")
    .trim() || email.split("@")[0];
  const fullName = name.slice(0, 200);

  const [byExternal] = await tx<{ id: string }[]>`
    select id from public.users where external_id = ${clerkId} for update`;
  const [byEmail] = await tx<{ id: string; external_id: string | null }[]>`
    select id, external_id from public.users where email = ${email} for update`;

  if (byExternal) {
    const emailFree = !byEmail || byEmail.id === byExternal.id;
    await tx`
      update public.users
      set email = case when ${emailFree} then ${email}::extensions.citext else email end,
          full_name = ${fullName}, phone = coalesce(${phone}, phone)
      where id = ${byExternal.id}`;
    return emailFree ? "updated" : "updated: e-mail kept (used by another account)";
  }
  if (byEmail) {
    if (byEmail.external_id !== null) return "conflict: e-mail linked to another identity";
    await tx`
      update public.users set external_id = ${clerkId}, phone = coalesce(phone, ${phone})
      where id = ${byEmail.id}`;
    return "linked";
  }
  await tx`
    insert into public.users (email, full_name, phone, external_id, email_verified_at)
    values (${email}, ${fullName}, ${phone}, ${clerkId}, now())`;
  return "created";
}

async function deleteUser(tx: Tx, data: Json): Promise<string> {
  const clerkId = str(data.id);
  if (!clerkId) throw new PermanentEventError("user.deleted without data.id");
  const { applies } = await advance(tx, `user:${clerkId}`, "infinity");
  if (!applies) return "stale";
  const rows = await tx<{ id: string }[]>`
    update public.users set is_active = false, deleted_at = coalesce(deleted_at, now())
    where external_id = ${clerkId}
    returning id`;
  if (!rows.length) return "unmatched";
  await tx`
    update public.clinic_members set revoked_at = now()
    where user_id = ${rows[0].id} and revoked_at is null`;
  await tx`
    update private.refresh_tokens set revoked_at = now()
    where user_id = ${rows[0].id} and revoked_at is null`;
  return "deactivated";
}

async function organization(tx: Tx, type: string, data: Json): Promise<string> {
  const orgId = str(data.id);
  if (!orgId) throw new PermanentEventError(`${type} without data.id`);
  if (type === "organization.deleted") {
    const rows = await tx`
      update public.clinics set external_org_id = null where external_org_id = ${orgId}
      returning id`;
    return rows.length ? "unlinked" : "ignored";
  }
  const code = (str(obj(data.public_metadata).clinic_code, 20) ?? str(data.slug, 20) ?? "")
    .toUpperCase();
  if (!code) return "ignored";
  const rows = await tx`
    update public.clinics set external_org_id = ${orgId}
    where code = ${code} and external_org_id is null
      and not exists (select 1 from public.clinics c where c.external_org_id = ${orgId})
    returning id`;
  return rows.length ? "linked" : "ignored";
}

async function membership(tx: Tx, event: InboxEvent, type: string, data: Json): Promise<string> {
  const membershipId = str(data.id);
  if (!membershipId) throw new PermanentEventError(`${type} without data.id`);
  const deleted = type === "organizationMembership.deleted";
  const key = `membership:${membershipId}`;
  const { applies, previous } = await advance(
    tx,
    key,
    deleted ? "infinity" : eventTime(event, data),
  );
  if (!applies) return "stale";

  const orgId = str(obj(data.organization).id);
  const clerkUserId = str(obj(data.public_user_data).user_id);
  if (!orgId || !clerkUserId) throw new PermanentEventError(`${type} without org or user`);
  const [clinic] = await tx<{ id: string }[]>`
    select id from public.clinics where external_org_id = ${orgId}`;
  const [user] = await tx<{ id: string }[]>`
    select id from public.users where external_id = ${clerkUserId}`;
  if (!clinic) throw new NotYetError("organization not linked to a clinic");
  if (!user) throw new NotYetError("user not synced yet");

  const previousRole = str(previous?.role);
  const role = deleted ? null : ROLES[str(data.role) ?? ""] ?? null;
  if (previousRole && previousRole !== role) {
    await tx`
      update public.clinic_members set revoked_at = now()
      where user_id = ${user.id} and clinic_id = ${clinic.id}
        and role = ${previousRole}::public.member_role and revoked_at is null`;
  }
  if (deleted) {
    if (!previousRole) {
      const mapped = ROLES[str(data.role) ?? ""];
      if (mapped) {
        await tx`
          update public.clinic_members set revoked_at = now()
          where user_id = ${user.id} and clinic_id = ${clinic.id}
            and role = ${mapped}::public.member_role and revoked_at is null`;
      }
    }
    return "revoked";
  }
  if (!role) {
    await setValue(tx, key, { role: null });
    return previousRole ? "revoked: unmapped role" : "ignored: unmapped role";
  }
  await tx`
    insert into public.clinic_members (user_id, clinic_id, role)
    values (${user.id}, ${clinic.id}, ${role}::public.member_role)
    on conflict (user_id, clinic_id, role) do update set revoked_at = null`;
  await setValue(tx, key, { role });
  return previousRole === role ? "updated" : "granted";
}

export const clerkHandler: EventHandler = (tx, event) => {
  const type = event.eventType ?? "";
  const data = obj(event.json.data);
  switch (type) {
    case "user.created":
    case "user.updated":
      return upsertUser(tx, event, data);
    case "user.deleted":
      return deleteUser(tx, data);
    case "organization.created":
    case "organization.updated":
    case "organization.deleted":
      return organization(tx, type, data);
    case "organizationMembership.created":
    case "organizationMembership.updated":
    case "organizationMembership.deleted":
      return membership(tx, event, type, data);
  }
  return Promise.resolve("ignored");
};
