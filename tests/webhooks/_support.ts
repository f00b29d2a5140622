/**
 * Shared by the webhook tests: an app configured with test provider secrets, signed requests
 * for each scheme, the demo data's ids, a local receiver, and small polling helpers.
 */
import type postgres from "postgres";
import { createApp } from "../../edge/app.ts";
import { type Config, loadConfig, loadWebhookConfig } from "../../edge/config.ts";
import { createTokenService } from "../../edge/auth/tokens.ts";
import { sign, stripeSignatureHeader, twilioSignature } from "../../edge/webhooks/mod.ts";
import { utf8 } from "../../edge/webhooks/encoding.ts";
import { CLINIC_A, DOCTORS, PATIENTS, USERS } from "../support/demo.ts";

export { CLINIC_A, CLINIC_B } from "../support/demo.ts";
export const ADMIN_A = USERS.admin;
export const ADMIN_B = USERS.adminBedok;
export const PATIENT_USER_A = USERS.patientLim;
export const DOCTOR_TAN = DOCTORS.tan;
export const PATIENT_LIM = PATIENTS.lim;

export const STRIPE_SECRET = "whsec_test_secret";
export const STRIPE_CLINIC_SECRET = "whsec_clinic_tp_secret";
export const TWILIO_TOKEN = "12345";
export const TWILIO_URL = "https://mycompany.com/myapp.php";
/** Reference vector 1 (the spec libraries' test). */
export const VECTOR1_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/** Reference vector 2 (Svix docs; an 18-byte key). */
export const VECTOR2_SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl";
export const CLERK_SECRET = "whsec_" + btoa("clerk-test-secret-0123456789abcdef");
export const RESEND_SECRET = "whsec_" + btoa("resend-test-secret-0123456789abcd");

export const JWT_SECRET = "test-secret-test-secret-test-secret!";

/** The environment of the webhook tests (what an operator would set). */
export const ENV: Record<string, string> = {
  APP_ENV: "test",
  JWT_SECRET,
  STRIPE_WEBHOOK_SECRETS: STRIPE_SECRET,
  STRIPE_WEBHOOK_SECRETS_GFC_TP: STRIPE_CLINIC_SECRET,
  TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
  TWILIO_WEBHOOK_URL: TWILIO_URL,
  TWILIO_AUTH_TOKEN_GFC_TP: "clinic-tp-token",
  STANDARD_WEBHOOK_SECRETS_VECTOR_ONE: VECTOR1_SECRET,
  STANDARD_WEBHOOK_SECRETS_SVIX: VECTOR2_SECRET,
  STANDARD_WEBHOOK_SECRETS_CLERK: CLERK_SECRET,
  STANDARD_WEBHOOK_SECRETS_RESEND: RESEND_SECRET,
  WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
  WEBHOOK_DELIVERY_TIMEOUT_MS: "800",
};

export function testConfig(
  env: Record<string, string> = {},
  now?: () => Date,
): Config {
  const merged = { ...ENV, ...env };
  const webhooks = { ...loadWebhookConfig(merged), ...(now ? { now } : {}) };
  return loadConfig(merged, { webhooks });
}

export function testApp(sql: postgres.Sql, config: Config = testConfig()) {
  return createApp({ config, sql });
}

/** An access token for a demo user (role claims as the edge issues them). */
export async function tokenFor(
  config: Config,
  userId: string,
  email = "user@demo.com",
): Promise<string> {
  const { token } = await createTokenService(config).signAccess({
    userId,
    email,
    sessionId: crypto.randomUUID(),
    appMetadata: {},
  });
  return token;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function stripeRequest(
  body: string,
  options: { secret?: string; t?: number; header?: string; path?: string } = {},
): Promise<[string, RequestInit]> {
  const t = options.t ?? nowSeconds();
  const header = options.header ??
    await stripeSignatureHeader(options.secret ?? STRIPE_SECRET, t, utf8(body));
  return [options.path ?? "/api/webhooks/stripe", {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": header },
    body,
  }];
}

export async function standardRequest(
  source: string,
  body: string,
  options: { secret: string; id?: string; t?: number; prefix?: "webhook" | "svix" },
): Promise<[string, RequestInit]> {
  const id = options.id ?? `msg_${crypto.randomUUID().replaceAll("-", "")}`;
  const t = options.t ?? nowSeconds();
  const prefix = options.prefix ?? "webhook";
  return [`/api/webhooks/standard/${source}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [`${prefix}-id`]: id,
      [`${prefix}-timestamp`]: String(t),
      [`${prefix}-signature`]: await sign([options.secret], id, t, body),
    },
    body,
  }];
}

export async function twilioRequest(
  params: Record<string, string>,
  options: { token?: string; query?: string; path?: string; url?: string } = {},
): Promise<[string, RequestInit]> {
  const query = options.query ?? "";
  const form = new URLSearchParams(params);
  const signature = await twilioSignature(
    options.token ?? TWILIO_TOKEN,
    options.url ?? `${TWILIO_URL}${query}`,
    form,
  );
  return [`${options.path ?? "/api/webhooks/twilio"}${query}`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": signature,
    },
    body: form.toString(),
  }];
}

/** A Stripe event body. */
export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  options: { id?: string; created?: number } = {},
): string {
  return JSON.stringify({
    id: options.id ?? `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    type,
    created: options.created ?? nowSeconds(),
    data: { object },
  });
}

export function count(sql: postgres.Sql, table: string): Promise<number> {
  return sql.unsafe(`select count(*)::int as n from ${table}`).then((r) => r[0].n as number);
}

/** Polls `check` until it is true (default 15 s). */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let slot = 0;

/** A future appointment of patient Lim with Dr Tan in clinic A (superuser insert). */
export async function makeAppointment(
  sql: postgres.Sql,
  options: { status?: string } = {},
): Promise<string> {
  const base = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 2 * 86_400_000;
  const start = new Date(base + (slot++) * 15 * 60_000);
  const end = new Date(start.getTime() + 15 * 60_000);
  const [row] = await sql`
    insert into public.appointments (clinic_id, patient_id, doctor_id, period, status)
    values (${CLINIC_A}, ${PATIENT_LIM}, ${DOCTOR_TAN},
      tstzrange(${start}::timestamptz, ${end}::timestamptz, '[)'),
      ${options.status ?? "scheduled"}::public.appointment_status)
    returning id`;
  return row.id;
}

export interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: string;
  at: number;
}

export interface Receiver {
  readonly url: string;
  readonly seen: Received[];
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1; `handler` answers by path. */
export function startReceiver(
  handler: (request: Request, body: string) => Response | Promise<Response>,
): Receiver {
  const seen: Received[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const body = await request.text();
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname,
        headers: request.headers,
        body,
        at: Date.now(),
      });
      return handler(request, body);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}
