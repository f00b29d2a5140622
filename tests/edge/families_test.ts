/**
 * Several clinics per account and families (edge/routes/families.ts, holds and bookings for a
 * dependant) through `app.request` against the real database: registering at another clinic,
 * the picker's clinics, adding, listing and removing dependants, booking for them, and every
 * refusal (a stranger's patient or appointment answers 403/404, never a 5xx).
 */
import assert from "node:assert/strict";
import {
  addClinic,
  addPatients,
  CLINIC_A,
  CLINIC_B,
  DOCTORS,
  nextWeekday,
  PATIENTS,
  sgt,
  testApp,
  USERS,
} from "./_support.ts";
import { addAppointment } from "../support/clinic.ts";

const key = () => ({ "idempotency-key": crypto.randomUUID() });
const codes = (body: { clinics: { code: string }[] }) => body.clinics.map((c) => c.code).sort();

Deno.test("registering at another clinic: idempotent, refused where it must be, the picker's set", async (t) => {
  await using app = await testApp();
  const lim = await app.tokenFor(USERS.patientLim);
  await addClinic(app.sql, { code: "GFC-CL", timezone: "Asia/Singapore", hours: [] });
  await addClinic(app.sql, { code: "GFC-FULL", timezone: "Asia/Singapore", hours: [] });
  await addClinic(app.sql, { code: "GFC-OLD", timezone: "Asia/Singapore", hours: [] });
  await app.sql`update public.clinics set accepts_new_patients = false where code = 'GFC-FULL'`;
  await app.sql`update public.clinics set is_active = false where code = 'GFC-OLD'`;

  await t.step(
    "the picker offers the clinics I am registered at and those I can join",
    async () => {
      const res = await app.call("GET", "/api/me/clinics", { token: lim });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(codes(res.body), ["GFC-BD", "GFC-CL", "GFC-TP"]);
      const tp = res.body.clinics.find((c: { code: string }) => c.code === "GFC-TP");
      assert.deepEqual([tp.registered, tp.patient_id], [true, PATIENTS.lim]);
      const bd = res.body.clinics.find((c: { code: string }) => c.code === "GFC-BD");
      assert.deepEqual([bd.registered, bd.patient_id], [false, null]);
      assert.equal((await app.call("GET", "/api/me/clinics")).status, 401);
    },
  );

  let bedokRecord = "";
  await t.step("201 makes a record from my details elsewhere; again 200, the same", async () => {
    const res = await app.call("POST", "/api/clinics/gfc-bd/register", { token: lim });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.created, true);
    const p = res.body.patient;
    assert.equal(p.clinic_code, "GFC-BD");
    assert.match(p.patient_number, /^BD-P-\d{6}$/);
    const [own] = await app.sql`select full_name, date_of_birth::text as dob, gender::text
      from public.patients where id = ${PATIENTS.lim}`;
    assert.deepEqual([p.full_name, p.date_of_birth, p.gender], [
      own.full_name,
      own.dob,
      own.gender,
    ]);
    bedokRecord = p.id;
    const again = await app.call("POST", "/api/clinics/GFC-BD/register", { token: lim, body: {} });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual([again.body.created, again.body.patient.id], [false, bedokRecord]);
    const [m] = await app.sql`select count(*)::int as n from public.clinic_members
      where user_id = ${USERS.patientLim} and clinic_id = ${CLINIC_B} and role = 'patient'`;
    assert.equal(m.n, 1);
    const picker = await app.call("GET", "/api/me/clinics", { token: lim });
    const bd = picker.body.clinics.find((c: { code: string }) => c.code === "GFC-BD");
    assert.deepEqual([bd.registered, bd.patient_id], [true, bedokRecord]);
  });

  await t.step("then I book there as its patient", async () => {
    const day = await nextWeekday(app.sql);
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: { clinic_code: "GFC-BD", doctor_id: DOCTORS.ng, start: sgt(day, "10:00") },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.appointment.patient_id, bedokRecord);
  });

  await t.step("racing registrations make one record", async () => {
    const [someone] = await addPatients(app.sql, CLINIC_A, 1, "race");
    const token = await app.tokenFor(someone.userId);
    const answers = await Promise.all(
      [1, 2, 3].map(() => app.call("POST", "/api/clinics/GFC-CL/register", { token })),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 201]);
    assert.equal(new Set(answers.map((a) => a.body.patient.id)).size, 1);
  });

  await t.step(
    "refusals: not accepting 409, inactive or unknown 404, not signed in 401",
    async () => {
      const full = await app.call("POST", "/api/clinics/GFC-FULL/register", { token: lim });
      assert.deepEqual([full.status, full.body.error.code], [409, "not_accepting_patients"]);
      for (const code of ["GFC-OLD", "NOPE-1"]) {
        const res = await app.call("POST", `/api/clinics/${code}/register`, { token: lim });
        assert.deepEqual([res.status, res.body.error.code], [404, "clinic_not_found"], code);
      }
      assert.equal((await app.call("POST", "/api/clinics/GFC-CL/register")).status, 401);
      const bad = await app.call("POST", "/api/clinics/GFC-CL/register", {
        token: lim,
        body: { gender: "x", date_of_birth: "2020-02-30" },
      });
      assert.deepEqual([bad.status, bad.body.error.code], [400, "invalid_request"]);
    },
  );

  await t.step("an account with no record anywhere gives its details", async () => {
    const koh = await app.tokenFor(USERS.staffKoh);
    const bare = await app.call("POST", "/api/clinics/GFC-CL/register", { token: koh });
    assert.deepEqual([bare.status, bare.body.error.code], [400, "details_required"]);
    const res = await app.call("POST", "/api/clinics/GFC-CL/register", {
      token: koh,
      body: { date_of_birth: "1985-03-04", gender: "male", phone: "9123 4567" },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.patient.date_of_birth, "1985-03-04");
    const [p] = await app.sql`select phone from public.patients where id = ${res.body.patient.id}`;
    assert.equal(p.phone, "+6591234567");
  });

  await t.step("a clinic that removed me refuses me, and the picker leaves it out", async () => {
    await app.sql`update public.clinic_members set revoked_at = now()
      where user_id = ${USERS.patientChan} and clinic_id = ${CLINIC_B} and role = 'patient'`;
    await app.sql`update public.patients set deleted_at = now() where id = ${PATIENTS.chan}`;
    const chan = await app.tokenFor(USERS.patientChan);
    const res = await app.call("POST", "/api/clinics/GFC-BD/register", { token: chan });
    assert.deepEqual([res.status, res.body.error.code], [403, "registration_refused"]);
    const picker = await app.call("GET", "/api/me/clinics", { token: chan });
    assert.ok(!codes(picker.body).includes("GFC-BD"), JSON.stringify(picker.body));
  });
});

