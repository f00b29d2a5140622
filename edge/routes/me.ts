/** `GET /me/queue`: the caller's ticket of today with position, people ahead and wait. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { ClinicCode } from "./_shared.ts";
import { Ticket, ticketColumnsOf, type TicketRow, withInfo } from "./queue_shared.ts";

const MyTicket = Ticket.extend({
  clinic_code: z.string(),
  clinic_name: z.string(),
}).openapi("MyQueueTicket");

const myQueueRoute = createRoute({
  method: "get",
  path: "/me/queue",
  tags: ["queue"],
  summary: "My ticket today: position, people ahead, estimated wait",
  description: "The caller's active ticket (waiting, called or serving) of today, earliest " +
    "check-in first, or null. `position` is the place in the clinic's line (as on the board); " +
    "`people_ahead` counts the waiting tickets the same doctor sees first; " +
    "`estimated_wait_minutes` = people ahead × the doctor's rolling mean consultation length " +
    "(last 20 consultations) + what remains of the current one. Filter with `clinic_code`.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { query: z.object({ clinic_code: ClinicCode.optional() }) },
  responses: {
    200: {
      description: "My ticket, or null",
      content: {
        "application/json": {
          // Not `MyTicket.nullable()`: on a schema extending another named one, the OpenAPI
          // generator puts the null inside MyQueueTicket's allOf, where it cannot match.
          schema: z.object({ ticket: z.union([MyTicket, z.null()]) }).openapi("MyQueue"),
        },
      },
    },
    ...errors([401, "Sign in first"]),
  },
});

export const me = new OpenAPIHono<AppEnv>().openapi(myQueueRoute, async (c) => {
  const { clinic_code } = c.req.valid("query");
  const ticket = await c.get("db").run(async (tx) => {
    const [row] = await tx<(TicketRow & { clinic_code: string; clinic_name: string })[]>`
      select ${tx.unsafe(ticketColumnsOf("t"))}, c.code as clinic_code, c.name as clinic_name
      from public.queue_tickets t
      join public.clinics c on c.id = t.clinic_id
      where t.patient_id in (select private.my_patient_ids())
        and t.service_date = private.clinic_today(t.clinic_id)
        and t.status in ('waiting', 'called', 'serving')
        and (${clinic_code?.toUpperCase() ?? null}::text is null
             or c.code = ${clinic_code?.toUpperCase() ?? null})
      order by t.checked_in_at, t.id
      limit 1`;
    if (!row) return null;
    return {
      ...await withInfo(tx, row),
      clinic_code: row.clinic_code,
      clinic_name: row.clinic_name,
    };
  });
  return c.json({ ticket }, 200);
});
