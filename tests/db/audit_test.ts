/**
 * The audit trail: who changed what (actor from the request's claims, clinic, changed fields,
 * old/new values), secrets never copied, monthly partitions created ahead idempotently and
 * RLS-forced, and each clinic's admins reading only their own clinic's entries.
 */
import assert from "node:assert/strict";
import { asUser, claimsFor, freshDatabase, type Sql } from "../support/db.ts";
import {
  addFixtures,
  attempt,
  CLINIC_A,
  CLINIC_B,
  describe,
  userClaims,
  USERS,
} from "./_helpers.ts";

interface LogRow {
  id: number;
  table_schema: string;
  table_name: string;
  record_id: string;
  action: string;
  actor_id: string | null;
  actor_role: string | null;
  clinic_id: string | null;
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
  changed_fields: string[] | null;
  request_id: string | null;
  partition: string;
}

async function logsFor(sql: Sql, table: string, recordId: string): Promise<LogRow[]> {
  return [
    ...await sql<LogRow[]>`
      select id::int, table_schema, table_name, record_id, action, actor_id::text, actor_role,
        clinic_id::text, old_values, new_values, changed_fields, request_id,
        tableoid::regclass::text as partition
      from audit.logs where table_name = ${table} and record_id = ${recordId}
      order by id`,
  ];
}

Deno.test("an update under a user's claims is audited with actor, clinic and changed fields", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const fixtures = await addFixtures(db.sql);
    const lim = fixtures.patients.find((p) => p.key === "lim")!;
    const admin = userClaims(USERS.admin);
    const cases = [
      {
        name: "one column",
        set: "visit_reason = 'Fever'",
        changed: ["visit_reason"],
        old: { visit_reason: "Cough" },
        new: { visit_reason: "Fever" },
      },
      {
        name: "two columns",
        set: "internal_notes = 'Call back', status = 'confirmed'",
        changed: ["internal_notes", "status"],
        old: { internal_notes: "internal note", status: "scheduled" },
        new: { internal_notes: "Call back", status: "confirmed" },
      },
      {
        name: "to null",
        set: "internal_notes = null",
        changed: ["internal_notes"],
        old: { internal_notes: "Call back" },
        new: { internal_notes: null },
      },
    ];
    for (const [i, c] of cases.entries()) {
      await t.step(`appointment update, ${c.name}`, async () => {
        const requestId = `req-${i}`;
        const before = await logsFor(db.sql, "appointments", lim.appointmentId);
        const updated = await asUser(
          db.sql,
          admin,
          (tx) =>
            tx.unsafe(`update public.appointments set ${c.set} where id = $1`, [
              lim.appointmentId,
            ]),
          requestId,
        );
        assert.equal(updated.count, 1);
        const after = await logsFor(db.sql, "appointments", lim.appointmentId);
        assert.equal(after.length, before.length + 1, "one audit row per updated row");
        const log = after.at(-1)!;
        assert.equal(log.table_schema, "public");
        assert.equal(log.action, "UPDATE");
        assert.equal(log.actor_id, USERS.admin);
        assert.equal(log.actor_role, "authenticated");
        assert.equal(log.clinic_id, CLINIC_A);
        assert.equal(log.request_id, requestId);
        assert.deepEqual(log.changed_fields, c.changed);
        for (const [key, value] of Object.entries(c.old)) {
          assert.deepEqual(log.old_values?.[key], value, `old ${key}`);
        }
        for (const [key, value] of Object.entries(c.new)) {
          assert.deepEqual(log.new_values?.[key], value, `new ${key}`);
        }
        // Whole rows on both sides, identical outside the changed fields (and updated_at).
        const differing = Object.keys(log.new_values!).filter((key) =>
          JSON.stringify(log.new_values![key]) !== JSON.stringify(log.old_values![key])
        ).filter((key) => key !== "updated_at").sort();
        assert.deepEqual(differing, c.changed);
        assert.equal(log.new_values!.id, lim.appointmentId);
      });
    }

    await t.step("an update that changes nothing writes no audit row", async () => {
      const before = await logsFor(db.sql, "appointments", lim.appointmentId);
      await asUser(
        db.sql,
        admin,
        (tx) =>
          tx`update public.appointments set visit_reason = visit_reason
             where id = ${lim.appointmentId}`,
      );
      assert.equal(
        (await logsFor(db.sql, "appointments", lim.appointmentId)).length,
        before.length,
      );
    });

    await t.step("inserts and deletes are audited with the actor too", async () => {
      const [token] = await asUser(
        db.sql,
        userClaims(USERS.staffKoh),
        (tx) =>
          tx`insert into public.board_tokens (clinic_id, label) values (${CLINIC_A}, 'Lobby')
             returning id`,
      );
      await asUser(
        db.sql,
        userClaims(USERS.admin),
        (tx) => tx`delete from public.board_tokens where id = ${token.id}`,
      );
      const logs = await logsFor(db.sql, "board_tokens", token.id);
      assert.deepEqual(logs.map((l) => l.action), ["INSERT", "DELETE"]);
      assert.deepEqual(logs.map((l) => l.actor_id), [USERS.staffKoh, USERS.admin]);
      for (const log of logs) {
        assert.equal(log.actor_role, "authenticated");
        assert.equal(log.clinic_id, CLINIC_A);
        assert.equal(log.changed_fields, null);
      }
      assert.equal(logs[0].old_values, null);
      assert.equal(logs[0].new_values?.label, "Lobby");
      assert.equal(logs[1].new_values, null);
      assert.equal(logs[1].old_values?.label, "Lobby");
    });

    await t.step("service_role and the superuser are recorded as such", async () => {
      await asUser(
        db.sql,
        claimsFor(null, "service_role"),
        (tx) =>
          tx`update public.appointments set visit_reason = 'By worker'
             where id = ${lim.appointmentId}`,
      );
      await db.sql`
        update public.appointments set visit_reason = 'By migration'
        where id = ${lim.appointmentId}`;
      const logs = (await logsFor(db.sql, "appointments", lim.appointmentId)).slice(-2);
      assert.deepEqual(logs.map((l) => [l.actor_id, l.actor_role]), [
        [null, "service_role"],
        [null, null],
      ]);
    });

    await t.step("clinic updates are attributed to that clinic", async () => {
      await asUser(
        db.sql,
        admin,
        (tx) => tx`update public.clinics set phone = '+65 6000 0000' where id = ${CLINIC_A}`,
      );
      const [log] = (await logsFor(db.sql, "clinics", CLINIC_A)).slice(-1);
      assert.equal(log.clinic_id, CLINIC_A);
      assert.deepEqual(log.changed_fields, ["phone"]);
    });
  } finally {
    await db.drop();
  }
});