Deno.test("guardians add dependants and book for them; nobody else's patients", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const chan = await app.tokenFor(USERS.patientChan);
  const staff = await app.tokenFor(USERS.staffKoh);
  const [stranger] = await addPatients(app.sql, CLINIC_A, 1, "stranger");
  const strangerToken = await app.tokenFor(stranger.userId);
  const child = {
    full_name: "Lim Xiao Ming",
    date_of_birth: "2019-05-06",
    gender: "male",
    relationship: "child",
  };
  /** A booking at GFC-TP at `time` on `day`, for `patient` when given (else the caller). */
  const bookAt = (token: string, doctor: string, time: string, patient?: string) =>
    app.call("POST", "/api/bookings", {
      token,
      headers: key(),
      body: {
        clinic_code: "GFC-TP",
        doctor_id: doctor,
        start: sgt(day, time),
        ...(patient ? { patient_id: patient } : {}),
      },
    });

  let kid = "";
  await t.step("201 adds a dependant; the same again answers them (200)", async () => {
    const res = await app.call("POST", "/api/clinics/GFC-TP/dependants", {
      token: lim,
      body: child,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const d = res.body.dependant;
    assert.deepEqual(
      [d.full_name, d.date_of_birth, d.relationship, d.clinic_code],
      [child.full_name, child.date_of_birth, "child", "GFC-TP"],
    );
    kid = d.id;
    const [row] = await app.sql`select user_id, phone, emergency_contact_name
      from public.patients where id = ${kid}`;
    assert.deepEqual(row, {
      user_id: null,
      phone: "+65 9000 0003",
      emergency_contact_name: "Lim Mei Ling",
    });
    const again = await app.call("POST", "/api/clinics/GFC-TP/dependants", {
      token: lim,
      body: { ...child, full_name: " lim  xiao ming " },
    });
    assert.deepEqual([again.status, again.body.created, again.body.dependant.id], [
      200,
      false,
      kid,
    ]);
    const list = await app.call("GET", "/api/me/dependants", { token: lim });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.dependants.map((x: { id: string }) => x.id), [kid]);
    const none = await app.call("GET", "/api/me/dependants", { token: strangerToken });
    assert.deepEqual(none.body.dependants, []);
  });

  await t.step("only at a clinic where I am registered; bad input 400", async () => {
    const res = await app.call("POST", "/api/clinics/GFC-TP/dependants", {
      token: chan,
      body: child,
    });
    assert.deepEqual([res.status, res.body.error.code], [403, "not_a_patient"]);
    for (
      const body of [
        { ...child, relationship: "cousin" },
        { ...child, date_of_birth: "1899-12-31" },
        { ...child, full_name: "" },
        { ...child, gender: undefined },
      ]
    ) {
      const bad = await app.call("POST", "/api/clinics/GFC-TP/dependants", { token: lim, body });
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    const future = await app.call("POST", "/api/clinics/GFC-TP/dependants", {
      token: lim,
      body: { ...child, date_of_birth: "2999-01-01" },
    });
    assert.equal(future.status, 400);
    const unknown = await app.call("POST", "/api/clinics/NOPE-1/dependants", {
      token: lim,
      body: child,
    });
    assert.equal(unknown.status, 404);
  });

  let visit = "";
  await t.step("a guardian holds and books for the dependant", async () => {
    const hold = await app.call("POST", "/api/holds", {
      token: lim,
      body: {
        clinic_code: "GFC-TP",
        doctor_id: DOCTORS.tan,
        start: sgt(day, "09:00"),
        patient_id: kid,
      },
    });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    assert.equal(hold.body.hold.patient_id, kid);
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: {
        clinic_code: "GFC-TP",
        doctor_id: DOCTORS.tan,
        start: sgt(day, "09:00"),
        patient_id: kid,
        hold_id: hold.body.hold.id,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.appointment.patient_id, kid);
    visit = res.body.appointment.id;
    assert.equal((await app.call("GET", `/api/appointments/${visit}`, { token: lim })).status, 200);
  });

  await t.step("my appointments say whose visit it is", async () => {
    await bookAt(lim, DOCTORS.lee, "11:00");
    const res = await app.call("GET", "/api/me/appointments", { token: lim });
    assert.equal(res.status, 200);
    const whose = res.body.upcoming.map((a: { patient_name: string; for_dependant: boolean }) => [
      a.patient_name,
      a.for_dependant,
    ]);
    assert.deepEqual(whose, [["Lim Xiao Ming", true], ["Lim Mei Ling", false]]);
  });

  await t.step("the dependant's notifications reach the guardian", async () => {
    const rows = await app.sql`select user_id::text, kind from public.notifications
      where patient_id = ${kid}`;
    assert.deepEqual(rows.map((r) => [r.user_id, r.kind]), [
      [USERS.patientLim, "booking_confirmed"],
    ]);
  });

  await t.step("the front desk sees who looks after the patient", async () => {
    const res = await app.call("GET", "/api/clinics/GFC-TP/patients?q=xiao", { token: staff });
    assert.equal(res.status, 200);
    const found = res.body.patients.find((p: { id: string }) => p.id === kid);
    assert.deepEqual(found.guardians, [{
      user_id: USERS.patientLim,
      full_name: "Lim Mei Ling",
      relationship: "child",
      phone_masked: "•••• 0003",
    }]);
  });

  let strangersVisit = "";
  await t.step("a stranger's patient or appointment: 403/404, never more", async () => {
    const theirs = await bookAt(strangerToken, DOCTORS.lee, "10:00");
    assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
    strangersVisit = theirs.body.appointment.id;
    for (const patient of [stranger.patientId, PATIENTS.chan, crypto.randomUUID()]) {
      const res = await bookAt(lim, DOCTORS.tan, "09:30", patient);
      assert.deepEqual([res.status, res.body.error.code], [403, "forbidden"], patient);
      const hold = await app.call("POST", "/api/holds", {
        token: lim,
        body: {
          clinic_code: "GFC-TP",
          doctor_id: DOCTORS.tan,
          start: sgt(day, "09:30"),
          patient_id: patient,
        },
      });
      assert.equal(hold.status, 403, patient);
    }
    assert.equal(
      (await app.call("GET", `/api/appointments/${strangersVisit}`, { token: lim })).status,
      404,
    );
    const cancel = await app.call("POST", `/api/appointments/${strangersVisit}/cancel`, {
      token: lim,
      body: {},
    });
    assert.equal(cancel.status, 404);
    const move = await app.call("POST", `/api/appointments/${strangersVisit}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "14:00") },
    });
    assert.equal(move.status, 404);
    // …and the stranger cannot reach the dependant's.
    assert.equal(
      (await app.call("GET", `/api/appointments/${visit}`, { token: strangerToken })).status,
      404,
    );
    const remove = await app.call("DELETE", `/api/me/dependants/${kid}`, { token: strangerToken });
    assert.equal(remove.status, 404);
  });

  await t.step("the guardian reschedules and cancels the dependant's visit", async () => {
    const moved = await app.call("POST", `/api/appointments/${visit}/reschedule`, {
      token: lim,
      body: { start: sgt(day, "14:00") },
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    visit = moved.body.appointment.id;
    const cancelled = await app.call("POST", `/api/appointments/${visit}/cancel`, {
      token: lim,
      body: { reason: "Feeling better" },
    });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.appointment.status, "cancelled");
  });

  await t.step("staff book for the dependant like any patient", async () => {
    const res = await bookAt(staff, DOCTORS.lee, "15:00", kid);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    visit = res.body.appointment.id;
  });

  await t.step("removing the link ends seeing and booking; the record stays", async () => {
    assert.equal(
      (await app.call("DELETE", `/api/me/dependants/${kid}`, { token: lim })).status,
      204,
    );
    assert.equal(
      (await app.call("DELETE", `/api/me/dependants/${kid}`, { token: lim })).status,
      404,
    );
    assert.equal((await app.call("GET", `/api/appointments/${visit}`, { token: lim })).status, 404);
    const res = await bookAt(lim, DOCTORS.tan, "16:00", kid);
    assert.equal(res.status, 403);
    const [p] = await app.sql`select count(*)::int as n from public.patients where id = ${kid}`;
    assert.equal(p.n, 1);
    const bad = await app.call("DELETE", "/api/me/dependants/not-a-uuid", { token: lim });
    assert.equal(bad.status, 400);
  });
});

Deno.test("the front desk links a guardian to an existing patient, and unlinks them", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const staff = await app.tokenFor(USERS.staffKoh);
  const lim = await app.tokenFor(USERS.patientLim);
  const [parent] = await addPatients(app.sql, CLINIC_A, 1, "elderly");
  const link = (token: string, patient: string, email: string, code = "GFC-TP") =>
    app.call("POST", `/api/clinics/${code}/patients/${patient}/guardians`, {
      token,
      body: { email, relationship: "parent" },
    });

  await t.step("201 links Lim to her mother's record; again 200", async () => {
    const res = await link(staff, parent.patientId, "PATIENT.LIM@demo.com");
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.guardian, {
      user_id: USERS.patientLim,
      full_name: "Lim Mei Ling",
      relationship: "parent",
    });
    const again = await link(staff, parent.patientId, "patient.lim@demo.com");
    assert.deepEqual([again.status, again.body.created], [200, false]);
    const mine = await app.call("GET", "/api/me/dependants", { token: lim });
    assert.deepEqual(mine.body.dependants.map((d: { id: string }) => d.id), [parent.patientId]);
    const booked = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: {
        clinic_code: "GFC-TP",
        doctor_id: DOCTORS.tan,
        start: sgt(day, "09:00"),
        patient_id: parent.patientId,
      },
    });
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
  });

  await t.step("refusals: not staff 403, unknown 404, own record 422, bad input 400", async () => {
    const byPatient = await link(lim, parent.patientId, "patient.lim@demo.com");
    assert.equal(byPatient.status, 403);
    const otherClinic = await link(
      await app.tokenFor(USERS.adminBedok),
      parent.patientId,
      "patient.lim@demo.com",
    );
    assert.equal(otherClinic.status, 403);
    const notHere = await link(staff, parent.patientId, "patient.chan@demo.com");
    assert.deepEqual([notHere.status, notHere.body.error.code], [404, "guardian_not_found"]);
    const nobody = await link(staff, parent.patientId, "nobody@example.com");
    assert.deepEqual([nobody.status, nobody.body.error.code], [404, "guardian_not_found"]);
    const theirs = await link(staff, PATIENTS.chan, "patient.lim@demo.com");
    assert.deepEqual([theirs.status, theirs.body.error.code], [404, "patient_not_found"]);
    const self = await link(staff, PATIENTS.lim, "patient.lim@demo.com");
    assert.deepEqual([self.status, self.body.error.code], [422, "own_record"]);
    const bad = await app.call(
      "POST",
      `/api/clinics/GFC-TP/patients/${parent.patientId}/guardians`,
      {
        token: staff,
        body: { email: "not-an-email", relationship: "friend" },
      },
    );
    assert.equal(bad.status, 400);
  });

  await t.step("unlink: 204, then 404; Lim no longer books for her", async () => {
    const path = `/api/clinics/GFC-TP/patients/${parent.patientId}/guardians/${USERS.patientLim}`;
    assert.equal((await app.call("DELETE", path, { token: lim })).status, 403);
    assert.equal((await app.call("DELETE", path, { token: staff })).status, 204);
    assert.equal((await app.call("DELETE", path, { token: staff })).status, 404);
    const mine = await app.call("GET", "/api/me/dependants", { token: lim });
    assert.deepEqual(mine.body.dependants, []);
  });
});

Deno.test("a guardian checks a dependant in and sees the ticket; nobody else does", async (t) => {
  await using app = await testApp();
  const lim = await app.tokenFor(USERS.patientLim);
  const [stranger] = await addPatients(app.sql, CLINIC_A, 1, "stranger");
  const strangerToken = await app.tokenFor(stranger.userId);
  const added = await app.call("POST", "/api/clinics/GFC-TP/dependants", {
    token: lim,
    body: {
      full_name: "Lim Xiao Hua",
      date_of_birth: "2020-02-02",
      gender: "female",
      relationship: "child",
    },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const kid = added.body.dependant.id;
  const checkIn = (token: string, id: string) =>
    app.call("POST", `/api/appointments/${id}/check-in`, { token });

  await t.step("a stranger's or a non-guardian's check-in: 404, nothing made", async () => {
    const visit = await addAppointment(app.sql, { patient: kid, startMin: 10 });
    for (const token of [strangerToken, await app.tokenFor(USERS.patientChan)]) {
      const res = await checkIn(token, visit);
      assert.deepEqual([res.status, res.body.error.code], [404, "not_found"]);
    }
    const tickets = await app
      .sql`select 1 from public.queue_tickets where appointment_id = ${visit}`;
    assert.equal(tickets.length, 0);
  });

  await t.step(
    "the guardian checks the dependant in, within the window, and sees the ticket and place",
    async () => {
      const early = await addAppointment(app.sql, { patient: kid, startMin: 24 * 60 + 120 });
      const notYet = await checkIn(lim, early);
      assert.equal(notYet.status, 409, JSON.stringify(notYet.body));
      const visit = await addAppointment(app.sql, {
        patient: kid,
        doctor: DOCTORS.lee,
        startMin: 10,
      });
      const res = await checkIn(lim, visit);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.ticket.patient_id, kid);
      assert.equal(res.body.ticket.status, "waiting");
      assert.equal(typeof res.body.ticket.position, "number", "the place is the guardian's to see");
      const again = await checkIn(lim, visit);
      assert.deepEqual([again.status, again.body.ticket.id], [200, res.body.ticket.id]);
      const stranger = await checkIn(strangerToken, visit);
      assert.equal(stranger.status, 404);
    },
  );

  await t.step("once unlinked, the guardian checks in no more", async () => {
    const visit = await addAppointment(app.sql, { patient: kid, startMin: 20 });
    const removed = await app.call("DELETE", `/api/me/dependants/${kid}`, { token: lim });
    assert.equal(removed.status, 204, JSON.stringify(removed.body));
    assert.equal((await checkIn(lim, visit)).status, 404);
  });
});

Deno.test("a guardian chooses a dependant's messages: consents and language", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.staffKoh);
  const [stranger] = await addPatients(app.sql, CLINIC_A, 1, "stranger");
  const strangerToken = await app.tokenFor(stranger.userId);
  const added = await app.call("POST", "/api/clinics/GFC-TP/dependants", {
    token: lim,
    body: {
      full_name: "Lim Xiao Long",
      date_of_birth: "2018-03-03",
      gender: "male",
      relationship: "child",
    },
  });
  const kid = added.body.dependant.id;
  const change = (token: string, id: string, body: unknown) =>
    app.call("PATCH", `/api/me/dependants/${id}`, { token, body });

  await t.step("the list says whose choice it is, and the choice", async () => {
    const list = await app.call("GET", "/api/me/dependants", { token: lim });
    const d = list.body.dependants.find((x: { id: string }) => x.id === kid);
    assert.deepEqual([d.own_account, d.language, d.consents], [false, "en", {
      email: false,
      sms: false,
      whatsapp: false,
      push: false,
    }]);
  });

  await t.step("the guardian turns SMS on and picks Chinese; kept in the history", async () => {
    const res = await change(lim, kid, { consents: { sms: true }, language: "zh" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.dependant.consents.sms, res.body.dependant.language], [true, "zh"]);
    const [row] = await app.sql`select sms_consent, preferred_language from public.patients
      where id = ${kid}`;
    assert.deepEqual(row, { sms_consent: true, preferred_language: "zh" });
    const history = await app.sql`select channel, granted, source, changed_by::text
      from public.consent_history where patient_id = ${kid}`;
    assert.deepEqual(history.map((h) => [h.channel, h.granted, h.source, h.changed_by]), [
      ["sms", true, "app", USERS.patientLim],
    ]);
    const list = await app.call("GET", "/api/me/dependants", { token: lim });
    assert.equal(list.body.dependants[0].consents.sms, true);
  });

  await t.step(
    "a booking for the child texts the child's phone, in the child's language",
    async () => {
      const res = await app.call("POST", "/api/bookings", {
        token: lim,
        headers: key(),
        body: {
          clinic_code: "GFC-TP",
          doctor_id: DOCTORS.tan,
          start: sgt(day, "10:00"),
          patient_id: kid,
        },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const sent = await app.sql`select d.channel::text, d.recipient, d.language
      from public.notification_deliveries d join public.notifications n on n.id = d.notification_id
      where n.patient_id = ${kid}`;
      assert.deepEqual(sent.map((d) => [d.channel, d.recipient, d.language]), [
        ["sms", "+65 9000 0003", "zh"],
      ]);
    },
  );

  await t.step("bad input 400; nobody else's dependant 404; nothing written", async () => {
    for (
      const body of [
        { language: "xx" },
        { consents: { fax: true } },
        { consents: { sms: "yes" } },
        { nickname: "Ah Long" },
      ]
    ) {
      assert.equal((await change(lim, kid, body)).status, 400, JSON.stringify(body));
    }
    for (const [token, id] of [[strangerToken, kid], [staff, kid], [lim, crypto.randomUUID()]]) {
      const res = await change(token, id, { consents: { sms: false } });
      assert.deepEqual([res.status, res.body.error.code], [404, "dependant_not_found"]);
    }
    assert.equal((await change(lim, "nope", {})).status, 400);
    const [row] = await app.sql`select sms_consent from public.patients where id = ${kid}`;
    assert.equal(row.sms_consent, true);
  });

  await t.step("someone with an account of their own chooses their own: 403", async () => {
    const [parent] = await addPatients(app.sql, CLINIC_A, 1, "elderly");
    const linked = await app.call(
      "POST",
      `/api/clinics/GFC-TP/patients/${parent.patientId}/guardians`,
      {
        token: staff,
        body: { email: "patient.lim@demo.com", relationship: "parent" },
      },
    );
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    const res = await change(lim, parent.patientId, { consents: { sms: true } });
    assert.deepEqual([res.status, res.body.error.code], [403, "own_account"]);
  });
});
