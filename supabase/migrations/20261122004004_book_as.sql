-- Booking performance (issue 3), part 4: POST /api/bookings as one statement.
--
-- The edge ran every booking as BEGIN; set role, claims and request id; api.book; COMMIT —
-- three or four exchanges with the API process. Under load, sampling pg_stat_activity during
-- bench/booking found the pool's connections "idle in transaction" (ClientRead) almost half of
-- the time: waiting for the API's event loop to send the next message while holding the
-- booking's locks (the doctor-day lock, the day's number counter) and a pool connection.
--
-- private.book_as does what edge/db/claims.ts#withClaims does — set the role (SET LOCAL ROLE),
-- request.jwt.claims and request.id for this transaction — and then calls api.book, so the
-- whole request is one statement in one implicit transaction: one round trip, nothing held
-- between messages. api.book runs exactly as before: SECURITY INVOKER under the caller's role,
-- RLS, idempotency, audit, notifications and outbox in the same transaction.
--
-- Not callable by the client roles (it would let them pick a role): only its owner — the role
-- the API connects as — may execute it. It is not SECURITY DEFINER (a SECURITY DEFINER
-- function may not change the role).

create or replace function private.book_as(
  p_role text,
  p_claims text,
  p_request_id text,
  p_key text,
  p_request jsonb
) returns jsonb
  language plpgsql
  as $$
begin
  perform private.act_as(p_role, p_claims, p_request_id);
  return api.book(p_key, p_request);
end
$$;
revoke all on function private.book_as(text, text, text, text, jsonb) from public;
