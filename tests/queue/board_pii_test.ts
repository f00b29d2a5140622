/**
 * The board projection never contains PII: asserted from the catalog (its columns, and that
 * anon may read nothing else of the queue) and from real rows after a busy morning.
 */
import assert from "node:assert/strict";
import { addAppointment, DOCTORS, PATIENTS, queueApp, USERS } from "./_support.ts";

const BOARD_COLUMNS = [
  "called_at",
  "clinic_id",
  "code",
  "position",
  "room",
  "service_date",
  "status",
  "ticket_id",
  "updated_at",
  "version",
];

const PII_NAME =
  /name|patient|phone|email|nric|reason|birth|gender|address|note|doctor|appoint|user|allerg|diagnos/i;

Deno.test("the board's columns carry no personal data (catalog)", async () => {
  await using q = await queueApp();
  const columns = await q.sql`
    select column_name from information_schema.columns
    where table_schema = 'public' and table_name = 'queue_board' order by column_name`;
  assert.deepEqual(columns.map((c) => c.column_name), BOARD_COLUMNS);
  for (const c of columns) assert.doesNotMatch(c.column_name, PII_NAME);

  // Its foreign keys point at tickets and clinics only (no patient/appointment ids to join).
  const fks = await q.sql`
    select confrelid::regclass::text as target from pg_constraint
    where conrelid = 'public.queue_board'::regclass and contype = 'f' order by 1`;
  assert.deepEqual(fks.map((f) => f.target), ["clinics", "queue_tickets"]);

  // What anon (a TV) may read of the queue at all: the board and its versions.
  const anon = await q.sql`
    select table_name from information_schema.role_table_grants
    where grantee = 'anon' and privilege_type = 'SELECT' and table_schema = 'public'
      and table_name like 'queue%' order by 1`;
  assert.deepEqual(anon.map((r) => r.table_name), ["queue_board", "queue_board_versions"]);
  const versions = await q.sql`
    select column_name from information_schema.columns
    where table_schema = 'public' and table_name = 'queue_board_versions' order by 1`;
  for (const c of versions) assert.doesNotMatch(c.column_name, PII_NAME);
});

Deno.test("real board rows and the snapshot contain no patient data", async () => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const patient = await q.tokenFor(USERS.patientLim);
  await q.sql`
    update public.patients set nric_hash = 'S1234567D-hash', address = '9 Secret Lane'
    where id = ${PATIENTS.lim}`;
  const appt = await addAppointment(q.sql, { startMin: 10 });
  await q.sql`update public.appointments set visit_reason = 'Chest pain since Tuesday'
    where id = ${appt}`;
  await q.call("POST", `/appointments/${appt}/check-in`, { token: patient });
  await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
    token: staff,
    body: { patient_id: PATIENTS.lim, doctor_id: DOCTORS.lee, priority: 3 },
  });
  await q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token: staff });
  const called = await q.call("POST", "/clinics/GFC-TP/queue/call-next", {
    token: staff,
    body: { room: "Room 3" },
  });
  await q.call("POST", `/queue/tickets/${called.body.ticket.id}/start`, { token: staff });

  const [p] = await q.sql`
    select p.full_name, p.phone, p.email::text as email, p.patient_number,
           p.date_of_birth::text as dob, p.user_id
    from public.patients p where p.id = ${PATIENTS.lim}`;
  const [d] = await q.sql`select display_name from public.doctors where id = ${DOCTORS.lee}`;
  const secrets = [
    p.full_name,
    "Lim",
    p.phone,
    p.email,
    p.patient_number,
    p.dob,
    PATIENTS.lim,
    p.user_id,
    appt,
    "Chest pain",
    "Secret Lane",
    "S1234567D",
    d.display_name,
    DOCTORS.lee,
    DOCTORS.tan,
  ];

  const rows = await q.sql`select * from public.queue_board`;
  assert.equal(rows.length, 3);
  const snapshot = await q.call("GET", "/clinics/GFC-TP/queue", { token: await q.boardToken() });
  assert.equal(snapshot.status, 200);
  for (
    const [what, text] of [["rows", JSON.stringify(rows)], [
      "snapshot",
      JSON.stringify(snapshot.body),
    ]]
  ) {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `${what} leak ${secret}`);
    }
  }
  for (const row of rows) {
    assert.deepEqual(Object.keys(row).sort(), BOARD_COLUMNS);
    assert.match(row.code, /^[AW]\d{3,4}$/, "codes reveal no name");
  }
});
