/**
 * A local stand-in for Twilio on 127.0.0.1: the Messages resource answering with Twilio's
 * documented bodies (per `To`: a script of answers, else 201 queued), and Twilio's side of
 * the webhooks — status callbacks and inbound messages, signed by the `twilio` npm library as
 * Twilio signs them, posted to the URL our request named (`StatusCallback`) or configured.
 */
import twilio from "twilio";

export const ACCOUNT_SID = "AC" + "0123456789abcdef".repeat(2);
export const AUTH_TOKEN = "twilio-test-auth-token";

export interface SeenRequest {
  method: string;
  path: string;
  authorization: string | null;
  contentType: string | null;
  form: URLSearchParams;
  /** When it arrived (ms since the epoch). */
  at: number;
  /** When its answer was sent (0: not yet). */
  answeredAt: number;
  sid?: string;
}

/** Twilio's answers (status code, headers, body as documented at twilio.com/docs). */
export type Answer =
  | { kind: "queued" }
  | { kind: "too_many"; retryAfter: string }
  | { kind: "invalid_to" }
  | { kind: "server_error" };

function sid(prefix: string): string {
  return prefix + crypto.randomUUID().replaceAll("-", "");
}

function errorBody(code: number, message: string, status: number) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function respond(answer: Answer, form: URLSearchParams, path: string): [Response, string?] {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  switch (answer.kind) {
    case "queued": {
      const messageSid = sid("SM");
      const now = new Date().toUTCString().replace("GMT", "+0000");
      const messages = path.replace(/\.json$/, "");
      return [
        json(201, {
          account_sid: ACCOUNT_SID,
          api_version: "2010-04-01",
          body: form.get("Body"),
          date_created: now,
          date_sent: null,
          date_updated: now,
          direction: "outbound-api",
          error_code: null,
          error_message: null,
          from: form.get("From"),
          messaging_service_sid: form.get("MessagingServiceSid"),
          num_media: "0",
          num_segments: "1",
          price: null,
          price_unit: null,
          sid: messageSid,
          status: "queued",
          subresource_uris: { media: `${messages}/${messageSid}/Media.json` },
          to: form.get("To"),
          uri: `${messages}/${messageSid}.json`,
        }),
        messageSid,
      ];
    }
    case "too_many":
      return [
        json(429, errorBody(20429, "Too Many Requests", 429), {
          "retry-after": answer.retryAfter,
        }),
      ];
    case "invalid_to":
      return [
        json(
          400,
          errorBody(21211, `The 'To' number ${form.get("To")} is not a valid phone number.`, 400),
        ),
      ];
    case "server_error":
      return [json(500, errorBody(20500, "Internal Server Error", 500))];
  }
}

export interface TwilioStandIn {
  /** The API base (`TWILIO_API_URL`). */
  readonly url: string;
  readonly seen: SeenRequest[];
  /** Answers for the next requests to `to` (then 201 queued). */
  script(to: string, answers: Answer[]): void;
  /** Requests to `to` get no answer until the returned function is called. */
  hold(to: string): () => void;
  /** Posts a status callback of a message we sent, as Twilio does; the HTTP status. */
  statusCallback(message: SeenRequest, status: string, errorCode?: string): Promise<number>;
  /** Posts an inbound message from `from` to `url`, as Twilio's messaging webhook does. */
  inbound(url: string, from: string, body: string): Promise<number>;
  close(): Promise<void>;
}

/** Posts `params` form-encoded to `url`, signed with `X-Twilio-Signature`. */
async function post(url: string, params: Record<string, string>): Promise<number> {
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params);
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": signature,
    },
    body: new URLSearchParams(params).toString(),
  });
  await response.body?.cancel();
  return response.status;
}

export function startTwilioStandIn(): TwilioStandIn {
  const seen: SeenRequest[] = [];
  const scripts = new Map<string, Answer[]>();
  const held = new Map<string, Promise<void>>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const form = new URLSearchParams(await req.text());
    const request: SeenRequest = {
      method: req.method,
      path: new URL(req.url).pathname,
      authorization: req.headers.get("authorization"),
      contentType: req.headers.get("content-type"),
      form,
      at: Date.now(),
      answeredAt: 0,
    };
    seen.push(request);
    await held.get(form.get("To") ?? "");
    const answer = scripts.get(form.get("To") ?? "")?.shift() ?? { kind: "queued" };
    const [response, messageSid] = respond(answer, form, request.path);
    request.sid = messageSid;
    request.answeredAt = Date.now();
    return response;
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    script: (to, answers) => scripts.set(to, [...answers]),
    hold(to) {
      const { promise, resolve } = Promise.withResolvers<void>();
      held.set(to, promise);
      return resolve;
    },
    statusCallback(message, status, errorCode) {
      const form = message.form;
      const params: Record<string, string> = {
        AccountSid: ACCOUNT_SID,
        ApiVersion: "2010-04-01",
        From: form.get("From") ?? "",
        MessageSid: message.sid!,
        MessageStatus: status,
        SmsSid: message.sid!,
        SmsStatus: status,
        To: form.get("To") ?? "",
        ...(errorCode ? { ErrorCode: errorCode } : {}),
      };
      return post(form.get("StatusCallback")!, params);
    },
    inbound(url, from, body) {
      const messageSid = sid("SM");
      return post(url, {
        AccountSid: ACCOUNT_SID,
        ApiVersion: "2010-04-01",
        Body: body,
        From: from,
        MessageSid: messageSid,
        NumMedia: "0",
        NumSegments: "1",
        SmsMessageSid: messageSid,
        SmsSid: messageSid,
        SmsStatus: "received",
        To: from.startsWith("whatsapp:") ? "whatsapp:+6560000001" : "+6560000000",
      });
    },
    close: () => server.shutdown(),
  };
}
