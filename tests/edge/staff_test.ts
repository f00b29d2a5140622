/**
 * Staff administration through the app against the real database (edge/routes/staff.ts): an
 * admin invites by e-mail, the link (sent by the worker through the recording transport) is
 * accepted once — creating the account or linking an existing one — roles change, memberships
 * end, all audited; non-admins get 403, bad input 400, replayed, withdrawn and expired links
 * 4xx, never a 5xx; the clinic keeps its last admin.
 */
import assert from "node:assert/strict";
import { StaffRole } from "../../edge/routes/staff.ts";
import { CLINIC_A, inviteLink, type TestApp, testApp, USERS } from "./_support.ts";

const PASSWORD = "correct horse battery";
const base = "/clinics/GFC-TP";
let nextIp = 1;
const ip = () => `198.51.100.${nextIp++}`;

function accept(app: TestApp, body: Record<string, unknown>) {
  return app.call("POST", "/api/auth/invitations/accept", { body, ip: ip() });
}

async function invite(app: TestApp, token: string, email: string, role: string) {
  return await app.call("POST", `/api${base}/invitations`, { token, body: { email, role } });
}

Deno.test("staff invitations: invite, accept once, a new account signs in with its role", async (t) => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);
  const email = "new.nurse@example.com";

  await t.step("an admin invites; the invitation is listed as pending", async () => {
    const res = await invite(app, admin, email, "nurse");
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.role, "nurse");
    const list = await app.call("GET", `/api${base}/staff`, { token: admin });
    assert.equal(list.status, 200);
    assert.ok(list.body.invitations.some((i: { email: string }) => i.email === email));
    assert.ok(list.body.members.some((m: { user_id: string }) => m.user_id === USERS.nurseOng));
  });

  const token = await inviteLink(app, email);

  await t.step("a new account needs a name and password; bad input is 400", async () => {
    const missing = await accept(app, { token });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "account_details_required");
    assert.equal((await accept(app, { token: "x".repeat(43) })).body.error.code, "invalid_token");
    assert.equal((await accept(app, { token, password: "short" })).status, 400);
    assert.equal((await accept(app, { token: 42 })).status, 400);
  });

  await t.step("accepted: the account exists, verified, nurse of the clinic", async () => {
    const res = await accept(app, { token, full_name: "Nurse Aisyah", password: PASSWORD });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      clinic_code: "GFC-TP",
      role: "nurse",
      email,
      account_created: true,
    });
    const login = await app.call("POST", "/api/auth/login", {
      body: { email, password: PASSWORD },
      ip: ip(),
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body.user.role, "nurse");
    assert.equal(login.body.user.clinic_code, "GFC-TP");
    const [u] = await app.sql`select email_verified_at from public.users where email = ${email}`;
    assert.ok(u.email_verified_at);
  });

  await t.step("the link used twice is 410 token_used", async () => {
    const again = await accept(app, { token, full_name: "Someone", password: PASSWORD });
    assert.equal(again.status, 410);
    assert.equal(again.body.error.code, "token_used");
  });

  await t.step("audited with the admin as actor", async () => {
    const rows = await app.sql`select action from audit.logs
      where table_name = 'clinic_invitations' and actor_id = ${USERS.admin}`;
    assert.ok(rows.length > 0);
  });

  await t.step("inviting a current member of staff is 409", async () => {
    const res = await invite(app, admin, email, "staff");
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, "already_staff");
  });
});

Deno.test("staff invitations: linking an account, withdrawn, replaced and expired links", async (t) => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);
  const [patient] = await app.sql`select email from public.users where id = ${USERS.patientLim}`;

  await t.step(
    "an existing account is linked, without a password; its patient row stays",
    async () => {
      assert.equal((await invite(app, admin, patient.email, "staff")).status, 201);
      const res = await accept(app, { token: await inviteLink(app, patient.email) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.account_created, false);
      const roles = await app.sql`select role::text from public.clinic_members
      where user_id = ${USERS.patientLim} and clinic_id = ${CLINIC_A} and revoked_at is null
      order by role`;
      assert.deepEqual(roles.map((r) => r.role), ["patient", "staff"]);
    },
  );

  await t.step("a new invitation replaces the link; a withdrawn one stops working", async () => {
    const email = "twice@example.com";
    await invite(app, admin, email, "staff");
    const first = await inviteLink(app, email);
    const res = await invite(app, admin, email, "doctor");
    const second = await inviteLink(app, email);
    assert.equal((await accept(app, { token: first })).body.error.code, "invalid_token");
    const withdrawn = await app.call("DELETE", `/api${base}/invitations/${res.body.id}`, {
      token: admin,
    });
    assert.equal(withdrawn.status, 204);
    assert.equal((await accept(app, { token: second })).status, 400);
    const gone = await app.call("DELETE", `/api${base}/invitations/${res.body.id}`, {
      token: admin,
    });
    assert.equal(gone.status, 404);
  });

  await t.step("an expired link is 410 token_expired", async () => {
    const email = "late@example.com";
    await invite(app, admin, email, "staff");
    const token = await inviteLink(app, email);
    await app.sql`update public.clinic_invitations set expires_at = now() - interval '1 second'
      where email = ${email}`;
    const res = await accept(app, { token, full_name: "Late", password: PASSWORD });
    assert.equal(res.status, 410);
    assert.equal(res.body.error.code, "token_expired");
  });
});

