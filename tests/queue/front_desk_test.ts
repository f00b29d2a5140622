/**
 * The front desk: staff find a clinic's patients (`GET /clinics/:code/patients?q=`) and register
 * a new walk-in patient together with their ticket (`POST /clinics/:code/queue/walk-ins` with
 * `patient`), in one transaction.
 */
import assert from "node:assert/strict";
import { CLINIC_A, DOCTORS, PATIENTS, queueApp, USERS } from "./_support.ts";

const NOBODY = "00000000-0000-4000-8000-000000000000";

function assertError(res: { status: number; body: unknown }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal((res.body as { error?: { code?: string } }).error?.code, code);
}

Deno.test("GET /clinics/:code/patients: staff search by name, number or phone", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const search = (query: string, token = staff, code = "GFC-TP") =>
    q.call("GET", `/clinics/${code}/patients?${new URLSearchParams({ q: query })}`, { token });
  await q.sql`
    insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender,
      phone, deleted_at)
    values (${CLINIC_A}, 'TP-P-000050', 'Limpeh Tan', '1970-01-01', 'male', '+65 8123 4567',
            null),
           (${CLINIC_A}, 'TP-P-000051', 'Lim Gone', '1970-01-01', 'male', null, now()),
           (${CLINIC_A}, 'TP-P-000052', '100% Lim_x', '1970-01-01', 'other', null, null)`;

  await t.step("by part of the name, case-insensitive; best match first", async () => {
    const res = await search("lim mei");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.patients, [{
      id: PATIENTS.lim,
      patient_number: "TP-P-000001",
      full_name: "Lim Mei Ling",
      date_of_birth: "1985-03-14",
      gender: "female",
      phone_masked: "•••• 0003",
      email_masked: "p•••@demo.com",
      guardians: [],
    }]);
    const lim = await search("LIM");
    assert.deepEqual(
      lim.body.patients.map((p: { full_name: string }) => p.full_name).sort(),
      ["100% Lim_x", "Lim Mei Ling", "Limpeh Tan"],
      "deleted patients are left out",
    );
  });

  await t.step("by patient number (exact first) and by phone with or without spaces", async () => {
    const byNumber = await search("tp-p-000050");
    assert.equal(byNumber.body.patients[0].full_name, "Limpeh Tan");
    assert.equal(byNumber.body.patients.length, 1);
    for (const phone of ["8123 4567", "81234567", "+6581234567", "4567"]) {
      const res = await search(phone);
      assert.deepEqual(
        res.body.patients.map((p: { full_name: string }) => p.full_name),
        ["Limpeh Tan"],
        phone,
      );
    }
  });

  await t.step("LIKE wildcards in q are literal", async () => {
    const percent = await search("0% l");
    assert.deepEqual(percent.body.patients.map((p: { full_name: string }) => p.full_name), [
      "100% Lim_x",
    ]);
    const underscore = await search("m_x");
    assert.equal(underscore.body.patients.length, 1);
    assert.equal((await search("%%")).body.patients.length, 0, "not everyone");
  });

  await t.step("bounded: limit (default 20, at most 50)", async () => {
    await q.sql`
      insert into public.patients (clinic_id, patient_number, full_name, date_of_birth, gender)
      select ${CLINIC_A}, 'BULK-' || g, 'Bulk Person ' || g, '1990-01-01', 'other'
      from generate_series(1, 60) g`;
    assert.equal((await search("bulk")).body.patients.length, 20);
    const five = await q.call("GET", "/clinics/GFC-TP/patients?q=bulk&limit=5", { token: staff });
    assert.equal(five.body.patients.length, 5);
    assertError(
      await q.call("GET", "/clinics/GFC-TP/patients?q=bulk&limit=51", { token: staff }),
      400,
      "invalid_request",
    );
  });

  await t.step("the search expression matches the trigram index", async () => {
    const plan = await q.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      return await tx`
        explain select id from public.patients p
        where p.deleted_at is null
          and private.patient_search_text(p.full_name, p.patient_number, p.phone) like '%bulk%'`;
    });
    assert.match(plan.map((r) => r["QUERY PLAN"]).join("\n"), /patients_search_trgm/);
  });

  await t.step("staff of that clinic only; RLS keeps other clinics' patients out", async () => {
    assertError(await search("lim", await q.tokenFor(USERS.patientLim)), 403, "forbidden");
    assertError(await search("lim", await q.tokenFor(USERS.adminBedok)), 403, "forbidden");
    const bedok = await search("chan", await q.tokenFor(USERS.adminBedok), "GFC-BD");
    assert.deepEqual(bedok.body.patients.map((p: { id: string }) => p.id), [PATIENTS.chan]);
    assert.deepEqual((await search("chan")).body.patients, [], "clinic A's staff: not Chan");
    assertError(await q.call("GET", "/clinics/GFC-TP/patients?q=lim"), 401, "auth_required");
    assertError(await search("lim", staff, "NOPE"), 404, "clinic_not_found");
  });

  await t.step("q: at least two characters", async () => {
    assertError(await search("l"), 400, "invalid_request");
    assertError(await search("  l  "), 400, "invalid_request");
    assertError(
      await q.call("GET", "/clinics/GFC-TP/patients", { token: staff }),
      400,
      "invalid_request",
    );
  });
});

