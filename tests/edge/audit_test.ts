/**
 * The audit viewer (edge/routes/audit.ts): a clinic's admins page through who changed what,
 * filtered by table, actor, patient and date; nobody else reads it, bad filters are 400, and an
 * entry about health data stays hidden from an admin who may not read that record.
 */
import assert from "node:assert/strict";
import { CLINIC_A, PATIENTS, queueApp, USERS } from "../queue/_support.ts";

const base = "/clinics/GFC-TP/audit";

interface Entry {
  id: string;
  at: string;
  table: string;
  record_id: string | null;
  action: string;
  actor: { id: string; name: string | null } | null;
  patient_id: string | null;
  changed_fields: string[] | null;
  new_values: Record<string, unknown> | null;
}

Deno.test("audit viewer: admins read who changed what, filtered and paged", async (t) => {
  await using q = await queueApp();
  const admin = await q.tokenFor(USERS.admin);
  const issued = await q.call("POST", "/clinics/GFC-TP/board-tokens", {
    token: admin,
    body: { label: "Lobby TV" },
  });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const relabel = await q.call("PATCH", `/clinics/GFC-TP/board-tokens/${issued.body.id}`, {
    token: admin,
    body: { label: "Lobby TV 2" },
  });
  assert.equal(relabel.status, 200, JSON.stringify(relabel.body));
  const page = async (query: string) => {
    const res = await q.call("GET", `${base}?${query}`, { token: admin });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { entries: Entry[]; next_cursor: string | null };
  };

  await t.step("401 anonymous, 403 for staff, patients and another clinic's admin", async () => {
    assert.equal((await q.call("GET", base)).status, 401);
    for (const user of [USERS.staffKoh, USERS.nurseOng, USERS.patientLim, USERS.adminBedok]) {
      const token = await q.tokenFor(user);
      const res = await q.call("GET", base, { token });
      assert.equal(res.status, 403, user);
      assert.equal(res.body.error.code, "not_clinic_admin");
    }
    assert.equal((await q.call("GET", "/clinics/NOPE-XX/audit", { token: admin })).status, 404);
  });

  await t.step("who changed what: the relabel, by the admin, newest first", async () => {
    const { entries } = await page("table=board_tokens&limit=10");
    const [update, insert] = entries;
    assert.equal(update.action, "UPDATE");
    assert.deepEqual(update.changed_fields, ["label"]);
    assert.equal(update.new_values?.label, "Lobby TV 2");
    assert.equal(update.actor?.id, USERS.admin);
    assert.ok(update.actor?.name);
    assert.equal(insert.action, "INSERT");
    assert.equal(insert.record_id, issued.body.id);
    assert.ok(entries.every((e) => e.table === "board_tokens"));
  });

  await t.step("filters: actor, patient, dates", async () => {
    const mine = await page(`actor=${USERS.admin}&limit=200`);
    assert.ok(mine.entries.length >= 2);
    assert.ok(mine.entries.every((e) => e.actor?.id === USERS.admin));
    const about = await page(`patient=${PATIENTS.lim}&limit=200`);
    assert.ok(about.entries.length > 0, "the demo data's rows about the patient");
    assert.ok(about.entries.every((e) => e.patient_id === PATIENTS.lim));
    const today = (await page("table=board_tokens&limit=1")).entries[0].at.slice(0, 10);
    const next = new Date(Date.parse(today) + 2 * 86_400_000).toISOString().slice(0, 10);
    assert.equal((await page(`table=board_tokens&from=${next}`)).entries.length, 0);
    assert.equal((await page(`table=board_tokens&to=2020-01-01`)).entries.length, 0);
  });

  await t.step("keyset pages: no overlap, in order, the last one has no cursor", async () => {
    const all = (await page("limit=200")).entries;
    const seen: Entry[] = [];
    let cursor: string | null = null;
    do {
      const next: { entries: Entry[]; next_cursor: string | null } = await page(
        `limit=3${cursor ? `&before=${encodeURIComponent(cursor)}` : ""}`,
      );
      seen.push(...next.entries);
      cursor = next.next_cursor;
    } while (cursor && seen.length < 400);
    assert.deepEqual(seen.map((e) => e.id), all.map((e) => e.id));
    assert.ok(seen.every((e, i) => i === 0 || seen[i - 1].at >= e.at));
  });

  await t.step("bad filters are 400, never 500", async () => {
    for (
      const query of [
        "from=2026-02-10&to=2026-02-01",
        "before=yesterday",
        "before=1.2.3",
        "table=Robert');drop",
        "actor=me",
        "patient=1",
        "from=2026-02-30",
        "limit=0",
        "limit=1000",
      ]
    ) {
      const res = await q.call("GET", `${base}?${query}`, { token: admin });
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      assert.ok(res.body.error.code, query);
    }
  });

  await t.step(
    "health data: an admin who may not read the record sees no entry of it",
    async () => {
      const [record] = await q.sql`
      insert into public.medical_records (clinic_id, patient_id, primary_diagnosis)
      values (${CLINIC_A}, ${PATIENTS.lim}, 'Influenza') returning id`;
      const [{ n }] = await q.sql`
      select count(*)::int as n from audit.logs where record_id = ${record.id}::text`;
      assert.equal(n, 1, "the change is on record");
      const { entries } = await page("table=medical_records&limit=200");
      assert.ok(!entries.some((e) => e.record_id === record.id));
    },
  );
});
