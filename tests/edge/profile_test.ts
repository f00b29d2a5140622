/**
 * Consents and language: the patient's own (`/me/profile`, source `app`), the front desk's
 * (`/clinics/:code/patients/:id/consents`, source `front_desk`), the history of changes, who
 * may do what, and that no client writes the consent state except through
 * private.set_consent.
 */
import assert from "node:assert/strict";
import { LANGUAGES } from "../../edge/routes/_shared.ts";
import { asUser, claimsFor } from "../support/db.ts";
import { addPatients, CLINIC_A, PATIENTS, type TestApp, testApp, USERS } from "./_support.ts";

type Answer = Awaited<ReturnType<TestApp["call"]>>;

function assertError(res: Answer, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error?.code, code, JSON.stringify(res.body));
}

async function historyOf(app: TestApp, patientId: string) {
  const rows = await app.sql`
    select channel, granted, source, changed_by from public.consent_history
    where patient_id = ${patientId} order by id`;
  return rows.map((r) => ({ ...r }));
}

async function consentsOf(app: TestApp, patientId: string) {
  const [row] = await app.sql`
    select email_consent as email, sms_consent as sms, whatsapp_consent as whatsapp,
      push_consent as push from public.patients where id = ${patientId}`;
  return { ...row };
}

Deno.test("the edge's lists are the database's", async () => {
  await using app = await testApp();
  const [row] = await app.sql`select private.languages() as languages,
    private.consent_channels() as channels, private.consent_sources() as sources`;
  assert.deepEqual(row.languages, [...LANGUAGES]);
  const doc = (await app.call("GET", "/api/openapi.json")).body;
  const schemas = doc.components.schemas as Record<string, {
    properties: Record<string, { enum?: string[] }>;
  }>;
  assert.deepEqual(Object.keys(schemas.Consents.properties), row.channels);
  assert.deepEqual(Object.keys(schemas.ConsentChanges.properties), row.channels);
  assert.deepEqual(schemas.ConsentChange.properties.channel.enum, row.channels);
  assert.deepEqual(schemas.ConsentChange.properties.source.enum, row.sources);
});

