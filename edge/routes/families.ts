/**
 * Several clinics per account and families: register at another clinic of the platform
 * (api.register_at_clinic), the clinics a signed-in user can book at or join (api.my_clinics),
 * and the dependants a guardian books for (api.add_dependant, api.my_dependants,
 * api.update_dependant, api.remove_dependant). The database decides everything
 * (20261207000500_families.sql, 20261207000700_families_follow_up.sql).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import {
  ClinicCode,
  ConsentChanges,
  Consents,
  IsoDate,
  Language,
  Line,
  one,
  Phone,
  Uuid,
} from "./_shared.ts";
import { Email } from "./auth.ts";

const Gender = z.enum(["male", "female", "other", "prefer_not_to_say"]);
/** Who a dependant is to their guardian. */
export const RELATIONSHIPS = ["child", "parent", "spouse", "other"] as const;

const MyPatient = z.object({
  id: z.string(),
  clinic_code: z.string(),
  clinic_name: z.string(),
  branch_name: z.string().nullable(),
  patient_number: z.string(),
  full_name: z.string(),
  date_of_birth: z.string().openapi({ format: "date" }),
  gender: Gender,
}).openapi("MyPatientRecord");

const Registration = z.object({
  patient: MyPatient,
  created: z.boolean().openapi({ description: "False when the record already existed" }),
}).openapi("Registration");

const RegisterBody = z.object({
  date_of_birth: IsoDate.optional(),
  gender: Gender.optional(),
  phone: Phone.optional(),
}).openapi("RegisterRequest", {
  description: "Needed only by an account without a patient record anywhere yet; otherwise " +
    "the latest record's details are used",
});

const MyClinics = z.object({
  clinics: z.array(z.object({
    code: z.string(),
    name: z.string(),
    branch_name: z.string().nullable(),
    timezone: z.string(),
    registered: z.boolean().openapi({ description: "The caller has a patient record here" }),
    patient_id: z.string().nullable(),
  })),
}).openapi("MyClinics");

const Dependant = MyPatient.extend({
  relationship: z.enum(RELATIONSHIPS),
  linked_at: z.string(),
  own_account: z.boolean().openapi({
    description: "They have an account of their own: told themselves, and choose their own " +
      "consents and language; otherwise the guardian is told and chooses them",
  }),
  language: z.string().openapi({ description: "The language of SMS, WhatsApp and e-mail" }),
  consents: Consents,
}).openapi("Dependant");

const DependantChanges = z.strictObject({
  consents: ConsentChanges.optional(),
  language: Language.optional(),
}).openapi("DependantChanges", { description: "Fields left out stay as they are" });

const DependantAnswer = z.object({
  dependant: Dependant,
  created: z.boolean().openapi({
    description: "False when the guardian already had this dependant (same name and birth date)",
  }),
}).openapi("DependantAnswer");

const DependantBody = z.object({
  full_name: Line.trim().min(1).max(200),
  date_of_birth: IsoDate.refine((d) => d > "1900-01-01", "A date of birth after 1900"),
  gender: Gender,
  relationship: z.enum(RELATIONSHIPS),
  phone: Phone.optional().openapi({ description: "Default: the guardian's" }),
}).openapi("DependantRequest");

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});
const PatientParams = CodeParam.extend({
  patient_id: Uuid.openapi({ param: { name: "patient_id", in: "path" } }),
});

const GuardianBody = z.object({
  email: Email.openapi({ description: "The guardian's account, registered at this clinic" }),
  relationship: z.enum(RELATIONSHIPS).openapi({ description: "What the patient is to them" }),
}).openapi("GuardianLinkRequest");

const GuardianAnswer = z.object({
  guardian: z.object({
    user_id: z.string(),
    full_name: z.string(),
    relationship: z.enum(RELATIONSHIPS),
  }),
  created: z.boolean().openapi({ description: "False when the link existed" }),
}).openapi("GuardianLink");

const registerRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/register",
  tags: ["families"],
  summary: "Register as a patient at this clinic (idempotent)",
  description: "Makes the caller's patient record and membership at the clinic from their " +
    "details elsewhere; a second call answers the same record (200, `created` false).",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: { content: { "application/json": { schema: RegisterBody } }, required: false },
  },
  responses: {
    200: json(Registration, "Already registered"),
    201: json(Registration, "Registered"),
    ...errors(
      [400, "Invalid request, or `details_required` (no record elsewhere to copy)"],
      401,
      [403, "The clinic closed the caller's registration (`registration_refused`)"],
      [404, "No active clinic with that code (`clinic_not_found`)"],
      [409, "The clinic is not taking new patients (`not_accepting_patients`)"],
    ),
  },
});

const myClinicsRoute = createRoute({
  method: "get",
  path: "/me/clinics",
  tags: ["families"],
  summary: "The clinics I can book at or join",
  description: "Active clinics where the caller has a patient record (`registered`), and those " +
    "taking new patients where they have none, by name.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: { 200: json(MyClinics, "Clinics"), ...errors(401) },
});

const listRoute = createRoute({
  method: "get",
  path: "/me/dependants",
  tags: ["families"],
  summary: "The people I book for",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: {
    200: json(z.object({ dependants: z.array(Dependant) }).openapi("Dependants"), "Dependants"),
    ...errors(401),
  },
});

const addRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/dependants",
  tags: ["families"],
  summary: "Add a dependant at a clinic where I am registered",
  description: "Creates the dependant's patient record (no account of their own) and links it " +
    "to the caller, who then sees and books their visits. The same name and date of birth " +
    "again answer the existing dependant (200, `created` false).",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: { content: { "application/json": { schema: DependantBody } }, required: true },
  },
  responses: {
    200: json(DependantAnswer, "Already a dependant"),
    201: json(DependantAnswer, "Added"),
    ...errors(
      400,
      401,
      [403, "Not registered at this clinic (`not_a_patient`)"],
      404,
      [409, "`too_many_dependants`, `not_accepting_patients`"],
    ),
  },
});

