/**
 * `GET /me/queue`: the caller's (else a dependant's) ticket of today with position, people ahead
 * and wait.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { ClinicCode, one } from "./_shared.ts";
import { Ticket } from "./queue_shared.ts";

const MyTicket = Ticket.extend({
  clinic_code: z.string(),
  clinic_name: z.string(),
  patient_name: z.string().openapi({ description: "Whose ticket it is" }),
  for_dependant: z.boolean().openapi({
    description: "A ticket of someone I look after (a dependant), not mine",
  }),
}).openapi("MyQueueTicket");

// Not `MyTicket.nullable()`: on a schema extending another named one, the OpenAPI generator
// puts the null inside MyQueueTicket's allOf, where it cannot match.
const MyQueue = z.object({ ticket: z.union([MyTicket, z.null()]) }).openapi("MyQueue");

const myQueueRoute = createRoute({
  method: "get",
  path: "/me/queue",
  tags: ["queue"],
  summary: "My ticket today: position, people ahead, estimated wait",
  description: "The caller's active ticket (waiting, called or serving) of today, earliest " +
    "check-in first — their own before a dependant's (`for_dependant`) — or null. `position` is the place in the clinic's line (as on the board); " +
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
        "application/json": { schema: MyQueue },
      },
    },
    ...errors([401, "Sign in first"]),
  },
});

export const me = new OpenAPIHono<AppEnv>().openapi(myQueueRoute, async (c) => {
  const { clinic_code } = c.req.valid("query");
  const mine = await c.get("db").run(async (tx) =>
    one<z.infer<typeof MyQueue>>(await tx`select api.my_queue(${clinic_code ?? null}) as r`)
  );
  return c.json(mine, 200);
});
