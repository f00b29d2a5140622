/**
 * In-app notifications of the caller: list (newest first, cursor paging), unread count, mark
 * one read, mark all read. Row-level security limits every statement to the caller's own rows
 * (and only `read_at` is writable); realtime streams new rows to the owner only.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { apiError } from "../errors.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { iso } from "./queue_shared.ts";

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

interface Row {
  id: string;
  clinic_id: string;
  kind: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  read_at: Date | null;
  created_at: Date;
}

const toJson = (r: Row) => ({
  id: r.id,
  clinic_id: r.clinic_id,
  kind: r.kind,
  title: r.title,
  body: r.body,
  data: r.data ?? {},
  read_at: iso(r.read_at),
  created_at: iso(r.created_at)!,
});

/** Cursor: the last row's created_at in microseconds since the epoch, and its id. */
const encodeCursor = (r: Row & { cursor_us: string }) => btoa(`${r.cursor_us}|${r.id}`);
function decodeCursor(cursor: string): { us: string; id: string } {
  try {
    const [us, id] = atob(cursor).split("|");
    if (/^\d{1,19}$/.test(us) && /^[0-9a-f-]{36}$/i.test(id ?? "")) return { us, id };
  } catch { /* fall through */ }
  throw apiError(400, "invalid_request", "The cursor is invalid", [
    { path: "cursor", message: "Invalid cursor" },
  ]);
}

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
          schema: z.object({
            notifications: z.array(Notification),
            unread_count: z.number().int(),
            next_cursor: z.string().nullable(),
          }),
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

const columns = "id, clinic_id, kind, title, body, data, read_at, created_at";

export const notifications = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { limit, cursor, unread } = c.req.valid("query");
    const after = cursor ? decodeCursor(cursor) : null;
    const uid = c.get("claims").sub!;
    const result = await c.get("db").run(async (tx) => {
      const rows = await tx<(Row & { cursor_us: string })[]>`
        select ${tx.unsafe(columns)},
               (extract(epoch from created_at) * 1000000)::bigint::text as cursor_us
        from public.notifications
        where user_id = ${uid}
          and (${unread === "true"} = false or read_at is null)
          and (${after?.us ?? null}::bigint is null
               or (created_at, id) < ('epoch'::timestamptz
                                        + ${after?.us ?? null}::bigint * interval '1 microsecond',
                                      ${after?.id ?? null}::uuid))
        order by created_at desc, id desc
        limit ${limit + 1}`;
      const [{ count }] = await tx`
        select count(*)::integer as count from public.notifications
        where user_id = ${uid} and read_at is null`;
      return { rows, count: count as number };
    });
    const page = result.rows.slice(0, limit);
    return c.json({
      notifications: page.map(toJson),
      unread_count: result.count,
      next_cursor: result.rows.length > limit ? encodeCursor(page[page.length - 1]) : null,
    }, 200);
  })
  .openapi(unreadRoute, async (c) => {
    const uid = c.get("claims").sub!;
    const count = await c.get("db").run(async (tx) => {
      const [row] = await tx`
        select count(*)::integer as count from public.notifications
        where user_id = ${uid} and read_at is null`;
      return row.count as number;
    });
    return c.json({ count }, 200);
  })
  .openapi(readRoute, async (c) => {
    const { id } = c.req.valid("param");
    const row = await c.get("db").run(async (tx) => {
      const [updated] = await tx<Row[]>`
        update public.notifications set read_at = coalesce(read_at, now())
        where id = ${id}
        returning ${tx.unsafe(columns)}`;
      return updated;
    });
    if (!row) throw apiError(404, "not_found", "No such notification");
    return c.json({ notification: toJson(row) }, 200);
  })
  .openapi(readAllRoute, async (c) => {
    const uid = c.get("claims").sub!;
    const updated = await c.get("db").run(async (tx) => {
      const result = await tx`
        update public.notifications set read_at = now()
        where user_id = ${uid} and read_at is null`;
      return result.count;
    });
    return c.json({ updated }, 200);
  });