const removeRoute = createRoute({
  method: "delete",
  path: "/me/dependants/{patient_id}",
  tags: ["families"],
  summary: "Stop looking after a dependant",
  description: "Ends the link; the record and its bookings stay with the clinic.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({
      patient_id: Uuid.openapi({ param: { name: "patient_id", in: "path" } }),
    }),
  },
  responses: {
    204: { description: "Removed" },
    ...errors(400, 401, [404, "Not a dependant of the caller (`dependant_not_found`)"]),
  },
});

const linkRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/patients/{patient_id}/guardians",
  tags: ["families"],
  summary: "Link a guardian to one of the clinic's patients (staff)",
  description: "The front desk, having checked who is who, lets an account registered at the " +
    "clinic book for an existing patient (a parent for their child, a child for an elderly " +
    "parent). Idempotent.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: PatientParams,
    body: { content: { "application/json": { schema: GuardianBody } }, required: true },
  },
  responses: {
    200: json(GuardianAnswer, "Already linked"),
    201: json(GuardianAnswer, "Linked"),
    ...errors(
      400,
      401,
      [403, "Not staff of this clinic (`forbidden`)"],
      [404, "`patient_not_found`, `guardian_not_found` (no such account registered here)"],
      [422, "The patient's own account (`own_record`)"],
    ),
  },
});

const unlinkRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/patients/{patient_id}/guardians/{user_id}",
  tags: ["families"],
  summary: "End a guardian's link to one of the clinic's patients (staff)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: PatientParams.extend({
      user_id: Uuid.openapi({ param: { name: "user_id", in: "path" } }),
    }),
  },
  responses: {
    204: { description: "Unlinked" },
    ...errors(400, 401, [403, "Not staff of this clinic (`forbidden`)"], [
      404,
      "`guardian_not_found`",
    ]),
  },
});

const updateRoute = createRoute({
  method: "patch",
  path: "/me/dependants/{patient_id}",
  tags: ["families"],
  summary: "Choose a dependant's messages: consents per channel and language",
  description: "Messages about a dependant without an account of their own come to the " +
    "guardian: in the app and by push on the guardian's devices, and — with the dependant's " +
    "consent, chosen here — by SMS, WhatsApp or e-mail to the dependant's record's phone or " +
    "address, in the dependant's language. Each consent that changes is kept in the history " +
    "with source `app` and the guardian as who changed it.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({
      patient_id: Uuid.openapi({ param: { name: "patient_id", in: "path" } }),
    }),
    body: { content: { "application/json": { schema: DependantChanges } }, required: true },
  },
  responses: {
    200: json(z.object({ dependant: Dependant }).openapi("DependantUpdated"), "Changed"),
    ...errors(
      400,
      401,
      [403, "They have an account of their own (`own_account`)"],
      [404, "Not a dependant of the caller (`dependant_not_found`)"],
    ),
  },
});

type Created = { created: boolean };
const status = (answer: Created) => (answer.created ? 201 : 200);

export const families = new OpenAPIHono<AppEnv>()
  .openapi(registerRoute, async (c) => {
    const { code } = c.req.valid("param");
    // No body: a registration with the details already on file.
    const body = c.req.valid("json") ?? {};
    const answer = await c.get("db").run(async (tx) =>
      one<z.infer<typeof Registration>>(
        await tx`select api.register_at_clinic(${code}, ${tx.json(body as postgres.JSONValue)})
          as r`,
      )
    );
    return c.json(answer, status(answer));
  })
  .openapi(myClinicsRoute, async (c) => {
    const answer = await c.get("db").run(async (tx) =>
      one<z.infer<typeof MyClinics>>(await tx`select api.my_clinics() as r`)
    );
    return c.json(answer, 200);
  })
  .openapi(listRoute, async (c) => {
    const answer = await c.get("db").run(async (tx) =>
      one<{ dependants: z.infer<typeof Dependant>[] }>(await tx`select api.my_dependants() as r`)
    );
    return c.json(answer, 200);
  })
  .openapi(addRoute, async (c) => {
    const { code } = c.req.valid("param");
    const body = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<z.infer<typeof DependantAnswer>>(
        await tx`select api.add_dependant(${code}, ${tx.json(body as postgres.JSONValue)}) as r`,
      )
    );
    return c.json(answer, status(answer));
  })
  .openapi(updateRoute, async (c) => {
    const { patient_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<{ dependant: z.infer<typeof Dependant> }>(
        await tx`select api.update_dependant(${patient_id}::uuid,
          ${tx.json(body as postgres.JSONValue)}) as r`,
      )
    );
    return c.json(answer, 200);
  })
  .openapi(removeRoute, async (c) => {
    const { patient_id } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.remove_dependant(${patient_id}::uuid)`);
    return c.body(null, 204);
  })
  .openapi(linkRoute, async (c) => {
    const { code, patient_id } = c.req.valid("param");
    const { email, relationship } = c.req.valid("json");
    const answer = await c.get("db").run(async (tx) =>
      one<z.infer<typeof GuardianAnswer>>(
        await tx`select api.link_guardian(${code}, ${patient_id}::uuid, ${email},
          ${relationship}) as r`,
      )
    );
    return c.json(answer, status(answer));
  })
  .openapi(unlinkRoute, async (c) => {
    const { code, patient_id, user_id } = c.req.valid("param");
    await c.get("db").run((tx) =>
      tx`select api.unlink_guardian(${code}, ${patient_id}::uuid, ${user_id}::uuid)`
    );
    return c.body(null, 204);
  });