Deno.test("staff roles and memberships: admins only, the last admin stays", async (t) => {
  await using app = await testApp();
  const admin = await app.tokenFor(USERS.admin);
  const member = (id: string) => `/api${base}/staff/${id}`;

  await t.step("401 anonymous; 403 staff, nurse, patient, another clinic's admin", async () => {
    assert.equal((await app.call("GET", `/api${base}/staff`)).status, 401);
    for (const user of [USERS.staffKoh, USERS.nurseOng, USERS.patientLim, USERS.adminBedok]) {
      const token = await app.tokenFor(user);
      assert.equal((await app.call("GET", `/api${base}/staff`, { token })).status, 403, user);
      assert.equal((await invite(app, token, "x@example.com", "admin")).status, 403, user);
      const patch = await app.call("PATCH", member(USERS.staffKoh), {
        token,
        body: { role: "admin" },
      });
      assert.equal(patch.status, 403, user);
      assert.equal((await app.call("DELETE", member(USERS.staffKoh), { token })).status, 403);
    }
    const [n] = await app.sql`select count(*)::int as n from public.clinic_invitations`;
    assert.equal(n.n, 0);
  });

  await t.step("bad roles, ids and addresses are 400; unknown members 404", async () => {
    assert.equal((await invite(app, admin, "x@example.com", "patient")).status, 400);
    assert.equal((await invite(app, admin, "not an address", "staff")).status, 400);
    const bad = await app.call("PATCH", member("nope"), { token: admin, body: { role: "admin" } });
    assert.equal(bad.status, 400);
    const unknown = await app.call("PATCH", member(crypto.randomUUID()), {
      token: admin,
      body: { role: "nurse" },
    });
    assert.equal(unknown.status, 404);
    assert.equal(
      (await app.call("DELETE", member(USERS.patientLim), { token: admin })).status,
      404,
    );
  });

  await t.step("a role changes: one staff role per member, audited", async () => {
    const res = await app.call("PATCH", member(USERS.staffKoh), {
      token: admin,
      body: { role: "nurse" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.role, "nurse");
    const roles = await app.sql`select role::text from public.clinic_members
      where user_id = ${USERS.staffKoh} and clinic_id = ${CLINIC_A} and revoked_at is null`;
    assert.deepEqual(roles.map((r) => r.role), ["nurse"]);
    const [logged] = await app.sql`select count(*)::int as n from audit.logs
      where table_name = 'clinic_members' and actor_id = ${USERS.admin}`;
    assert.ok(logged.n >= 2);
  });

  await t.step("the last admin can be neither demoted nor removed (409)", async () => {
    const demote = await app.call("PATCH", member(USERS.admin), {
      token: admin,
      body: { role: "staff" },
    });
    assert.equal(demote.status, 409);
    assert.equal(demote.body.error.code, "last_admin");
    const remove = await app.call("DELETE", member(USERS.admin), { token: admin });
    assert.equal(remove.body.error.code, "last_admin");
    const [still] = await app.sql`select count(*)::int as n from public.clinic_members
      where user_id = ${USERS.admin} and role = 'admin' and revoked_at is null`;
    assert.equal(still.n, 1);
  });

  await t.step("a revoked member's staff access ends", async () => {
    assert.equal((await app.call("DELETE", member(USERS.staffKoh), { token: admin })).status, 204);
    const koh = await app.tokenFor(USERS.staffKoh);
    const res = await app.call("GET", `/api${base}/board-tokens`, { token: koh });
    assert.equal(res.status, 403);
    const list = await app.call("GET", `/api${base}/staff`, { token: admin });
    assert.ok(!list.body.members.some((m: { user_id: string }) => m.user_id === USERS.staffKoh));
  });
});

Deno.test("the roles an admin may give are private.staff_roles()", async () => {
  await using app = await testApp();
  const [row] = await app.sql`select private.staff_roles()::text[] as roles`;
  assert.deepEqual([...StaffRole.options].sort(), [...row.roles].sort());
});
