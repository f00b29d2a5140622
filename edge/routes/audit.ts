/**
 * `/clinics/{code}/audit`: a clinic's admins read who changed what, newest first, filtered by
 * table, actor, patient and date, one keyset page at a time. The audit log's policy decides
 * what is shown (an entry about health data only to an admin who may read that record), so the
 * handler is one `api.audit_entries` call as the caller.
 *
 * @module
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { ClinicCode, IsoDate, one, Uuid } from "./_shared.ts";

const Entry = z.object({
  id: z.string(),
  at: z.string(),
  table: z.string(),
  record_id: z.string().nullable(),
  action: z.enum(["INSERT", "UPDATE", "DELETE"]),
  actor: z.object({
    id: z.string(),
    role: z.string().nullable(),
    name: z.string().nullable(),
    email: z.string().nullable(),
  }).nullable().openapi({ description: "Null for changes made by the system (jobs, sweeps)" }),
  patient_id: z.string().nullable(),
  changed_fields: z.array(z.string()).nullable(),
  old_values: z.record(z.string(), z.unknown()).nullable(),
  new_values: z.record(z.string(), z.unknown()).nullable(),
}).openapi("AuditEntry");

const Page = z.object({
  entries: z.array(Entry),
  next_cursor: z.string().nullable().openapi({
    description: "Pass as `before` for the next (older) page; null on the last page",
  }),
}).openapi("AuditPage");

const Query = z.object({
  table: z.string().regex(/^[a-z_]{1,63}$/, "A table name such as appointments").optional(),
  actor: Uuid.optional(),
  patient: Uuid.optional(),
  from: IsoDate.optional().openapi({ description: "First day (clinic's time zone)" }),
  to: IsoDate.optional().openapi({ description: "Last day, inclusive (clinic's time zone)" }),
  before: z.string().max(40).optional().openapi({ description: "A previous page's cursor" }),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/audit",
  tags: ["audit"],
  summary: "The clinic's audit entries, newest first (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({ code: ClinicCode.openapi({ param: { name: "code", in: "path" } }) }),
    query: Query,
  },
  responses: {
    200: json(Page, "One page"),
    ...errors(
      [400, "Invalid filter (`invalid_request`, `invalid_range`, `invalid_cursor`)"],
      401,
      [403, "Not an admin of this clinic (`not_clinic_admin`)"],
      [404, "No such clinic"],
    ),
  },
});

export const audit = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const q = c.req.valid("query");
    const page = await c.get("db").run(async (tx) =>
      one<z.infer<typeof Page>>(
        await tx`select api.audit_entries(${code}, ${q.table ?? null}, ${q.actor ?? null}::uuid,
          ${q.patient ?? null}::uuid, ${q.from ?? null}::date, ${q.to ?? null}::date,
          ${q.before ?? null}, ${q.limit ?? null}::integer) as r`,
      )
    );
    return c.json(page, 200);
  });