Deno.test("clients read only their own clinic's audit entries (admins only)", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const fixtures = await addFixtures(db.sql);
    for (const p of fixtures.patients) {
      await db.sql`update public.appointments set visit_reason = 'x' where id = ${p.appointmentId}`;
    }
    const cases = [
      { name: "admin A", claims: userClaims(USERS.admin), clinics: [CLINIC_A] },
      { name: "admin B", claims: userClaims(USERS.adminBedok), clinics: [CLINIC_B] },
      { name: "staff A", claims: userClaims(USERS.staffKoh), clinics: [] },
      { name: "doctor A", claims: userClaims(USERS.doctorTan), clinics: [] },
      { name: "patient A", claims: userClaims(USERS.patientLim), clinics: [] },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const outcome = await attempt(
          db.sql,
          c.claims,
          "select distinct clinic_id::text from audit.logs order by 1",
        );
        assert.ok(outcome.ok, describe(outcome));
        assert.deepEqual(outcome.rows.map((r) => r.clinic_id), c.clinics);
      });
    }
    await t.step("nobody but service_role writes the log", async () => {
      const outcome = await attempt(
        db.sql,
        userClaims(USERS.admin),
        `insert into audit.logs (table_schema, table_name, action, clinic_id)
         values ('public', 'x', 'INSERT', '${CLINIC_A}')`,
      );
      assert.ok(!outcome.ok && outcome.code === "42501", describe(outcome));
      const del = await attempt(db.sql, userClaims(USERS.admin), "delete from audit.logs");
      assert.ok(!del.ok && del.code === "42501", describe(del));
    });
  } finally {
    await db.drop();
  }
});

