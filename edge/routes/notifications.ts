/**
 * In-app notifications of the caller: list (newest first, cursor paging), unread count, mark
 * one read, mark all read — one `api.notification*` call each. Row-level security limits every
 * statement to the caller's own rows (and only `read_at` is writable); realtime streams new
 * rows to the owner only.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { one } from "./_shared.ts";

const Notification = z.object({
  id: z.string(),
  clinic_id: z.string(),
  kind: z.string().openapi({
    description: "booking_confirmed, booking_rescheduled, booking_cancelled, " +
      "appointment_reminder, ticket_called, queue_near",
  }),
  title: z.string(),
  body: z.string().openapi({ description: "Times in it are clinic-local" }),
  data: z.record(z.string(), z.unknown()),
  read_at: z.string().nullable(),
  created_at: z.string(),
}).openapi("Notification");

const Page = z.object({
  notifications: z.array(Notification),
  unread_count: z.number().int(),
  next_cursor: z.string().nullable(),
});

const listRoute = createRoute({
  method: "get",
  path: "/notifications",
  tags: ["notifications"],
  summary: "My notifications, newest first",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(200).optional().openapi({
        description: "`next_cursor` of the previous page",
      }),
      unread: z.enum(["true", "false"]).optional().openapi({
        description: "`true`: unread only",
      }),
    }),
  },
  responses: {
    200: {
      description: "A page of notifications",
      content: {
        "application/json": {
          schema: Page,
        },
      },
    },
    ...errors([400, "Invalid request"], [401, "Sign in first"]),
  },
});

const unreadRoute = createRoute({
  method: "get",
  path: "/notifications/unread-count",
  tags: ["notifications"],
  summary: "How many of my notifications are unread",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: {
    200: {
      description: "Unread count",
      content: { "application/json": { schema: z.object({ count: z.number().int() }) } },
    },
    ...errors([401, "Sign in first"]),
  },
});

const readRoute = createRoute({
  method: "post",
  path: "/notifications/{id}/read",
  tags: ["notifications"],
  summary: "Mark one notification read",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) }) },
  responses: {
    200: {
      description: "The notification",
      content: { "application/json": { schema: z.object({ notification: Notification }) } },
    },
    ...errors([400, "Invalid id"], [401, "Sign in first"], [404, "No such notification"]),
  },
});

const readAllRoute = createRoute({
  method: "post",
  path: "/notifications/read-all",
  tags: ["notifications"],
  summary: "Mark all my notifications read",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: {
    200: {
      description: "How many were marked",
      content: { "application/json": { schema: z.object({ updated: z.number().int() }) } },
    },
    ...errors([401, "Sign in first"]),
  },
});

export const notifications = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { limit, cursor, unread } = c.req.valid("query");
    const page = await c.get("db").run(async (tx) =>
      one<z.infer<typeof Page>>(
        await tx`select api.notifications(${limit}, ${cursor ?? null}, ${unread === "true"}) as r`,
      )
    );
    return c.json(page, 200);
  })
  .openapi(unreadRoute, async (c) => {
    const unread = await c.get("db").run(async (tx) =>
      one<{ count: number }>(await tx`select api.notifications_unread_count() as r`)
    );
    return c.json(unread, 200);
  })
  .openapi(readRoute, async (c) => {
    const { id } = c.req.valid("param");
    const read = await c.get("db").run(async (tx) =>
      one<{ notification: z.infer<typeof Notification> }>(
        await tx`select api.notification_read(${id}::uuid) as r`,
      )
    );
    return c.json(read, 200);
  })
  .openapi(readAllRoute, async (c) => {
    const updated = await c.get("db").run(async (tx) =>
      one<{ updated: number }>(await tx`select api.notifications_read_all() as r`)
    );
    return c.json(updated, 200);
  });
