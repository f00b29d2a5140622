/** `GET /health`: liveness and database reachability. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";

const Health = z.object({
  status: z.enum(["healthy", "unhealthy"]),
  database: z.enum(["up", "down"]),
  time: z.string(),
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
  try {
    await c.get("db").run((tx) => tx`select 1`);
    return c.json({ status: "healthy" as const, database: "up" as const, time }, 200);
  } catch {
    return c.json({ status: "unhealthy" as const, database: "down" as const, time }, 503);
  }
});