Deno.test("POST walk-ins with a new patient: patient record and ticket in one transaction", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const walkIn = (body: unknown, token = staff) =>
    q.call("POST", "/clinics/GFC-TP/queue/walk-ins", { token, body });
  const patientCount = async () =>
    Number(
      (await q.sql`select count(*) from public.patients where clinic_id = ${CLINIC_A}`)[0]
        .count,
    );
  const newPatient = {
    full_name: "  Walk In Wong ",
    date_of_birth: "1962-05-17",
    gender: "male",
    phone: "+65 8765 4321",
  };

  await t.step("201: the clinic's next patient number, and the ticket for them", async () => {
    const res = await walkIn({ patient: newPatient, doctor_id: DOCTORS.tan, priority: 1 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const ticket = res.body.ticket;
    assert.match(ticket.code, /^W\d{3}$/);
    assert.equal(ticket.kind, "walk_in");
    assert.equal(ticket.doctor_id, DOCTORS.tan);
    assert.equal(ticket.priority, 1);
    const [patient] = await q.sql`
      select clinic_id, user_id, patient_number, full_name, date_of_birth::text as dob, gender,
        phone from public.patients where id = ${ticket.patient_id}`;
    assert.deepEqual({ ...patient }, {
      clinic_id: CLINIC_A,
      user_id: null,
      patient_number: "TP-P-000002",
      full_name: "Walk In Wong",
      dob: "1962-05-17",
      gender: "male",
      phone: "+6587654321",
    });
    const found = await q.call("GET", "/clinics/GFC-TP/patients?q=wong", { token: staff });
    assert.deepEqual(found.body.patients.map((p: { id: string }) => p.id), [ticket.patient_id]);
    const list = await q.call("GET", "/clinics/GFC-TP/queue/tickets", { token: staff });
    const row = list.body.tickets.find((t: { id: string }) => t.id === ticket.id);
    assert.equal(row.patient_name, "Walk In Wong");
    assert.equal(row.patient_number, "TP-P-000002");
  });

  await t.step("the next one gets the next number; phone optional", async () => {
    const res = await walkIn({
      patient: { full_name: "Second Walk-in", date_of_birth: "2001-01-01", gender: "female" },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const [patient] = await q.sql`
      select patient_number, phone from public.patients where id = ${res.body.ticket.patient_id}`;
    assert.deepEqual({ ...patient }, { patient_number: "TP-P-000003", phone: null });
  });

  await t.step("400: invalid patient fields, or both patient_id and patient", async () => {
    const before = await patientCount();
    for (
      const patient of [
        { ...newPatient, full_name: "" },
        { ...newPatient, date_of_birth: "1962-02-30" },
        { ...newPatient, gender: "x" },
        { ...newPatient, phone: "call me" },
        { full_name: "No Birthday", gender: "male" },
      ]
    ) {
      const res = await walkIn({ patient });
      assertError(res, 400, "invalid_request");
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path.startsWith("patient")),
        JSON.stringify(res.body),
      );
    }
    const both = await walkIn({ patient_id: PATIENTS.lim, patient: newPatient });
    assertError(both, 400, "invalid_request");
    assertError(
      await walkIn({ patient: { ...newPatient, date_of_birth: "1899-12-31" } }),
      400,
      "invalid_request",
    );
    assert.equal(await patientCount(), before, "nothing registered");
  });

  await t.step("403 for non-staff; a failed ticket leaves no patient behind", async () => {
    const before = await patientCount();
    assertError(
      await walkIn({ patient: newPatient }, await q.tokenFor(USERS.patientLim)),
      403,
      "forbidden",
    );
    assertError(
      await walkIn({ patient: newPatient }, await q.tokenFor(USERS.adminBedok)),
      403,
      "forbidden",
    );
    const badDoctor = await walkIn({ patient: newPatient, doctor_id: NOBODY, confirm_new: true });
    assertError(badDoctor, 404, "not_found");
    assert.equal(await patientCount(), before, "rolled back with the ticket");
  });
});

Deno.test("POST walk-ins: a new patient's phone (E.164) and SMS consent, source front_desk", async (t) => {
  await using q = await queueApp();
  const staff = await q.tokenFor(USERS.staffKoh);
  const walkIn = (patient: Record<string, unknown>) =>
    q.call("POST", "/clinics/GFC-TP/queue/walk-ins", {
      token: staff,
      body: { patient: { date_of_birth: "1950-01-01", gender: "female", ...patient } },
    });

  await t.step("201: phone normalised, consent recorded by the staff member", async () => {
    const res = await walkIn({ full_name: "Sms Siew", phone: "9876 5432", sms_consent: true });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.ticket.patient_id;
    const [patient] = await q.sql`select phone, sms_consent, email_consent, whatsapp_consent
      from public.patients where id = ${id}`;
    assert.deepEqual({ ...patient }, {
      phone: "+6598765432",
      sms_consent: true,
      email_consent: false,
      whatsapp_consent: false,
    });
    const history = await q.sql`select channel, granted, source, changed_by
      from public.consent_history where patient_id = ${id}`;
    assert.deepEqual(history.map((h) => ({ ...h })), [
      { channel: "sms", granted: true, source: "front_desk", changed_by: USERS.staffKoh },
    ]);
  });

  await t.step("a phone without consent: stored, no consent, no history", async () => {
    const res = await walkIn({ full_name: "Quiet Quek", phone: "+65 8111 2222" });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.ticket.patient_id;
    const [patient] = await q.sql`select phone, sms_consent from public.patients
      where id = ${id}`;
    assert.deepEqual({ ...patient }, { phone: "+6581112222", sms_consent: false });
    const [n] = await q.sql`select count(*)::int as n from public.consent_history
      where patient_id = ${id}`;
    assert.equal(n.n, 0);
  });

  await t.step("called: the consenting walk-in is told by SMS, the other is not", async () => {
    const told = async (name: string) => {
      const rows = await q.sql`
        select n.kind, d.channel::text as channel, d.recipient
        from public.notification_deliveries d
        join public.notifications n on n.id = d.notification_id
        join public.patients p on p.id = n.patient_id
        where p.full_name = ${name} and n.kind = 'ticket_called'`;
      return rows.map((r) => ({ ...r }));
    };
    const call = (replace: boolean) =>
      q.call("POST", "/clinics/GFC-TP/queue/call-next", {
        token: staff,
        body: { room: "Room 3", doctor_id: DOCTORS.tan, replace_current: replace },
      });
    assert.equal((await call(false)).status, 200);
    assert.deepEqual(await told("Sms Siew"), [
      { kind: "ticket_called", channel: "sms", recipient: "+6598765432" },
    ]);
    assert.equal((await call(true)).status, 200);
    assert.deepEqual(await told("Quiet Quek"), [], "no consent: nothing sent");
  });

  await t.step("400 naming patient.phone: invalid number, or consent without one", async () => {
    const [before] = await q.sql`select count(*)::int as n from public.patients`;
    for (
      const patient of [
        { full_name: "Bad Phone", phone: "+65 1234 5678", sms_consent: true },
        { full_name: "Bad Phone", phone: "phone", sms_consent: true },
        { full_name: "No Phone", sms_consent: true },
        { full_name: "Odd Consent", phone: "9876 5432", sms_consent: "yes" },
      ]
    ) {
      const res = await walkIn(patient);
      assertError(res, 400, "invalid_request");
      const field = "sms_consent" in patient && patient.sms_consent === "yes"
        ? "patient.sms_consent"
        : "patient.phone";
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path === field),
        JSON.stringify(res.body),
      );
    }
    const [after] = await q.sql`select count(*)::int as n from public.patients`;
    assert.equal(after.n, before.n, "nobody registered");
  });
});
