/** `GET /config` (public): what supabase-js and the PWA need to connect. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";

const PublicConfig = z.object({
  anon_key: z.string().openapi({ description: "JWT with role anon" }),
  realtime_path: z.string(),
  environment: z.string(),
  vapid_public_key: z.string().nullable().openapi({
    description: "Web push application server key (base64url) for PushManager.subscribe; " +
      "null when web push is off",
  }),
}).openapi("PublicConfig");

const route = createRoute({
  method: "get",
  path: "/config",
  tags: ["system"],
  summary: "Public client configuration",
  responses: {
    200: {
      description: "Configuration",
      content: { "application/json": { schema: PublicConfig } },
    },
  },
});

let cachedAnonKey: { secret: string; key: Promise<string> } | undefined;

export const publicConfig = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  if (cachedAnonKey?.secret !== c.get("config").jwtSecret) {
    cachedAnonKey = { secret: c.get("config").jwtSecret, key: c.get("tokens").signAnonKey() };
  }
  c.header("cache-control", "public, max-age=300");
  return c.json({
    anon_key: await cachedAnonKey.key,
    realtime_path: "/realtime/v1",
    environment: c.get("config").env,
    vapid_public_key: c.get("config").vapidPublicKey ?? null,
  }, 200);
});
