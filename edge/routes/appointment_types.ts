/**
 * `/clinics/:code/appointment-types`: what a visit can be (a consultation, a health screening,
 * a vaccination) — its length, colour, who may book it and which doctors offer it. Anyone
 * lists the types patients may book; the clinic's staff list all; its admins add, change,
 * deactivate and delete (only a type no appointment has) them, every change audited. The
 * rules live in supabase/migrations/20261207000300_appointment_types.sql.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { ClinicCode, Line, one, TypeCode, Uuid } from "./_shared.ts";

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});

const TypeParams = CodeParam.extend({
  type: TypeCode.openapi({ param: { name: "type", in: "path" } }),
});

const AppointmentType = z.object({
  code: z.string().openapi({ example: "health_screening" }),
  name: z.string().openapi({ example: "Health screening" }),
  duration_minutes: z.number().int().nullable().openapi({
    description: "The visit's length; null: each doctor's slot length",
    example: 45,
  }),
  colour: z.string().openapi({ example: "#0d9488" }),
  bookable_by: z.enum(["patients", "staff"]),
  active: z.boolean(),
  all_doctors: z.boolean().openapi({ description: "Every doctor of the clinic offers it" }),
  doctor_ids: z.array(z.string()).openapi({
    description: "The doctors who offer it (when not all do)",
  }),
}).openapi("AppointmentType");

const Name = Line.trim().min(1).max(80);
const Duration = z.number().int().min(5).max(240);
const Colour = z.string().regex(/^#[0-9A-Fa-f]{6}$/, "Use a colour as #rrggbb");
const BookableBy = z.enum(["patients", "staff"]);
const DoctorIds = z.array(Uuid).max(200);

const CreateBody = z.strictObject({
  code: TypeCode,
  name: Name,
  duration_minutes: Duration.optional().openapi({
    description: "Default: each doctor's slot length",
  }),
  colour: Colour.optional().openapi({ description: "Default: #2563eb" }),
  bookable_by: BookableBy.optional().openapi({ description: "Default: patients" }),
  all_doctors: z.boolean().optional().openapi({
    description: "Default: true, unless `doctor_ids` is given",
  }),
  doctor_ids: DoctorIds.optional(),
}).openapi("AppointmentTypeRequest");

const UpdateBody = z.strictObject({
  name: Name.optional(),
  duration_minutes: Duration.nullable().optional(),
  colour: Colour.optional(),
  bookable_by: BookableBy.optional(),
  active: z.boolean().optional(),
  all_doctors: z.boolean().optional(),
  doctor_ids: DoctorIds.optional().openapi({ description: "Replaces the set" }),
}).openapi("AppointmentTypeChanges");

const Listed = z.object({ appointment_types: z.array(AppointmentType) }).openapi(
  "AppointmentTypes",
);

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/appointment-types",
  tags: ["clinics"],
  summary: "The clinic's appointment types: those patients may book, or all for its staff",
  description: "`consultation` first, then by name. The default type of every slots, hold " +
    "and booking request that names none is `consultation`.",
  request: { params: CodeParam },
  responses: {
    200: { description: "Types", content: { "application/json": { schema: Listed } } },
    ...errors(400, 401, 404),
  },
});

const createTypeRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/appointment-types",
  tags: ["clinics"],
  summary: "Add an appointment type (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: { content: { "application/json": { schema: CreateBody } }, required: true },
  },
  responses: {
    201: { description: "Added", content: { "application/json": { schema: AppointmentType } } },
    ...errors(400, 401, 403, 404, [409, "The clinic already has that code"], [
      422,
      "A doctor of `doctor_ids` is not the clinic's",
    ]),
  },
});

const updateRoute = createRoute({
  method: "patch",
  path: "/clinics/{code}/appointment-types/{type}",
  tags: ["clinics"],
  summary: "Change an appointment type, deactivate it (`active: false`) or set its doctors " +
    "(admins)",
  description: "The code never changes. `consultation` stays active and bookable by patients " +
    "(422 `default_type`).",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: TypeParams,
    body: { content: { "application/json": { schema: UpdateBody } }, required: true },
  },
  responses: {
    200: { description: "Changed", content: { "application/json": { schema: AppointmentType } } },
    ...errors(400, 401, 403, 404, 422),
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/appointment-types/{type}",
  tags: ["clinics"],
  summary: "Delete an appointment type no appointment has (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: TypeParams },
  responses: {
    204: { description: "Deleted" },
    ...errors(400, 401, 403, 404, [409, "Appointments have it: deactivate it instead"], [
      422,
      "The consultation cannot be deleted",
    ]),
  },
});

type Type = z.infer<typeof AppointmentType>;

export const appointmentTypes = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const list = await c.get("db").run(async (tx) =>
      one(await tx`select api.appointment_types(${code}) as r`)
    );
    return c.json({ appointment_types: list as Type[] }, 200);
  })
  .openapi(createTypeRoute, async (c) => {
    const { code } = c.req.valid("param");
    const body = c.req.valid("json");
    const added = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.create_appointment_type(${code},
          ${tx.json(body as postgres.JSONValue)}) as r`,
      )
    );
    return c.json(added as Type, 201);
  })
  .openapi(updateRoute, async (c) => {
    const { code, type } = c.req.valid("param");
    const body = c.req.valid("json");
    const changed = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.update_appointment_type(${code}, ${type},
          ${tx.json(body as postgres.JSONValue)}) as r`,
      )
    );
    return c.json(changed as Type, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { code, type } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.delete_appointment_type(${code}, ${type})`);
    return c.body(null, 204);
  });
