/**
 * Inbound webhooks and the inbox's dead letters.
 *
 * `POST /webhooks/stripe`, `/webhooks/twilio`, `/webhooks/standard/{source}` (Svix, Clerk, any
 * Standard Webhooks sender), and per-clinic provider accounts `/webhooks/stripe/{clinic}`,
 * `/webhooks/twilio/{clinic}`:
 * verify on the exact raw bytes → store (`ON CONFLICT (source, event_id) DO NOTHING`, with its
 * processing job) → answer 200 only once that committed. A duplicate is 200 and creates
 * nothing; a bad signature is 401 and only a rate-limited security-log line; our own
 * misconfiguration is 503 (the provider retries); a failed insert is 503; over the body limit
 * 413. Nothing here logs secrets, headers or payloads.
 *
 * `GET /webhooks/inbox` and `POST /webhooks/inbox/{id}/redrive`: dead letters for clinic
 * admins (their clinics) and superadmins (all); redrive is audited.
 *
 * @module
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import type { WebhookConfig } from "../config.ts";
import { apiError, isDataException } from "../errors.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { clientIp, ClinicCode, FreeText, one } from "./_shared.ts";
import { verifyStandard, verifyStripe, verifyTwilio } from "../webhooks/mod.ts";
import type { VerifyFailureCode } from "../webhooks/mod.ts";
import { ingest, logRejection, SecurityLogLimiter } from "../webhooks/inbound/ingest.ts";
import {
  bodyText,
  type InboundRecord,
  parseStandard,
  parseStripe,
  parseTwilio,
} from "../webhooks/inbound/parse.ts";

const Received = z.object({
  received: z.literal(true),
  duplicate: z.boolean().openapi({ description: "Already stored: nothing new was created" }),
  id: z.string().openapi({ description: "Inbox id" }),
}).openapi("WebhookReceived");

const inboundResponses = {
  200: json(Received, "Stored (or already stored); processed asynchronously"),
  ...errors(
    [400, "Signed, but not a usable event (`invalid_payload`)"],
    [401, "Signature, timestamp or headers do not verify (`invalid_signature`)"],
    [404, "No such webhook source or clinic endpoint (`unknown_webhook_source`)"],
    413,
    [
      503,
      "Not stored — our misconfiguration (`webhook_not_configured`) or storage failure " +
      "(`ingest_failed`); the provider retries",
    ],
  ),
};

const rawBodyNote = "The body is verified on its exact bytes; send it as the provider signed it.";

const stripeRoute = createRoute({
  method: "post",
  path: "/webhooks/stripe",
  tags: ["webhooks"],
  summary: "Stripe events (Stripe-Signature, secrets STRIPE_WEBHOOK_SECRETS)",
  description: rawBodyNote,
  responses: inboundResponses,
});

const ClinicParam = z.object({
  clinic: ClinicCode.openapi({ param: { name: "clinic", in: "path" }, description: "Clinic code" }),
});

const stripeClinicRoute = createRoute({
  method: "post",
  path: "/webhooks/stripe/{clinic}",
  tags: ["webhooks"],
  summary: "Stripe events of a clinic's own account (STRIPE_WEBHOOK_SECRETS_<CODE>)",
  description: rawBodyNote,
  request: { params: ClinicParam },
  responses: inboundResponses,
});

const twilioResponses = {
  ...inboundResponses,
  200: {
    description: "Stored (or already stored): an empty TwiML response",
    content: { "text/xml": { schema: z.string() } },
  },
};

const twilioRoute = createRoute({
  method: "post",
  path: "/webhooks/twilio",
  tags: ["webhooks"],
  summary: "Twilio callbacks (X-Twilio-Signature over TWILIO_WEBHOOK_URL, TWILIO_AUTH_TOKEN)",
  description: rawBodyNote + " Form bodies, or JSON with `bodySHA256` in the query. Message " +
    "status callbacks (`StatusCallback` of our sends) and inbound messages: STOP/START " +
    "keywords change the channel's consent; a WhatsApp message opens the 24-hour window.",
  responses: twilioResponses,
});

const twilioClinicRoute = createRoute({
  method: "post",
  path: "/webhooks/twilio/{clinic}",
  tags: ["webhooks"],
  summary: "Twilio callbacks of a clinic's own account (TWILIO_AUTH_TOKEN_<CODE>; signed URL " +
    "TWILIO_WEBHOOK_URL/<CODE>)",
  description: rawBodyNote,
  request: { params: ClinicParam },
  responses: twilioResponses,
});

const standardRoute = createRoute({
  method: "post",
  path: "/webhooks/standard/{source}",
  tags: ["webhooks"],
  summary: "Standard Webhooks senders: Svix, Clerk, … (STANDARD_WEBHOOK_SECRETS_<SOURCE>)",
  description: rawBodyNote + " Headers webhook-id/-timestamp/-signature or their svix-* aliases.",
  request: {
    params: z.object({
      source: z.string().min(1).max(40).regex(/^[a-z0-9-]+$/).openapi({
        param: { name: "source", in: "path" },
        example: "clerk",
      }),
    }),
  },
  responses: inboundResponses,
});

const InboxItem = z.object({
  id: z.string(),
  source: z.string(),
  event_id: z.string(),
  event_type: z.string().nullable(),
  clinic_id: z.string().nullable(),
  status: z.enum(["pending", "processing", "processed", "dead"]),
  attempts: z.number(),
  max_attempts: z.number(),
  last_error: z.string().nullable(),
  outcome: z.string().nullable(),
  received_at: z.string(),
  processed_at: z.string().nullable(),
  run_at: z.string(),
  redrive_count: z.number(),
}).openapi("WebhookInboxItem");

const inboxListRoute = createRoute({
  method: "get",
  path: "/webhooks/inbox",
  tags: ["webhooks"],
  summary: "Inbound events (metadata only) of the caller's admin clinics, or all for a superadmin",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    query: z.object({
      status: z.enum(["pending", "processing", "processed", "dead"]).optional(),
      limit: z.coerce.number().int().min(1).max(200).optional(),
    }),
  },
  responses: {
    200: json(z.object({ events: z.array(InboxItem) }).openapi("WebhookInbox"), "Events"),
    ...errors(401),
  },
});

const RedriveBody = z.object({ reason: FreeText.max(500).optional() }).openapi("RedriveRequest");

const redriveRoute = createRoute({
  method: "post",
  path: "/webhooks/inbox/{id}/redrive",
  tags: ["webhooks"],
  summary: "Redrive a dead-lettered inbound event (clinic admin or superadmin; audited)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: z.object({
      id: z.uuid().openapi({ param: { name: "id", in: "path" } }),
    }),
    body: {
      content: {
        "application/json": {
          schema: RedriveBody,
        },
      },
      required: false,
    },
  },
  responses: {
    200: json(
      z.object({ id: z.string(), status: z.literal("pending") }).openapi("Redriven"),
      "Back in line: processed again from its first attempt",
    ),
    ...errors(
      400,
      401,
      [404, "No such event, or not yours to redrive (`not_found`)"],
      [409, "The event is not dead-lettered (`not_dead_lettered`)"],
    ),
  },
});

// ---------------------------------------------------------------------------------------

const limiters = new WeakMap<object, SecurityLogLimiter>();

function webhookConfig(c: Context<AppEnv>): WebhookConfig {
  return c.get("config").webhooks;
}

function limiter(c: Context<AppEnv>): SecurityLogLimiter {
  let found = limiters.get(c.get("config"));
  if (!found) {
    found = new SecurityLogLimiter();
    limiters.set(c.get("config"), found);
  }
  return found;
}

function remoteAddr(c: Context<AppEnv>): string | null {
  const ip = clientIp(c);
  return ip === "unknown" ? null : ip;
}

type Verified = { ok: true; record: InboundRecord } | {
  ok: false;
  code: VerifyFailureCode | "invalid_payload";
};

const INVALID_PAYLOAD = { ok: false, code: "invalid_payload" } as const;

/** Verify → store → answer. `verify` gets the exact raw bytes and their text. */
async function receive(
  c: Context<AppEnv>,
  source: string,
  verify: (raw: Uint8Array, text: string | null) => Promise<Verified>,
  ok: (id: string, duplicate: boolean) => Response,
): Promise<Response> {
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const result = await verify(raw, bodyText(raw));
  if (!result.ok) {
    if (result.code === "invalid_config") {
      console.error(`[webhooks] ${source}: verification is misconfigured`);
      throw apiError(503, "webhook_not_configured", "This webhook endpoint is not configured");
    }
    if (result.code === "invalid_payload") {
      throw apiError(400, "invalid_payload", "The signed body is not a usable event");
    }
    const db = c.get("db");
    await db.service((tx) => logRejection(tx, limiter(c), source, result.code, remoteAddr(c)))
      .catch(() => {});
    throw apiError(401, "invalid_signature", "The webhook signature could not be verified", {
      reason: result.code,
    });
  }
  let stored;
  try {
    stored = await ingest(c.get("db"), result.record);
  } catch (error) {
    // A value the database refuses is refused on every retry: a 503 would loop for days.
    if (isDataException(error)) {
      throw apiError(400, "invalid_payload", "The signed body is not a usable event");
    }
    console.error(`[webhooks] ${source}: could not store an event`);
    throw apiError(503, "ingest_failed", "The event could not be stored; retry", undefined, {
      "retry-after": "5",
    });
  }
  return ok(stored.inboxId, !stored.inserted);
}

