/**
 * `/clinics/:code/closures`: the clinic's admins close it on a range of dates (a holiday, a
 * renovation) or import a year's public holidays, list and remove closures. No start is
 * bookable on a closed day (private.slot_decisions decides); bookings already there are never
 * dropped — the answer lists them (the collisions of ./collisions.ts on those days) for the
 * admin to move or cancel there.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { ClinicCode, IsoDate, Line, one, Uuid } from "./_shared.ts";
import { Collision } from "./collisions.ts";

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});

const IdParams = CodeParam.extend({ id: Uuid.openapi({ param: { name: "id", in: "path" } }) });

const Closure = z.object({
  id: z.string(),
  starts_on: z.string(),
  ends_on: z.string(),
  reason: z.string(),
  holiday_country: z.string().nullable().openapi({
    description: "The country whose public holiday this is, when imported",
  }),
  created_at: z.string(),
}).openapi("Closure");

const Listed = Closure.extend({
  affected_appointments: z.number().int().openapi({
    description: "How many bookings are still on the closure's days",
  }),
}).openapi("ClosureInfo");

const Added = z.object({
  closure: Closure,
  affected_appointments: z.array(Collision).openapi({
    description: "Bookings on the closed days: still booked, to be moved or cancelled",
  }),
}).openapi("ClosureAdded");

const Imported = z.object({
  closures: z.array(Closure).openapi({ description: "The closures added (known days skipped)" }),
  affected_appointments: z.array(Collision),
}).openapi("HolidaysImported");

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/closures",
  tags: ["clinics"],
  summary: "The clinic's closures by first day (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    query: z.object({
      from: IsoDate.optional().openapi({ description: "Only closures ending on or after it" }),
    }),
  },
  responses: {
    200: {
      description: "Closures",
      content: {
        "application/json": {
          schema: z.object({ closures: z.array(Listed) }).openapi("Closures"),
        },
      },
    },
    ...errors(400, 401, 403, 404),
  },
});

const addRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/closures",
  tags: ["clinics"],
  summary: "Close the clinic from one date to another, inclusive (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: {
      content: {
        "application/json": {
          schema: z.strictObject({
            starts_on: IsoDate,
            ends_on: IsoDate.optional().openapi({ description: "Default: starts_on" }),
            reason: Line.trim().min(1).max(100),
          }).openapi("ClosureRequest"),
        },
      },
      required: true,
    },
  },
  responses: {
    201: { description: "Closed", content: { "application/json": { schema: Added } } },
    ...errors(400, 401, 403, 404, [409, "Already closed on those dates"], [
      422,
      "Ends before it starts, or lasts over a year",
    ]),
  },
});

const removeRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/closures/{id}",
  tags: ["clinics"],
  summary: "Remove a closure: its days are open again (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: IdParams },
  responses: { 204: { description: "Removed" }, ...errors(400, 401, 403, 404) },
});

const importRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/closures/public-holidays",
  tags: ["clinics"],
  summary: "Close the clinic on a year's public holidays (admins; importing twice adds nothing)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: {
      content: {
        "application/json": {
          schema: z.strictObject({
            year: z.number().int().min(2000).max(2100),
            country: z.literal("SG").optional().openapi({ description: "Default: SG" }),
          }).openapi("HolidayImportRequest"),
        },
      },
      required: true,
    },
  },
  responses: {
    200: { description: "Imported", content: { "application/json": { schema: Imported } } },
    ...errors(400, 401, 403, 404, [422, "No holidays on record for that year"]),
  },
});

export const closures = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { from } = c.req.valid("query");
    const list = await c.get("db").run(async (tx) =>
      one(await tx`select api.list_closures(${code}, ${from ?? null}::date) as r`)
    );
    return c.json({ closures: list as z.infer<typeof Listed>[] }, 200);
  })
  .openapi(addRoute, async (c) => {
    const { code } = c.req.valid("param");
    const body = c.req.valid("json");
    const added = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.add_closure(${code}, ${body.starts_on}::date,
          ${body.ends_on ?? body.starts_on}::date, ${body.reason}) as r`,
      )
    );
    return c.json(added as z.infer<typeof Added>, 201);
  })
  .openapi(removeRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.remove_closure(${code}, ${id}::uuid)`);
    return c.body(null, 204);
  })
  .openapi(importRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { year, country } = c.req.valid("json");
    const imported = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.import_public_holidays(${code}, ${year}::int,
          ${country ?? "SG"}) as r`,
      )
    );
    return c.json(imported as z.infer<typeof Imported>, 200);
  });
