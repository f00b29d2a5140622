/**
 * Text and instants at the API's boundary (issue #13): a NUL, another control character or a
 * lone surrogate in a name, room, label, query, URL or reason is a 400 `invalid_request` naming
 * the field — it never reaches PostgreSQL, which would refuse it with a 500 — and nothing is
 * written; multi-line free text keeps its tabs and line breaks. Instants take offsets up to
 * PostgreSQL's ±15:59 and real calendar dates only.
 */
import assert from "node:assert/strict";
import type { Answer } from "../support/app.ts";
import { DOCTORS, nextWeekday, PATIENTS, sgt, testApp, USERS } from "./_support.ts";

const SOME_ID = "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f";

function assertInvalid(res: Answer, field: string) {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error.code, "invalid_request");
  assert.ok(
    res.body.error.details?.some((d: { path: string }) => d.path === field),
    `details name ${field}: ${JSON.stringify(res.body.error.details)}`,
  );
}

Deno.test("text fields refuse U+0000, control characters and lone surrogates", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const staff = await app.tokenFor(USERS.staffKoh);
  const admin = await app.tokenFor(USERS.admin);
  const key = () => ({ "idempotency-key": crypto.randomUUID() });
  const booking = (start: string, visit_reason: string) => ({
    clinic_code: "GFC-TP",
    doctor_id: DOCTORS.tan,
    start: sgt(day, start),
    visit_reason,
  });
  const count = async (table: string) =>
    (await app.sql.unsafe(`select count(*)::int as n from ${table}`))[0].n as number;

  await t.step("U+0000 in a text field of each kind of route → 400 naming the field", async () => {
    const before = {
      appointments: await count("public.appointments"),
      patients: await count("public.patients"),
      users: await count("public.users"),
    };
    const cases: [string, string, string | undefined, unknown, string][] = [
      ["POST", "/api/bookings", lim, booking("09:00", "Cough\u0000"), "visit_reason"],
      ["POST", "/api/auth/signup", undefined, {
        clinic_code: "GFC-TP",
        email: "nul@example.com",
        password: "a long password",
        full_name: "Ann\u0000Lee",
        date_of_birth: "1990-01-01",
        gender: "female",
      }, "full_name"],
      ["GET", "/api/clinics/GFC-TP/patients?q=li%00m", staff, undefined, "q"],
      ["POST", "/api/clinics/GFC-TP/queue/call-next", staff, { room: "Room\u00003" }, "room"],
      ["POST", `/api/queue/tickets/${SOME_ID}/recall`, staff, { room: "\u0000" }, "room"],
      ["POST", "/api/clinics/GFC-TP/queue/walk-ins", staff, {
        patient: { full_name: "Walk\u0000In", date_of_birth: "1990-01-01", gender: "other" },
      }, "patient.full_name"],
      ["POST", "/api/clinics/GFC-TP/board-tokens", staff, { label: "TV\u0000" }, "label"],
      ["POST", `/api/appointments/${SOME_ID}/cancel`, lim, { reason: "\u0000" }, "reason"],
      ["POST", "/api/clinics/GFC-TP/webhook-endpoints", admin, {
        url: "http://127.0.0.1:9/hook",
        events: ["*"],
        description: "CRM\u0000",
      }, "description"],
      ["PATCH", `/api/clinics/GFC-TP/webhook-endpoints/${SOME_ID}`, admin, {
        url: "http://127.0.0.1:9/\u0000",
      }, "url"],
      ["POST", `/api/webhooks/inbox/${SOME_ID}/redrive`, admin, { reason: "\u0000" }, "reason"],
    ];
    for (const [method, path, token, body, field] of cases) {
      assertInvalid(await app.call(method, path, { token, body, headers: key() }), field);
    }
    assert.deepEqual({
      appointments: await count("public.appointments"),
      patients: await count("public.patients"),
      users: await count("public.users"),
    }, before);
  });

  await t.step("one-line fields refuse every control character and lone surrogate", async () => {
    for (
      const room of ["Room\t3", "Room\n3", "\u001bRoom", "Room\u007f", "Room\u0085", "Room\ud800"]
    ) {
      assertInvalid(
        await app.call("POST", "/api/clinics/GFC-TP/queue/call-next", {
          token: staff,
          body: { room },
        }),
        "room",
      );
    }
    assertInvalid(
      await app.call("POST", "/api/clinics/GFC-TP/board-tokens", {
        token: staff,
        body: { label: "TV \udc00" },
      }),
      "label",
    );
  });

  await t.step("multi-line text keeps tabs and line breaks, and refuses the rest", async () => {
    for (const reason of ["Cough\u0007", "Cough \ud800", "Cough\u0000\n"]) {
      assertInvalid(
        await app.call("POST", "/api/bookings", {
          token: lim,
          headers: key(),
          body: booking("09:15", reason),
        }),
        "visit_reason",
      );
    }
    const res = await app.call("POST", "/api/bookings", {
      token: lim,
      headers: key(),
      body: booking("09:15", "Cough 😷\r\n\tsince Monday\n"),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.appointment.visit_reason, "Cough 😷\r\n\tsince Monday");
  });

  await t.step("a clinic code in the path or query holds no NUL", async () => {
    assertInvalid(await app.call("GET", "/api/clinics/GFC%00TP/queue", { token: staff }), "code");
    assertInvalid(
      await app.call("GET", "/api/me/queue?clinic_code=GFC%00TP", { token: lim }),
      "clinic_code",
    );
  });
});

Deno.test("instants: offsets up to ±15:59 and real dates only", async (t) => {
  await using app = await testApp();
  const day = await nextWeekday(app.sql);
  const lim = await app.tokenFor(USERS.patientLim);
  const book = (start: string) =>
    app.call("POST", "/api/bookings", {
      token: lim,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start, patient_id: PATIENTS.lim },
    });

  await t.step("an offset of +16:00 (or beyond, or -16:00) → 400 on start", async () => {
    for (const offset of ["+16:00", "-16:00", "+99:00", "+15:60"]) {
      assertInvalid(await book(`${day}T09:00:00${offset}`), "start");
    }
    assertInvalid(
      await app.call("POST", "/api/holds", {
        token: lim,
        body: { clinic_code: "GFC-TP", doctor_id: DOCTORS.tan, start: `${day}T09:00:00+16:00` },
      }),
      "start",
    );
    assertInvalid(
      await app.call("POST", `/api/appointments/${SOME_ID}/reschedule`, {
        token: lim,
        body: { start: `${day}T09:00:00+16:00` },
      }),
      "start",
    );
  });

  await t.step("±15:59 is PostgreSQL's limit: it reaches the booking rules", async () => {
    for (const offset of ["+15:59", "-15:59"]) {
      const res = await book(`${day}T09:00:00${offset}`);
      assert.ok(res.status >= 400 && res.status < 500, JSON.stringify(res.body));
      assert.ok(
        !res.body.error.details?.some?.((d: { path: string }) => d.path === "start"),
        JSON.stringify(res.body),
      );
    }
  });

  await t.step("days that do not exist, hour 24 and year 0 → 400", async () => {
    for (
      const start of ["2027-02-30T09:00:00+08:00", `${day}T24:00:00+08:00`, "0000-01-01T00:00:00Z"]
    ) {
      assertInvalid(await book(start), "start");
    }
    assertInvalid(await app.call("GET", "/api/clinics/GFC-TP/slots?date=0000-01-01"), "date");
  });
});