function jsonOk(c: Context<AppEnv>) {
  return (id: string, duplicate: boolean) =>
    c.json({ received: true as const, duplicate, id }, 200);
}

const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

function twimlOk(c: Context<AppEnv>) {
  return (id: string, duplicate: boolean) =>
    c.body(TWIML, 200, {
      "content-type": "text/xml; charset=utf-8",
      "x-webhook-inbox-id": id,
      "x-webhook-duplicate": String(duplicate),
    });
}

function stripe(c: Context<AppEnv>, secrets: readonly string[], clinicCode: string | null) {
  return receive(c, "stripe", async (raw, text) => {
    const verified = await verifyStripe({
      rawBody: raw,
      headers: c.req.raw.headers,
      secrets,
      now: webhookConfig(c).now?.(),
    });
    if (!verified.ok) return verified;
    const record = text === null
      ? null
      : parseStripe(text, c.req.raw.headers, verified.timestamp, clinicCode);
    return record ? { ok: true, record } : INVALID_PAYLOAD;
  }, jsonOk(c));
}

/**
 * The URL Twilio signed: the configured public URL (never one rebuilt from the request's
 * Host or X-Forwarded-*), with the request's own query string (where `bodySHA256` travels).
 */
function twilioUrl(configured: string | undefined, suffix: string, requestUrl: string) {
  if (!configured) return "";
  const url = new URL(configured);
  if (suffix) url.pathname = `${url.pathname.replace(/\/$/, "")}/${suffix}`;
  const search = new URL(requestUrl).search;
  if (search) url.search = search;
  return url.href;
}

