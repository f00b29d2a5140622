/**
 * A token's `sub` is what the database's `auth.uid()` casts to uuid in every policy: an empty
 * or non-uuid subject would make each of them raise (Supabase's own `auth.uid()` included). So
 * a token's subject is absent (the anon key) or a uuid, or the token is refused — by the API
 * and the realtime server alike. External identity-provider subjects are mapped to our user
 * ids before they reach the database, and are not checked here.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validSubject(sub: unknown): boolean {
  return sub === undefined || (typeof sub === "string" && UUID.test(sub));
}
