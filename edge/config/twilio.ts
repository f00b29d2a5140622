/**
 * The Twilio Messages transport (SMS, WhatsApp), read by the processes that run the job worker.
 * Unset `TWILIO_ACCOUNT_SID`: no Twilio transport. Set: the rest must make a working sender,
 * else start-up fails naming what is missing. Basic auth is an API key (recommended) or the
 * account's auth token (`TWILIO_AUTH_TOKEN`, the first of the list the webhooks verify with).
 */
import { type Env, int, list, text, url } from "./env.ts";

export interface TwilioConfig {
  /** `TWILIO_ACCOUNT_SID` (`AC…`): the account the Messages resource is under. */
  accountSid: string;
  /** Basic-auth user and password: `TWILIO_API_KEY_SID`/`_SECRET`, else the SID and token. */
  username: string;
  password: string;
  /** `TWILIO_MESSAGING_SERVICE_SID` (`MG…`): sends through the service's sender pool. */
  messagingServiceSid?: string;
  /** `TWILIO_SMS_FROM`: the SMS sender (E.164 number or alphanumeric id) without a service. */
  smsFrom?: string;
  /** `TWILIO_WHATSAPP_FROM`: the WhatsApp sender number (E.164, without `whatsapp:`). */
  whatsappFrom?: string;
  /** `TWILIO_API_URL`: the REST API's base (default `https://api.twilio.com`). */
  apiUrl: string;
  /** `TWILIO_WEBHOOK_URL`: Twilio posts status callbacks there (the URL signatures use). */
  statusCallback: string;
  /** `TWILIO_MESSAGES_PER_SECOND`: most requests per second per channel (default 10). */
  messagesPerSecond: number;
  /** `TWILIO_REQUEST_TIMEOUT_MS`: deadline of one request (default 10000). */
  requestTimeoutMs: number;
}

/** The variables {@linkcode loadTwilioConfig} reads besides the webhook ones. */
export const twilioVariables = [
  "TWILIO_ACCOUNT_SID",
  "TWILIO_API_KEY_SID",
  "TWILIO_API_KEY_SECRET",
  "TWILIO_MESSAGING_SERVICE_SID",
  "TWILIO_SMS_FROM",
  "TWILIO_WHATSAPP_FROM",
  "TWILIO_API_URL",
  "TWILIO_MESSAGES_PER_SECOND",
  "TWILIO_REQUEST_TIMEOUT_MS",
] as const;

function sid(env: Env, name: string, prefix: string): string | undefined {
  const value = text(env, name);
  if (value !== undefined && !new RegExp(`^${prefix}[0-9a-fA-F]{32}$`).test(value)) {
    throw new Error(`${name} must be ${prefix} followed by 32 hex digits`);
  }
  return value;
}

/** Reads {@linkcode TwilioConfig}; undefined when `TWILIO_ACCOUNT_SID` is unset. */
export function loadTwilioConfig(env: Env): TwilioConfig | undefined {
  const accountSid = sid(env, "TWILIO_ACCOUNT_SID", "AC");
  const keySid = sid(env, "TWILIO_API_KEY_SID", "SK");
  const keySecret = text(env, "TWILIO_API_KEY_SECRET");
  const messagingServiceSid = sid(env, "TWILIO_MESSAGING_SERVICE_SID", "MG");
  const smsFrom = text(env, "TWILIO_SMS_FROM");
  const whatsappFrom = text(env, "TWILIO_WHATSAPP_FROM")?.replace(/^whatsapp:/, "");
  const apiUrl = url(env, "TWILIO_API_URL", ["http:", "https:"]) ?? "https://api.twilio.com";
  const statusCallback = url(env, "TWILIO_WEBHOOK_URL", ["http:", "https:"]);
  const messagesPerSecond = int(env, "TWILIO_MESSAGES_PER_SECOND", 10, 1);
  const requestTimeoutMs = int(env, "TWILIO_REQUEST_TIMEOUT_MS", 10_000, 1);
  const authToken = list(env, "TWILIO_AUTH_TOKEN")[0];
  if (!accountSid) return undefined;
  if (Boolean(keySid) !== Boolean(keySecret)) {
    throw new Error("TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together");
  }
  if (!keySid && !authToken) {
    throw new Error("TWILIO_ACCOUNT_SID needs TWILIO_API_KEY_SID/_SECRET or TWILIO_AUTH_TOKEN");
  }
  if (!messagingServiceSid && !smsFrom && !whatsappFrom) {
    throw new Error(
      "TWILIO_ACCOUNT_SID needs a sender: TWILIO_MESSAGING_SERVICE_SID, TWILIO_SMS_FROM or " +
        "TWILIO_WHATSAPP_FROM",
    );
  }
  if (!statusCallback) {
    throw new Error("TWILIO_ACCOUNT_SID needs TWILIO_WEBHOOK_URL (the status callback URL)");
  }
  return {
    accountSid,
    username: keySid ?? accountSid,
    password: keySid ? keySecret! : authToken,
    messagingServiceSid,
    smsFrom,
    whatsappFrom,
    apiUrl: apiUrl.replace(/\/+$/, ""),
    statusCallback,
    messagesPerSecond,
    requestTimeoutMs,
  };
}
