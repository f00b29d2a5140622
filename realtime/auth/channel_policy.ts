/**
 * Who may receive and send on a private channel (`config.private: true`), in Supabase's terms:
 * read (receive) and write (send) of broadcast and presence. Public channels are open to any
 * valid token, as in Supabase; postgres_changes are authorized row by row either way.
 *
 * With a database the answer comes from the RLS policies on `realtime.messages`
 * (db/topic_policy.ts; the rooms are listed in the migration that defines them). Without one
 * nothing can check memberships or revocations, so only `service_role` is let in.
 */
import type { Claims } from "./claims.ts";

export interface Permission {
  read: boolean;
  write: boolean;
}

export interface TopicAccess {
  broadcast: Permission;
  presence: Permission;
}

export interface TopicPolicy {
  /** The claims' access to a private topic (the name without `realtime:`), as of now. */
  access(claims: Claims, subTopic: string): Promise<TopicAccess>;
  /**
   * A number that changes whenever an answer may change (memberships, board tokens, their
   * expiry); open private channels are re-checked when it moves. Absent: answers never change.
   */
  stamp?(): number;
}

export const NO_ACCESS: TopicAccess = {
  broadcast: { read: false, write: false },
  presence: { read: false, write: false },
};

/** Public channels, and `service_role` anywhere. */
export const FULL_ACCESS: TopicAccess = {
  broadcast: { read: true, write: true },
  presence: { read: true, write: true },
};

/** A private channel may be joined (and stay joined) while it may receive something. */
export function canReceive(access: TopicAccess): boolean {
  return access.broadcast.read || access.presence.read;
}

/** The policy without a database: `service_role` only. */
export const serviceRoleOnly: TopicPolicy = {
  access: (claims) => Promise.resolve(claims.role === "service_role" ? FULL_ACCESS : NO_ACCESS),
};
