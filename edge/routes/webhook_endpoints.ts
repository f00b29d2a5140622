/**
 * `/clinics/{code}/webhook-endpoints`: a clinic's admins register the URLs our outbound events
 * go to. The signing secret (`whsec_` + 32 random bytes) is shown once, at creation and at
 * rotation; rotation keeps the old secret signing (a second signature) for a grace period.
 * Deliveries and their attempts can be inspected, and a failed one sent again (audited).
 * The URL is checked here (configuration and the SSRF guard); everything else — the admin check
 * included — is one `api.webhook_*` call as the caller.
 *
 * @module
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import type { WebhookConfig } from "../config.ts";
import { apiError } from "../errors.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { ClinicCode, FreeText, Line, one } from "./_shared.ts";
import { checkDestination, generateSecret, parseIp } from "../webhooks/mod.ts";
import { ALL_EVENTS, OUTBOUND_EVENT_TYPES } from "../webhooks/outbound/events.ts";

const adminErrors = errors(
  [400, "Invalid request (`invalid_request`, `invalid_url`)"],
  401,
  [403, "Not an admin of this clinic (`not_clinic_admin`)"],
  [404, "No such clinic or endpoint"],
);

const Endpoint = z.object({
  id: z.string(),
  clinic_id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  disabled_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
  failing_since: z.string().nullable(),
  previous_secret_expires_at: z.string().nullable().openapi({
    description: "While set and in the future, deliveries carry a second signature made with " +
      "the previous secret",
  }),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("WebhookEndpoint");

const EventName = z.string().refine(
  (e) => e === ALL_EVENTS || (OUTBOUND_EVENT_TYPES as readonly string[]).includes(e),
  { message: `Use ${ALL_EVENTS} or one of: ${OUTBOUND_EVENT_TYPES.join(", ")}` },
);

const CreateBody = z.object({
  url: Line.min(1).max(2000),
  events: z.array(EventName).min(1).max(50),
  description: FreeText.max(500).optional(),
}).openapi("WebhookEndpointCreate");

const UpdateBody = z.object({
  url: Line.min(1).max(2000).optional(),
  events: z.array(EventName).min(1).max(50).optional(),
  description: FreeText.max(500).nullable().optional(),
  enabled: z.boolean().optional(),
  rotate_secret: z.boolean().optional(),
  grace_period_hours: z.number().int().min(0).max(24 * 14).optional().openapi({
    description: "How long the previous secret keeps signing after a rotation (default 24)",
  }),
}).openapi("WebhookEndpointUpdate");

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});
const EndpointParams = CodeParam.extend({
  id: z.uuid().openapi({ param: { name: "id", in: "path" } }),
});
const DeliveryParams = EndpointParams.extend({
  delivery_id: z.uuid().openapi({ param: { name: "delivery_id", in: "path" } }),
});

const tags = ["webhooks"];

const createEndpointRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/webhook-endpoints",
  tags,
  summary: "Register a webhook endpoint (clinic admin); the secret is shown only here",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: { content: { "application/json": { schema: CreateBody } }, required: true },
  },
  responses: {
    201: json(
      z.object({ endpoint: Endpoint, secret: z.string() }).openapi("WebhookEndpointCreated"),
      "Registered",
    ),
    ...adminErrors,
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/webhook-endpoints",
  tags,
  summary: "The clinic's webhook endpoints (clinic admin)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: CodeParam },
  responses: {
    200: json(z.object({ endpoints: z.array(Endpoint) }).openapi("WebhookEndpoints"), "List"),
    ...adminErrors,
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/webhook-endpoints/{id}",
  tags,
  summary: "One webhook endpoint (clinic admin)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: EndpointParams },
  responses: { 200: json(z.object({ endpoint: Endpoint }), "The endpoint"), ...adminErrors },
});

const updateRoute = createRoute({
  method: "patch",
  path: "/clinics/{code}/webhook-endpoints/{id}",
  tags,
  summary: "Change, enable/disable, or rotate the secret of an endpoint (clinic admin)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: EndpointParams,
    body: { content: { "application/json": { schema: UpdateBody } }, required: true },
  },
  responses: {
    200: json(
      z.object({ endpoint: Endpoint, secret: z.string().optional() }).openapi(
        "WebhookEndpointUpdated",
      ),
      "Updated; `secret` only after a rotation",
    ),
    ...adminErrors,
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/webhook-endpoints/{id}",
  tags,
  summary: "Remove an endpoint and its delivery history (clinic admin)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: EndpointParams },
  responses: { 204: { description: "Removed" }, ...adminErrors },
});

const Attempt = z.object({
  attempted_at: z.string(),
  status_code: z.number().nullable(),
  duration_ms: z.number().nullable(),
  response_body: z.string().nullable(),
  error: z.string().nullable(),
});
const Delivery = z.object({
  id: z.string(),
  event_id: z.string(),
  webhook_id: z.string(),
  event_type: z.string(),
  status: z.string(),
  attempts: z.number(),
  next_attempt_at: z.string(),
  last_status_code: z.number().nullable(),
  last_error: z.string().nullable(),
  succeeded_at: z.string().nullable(),
  created_at: z.string(),
  attempt_log: z.array(Attempt),
}).openapi("WebhookDelivery");

const deliveriesRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/webhook-endpoints/{id}/deliveries",
  tags,
  summary: "Recent deliveries to an endpoint with each attempt (clinic admin)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: EndpointParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).optional() }),
  },
  responses: {
    200: json(z.object({ deliveries: z.array(Delivery) }).openapi("WebhookDeliveries"), "List"),
    ...adminErrors,
  },
});

const retryRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/webhook-endpoints/{id}/deliveries/{delivery_id}/retry",
  tags,
  summary: "Send a dead, failed or cancelled delivery again (clinic admin; audited)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: DeliveryParams },
  responses: {
    200: json(z.object({ id: z.string(), status: z.literal("pending") }), "Queued"),
    ...adminErrors,
    ...errors([
      409,
      "Still pending or already succeeded (`not_retryable`), or the endpoint is disabled " +
      "(`endpoint_disabled`)",
    ]),
  },
});

// ---------------------------------------------------------------------------------------

function webhookConfig(c: Context<AppEnv>): WebhookConfig {
  return c.get("config").webhooks;
}

/**
 * A URL we may deliver to: http(s), no credentials; https in production unless the host is
 * allow-listed; an IP literal or localhost must pass the SSRF guard now (names are checked at
 * every delivery, after DNS resolution).
 */
