/**
 * `/clinics/{code}/webhook-endpoints`: a clinic's admins register the URLs our outbound events
 * go to. The signing secret (`whsec_` + 32 random bytes) is shown once, at creation and at
 * rotation; rotation keeps the old secret signing (a second signature) for a grace period.
 * Deliveries and their attempts can be inspected, and a failed one sent again (audited).
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
import { ClinicCode, FreeText, Line } from "./_shared.ts";
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

type Tx = postgres.TransactionSql;

/** The clinic of `code` when the caller is one of its admins; else 404 / 403. */
async function adminClinic(tx: Tx, code: string): Promise<string> {
  const [clinic] = await tx<{ id: string; admin: boolean }[]>`
    select c.id, c.id in (select private.admin_clinic_ids()) as admin
    from public.clinics c where c.code = ${code.toUpperCase()}`;
  if (!clinic) throw apiError(404, "clinic_not_found", "No such clinic");
  if (!clinic.admin) {
    throw apiError(403, "not_clinic_admin", "Only the clinic's admins may do this");
  }
  return clinic.id;
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

const endpointColumns = (tx: Tx) =>
  tx`id, clinic_id, url, description, events, enabled, disabled_at, disabled_reason,
    failing_since, previous_secret_expires_at, created_at, updated_at`;

function iso(value: unknown): string | null {
  return value instanceof Date ? value.toISOString() : value == null ? null : String(value);
}

function endpointJson(row: postgres.Row): z.infer<typeof Endpoint> {
  return {
    id: row.id,
    clinic_id: row.clinic_id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    disabled_at: iso(row.disabled_at),
    disabled_reason: row.disabled_reason,
    failing_since: iso(row.failing_since),
    previous_secret_expires_at: iso(row.previous_secret_expires_at),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

function uniqueEvents(events: string[]): string[] {
  const set = [...new Set(events)];
  return set.includes(ALL_EVENTS) ? [ALL_EVENTS] : set;
}

export const webhookEndpoints = new OpenAPIHono<AppEnv>()
  .openapi(createEndpointRoute, async (c) => {
    const { code } = c.req.valid("param");
    const body = c.req.valid("json");
    const url = await checkUrl(c, body.url);
    const secret = generateSecret(32);
    const row = await c.get("db").run(async (tx) => {
      const clinicId = await adminClinic(tx, code);
      const [row] = await tx`
        insert into public.webhook_endpoints (clinic_id, url, description, events, secret,
          created_by)
        values (${clinicId}, ${url}, ${body.description ?? null}, ${uniqueEvents(body.events)},
          ${secret}, ${c.get("claims").sub ?? null})
        returning ${endpointColumns(tx)}`;
      return row;
    });
    return c.json({ endpoint: endpointJson(row), secret }, 201);
  })
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const rows = await c.get("db").run(async (tx) => {
      const clinicId = await adminClinic(tx, code);
      return await tx`
        select ${endpointColumns(tx)} from public.webhook_endpoints
        where clinic_id = ${clinicId} order by created_at`;
    });
    return c.json({ endpoints: rows.map(endpointJson) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const row = await c.get("db").run(async (tx) => {
      const clinicId = await adminClinic(tx, code);
      const [row] = await tx`
        select ${endpointColumns(tx)} from public.webhook_endpoints
        where id = ${id} and clinic_id = ${clinicId}`;
      return row;
    });
    if (!row) throw apiError(404, "endpoint_not_found", "No such webhook endpoint");
    return c.json({ endpoint: endpointJson(row) }, 200);
  })
  .openapi(updateRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const body = c.req.valid("json");
    const url = body.url === undefined ? undefined : await checkUrl(c, body.url);
    const secret = body.rotate_secret ? generateSecret(32) : undefined;
    const graceHours = body.grace_period_hours ?? webhookConfig(c).rotationGraceHours;
    const row = await c.get("db").run(async (tx) => {
      const clinicId = await adminClinic(tx, code);
      const [found] = await tx`
        select id from public.webhook_endpoints
        where id = ${id} and clinic_id = ${clinicId} for update`;
      if (!found) return undefined;
      const set: Record<string, unknown> = {};
      if (url !== undefined) set.url = url;
      if (body.events !== undefined) set.events = uniqueEvents(body.events);
      if (body.description !== undefined) set.description = body.description;
      if (Object.keys(set).length) {
        await tx`update public.webhook_endpoints set ${tx(set)} where id = ${id}`;
      }
      if (body.enabled === true) {
        await tx`
          update public.webhook_endpoints
          set enabled = true, disabled_at = null, disabled_reason = null, failing_since = null
          where id = ${id} and not enabled`;
      } else if (body.enabled === false) {
        await tx`
          update public.webhook_endpoints
          set enabled = false, disabled_at = now(), disabled_reason = 'disabled by an admin'
          where id = ${id} and enabled`;
      }
      if (secret) {
        await tx`select * from private.webhook_endpoint_rotate(${id}, ${secret},
          ${graceHours * 3600})`;
      }
      const [row] = await tx`
        select ${endpointColumns(tx)} from public.webhook_endpoints where id = ${id}`;
      return row;
    });
    if (!row) throw apiError(404, "endpoint_not_found", "No such webhook endpoint");
    return c.json({ endpoint: endpointJson(row), ...(secret ? { secret } : {}) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const deleted = await c.get("db").run(async (tx) => {
      const clinicId = await adminClinic(tx, code);
      return await tx`
        delete from public.webhook_endpoints where id = ${id} and clinic_id = ${clinicId}
        returning id`;
    });
    if (!deleted.length) throw apiError(404, "endpoint_not_found", "No such webhook endpoint");
    return c.body(null, 204);
  })
  .openapi(deliveriesRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    const rows = await c.get("db").run(async (tx) => {
      const clinicId = await adminClinic(tx, code);
      return await tx`
        select d.id, d.event_id, o.event_type, d.status, d.attempts, d.next_attempt_at,
               d.last_status_code, d.last_error, d.succeeded_at, d.created_at,
               coalesce((
                 select json_agg(json_build_object(
                   'attempted_at', a.attempted_at, 'status_code', a.status_code,
                   'duration_ms', a.duration_ms, 'response_body', a.response_body,
                   'error', a.error) order by a.id)
                 from public.webhook_delivery_attempts a where a.delivery_id = d.id
               ), '[]') as attempt_log
        from public.webhook_deliveries d
        join public.webhook_outbox o on o.id = d.event_id
        where d.endpoint_id = ${id} and d.clinic_id = ${clinicId}
        order by d.created_at desc
        limit ${limit ?? 50}`;
    });
    const deliveries = rows.map((r) => ({
      id: r.id,
      event_id: r.event_id,
      webhook_id: `msg_${String(r.event_id).replaceAll("-", "")}`,
      event_type: r.event_type,
      status: r.status,
      attempts: r.attempts,
      next_attempt_at: iso(r.next_attempt_at)!,
      last_status_code: r.last_status_code,
      last_error: r.last_error,
      succeeded_at: iso(r.succeeded_at),
      created_at: iso(r.created_at)!,
      attempt_log: (r.attempt_log as Record<string, unknown>[]).map((a) => ({
        ...a,
        attempted_at: new Date(String(a.attempted_at)).toISOString(),
      })) as z.infer<typeof Attempt>[],
    }));
    return c.json({ deliveries }, 200);
  })
  .openapi(retryRoute, async (c) => {
    const { code, id, delivery_id } = c.req.valid("param");
    await c.get("db").run(async (tx) => {
      const clinicId = await adminClinic(tx, code);
      await tx`select private.webhook_delivery_retry(${clinicId}, ${id}, ${delivery_id})`;
    });
    return c.json({ id: delivery_id, status: "pending" as const }, 200);
  });
