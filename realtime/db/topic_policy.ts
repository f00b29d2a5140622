/**
 * Private topics authorized by the database, as Supabase does: the RLS policies on
 * `realtime.messages` (supabase/migrations/20261122001100_realtime.sql) decide,
 * with the topic exposed through `realtime.topic()`. One transaction per check, always rolled
 * back: probe rows inserted as the server, then, under the caller's role and claims, a SELECT
 * of them (read) and an INSERT per extension under a savepoint (write).
 *
 * Equal principals share a decision on a topic until the directory's stamp moves (any
 * membership, patient or board-token change, a board token's expiry), so a revocation counts
 * as soon as the replication stream delivers it; the check itself reads the database, which
 * is never behind the directory.
 */
import postgres from "postgres";
import type { Sql } from "postgres";
import { NO_ACCESS, type TopicAccess, type TopicPolicy } from "../auth/channel_policy.ts";
import { type Claims, principalKey } from "../auth/claims.ts";

/** Roles a token may carry; anything else is refused without asking the database. */
const CLIENT_ROLES = new Set(["anon", "authenticated", "service_role"]);
/** Bound on distinct (principal, topic) decisions held between stamp moves. */
const MAX_DECISIONS = 10_000;

const ROLLBACK = Symbol("rollback");

export function createDbTopicPolicy(sql: Sql, stamp: () => number): TopicPolicy {
  const decisions = new Map<string, Promise<TopicAccess>>();
  let decidedAt = -1;
  return {
    stamp,
    access(claims, subTopic) {
      const now = stamp();
      if (now !== decidedAt || decisions.size >= MAX_DECISIONS) {
        decisions.clear();
        decidedAt = now;
      }
      const key = `${principalKey(claims)}\0${subTopic}`;
      let decision = decisions.get(key);
      if (!decision) {
        const pending = check(sql, claims, subTopic);
        pending.catch(() => {
          if (decisions.get(key) === pending) decisions.delete(key);
        });
        decisions.set(key, decision = pending);
      }
      return decision;
    },
  };
}

async function check(sql: Sql, claims: Claims, topic: string): Promise<TopicAccess> {
  if (!CLIENT_ROLES.has(claims.role)) return NO_ACCESS;
  let access = NO_ACCESS;
  try {
    await sql.begin(async (tx) => {
      const probes = await tx<{ id: string; extension: string }[]>`
        insert into realtime.messages (topic, extension, private)
        values (${topic}, 'broadcast', true), (${topic}, 'presence', true)
        returning id::text, extension`;
      await tx`select set_config('role', ${claims.role}, true),
                      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
                      set_config('realtime.topic', ${topic}, true)`;
      // A policy that fails on these claims (say, a subject that is not a uuid) allows nothing.
      const read = await tx<{ extension: string }[]>`
        select extension from realtime.messages where id = any(${probes.map((p) => p.id)}::uuid[])`
        .catch(refusal);
      if (read === false) throw ROLLBACK;
      const write = (extension: string) =>
        tx.savepoint((sp) =>
          sp`insert into realtime.messages (topic, extension, private)
             values (${topic}, ${extension}, true)`
        ).then(() => true, refusal);
      const readable = new Set(read.map((r) => r.extension));
      access = {
        broadcast: { read: readable.has("broadcast"), write: await write("broadcast") },
        presence: { read: readable.has("presence"), write: await write("presence") },
      };
      throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
  return access;
}

/** The database refused (a policy said no, or failed on these claims): false; else rethrow. */
function refusal(error: unknown): false {
  if (error instanceof postgres.PostgresError) return false;
  throw error;
}