Deno.test("secrets are never copied into the audit log", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    const admin = userClaims(USERS.admin);
    const secrets = ["whsec_first_SECRET_1", "whsec_second_SECRET_2", "enc:NRIC_SECRET_3"];
    const leaked = async () =>
      (await db.sql`
        select id from audit.logs
        where old_values::text like '%SECRET%' or new_values::text like '%SECRET%'
          or old_values ? 'secret' or new_values ? 'secret'
          or old_values ? 'previous_secret' or new_values ? 'previous_secret'
          or old_values ? 'token_hash' or new_values ? 'token_hash'
          or old_values ? 'nric_encrypted' or new_values ? 'nric_encrypted'`).length;

    let endpointId = "";
    await t.step("webhook endpoint created with a secret", async () => {
      const [row] = await asUser(
        db.sql,
        admin,
        (tx) =>
          tx`insert into public.webhook_endpoints (clinic_id, url, secret)
             values (${CLINIC_A}, 'https://hooks.example.com/x', ${secrets[0]})
             returning id`,
      );
      endpointId = row.id;
      const [log] = await logsFor(db.sql, "webhook_endpoints", endpointId);
      assert.equal(log.action, "INSERT");
      assert.equal(log.new_values?.url, "https://hooks.example.com/x");
      assert.equal(await leaked(), 0);
    });

    await t.step("secret rotation is on record by name only", async () => {
      await asUser(
        db.sql,
        admin,
        (tx) =>
          tx`update public.webhook_endpoints
             set previous_secret = ${secrets[0]}, secret = ${secrets[1]},
               previous_secret_expires_at = now() + interval '1 day'
             where id = ${endpointId}`,
      );
      const logs = await logsFor(db.sql, "webhook_endpoints", endpointId);
      assert.equal(logs.length, 2);
      assert.deepEqual(logs[1].changed_fields, [
        "previous_secret",
        "previous_secret_expires_at",
        "secret",
      ]);
      assert.equal(logs[1].actor_id, USERS.admin);
      assert.equal(await leaked(), 0);
    });

    await t.step("a change of only a secret is still recorded", async () => {
      await db.sql`
        update public.webhook_endpoints set secret = 'whsec_third_SECRET_4'
        where id = ${endpointId}`;
      const logs = await logsFor(db.sql, "webhook_endpoints", endpointId);
      assert.equal(logs.length, 3);
      assert.deepEqual(logs[2].changed_fields, ["secret"]);
      assert.equal(await leaked(), 0);
    });

    await t.step("patient NRIC ciphertext and invitation token hashes", async () => {
      await db.sql`
        update public.patients set nric_encrypted = ${secrets[2]}, nric_hash = 'h1'
        where user_id = ${USERS.patientLim}`;
      await db.sql`
        insert into public.clinic_invitations (clinic_id, email, role, token_hash)
        values (${CLINIC_A}, 'new@demo.com', 'staff', 'tokhash_SECRET_5')`;
      const [log] = await db.sql`
        select changed_fields from audit.logs
        where table_name = 'patients' and action = 'UPDATE' order by id desc limit 1`;
      assert.deepEqual(log.changed_fields, ["nric_encrypted", "nric_hash"]);
      assert.equal(await leaked(), 0);
    });

    await t.step("audit.redact drops every secret-bearing key", async () => {
      const [row] = await db.sql`
        select audit.redact(${
        JSON.stringify({
          secret: 1,
          previous_secret: 2,
          password_hash: 3,
          token_hash: 4,
          nric_encrypted: 5,
          url: 6,
        })
      }::text::jsonb) as v`;
      assert.deepEqual(row.v, { url: 6 });
    });
  } finally {
    await db.drop();
  }
});

// ---------------------------------------------------------------------------------------
// Partitions
// ---------------------------------------------------------------------------------------

interface Partition {
  name: string;
  bound: string;
  rls: boolean;
  forced: boolean;
}

async function partitions(sql: Sql): Promise<Partition[]> {
  // Bounds rendered in UTC, whatever the caller's session time zone.
  return await sql.begin(async (tx) => {
    await tx`select set_config('timezone', 'UTC', true)`;
    return [
      ...await tx<Partition[]>`
        select c.relname::text as name, pg_get_expr(c.relpartbound, c.oid) as bound,
          c.relrowsecurity as rls, c.relforcerowsecurity as forced
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'audit.logs'::regclass
        order by 1`,
    ].map((p) => ({ ...p }));
  });
}

function monthStart(offset: number, now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
}