function twilio(
  c: Context<AppEnv>,
  authTokens: readonly string[],
  clinicCode: string | null,
  pathSegment = "",
) {
  const config = webhookConfig(c);
  const url = twilioUrl(config.twilioWebhookUrl, pathSegment, c.req.url);
  return receive(c, "twilio", async (raw, text) => {
    const verified = await verifyTwilio({
      url,
      rawBody: raw,
      headers: c.req.raw.headers,
      authTokens,
    });
    if (!verified.ok) return verified;
    if (text === null) return INVALID_PAYLOAD;
    const record = await parseTwilio(text, verified.params, c.req.raw.headers, clinicCode);
    return { ok: true, record };
  }, twimlOk(c));
}

function notFound(): never {
  throw apiError(404, "unknown_webhook_source", "No webhook endpoint is configured here");
}

export const webhooks = new OpenAPIHono<AppEnv>()
  .openapi(stripeRoute, (c) => stripe(c, webhookConfig(c).stripeSecrets, null) as never)
  .openapi(stripeClinicRoute, (c) => {
    const code = c.req.valid("param").clinic.toUpperCase();
    const secrets = webhookConfig(c).stripeClinicSecrets[code];
    if (!secrets?.length) notFound();
    return stripe(c, secrets, code) as never;
  })
  .openapi(twilioRoute, (c) => twilio(c, webhookConfig(c).twilioAuthTokens, null) as never)
  .openapi(twilioClinicRoute, (c) => {
    const segment = c.req.valid("param").clinic; // as Twilio called it: part of what it signed
    const code = segment.toUpperCase();
    const tokens = webhookConfig(c).twilioClinicAuthTokens[code];
    if (!tokens?.length) notFound();
    return twilio(c, tokens, code, segment) as never;
  })
  .openapi(standardRoute, (c) => {
    const source = c.req.valid("param").source;
    const secrets = webhookConfig(c).standardSecrets[source];
    if (!secrets?.length) notFound();
    return receive(c, source, async (raw, text) => {
      const verified = await verifyStandard({
        rawBody: raw,
        headers: c.req.raw.headers,
        secrets,
        now: webhookConfig(c).now?.(),
      });
      if (!verified.ok) return verified;
      const record = text === null
        ? null
        : parseStandard(source, text, c.req.raw.headers, verified.id, verified.timestamp);
      return record ? { ok: true, record } : INVALID_PAYLOAD;
    }, jsonOk(c)) as never;
  })
  .openapi(inboxListRoute, async (c) => {
    const { status, limit } = c.req.valid("query");
    const inbox = await c.get("db").run(async (tx) =>
      one<{ events: z.infer<typeof InboxItem>[] }>(
        await tx`select api.webhook_inbox(${status ?? null}, ${limit ?? null}::integer) as r`,
      )
    );
    return c.json(inbox, 200);
  })
  .openapi(redriveRoute, async (c) => {
    const { id } = c.req.valid("param");
    const reason = c.req.valid("json")?.reason ?? null;
    const redriven = await c.get("db").run(async (tx) =>
      one<{ id: string; status: "pending" }>(
        await tx`select api.webhook_inbox_redrive(${id}, ${reason}) as r`,
      )
    );
    return c.json(redriven, 200);
  });
