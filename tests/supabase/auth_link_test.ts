/**
 * Supabase Auth users become ours by id (migration 20261206000200_supabase_auth.sql): GoTrue's
 * insert into auth.users (as supabase_auth_admin) provisions public.users and, when the sign-up
 * names a clinic, a patient; phone-only and anonymous sign-ups work; an existing e-mail is
 * linked once confirmed; and no failure ever aborts the sign-up.
 */
import assert from "node:assert/strict";
import { signUp, supabaseCluster } from "../support/supabase.ts";
import type { Sql } from "../support/db.ts";
import { PATIENTS, USERS } from "../support/demo.ts";

async function failures(sql: Sql, id: string): Promise<string[]> {
  const rows = await sql<{ step: string }[]>`
    select step from private.auth_link_failures where auth_user_id = ${id} order by id`;
  return rows.map((r) => r.step);
}

Deno.test("Supabase Auth sign-ups become our users by id", async (t) => {
  await using supabase = await supabaseCluster();
  const db = await supabase.database({ seed: true });
  const sql = db.sql("supabase_admin");

  await t.step("an e-mail sign-up naming a clinic: user and patient, same id", async () => {
    const id = await signUp(db, {
      email: "Nadia.Tan@Example.com",
      meta: {
        clinic_code: "gfc-tp",
        full_name: "Nadia Tan",
        date_of_birth: "1992-03-04",
        gender: "female",
      },
    });
    const [user] = await sql`select email::text, full_name from public.users where id = ${id}`;
    assert.deepEqual({ ...user }, { email: "nadia.tan@example.com", full_name: "Nadia Tan" });
    const patients = await sql`
      select p.full_name, c.code, m.role from public.patients p
      join public.clinics c on c.id = p.clinic_id
      join public.clinic_members m on m.user_id = p.user_id and m.clinic_id = p.clinic_id
      where p.user_id = ${id}`;
    assert.deepEqual(patients.map((p) => ({ ...p })), [
      { full_name: "Nadia Tan", code: "GFC-TP", role: "patient" },
    ]);
    assert.deepEqual(await failures(sql, id), []);
  });

  await t.step("phone-only and anonymous sign-ups: users without an e-mail", async () => {
    const phone = await signUp(db, { phone: "6591234567" });
    const anonymous = await signUp(db, { anonymous: true });
    const rows = await sql`
      select id, email, full_name, phone from public.users where id in (${phone}, ${anonymous})`;
    const byId = new Map(rows.map((r) => [r.id, { ...r }]));
    assert.deepEqual(byId.get(phone), {
      id: phone,
      email: null,
      full_name: "6591234567",
      phone: "6591234567",
    });
    assert.deepEqual(byId.get(anonymous), {
      id: anonymous,
      email: null,
      full_name: "Guest",
      phone: null,
    });
  });

  await t.step("an existing e-mail: linked once Supabase has confirmed it", async () => {
    const id = await signUp(db, { email: "patient.lim@demo.com" });
    const [before] = await sql`select count(*)::int as n from public.users where id = ${id}`;
    assert.equal(before.n, 0, "unconfirmed: nothing linked (the e-mail is not proven)");
    await db.sql("supabase_auth_admin")`
      update auth.users set email_confirmed_at = now() where id = ${id}`;
    const [user] = await sql`select id, email::text from public.users
      where email = 'patient.lim@demo.com'`;
    assert.equal(user.id, id, "the account took the Supabase user's id");
    const [patient] = await sql`select user_id from public.patients where id = ${PATIENTS.lim}`;
    assert.equal(patient.user_id, id, "its patient record follows");
    const [old] = await sql`select count(*)::int as n from public.users
      where id = ${USERS.patientLim}`;
    assert.equal(old.n, 0);
    const [credentials] = await sql`select count(*)::int as n from private.credentials
      where user_id = ${id}`;
    assert.equal(credentials.n, 1, "its own sign-in still works");
    assert.deepEqual(await failures(sql, id), []);
  });

  await t.step("a confirmed duplicate at sign-up is linked at once", async () => {
    const id = await signUp(db, { email: "Doctor.Tan@demo.com", confirmed: true });
    const [user] = await sql`select id from public.users where email = 'doctor.tan@demo.com'`;
    assert.equal(user.id, id);
  });

  await t.step("a failing link never aborts the sign-up: kept in auth_link_failures", async () => {
    const noBirthDate = await signUp(db, {
      email: "no.birth@example.com",
      meta: { clinic_code: "GFC-TP", full_name: "No Birth", gender: "male" },
    });
    const [user] = await sql`select count(*)::int as n from public.users where id = ${noBirthDate}`;
    assert.equal(user.n, 1, "the user is linked, without a patient record");
    assert.deepEqual(await failures(sql, noBirthDate), ["patient"]);

    await sql`alter table public.users add constraint test_refuse check (full_name <> 'Refused')`;
    try {
      const refused = await signUp(db, { email: "refused@example.com", meta: { name: "Refused" } });
      const [gotrue] = await sql`select count(*)::int as n from auth.users where id = ${refused}`;
      assert.equal(gotrue.n, 1, "Supabase's sign-up went through");
      assert.deepEqual(await failures(sql, refused), ["link"]);
    } finally {
      await sql`alter table public.users drop constraint test_refuse`;
    }
  });
});