function expectedPartition(offset: number): { name: string; bound: string } {
  const from = monthStart(offset);
  const to = monthStart(offset + 1);
  const ts = (d: Date) => `${d.toISOString().slice(0, 10)} 00:00:00+00`;
  return {
    name: `logs_${from.toISOString().slice(0, 7).replace("-", "_")}`,
    bound: `FOR VALUES FROM ('${ts(from)}') TO ('${ts(to)}')`,
  };
}

Deno.test("audit partitions: created ahead, idempotent, UTC months, RLS-forced", async (t) => {
  const db = await freshDatabase({ seed: true });
  try {
    await t.step("last, current and next months exist with UTC month bounds", async () => {
      const parts = await partitions(db.sql);
      for (const offset of [-1, 0, 1, 2, 3]) {
        const want = expectedPartition(offset);
        const got = parts.find((p) => p.name === want.name);
        assert.ok(got, `partition ${want.name} missing`);
        assert.equal(got.bound, want.bound);
      }
      assert.ok(parts.some((p) => p.name === "logs_default" && p.bound === "DEFAULT"));
    });

    await t.step("every partition is RLS-enabled and forced", async () => {
      for (const p of await partitions(db.sql)) {
        assert.ok(p.rls && p.forced, `${p.name}: rls=${p.rls} forced=${p.forced}`);
      }
    });

    await t.step("new entries land in the current month's partition", async () => {
      await db.sql`update public.clinics set phone = '+65 6111 1111' where id = ${CLINIC_A}`;
      const [log] = (await logsFor(db.sql, "clinics", CLINIC_A)).slice(-1);
      assert.equal(log.partition, `audit.${expectedPartition(0).name}`);
    });

    for (const tz of ["UTC", "Asia/Singapore", "America/Los_Angeles", "Pacific/Chatham"]) {
      await t.step(`ensure_partitions() is idempotent (session TimeZone ${tz})`, async () => {
        const before = await partitions(db.sql);
        const created = await db.sql.begin(async (tx) => {
          await tx`select set_config('timezone', ${tz}, true)`;
          const [a] = await tx`select audit.ensure_partitions() as n`;
          const [b] = await tx`select audit.ensure_partitions(3) as n`;
          return [a.n, b.n];
        });
        assert.deepEqual(created, [0, 0]);
        assert.deepEqual(await partitions(db.sql), before);
      });

      await t.step(`a missing partition is re-created on UTC bounds (TimeZone ${tz})`, async () => {
        const missing = expectedPartition(3);
        await db.sql.unsafe(`drop table audit.${missing.name}`);
        const [created] = await db.sql.begin(async (tx) => {
          await tx`select set_config('timezone', ${tz}, true)`;
          return await tx`select audit.ensure_partitions(3) as n`;
        });
        assert.equal(created.n, 1);
        const got = (await partitions(db.sql)).find((p) => p.name === missing.name);
        assert.ok(got, "re-created");
        assert.equal(got.bound, missing.bound);
        assert.ok(got.rls && got.forced, "RLS enabled and forced on the new partition");
      });
    }

    await t.step("months_ahead creates further partitions", async () => {
      const [created] = await db.sql`select audit.ensure_partitions(5) as n`;
      assert.equal(created.n, 2);
      const names = (await partitions(db.sql)).map((p) => p.name);
      assert.ok(names.includes(expectedPartition(5).name));
    });
  } finally {
    await db.drop();
  }
});

Deno.test("audit rows that landed in the default partition move into a month created later", async () => {
  await using db = await freshDatabase();
  const sql = db.sql;
  const month =
    await sql`select to_char(date_trunc('month', now()) + interval '1 month', 'YYYY_MM') as m`;
  const name = `logs_${month[0].m}`;
  await sql.unsafe(`drop table audit.${name}`);
  await sql`insert into audit.logs (table_schema, table_name, action, created_at)
    values ('public', 'demo', 'INSERT', date_trunc('month', now()) + interval '1 month' + interval '2 days')`;
  const [before] = await sql`select count(*)::int as n from audit.logs_default`;
  assert.equal(before.n, 1);
  await sql`select audit.ensure_partitions(3)`;
  const [after] = await sql`select count(*)::int as n from audit.logs_default`;
  assert.equal(after.n, 0);
  const [moved] = await sql.unsafe(`select count(*)::int as n from audit.${name}`);
  assert.equal(moved.n, 1);
  const [forced] =
    await sql`select relforcerowsecurity as f from pg_class where oid = ${`audit.${name}`}::regclass`;
  assert.equal(forced.f, true);
});
