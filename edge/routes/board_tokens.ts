/**
 * `/clinics/:code/board-tokens`: staff issue waiting-room TV tokens; the clinic's admins list,
 * relabel and revoke them. A board token is a JWT (role anon, aud `board`) whose `sub` is the
 * board_tokens row, so it reads that clinic's PII-free board and nothing else, and can be
 * revoked: its snapshot reads fail at once and its realtime stream stops at the next change.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { ClinicCode, Line, one, Uuid } from "./_shared.ts";

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});

const Issued = z.object({
  token: z.string(),
  id: z.string(),
  clinic_id: z.string(),
  clinic_code: z.string(),
  label: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
}).openapi("BoardToken");

const Listed = z.object({
  id: z.string(),
  label: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_seen_at: z.string().nullable().openapi({
    description: "When a board last read its snapshot with this token (to the minute)",
  }),
}).openapi("BoardTokenInfo");

const List = z.object({ board_tokens: z.array(Listed) }).openapi("BoardTokens");

const Label = Line.trim().min(1).max(100);

const IdParams = CodeParam.extend({ id: Uuid.openapi({ param: { name: "id", in: "path" } }) });

const issueRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/board-tokens",
  tags: ["board"],
  summary: "Issue a TV board token for the clinic (staff)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: {
      content: {
        "application/json": {
          schema: z.object({
            label: Label.optional(),
            expires_in_days: z.number().int().min(1).max(3650).optional(),
          }).openapi("BoardTokenRequest"),
        },
      },
      required: false,
    },
  },
  responses: {
    201: { description: "Issued", content: { "application/json": { schema: Issued } } },
    ...errors(400, 401, 403, 404),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/board-tokens",
  tags: ["board"],
  summary: "The clinic's board tokens, newest first, with their last-seen time (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: CodeParam },
  responses: {
    200: { description: "Tokens", content: { "application/json": { schema: List } } },
    ...errors(400, 401, 403, 404),
  },
});

const labelRoute = createRoute({
  method: "patch",
  path: "/clinics/{code}/board-tokens/{id}",
  tags: ["board"],
  summary: 'Rename a board token, e.g. "Lobby TV 2" (admins)',
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: IdParams,
    body: {
      content: {
        "application/json": {
          schema: z.object({ label: Label }).openapi("BoardTokenLabel"),
        },
      },
      required: true,
    },
  },
  responses: {
    200: { description: "Renamed", content: { "application/json": { schema: Listed } } },
    ...errors(400, 401, 403, 404),
  },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/board-tokens/{id}",
  tags: ["board"],
  summary: "Revoke a board token (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: IdParams },
  responses: { 204: { description: "Revoked" }, ...errors(400, 401, 403, 404) },
});

type Row = Omit<z.infer<typeof Issued>, "token">;

export const boardTokens = new OpenAPIHono<AppEnv>()
  .openapi(issueRoute, async (c) => {
    const { code } = c.req.valid("param");
    let body: { label?: string; expires_in_days?: number } = {};
    if ((c.req.header("content-type") ?? "").includes("application/json")) {
      body = c.req.valid("json") ?? {};
    }
    const expiresAt = body.expires_in_days
      ? new Date(Date.now() + body.expires_in_days * 86_400_000)
      : undefined;
    const row = await c.get("db").run(async (tx) =>
      one<Row>(
        await tx`select api.issue_board_token(${code}, ${body.label ?? null},
          ${expiresAt?.toISOString() ?? null}::timestamptz) as r`,
      )
    );
    const token = await c.get("tokens").signBoard(row.id, row.clinic_id, expiresAt);
    return c.json({ token, ...row }, 201);
  })
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const list = await c.get("db").run(async (tx) =>
      one(await tx`select api.list_board_tokens(${code}) as r`)
    );
    return c.json({ board_tokens: list as z.infer<typeof Listed>[] }, 200);
  })
  .openapi(labelRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { label } = c.req.valid("json");
    const row = await c.get("db").run(async (tx) =>
      one(await tx`select api.label_board_token(${code}, ${id}::uuid, ${label}) as r`)
    );
    return c.json(row as z.infer<typeof Listed>, 200);
  })
  .openapi(revokeRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.revoke_board_token(${code}, ${id}::uuid)`);
    return c.body(null, 204);
  });