async function checkUrl(c: Context<AppEnv>, url: string): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw apiError(400, "invalid_url", "Not a valid URL");
  }
  const config = webhookConfig(c);
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw apiError(400, "invalid_url", "Use an https:// URL");
  }
  if (parsed.username || parsed.password) {
    throw apiError(400, "invalid_url", "Credentials in the URL are not allowed");
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const allowListed = config.allowHosts.some((h) => h.toLowerCase() === host);
  if (c.get("config").env === "production" && parsed.protocol !== "https:" && !allowListed) {
    throw apiError(400, "invalid_url", "Use an https:// URL");
  }
  if (parseIp(host) || host === "localhost" || host.endsWith(".localhost")) {
    const checked = await checkDestination(parsed, {
      allow: config.allowHosts,
      resolve: () => Promise.reject(new Error("no lookup")),
    });
    if (!checked.ok) {
      throw apiError(400, "invalid_url", "That address is not reachable for webhooks", {
        reason: checked.code,
      });
    }
  }
  return parsed.href;
}

type EndpointJson = z.infer<typeof Endpoint>;

export const webhookEndpoints = new OpenAPIHono<AppEnv>()
  .openapi(createEndpointRoute, async (c) => {
    const { code } = c.req.valid("param");
    const body = c.req.valid("json");
    const url = await checkUrl(c, body.url);
    const secret = generateSecret(32);
    const created = await c.get("db").run(async (tx) =>
      one<{ endpoint: EndpointJson; secret: string }>(
        await tx`select api.webhook_endpoint_create(${code}, ${url}, ${body.events}::text[],
          ${body.description ?? null}, ${secret}) as r`,
      )
    );
    return c.json(created, 201);
  })
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const list = await c.get("db").run(async (tx) =>
      one<{ endpoints: EndpointJson[] }>(await tx`select api.webhook_endpoints(${code}) as r`)
    );
    return c.json(list, 200);
  })
  .openapi(getRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const found = await c.get("db").run(async (tx) =>
      one<{ endpoint: EndpointJson }>(
        await tx`select api.webhook_endpoint(${code}, ${id}::uuid) as r`,
      )
    );
    return c.json(found, 200);
  })
  .openapi(updateRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const body = c.req.valid("json");
    const url = body.url === undefined ? undefined : await checkUrl(c, body.url);
    const secret = body.rotate_secret ? generateSecret(32) : null;
    const graceHours = body.grace_period_hours ?? webhookConfig(c).rotationGraceHours;
    // Absent keys stay as they are (JSON drops undefined); a null description clears it.
    const changes = {
      url,
      events: body.events,
      description: body.description,
      enabled: body.enabled,
    };
    const updated = await c.get("db").run(async (tx) =>
      one<{ endpoint: EndpointJson; secret?: string }>(
        await tx`select api.webhook_endpoint_update(${code}, ${id}::uuid,
          ${tx.json(changes as postgres.JSONValue)}::jsonb, ${secret}, ${graceHours * 3600}) as r`,
      )
    );
    return c.json(updated, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.webhook_endpoint_delete(${code}, ${id}::uuid)`);
    return c.body(null, 204);
  })
  .openapi(deliveriesRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    const list = await c.get("db").run(async (tx) =>
      one<{ deliveries: z.infer<typeof Delivery>[] }>(
        await tx`select api.webhook_deliveries(${code}, ${id}::uuid, ${
          limit ?? null
        }::integer) as r`,
      )
    );
    return c.json(list, 200);
  })
  .openapi(retryRoute, async (c) => {
    const { code, id, delivery_id } = c.req.valid("param");
    const queued = await c.get("db").run(async (tx) =>
      one<{ id: string; status: "pending" }>(
        await tx`select api.webhook_delivery_retry(${code}, ${id}::uuid, ${delivery_id}) as r`,
      )
    );
    return c.json(queued, 200);
  });
