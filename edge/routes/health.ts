/**
 * `GET /health`: liveness and database reachability, and (under `deno task start`) which
 * notification channels have a transport: a channel that is `off` is never sent on.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";

const Health = z.object({
  status: z.enum(["healthy", "unhealthy"]),
  database: z.enum(["up", "down"]),
  time: z.string(),
  notify: z.record(z.string(), z.string()).optional().openapi({
    description: "Each channel's transport in this process's job worker, `off` where none " +
      "is configured (absent when the API runs without a worker)",
    example: { email: "smtp", sms: "off", whatsapp: "off", push: "off" },
  }),
}).openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["system"],
  summary: "Service health",
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: Health } } },
    503: {
      description: "Database unreachable",
      content: { "application/json": { schema: Health } },
    },
  },
});

export const health = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const time = new Date().toISOString();
  const { notify } = c.get("config");
  try {
    await c.get("db").run((tx) => tx`select 1`);
    return c.json({ status: "healthy" as const, database: "up" as const, time, notify }, 200);
  } catch {
    return c.json({ status: "unhealthy" as const, database: "down" as const, time, notify }, 503);
  }
});
