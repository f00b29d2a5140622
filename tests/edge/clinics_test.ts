/** `GET /api/clinics`: the public clinic list (what anon may see), for "pick a clinic". */
import assert from "node:assert/strict";
import { testApp, USERS } from "./_support.ts";

Deno.test("GET /api/clinics lists the active clinics, public fields only", async (t) => {
  await using app = await testApp();

  await t.step("anon: code, name, branch and time zone, by name", async () => {
    const res = await app.call("GET", "/api/clinics");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [a, b] = await app.sql`
      select code, name, branch_name, timezone from public.clinics
      where code in ('GFC-TP', 'GFC-BD') order by name, code`;
    assert.deepEqual(res.body, { clinics: [{ ...a }, { ...b }] });
    assert.match(res.headers.get("cache-control") ?? "", /public/);
  });

  await t.step("inactive and deleted clinics are left out; signed in sees the same", async () => {
    await app.sql`
      insert into public.clinics (code, name, is_active, deleted_at)
      values ('OLD-1', 'Closed Clinic', false, null), ('OLD-2', 'Gone Clinic', true, now()),
             ('NEW-1', 'Aardvark Clinic', true, null)`;
    const res = await app.call("GET", "/api/clinics", {
      token: await app.tokenFor(USERS.patientLim),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.clinics.map((c: { code: string }) => c.code).slice(0, 1), [
      "NEW-1",
    ]);
    assert.equal(res.body.clinics.length, 3);
    assert.deepEqual(Object.keys(res.body.clinics[0]).sort(), [
      "branch_name",
      "code",
      "name",
      "timezone",
    ]);
  });
});
