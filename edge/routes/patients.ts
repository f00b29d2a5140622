/**
 * `GET /clinics/:code/patients?q=`: the front desk finds a clinic's patient by name, patient
 * number or phone (api.search_patients, trigram-indexed; staff of the clinic only, as the
 * caller so RLS applies), to register a walk-in for them or book for them. Contact details are
 * masked (private.patient_summary): enough to tell two records apart, no more.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { ClinicCode, Line, one } from "./_shared.ts";

export const PatientSummary = z.object({
  id: z.string(),
  patient_number: z.string().openapi({ example: "TP-P-000001" }),
  full_name: z.string(),
  date_of_birth: z.string().openapi({ format: "date" }),
  gender: z.enum(["male", "female", "other", "prefer_not_to_say"]),
  phone_masked: z.string().nullable().openapi({
    example: "•••• 4567",
    description: "The last four digits only (lists never carry full contact details)",
  }),
  email_masked: z.string().nullable().openapi({ example: "l•••@example.com" }),
  guardians: z.array(z.object({
    user_id: z.string(),
    full_name: z.string(),
    relationship: z.enum(["child", "parent", "spouse", "other"]),
    phone_masked: z.string().nullable(),
  })).optional().openapi({
    description: "The accounts that book for this patient (a parent, a child); always sent",
  }),
}).openapi("PatientSummary");

const Patients = z.object({ patients: z.array(PatientSummary) }).openapi("PatientSearch");

const searchRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/patients",
  tags: ["patients"],
  summary: "Find the clinic's patients by name, patient number or phone (staff)",
  description: "Matches `q` (at least two characters) anywhere in the name, the patient " +
    "number or the phone (typed with or without spaces); best name match first, exact patient " +
    "number first of all; at most `limit` (default 20, at most 50).",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({ code: ClinicCode.openapi({ param: { name: "code", in: "path" } }) }),
    query: z.object({
      q: Line.trim().min(2).max(100).openapi({ example: "lim" }),
      limit: z.coerce.number().int().min(1).max(50).optional(),
    }),
  },
  responses: {
    200: json(Patients, "Matching patients"),
    ...errors(400, 401, [403, "Not staff of this clinic (`forbidden`)"], 404),
  },
});

export const patients = new OpenAPIHono<AppEnv>().openapi(searchRoute, async (c) => {
  const { code } = c.req.valid("param");
  const { q, limit } = c.req.valid("query");
  const found = await c.get("db").run(async (tx) =>
    one<z.infer<typeof Patients>>(
      await tx`select api.search_patients(${code}, ${q}, ${limit ?? 20}) as r`,
    )
  );
  return c.json(found, 200);
});