Deno.test("/me/profile: the patient's language, phone and consents (source app)", async (t) => {
  await using app = await testApp();
  const lim = await app.tokenFor(USERS.patientLim);

  await t.step("GET: the account and its patient record", async () => {
    const res = await app.call("GET", "/api/me/profile", { token: lim });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.language, "en");
    assert.deepEqual(res.body.patients.map((p: { patient_id: string }) => p.patient_id), [
      PATIENTS.lim,
    ]);
    assert.deepEqual(res.body.patients[0].consents, {
      email: true,
      sms: true,
      whatsapp: false,
      push: false,
    });
    assert.equal(res.body.patients[0].clinic_code, "GFC-TP");
  });

  await t.step(
    "PATCH: each change is one history row with source app, by the patient",
    async () => {
      const res = await app.call("PATCH", "/api/me/profile", {
        token: lim,
        body: { consents: { sms: false, whatsapp: true, push: true, email: true } },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.patients[0].consents, {
        email: true,
        sms: false,
        whatsapp: true,
        push: true,
      });
      assert.ok(res.body.patients[0].consents_updated_at);
      assert.deepEqual(await consentsOf(app, PATIENTS.lim), res.body.patients[0].consents);
      assert.deepEqual(await historyOf(app, PATIENTS.lim), [
        { channel: "sms", granted: false, source: "app", changed_by: USERS.patientLim },
        { channel: "whatsapp", granted: true, source: "app", changed_by: USERS.patientLim },
        { channel: "push", granted: true, source: "app", changed_by: USERS.patientLim },
      ], "email was already granted: no change, no row");
    },
  );

  await t.step("PATCH: language and phone (E.164) on the account and the record", async () => {
    const res = await app.call("PATCH", "/api/me/profile", {
      token: lim,
      body: { language: "zh", phone: "9123 4567" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.language, "zh");
    assert.equal(res.body.phone, "+6591234567");
    assert.equal(res.body.patients[0].language, "zh");
    const [row] = await app.sql`select preferred_language, phone from public.patients
      where id = ${PATIENTS.lim}`;
    assert.deepEqual({ ...row }, { preferred_language: "zh", phone: "+6591234567" });
  });

  await t.step("GET /me/consent-history: own changes, newest first", async () => {
    const res = await app.call("GET", "/api/me/consent-history?limit=2", { token: lim });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.history.map((h: { channel: string; source: string }) => [h.channel, h.source]),
      [["push", "app"], ["whatsapp", "app"]],
    );
    const chan = await app.call("GET", "/api/me/consent-history", {
      token: await app.tokenFor(USERS.patientChan),
    });
    assert.deepEqual(chan.body.history, [], "nobody else's");
  });

  await t.step("400 naming the field, nothing changed", async () => {
    const before = await consentsOf(app, PATIENTS.lim);
    const rows = (await historyOf(app, PATIENTS.lim)).length;
    for (
      const [body, field] of [
        [{ phone: "call me" }, "phone"],
        [{ phone: "+65 1234" }, "phone"],
        [{ phone: 91234567 }, "phone"],
        [{ language: "fr" }, "language"],
        [{ language: "EN" }, "language"],
        [{ consents: { sms: "yes" } }, "consents.sms"],
        [{ consents: { fax: true } }, "consents"],
        [{ consents: [true] }, "consents"],
        [{ consents: { sms: true }, clinic_code: "" }, "clinic_code"],
      ] as const
    ) {
      const res = await app.call("PATCH", "/api/me/profile", { token: lim, body });
      assertError(res, 400, "invalid_request");
      assert.ok(
        res.body.error.details.some((d: { path: string }) => d.path.startsWith(field)),
        `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`,
      );
    }
    assert.deepEqual(await consentsOf(app, PATIENTS.lim), before);
    assert.equal((await historyOf(app, PATIENTS.lim)).length, rows);
  });

  await t.step("404: consents at a clinic where I have no patient record", async () => {
    assertError(
      await app.call("PATCH", "/api/me/profile", {
        token: lim,
        body: { consents: { sms: true }, clinic_code: "GFC-BD" },
      }),
      404,
      "not_found",
    );
    const staff = await app.tokenFor(USERS.staffKoh);
    assertError(
      await app.call("PATCH", "/api/me/profile", {
        token: staff,
        body: { consents: { sms: true } },
      }),
      404,
      "not_found",
    );
  });

  await t.step("401 without a token", async () => {
    assert.equal((await app.call("GET", "/api/me/profile")).status, 401);
    assert.equal((await app.call("PATCH", "/api/me/profile", { body: {} })).status, 401);
  });
});

Deno.test("the front desk changes a patient's consents (source front_desk)", async (t) => {
  await using app = await testApp();
  const staff = await app.tokenFor(USERS.staffKoh);
  const path = (id: string, code = "GFC-TP") => `/api/clinics/${code}/patients/${id}/consents`;

  await t.step("GET: language and consents, contact details masked", async () => {
    const res = await app.call("GET", path(PATIENTS.lim), { token: staff });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      patient_id: PATIENTS.lim,
      patient_number: "TP-P-000001",
      language: "en",
      phone_masked: "•••• 0003",
      email_masked: "p•••@demo.com",
      consents: { email: true, sms: true, whatsapp: false, push: false },
      consents_updated_at: null,
    });
  });

  await t.step("PATCH: history rows with source front_desk, by the staff member", async () => {
    const res = await app.call("PATCH", path(PATIENTS.lim), {
      token: staff,
      body: { consents: { email: false, whatsapp: true }, language: "ta", phone: "+65 8765 4321" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.consents, { email: false, sms: true, whatsapp: true, push: false });
    assert.equal(res.body.language, "ta");
    assert.equal(res.body.phone_masked, "•••• 4321");
    assert.deepEqual(await historyOf(app, PATIENTS.lim), [
      { channel: "email", granted: false, source: "front_desk", changed_by: USERS.staffKoh },
      { channel: "whatsapp", granted: true, source: "front_desk", changed_by: USERS.staffKoh },
    ]);
    const [row] = await app.sql`select phone from public.patients where id = ${PATIENTS.lim}`;
    assert.equal(row.phone, "+6587654321");
  });

  await t.step("history: staff of the clinic and the patient read it", async () => {
    const res = await app.call(
      "GET",
      `/api/clinics/GFC-TP/patients/${PATIENTS.lim}/consent-history`,
      {
        token: staff,
      },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.history.map((h: { channel: string }) => h.channel),
      ["whatsapp", "email"],
    );
    const own = await app.call("GET", "/api/me/consent-history", {
      token: await app.tokenFor(USERS.patientLim),
    });
    assert.deepEqual(own.body.history, res.body.history);
  });

  await t.step(
    "a patient cannot use the front desk's routes, for themselves or another",
    async () => {
      const [other] = await addPatients(app.sql, CLINIC_A, 1);
      const lim = await app.tokenFor(USERS.patientLim);
      for (const id of [other.patientId, PATIENTS.lim]) {
        assertError(
          await app.call("PATCH", path(id), { token: lim, body: { consents: { sms: false } } }),
          403,
          "forbidden",
        );
        assertError(await app.call("GET", path(id), { token: lim }), 403, "forbidden");
        assertError(
          await app.call("GET", `/api/clinics/GFC-TP/patients/${id}/consent-history`, {
            token: lim,
          }),
          403,
          "forbidden",
        );
      }
      assert.equal((await consentsOf(app, other.patientId)).sms, false);
    },
  );

  await t.step("staff of another clinic cannot: 403 there, 404 through their own", async () => {
    const bedok = await app.tokenFor(USERS.adminBedok);
    const before = await consentsOf(app, PATIENTS.lim);
    assertError(
      await app.call("PATCH", path(PATIENTS.lim), {
        token: bedok,
        body: { consents: { sms: false } },
      }),
      403,
      "forbidden",
    );
    assertError(
      await app.call("PATCH", path(PATIENTS.lim, "GFC-BD"), {
        token: bedok,
        body: { consents: { sms: false } },
      }),
      404,
      "not_found",
    );
    assertError(
      await app.call("GET", path(PATIENTS.lim, "GFC-BD"), { token: bedok }),
      404,
      "not_found",
    );
    assert.deepEqual(await consentsOf(app, PATIENTS.lim), before);
  });

  await t.step("400 on bad input, 404 on an unknown patient or clinic", async () => {
    for (
      const body of [
        { consents: { sms: 1 } },
        { consents: { email: true, telegram: true } },
        { language: "de" },
        { phone: "12" },
        "not json",
      ]
    ) {
      const res = await app.call("PATCH", path(PATIENTS.lim), { token: staff, body });
      assertError(res, 400, "invalid_request");
    }
    assertError(
      await app.call("GET", path("not-a-uuid"), { token: staff }),
      400,
      "invalid_request",
    );
    assertError(
      await app.call("GET", path("00000000-0000-4000-8000-000000000000"), { token: staff }),
      404,
      "not_found",
    );
    assertError(
      await app.call("GET", path(PATIENTS.lim, "NOPE-1"), { token: staff }),
      404,
      "clinic_not_found",
    );
  });
});

Deno.test("nobody writes the consent state or its history directly", async (t) => {
  await using app = await testApp();
  const attempts = [
    [
      "the patient",
      USERS.patientLim,
      `update public.patients set sms_consent = false
      where id = '${PATIENTS.lim}'`,
    ],
    [
      "staff",
      USERS.staffKoh,
      `update public.patients set push_consent = true
      where id = '${PATIENTS.lim}'`,
    ],
    [
      "staff registering",
      USERS.staffKoh,
      `insert into public.patients (clinic_id,
      patient_number, full_name, date_of_birth, gender, sms_consent)
      values ('${CLINIC_A}', 'X-1', 'X', '1990-01-01', 'other', true)`,
    ],
    [
      "the patient",
      USERS.patientLim,
      `insert into public.consent_history (patient_id,
      clinic_id, channel, granted, source)
      values ('${PATIENTS.lim}', '${CLINIC_A}', 'sms', true, 'app')`,
    ],
    ["staff", USERS.staffKoh, `update public.consent_history set granted = not granted`],
    [
      "the patient",
      USERS.patientLim,
      `select private.set_consent('${PATIENTS.lim}', 'sms',
      false, 'app')`,
    ],
  ] as const;
  for (const [who, user, statement] of attempts) {
    await t.step(`${who}: ${statement.split("\n")[0]}`, async () => {
      await assert.rejects(
        asUser(app.sql, claimsFor(user), (tx) => tx.unsafe(statement)),
        (e: { code?: string }) => e.code === "42501",
      );
    });
  }
  await t.step("the patient still changes their own contact fields directly", async () => {
    await asUser(
      app.sql,
      claimsFor(USERS.patientLim),
      (tx) => tx`update public.patients set preferred_language = 'ms' where id = ${PATIENTS.lim}`,
    );
    const [row] = await app.sql`select preferred_language, sms_consent from public.patients
      where id = ${PATIENTS.lim}`;
    assert.deepEqual({ ...row }, { preferred_language: "ms", sms_consent: true });
  });
});
