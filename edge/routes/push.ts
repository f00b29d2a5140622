/**
 * Web push subscriptions of the caller: subscribe this browser (upsert by endpoint), list,
 * unsubscribe — one `api.push_*` call each. The endpoint and key formats are checked by the
 * table's constraints (their one home, answered as a 400 naming the field); row-level security
 * keeps every statement to the caller's own rows.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { Line, one } from "./_shared.ts";

const PushSubscription = z.object({
  id: z.string(),
  endpoint: z.string(),
  user_agent: z.string().nullable(),
  created_at: z.string(),
  last_success_at: z.string().nullable(),
}).openapi("PushSubscription");

/** `PushSubscription.toJSON()` as the browser gives it; extra fields are ignored. */
const SubscribeBody = z.object({
  endpoint: Line.max(2048).openapi({ description: "The push service URL (https)" }),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    p256dh: z.string().max(200).openapi({
      description: "The browser's P-256 public key, base64url (65 bytes)",
    }),
    auth: z.string().max(100).openapi({ description: "The 16-byte auth secret, base64url" }),
  }),
}).openapi("PushSubscribeRequest");

const subscribeRoute = createRoute({
  method: "post",
  path: "/push/subscriptions",
  tags: ["notifications"],
  summary: "Subscribe this browser to web push (again: its keys are refreshed)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    body: { content: { "application/json": { schema: SubscribeBody } }, required: true },
  },
  responses: {
    200: {
      description: "The subscription",
      content: {
        "application/json": { schema: z.object({ subscription: PushSubscription }) },
      },
    },
    ...errors([400, "Invalid subscription"], [401, "Sign in first"]),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/push/subscriptions",
  tags: ["notifications"],
  summary: "My browsers subscribed to web push",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: {
    200: {
      description: "My subscriptions",
      content: {
        "application/json": {
          schema: z.object({ subscriptions: z.array(PushSubscription) }),
        },
      },
    },
    ...errors([401, "Sign in first"]),
  },
});

const unsubscribeRoute = createRoute({
  method: "delete",
  path: "/push/subscriptions/{id}",
  tags: ["notifications"],
  summary: "Unsubscribe one of my browsers from web push",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) }) },
  responses: {
    200: {
      description: "Deleted",
      content: { "application/json": { schema: z.object({ deleted: z.boolean() }) } },
    },
    ...errors([400, "Invalid id"], [401, "Sign in first"], [404, "No such subscription"]),
  },
});

export const push = new OpenAPIHono<AppEnv>()
  .openapi(subscribeRoute, async (c) => {
    const { endpoint, keys } = c.req.valid("json");
    const userAgent = c.req.header("user-agent") ?? null;
    const subscribed = await c.get("db").run(async (tx) =>
      one<{ subscription: z.infer<typeof PushSubscription> }>(
        await tx`select api.push_subscribe(${endpoint}, ${keys.p256dh}, ${keys.auth},
          ${userAgent}) as r`,
      )
    );
    return c.json(subscribed, 200);
  })
  .openapi(listRoute, async (c) => {
    const list = await c.get("db").run(async (tx) =>
      one<{ subscriptions: z.infer<typeof PushSubscription>[] }>(
        await tx`select api.push_subscriptions() as r`,
      )
    );
    return c.json(list, 200);
  })
  .openapi(unsubscribeRoute, async (c) => {
    const { id } = c.req.valid("param");
    const deleted = await c.get("db").run(async (tx) =>
      one<{ deleted: boolean }>(await tx`select api.push_unsubscribe(${id}::uuid) as r`)
    );
    return c.json(deleted, 200);
  });
