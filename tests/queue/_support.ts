/**
 * Helpers of the queue tests: demo ids and rows (tests/support), and an app over a fresh
 * database (clinic A at local noon) with access tokens for the demo users.
 */
import { type Answer, type AppOverDatabase, appOverFreshDatabase, call } from "../support/app.ts";
import { middayClinic } from "../support/clinic.ts";
import { CLINIC_A } from "../support/demo.ts";

export { CLINIC_A, CLINIC_B, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";
export { addAppointment, addPatients, asDemoUser, middayClinic } from "../support/clinic.ts";

export interface QueueApp extends AppOverDatabase {
  tokenFor(userId: string): Promise<string>;
  boardToken(clinicId?: string, options?: { revoked?: boolean }): Promise<string>;
  /** A JSON request to `/api` + `path`. */
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<Answer>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A fresh seeded database (clinic A at local noon) and the app over it. */
export async function queueApp(): Promise<QueueApp> {
  const base = await appOverFreshDatabase({
    JWT_SECRET: "queue-tests-secret-0123456789abcdef0123456789",
  });
  const { db, tokens } = base;
  await middayClinic(db.sql);
  const cache = new Map<string, string>();
  async function tokenFor(userId: string) {
    const known = cache.get(userId);
    if (known) return known;
    const [user] = await db.sql`
      select u.email::text as email,
             (select m.clinic_id from public.clinic_members m
              where m.user_id = u.id and m.revoked_at is null order by m.is_primary desc limit 1)
               as clinic_id,
             (select m.role::text from public.clinic_members m
              where m.user_id = u.id and m.revoked_at is null order by m.is_primary desc limit 1)
               as role,
             array(select m.clinic_id from public.clinic_members m
                   where m.user_id = u.id and m.revoked_at is null) as clinic_ids
      from public.users u where u.id = ${userId}`;
    const { token } = await tokens.signAccess({
      userId,
      email: user.email,
      sessionId: crypto.randomUUID(),
      appMetadata: { clinic_id: user.clinic_id, clinic_ids: user.clinic_ids, role: user.role },
    });
    cache.set(userId, token);
    return token;
  }
  async function boardToken(clinicId = CLINIC_A, options: { revoked?: boolean } = {}) {
    const [row] = await db.sql`
      insert into public.board_tokens (clinic_id, revoked_at)
      values (${clinicId}, ${options.revoked ? new Date() : null}) returning id`;
    return await tokens.signBoard(row.id, clinicId);
  }
  return {
    ...base,
    tokenFor,
    boardToken,
    call: (method, path, options) => call(base.app, method, `/api${path}`, options),
    [Symbol.asyncDispose]: () => db.drop(),
  };
}
