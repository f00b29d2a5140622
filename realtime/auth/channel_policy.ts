/**
 * Who may join a private channel (`config.private: true`) and broadcast or track presence
 * on it. Public channels are open to any valid token, as in Supabase; postgres_changes are
 * always authorized row by row regardless of this policy.
 *
 * Default rules for private topics:
 * - `service_role` may join anything;
 * - `clinic:<clinic_id>` and `clinic:<clinic_id>:<anything>`: members of that clinic (boards
 *   of that clinic included);
 * - `user:<sub>` and `user:<sub>:<anything>`: that user only;
 * - anything else is refused.
 */
import { type Claims, clinicIds } from "./claims.ts";

export type ChannelPolicy = (claims: Claims, subTopic: string) => boolean;

export const defaultChannelPolicy: ChannelPolicy = (claims, subTopic) => {
  if (claims.role === "service_role") return true;
  const [kind, id] = subTopic.split(":");
  if (!id) return false;
  if (kind === "clinic") return clinicIds(claims).includes(id);
  if (kind === "user") return claims.role === "authenticated" && claims.sub === id;
  return false;
};
