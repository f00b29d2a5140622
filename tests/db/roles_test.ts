/**
 * The staff role list has one home, private.staff_roles(): every rule that asks "is the caller
 * staff of this clinic?" answers from it — the policy helper, RLS, the booking checks, the
 * queue and board-token functions, the realtime rooms — and the staff console's copy agrees
 * with it (the realtime directory's copy: tests/realtime/db_rules_test.ts).
 */
import assert from "node:assert/strict";
import { asUser, claimsFor, freshDatabase, type Sql } from "../support/db.ts";
import { attempt, CLINIC_A, describe, DOCTORS, isError } from "./_helpers.ts";
import { isAdmin, isStaff, STAFF_ROLES } from "../../web/src/staff/state.ts";

/** A new user whose only membership is `role` at clinic A. */
async function memberOf(sql: Sql, role: string): Promise<string> {
  const id = crypto.randomUUID();
  await sql`insert into public.users (id, email, full_name)
    values (${id}, ${`${role}-${id}@roles.test`}, ${`Only ${role}`})`;
  await sql`insert into public.clinic_members (user_id, clinic_id, role)
    values (${id}, ${CLINIC_A}, ${role})`;
  return id;
}

/** Whether `user` may join the realtime room `topic` (the realtime.messages policies' helper). */
async function roomMember(sql: Sql, user: string, topic: string): Promise<boolean> {
  let member = false;
  await asUser(sql, claimsFor(user), async (tx) => {
    await tx`select set_config('realtime.topic', ${topic}, true)`;
    [{ member }] = await tx`select private.realtime_room_member() as member`;
  });
  return member;
}

Deno.test("private.staff_roles() decides who is staff, everywhere", async (t) => {
  await using db = await freshDatabase({ seed: true });
  const sql = db.sql;
  const staffRoles = (await sql`select unnest(private.staff_roles())::text as role`)
    .map((r) => r.role as string);
  const memberRoles = (await sql`select unnest(enum_range(null::public.member_role))::text as r`)
    .map((r) => r.r as string);
  const users = new Map<string, string>();
  for (const role of memberRoles) users.set(role, await memberOf(sql, role));

  await t.step("a subset of the member roles, patients excluded", () => {
    assert.ok(staffRoles.length > 0);
    assert.ok(staffRoles.every((r) => memberRoles.includes(r)), staffRoles.join());
    assert.ok(!staffRoles.includes("patient"));
  });

  const booking = {
    clinic_code: "GFC-TP",
    doctor_id: DOCTORS.tan,
    start: new Date(Date.now() + 86_400_000).toISOString(),
  };
  // Each rule, asked as a member of clinic A with one role: does it treat them as staff?
  const rules: [string, (user: string) => Promise<boolean>][] = [
    ["private.staff_clinic_ids()", async (user) => {
      const o = await attempt(
        sql,
        claimsFor(user),
        `
        select $1::uuid in (select private.staff_clinic_ids()) as staff`,
        [CLINIC_A],
      );
      assert.ok(o.ok, describe(o));
      return o.rows[0].staff;
    }],
    ["RLS patients_staff_read", async (user) => {
      const o = await attempt(
        sql,
        claimsFor(user),
        `
        select count(*)::int as n from public.patients where clinic_id = $1`,
        [CLINIC_A],
      );
      assert.ok(o.ok, describe(o));
      return o.rows[0].n > 0;
    }],
    ["private.booking_target (staff must name the patient)", async (user) => {
      const o = await attempt(sql, claimsFor(user), `select private.booking_target($1::jsonb)`, [
        booking,
      ]);
      assert.ok(isError(o, "PT400") || isError(o, "PT403"), describe(o));
      return isError(o, "PT400");
    }],
    ["api.queue_tickets (the staff list)", async (user) => {
      const o = await attempt(sql, claimsFor(user), `select api.queue_tickets('GFC-TP', null)`);
      assert.ok(o.ok || isError(o, "PT403"), describe(o));
      return o.ok;
    }],
    ["api.issue_board_token", async (user) => {
      const o = await attempt(
        sql,
        claimsFor(user),
        `select api.issue_board_token('GFC-TP', 'Lobby', null)`,
      );
      assert.ok(o.ok || isError(o, "PT403"), describe(o));
      return o.ok;
    }],
    ["realtime room clinic:<id>", (user) => roomMember(sql, user, `clinic:${CLINIC_A}`)],
    ["realtime room board:<id>", (user) => roomMember(sql, user, `board:${CLINIC_A}`)],
  ];
  for (const [rule, isStaffBy] of rules) {
    await t.step(`${rule}: staff exactly for ${staffRoles.join(", ")}`, async () => {
      for (const role of memberRoles) {
        assert.equal(await isStaffBy(users.get(role)!), staffRoles.includes(role), role);
      }
    });
  }

  await t.step(
    "members of every role belong to the clinic (private.member_clinic_ids)",
    async () => {
      for (const role of memberRoles) {
        const o = await attempt(
          sql,
          claimsFor(users.get(role)!),
          `
        select $1::uuid in (select private.member_clinic_ids()) as member`,
          [CLINIC_A],
        );
        assert.ok(o.ok && o.rows[0].member, `${role}: ${describe(o)}`);
      }
    },
  );

  await t.step("no other function or policy spells the list", async () => {
    const list = "doctor'?,\\s*'?nurse'?,\\s*'?staff'?,\\s*'?admin";
    const spelled = await sql`
      select n.nspname || '.' || p.proname as name from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'private', 'api', 'audit', 'auth', 'realtime')
        and p.prosrc ~ ${list} and p.oid <> 'private.staff_roles()'::regprocedure
      union all
      select schemaname || '.' || tablename || ' ' || policyname from pg_policies
      where coalesce(qual, '') || coalesce(with_check, '') ~ ${list}`;
    assert.deepEqual(spelled.map((r) => r.name), []);
  });

  await t.step("the staff console admits the roles a token carries for staff", async () => {
    // The token's role is private.identity's: the member role, or 'superadmin' for a user
    // with the flag (whatever their membership), so the console lets superadmins in and the
    // API decides per request.
    const tokenRole = async (user: string) => {
      const [{ role }] =
        await sql`select private.identity(${user}, ${CLINIC_A}) ->> 'role' as role`;
      return role as string;
    };
    for (const role of memberRoles) {
      const given = await tokenRole(users.get(role)!);
      assert.equal(isStaff({ role: given }), staffRoles.includes(role), `${role} → ${given}`);
    }
    const superadmin = users.get("patient")!;
    await sql`update public.users set is_superadmin = true where id = ${superadmin}`;
    const superRole = await tokenRole(superadmin);
    assert.ok(isStaff({ role: superRole }), superRole);
    assert.deepEqual(new Set(STAFF_ROLES), new Set([...staffRoles, superRole]));
  });

  await t.step("the console shows board management to exactly the clinic's admins", async () => {
    for (const role of memberRoles) {
      const user = users.get(role)!;
      const [{ given }] =
        await sql`select private.identity(${user}, ${CLINIC_A}) ->> 'role' as given`;
      const o = await attempt(sql, claimsFor(user), `select api.list_board_tokens('GFC-TP')`);
      assert.ok(o.ok || isError(o, "PT403"), describe(o));
      assert.equal(isAdmin({ role: given }), o.ok, `${role} → ${given}`);
    }
  });
});
