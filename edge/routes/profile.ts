/**
 * Consent to be reached off the app (per channel: email, sms, whatsapp, push) and the language
 * messages are written in. The patient reads and changes their own (`/me/profile`, source
 * `app`); the clinic's staff read and change a patient's at the front desk
 * (`/clinics/:code/patients/:id/consents`, source `front_desk`); both read the history of
 * changes. One `api.*` call each, as the caller; who may change what, and the history, live in
 * the database (private.change_consents, private.set_consent; migration
 * 20261206000400_consent.sql).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { ClinicCode, ConsentChanges, Consents, Language, one, Phone } from "./_shared.ts";

const PatientRecord = z.object({
  patient_id: z.string(),
  clinic_code: z.string(),
  clinic_name: z.string(),
  patient_number: z.string(),
  language: Language,
  consents: Consents,
  consents_updated_at: z.string().nullable(),
}).openapi("ProfilePatient");

const Profile = z.object({
  user_id: z.string(),
  email: z.string(),
  full_name: z.string(),
  phone: z.string().nullable(),
  language: Language.openapi({ description: "The account's language (the PWA's)" }),
  patients: z.array(PatientRecord).openapi({
    description: "The caller's patient records, one per clinic, with their consents",
  }),
}).openapi("Profile");

const ProfileChanges = z.object({
  language: Language.optional().openapi({
    description: "The account's and every patient record's language",
  }),
  phone: Phone.optional().openapi({
    description: "The account's and every patient record's phone; stored in E.164",
  }),
  consents: ConsentChanges.optional(),
  clinic_code: ClinicCode.optional().openapi({
    description: "Change `consents` of the patient record at this clinic only",
  }),
}).openapi("ProfileChanges");

const ConsentChange = z.object({
  patient_id: z.string(),
  channel: z.enum(["email", "sms", "whatsapp", "push"]),
  granted: z.boolean(),
  source: z.enum([
    "app",
    "front_desk",
    "signup",
    "stop_keyword",
    "unsubscribe_link",
    "bounce",
    "complaint",
  ]),
  changed_by: z.string().nullable().openapi({
    description: "The account that made the change; null when none was signed in",
  }),
  changed_at: z.string(),
}).openapi("ConsentChange");

const ConsentHistory = z.object({ history: z.array(ConsentChange) }).openapi("ConsentHistory");

const PatientConsents = z.object({
  patient_id: z.string(),
  patient_number: z.string(),
  language: Language,
  phone_masked: z.string().nullable(),
  email_masked: z.string().nullable(),
  consents: Consents,
  consents_updated_at: z.string().nullable(),
}).openapi("PatientConsents");

const PatientConsentChanges = z.object({
  consents: ConsentChanges.optional(),
  language: Language.optional(),
  phone: Phone.optional().openapi({ description: "Stored in E.164" }),
}).openapi("PatientConsentChanges");

const Limit = z.coerce.number().int().min(1).max(200).optional();
const PatientParams = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
  id: z.uuid().openapi({ param: { name: "id", in: "path" } }),
});

const myProfileRoute = createRoute({
  method: "get",
  path: "/me/profile",
  tags: ["profile"],
  summary: "My language, phone and consents per channel",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: {
    200: json(Profile, "My profile"),
    ...errors([401, "Sign in first"]),
  },
});

const updateMyProfileRoute = createRoute({
  method: "patch",
  path: "/me/profile",
  tags: ["profile"],
  summary: "Change my language, phone or consents (source `app`)",
  description: "Fields left out stay as they are. Each consent that changes is kept in the " +
    "history with source `app`. `consents` applies to every patient record of mine, or to the " +
    "one at `clinic_code`.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: ProfileChanges } } },
  },
  responses: {
    200: json(Profile, "My profile as changed"),
    ...errors(
      [400, "Invalid request (`invalid_request`, the field in `details`)"],
      [401, "Sign in first"],
      [404, "No patient record (at that clinic) to change consents for"],
    ),
  },
});

const myHistoryRoute = createRoute({
  method: "get",
  path: "/me/consent-history",
  tags: ["profile"],
  summary: "The changes of my consents, newest first",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { query: z.object({ clinic_code: ClinicCode.optional(), limit: Limit }) },
  responses: {
    200: json(ConsentHistory, "Consent changes (at most `limit`, default 50)"),
    ...errors([400, "Invalid request"], [401, "Sign in first"], 404),
  },
});

const patientConsentsRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/patients/{id}/consents",
  tags: ["profile"],
  summary: "A patient's language and consents (staff of the clinic)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: PatientParams },
  responses: {
    200: json(PatientConsents, "The patient's consents; contact details masked"),
    ...errors(
      400,
      [401, "Sign in first"],
      [403, "Not staff of this clinic"],
      [404, "No such clinic, or no such patient of it"],
    ),
  },
});

const updatePatientConsentsRoute = createRoute({
  method: "patch",
  path: "/clinics/{code}/patients/{id}/consents",
  tags: ["profile"],
  summary: "Change a patient's consents, language or phone at the front desk (staff)",
  description: "Fields left out stay as they are. Each consent that changes is kept in the " +
    "history with source `front_desk` and the staff member who changed it.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: PatientParams,
    body: {
      required: true,
      content: { "application/json": { schema: PatientConsentChanges } },
    },
  },
  responses: {
    200: json(PatientConsents, "The patient's consents as changed"),
    ...errors(
      [400, "Invalid request (`invalid_request`, the field in `details`)"],
      [401, "Sign in first"],
      [403, "Not staff of this clinic"],
      [404, "No such clinic, or no such patient of it"],
    ),
  },
});

const patientHistoryRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/patients/{id}/consent-history",
  tags: ["profile"],
  summary: "The changes of a patient's consents, newest first (staff of the clinic)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: PatientParams, query: z.object({ limit: Limit }) },
  responses: {
    200: json(ConsentHistory, "Consent changes (at most `limit`, default 50)"),
    ...errors(
      400,
      [401, "Sign in first"],
      [403, "Not staff of this clinic"],
      [404, "No such clinic, or no such patient of it"],
    ),
  },
});

type ProfileJson = z.infer<typeof Profile>;
type PatientConsentsJson = z.infer<typeof PatientConsents>;
type HistoryJson = z.infer<typeof ConsentHistory>;

export const profile = new OpenAPIHono<AppEnv>()
  .openapi(myProfileRoute, async (c) => {
    const answer = await c.get("db").run(async (tx) =>
      one<ProfileJson>(await tx`select api.my_profile() as r`)
    );
    return c.json(answer, 200);
  })
  .openapi(updateMyProfileRoute, async (c) => {
    const body = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<ProfileJson>(
        await tx`select api.update_my_profile(${body.clinic_code ?? null},
          ${body.consents ? tx.json(body.consents) : null}::jsonb, ${body.language ?? null},
          ${body.phone ?? null}) as r`,
      )
    );
    return c.json(answer, 200);
  })
  .openapi(myHistoryRoute, async (c) => {
    const { clinic_code, limit } = c.req.valid("query");
    const answer = await c.get("db").run(async (tx) =>
      one<HistoryJson>(
        await tx`select api.my_consent_history(${clinic_code ?? null},
          ${limit ?? null}::integer) as r`,
      )
    );
    return c.json(answer, 200);
  })
  .openapi(patientConsentsRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const answer = await c.get("db").run(async (tx) =>
      one<PatientConsentsJson>(await tx`select api.patient_consents(${code}, ${id}) as r`)
    );
    return c.json(answer, 200);
  })
  .openapi(updatePatientConsentsRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const body = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<PatientConsentsJson>(
        await tx`select api.update_patient_consents(${code}, ${id},
          ${body.consents ? tx.json(body.consents) : null}::jsonb, ${body.language ?? null},
          ${body.phone ?? null}) as r`,
      )
    );
    return c.json(answer, 200);
  })
  .openapi(patientHistoryRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    const answer = await c.get("db").run(async (tx) =>
      one<HistoryJson>(
        await tx`select api.patient_consent_history(${code}, ${id}, ${limit ?? null}::integer)
          as r`,
      )
    );
    return c.json(answer, 200);
  });
