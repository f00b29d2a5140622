/**
 * The web push transport (channel `push`): one message goes to every browser the account has
 * subscribed (`public.push_subscriptions`), each as an RFC 8030 push-service request carrying
 * an RFC 8292 VAPID token and an RFC 8291 aes128gcm-encrypted JSON payload, which the PWA's
 * service worker shows (web/src/sw.ts).
 *
 * The cryptography is npm @block65/webcrypto-web-push: WebCrypto only (no native module, runs
 * as it is under Deno), MIT, maintained, exactly VAPID + aes128gcm and nothing else, with every
 * payload padded to one 4 KB record so its length tells nothing. (npm `web-push` needs
 * Node's `https` agent for sending and node:crypto ECDH; we send through our own SSRF-guarded
 * client instead.) Its VAPID token is signed once per push service and reused for most of its
 * lifetime; its encryption is made by ./push_encryption.ts, which is the library's byte for
 * byte but keeps each subscription's imported keys between messages (a third less CPU per
 * push; the fresh ECDH key pair and agreement every message needs are most of what is left). Requests go through edge/webhooks' `safeFetch`: a subscription's endpoint
 * is a URL a client gave us, so it may only reach public addresses (or `WEBHOOK_ALLOW_HOSTS`).
 * A push service gets many requests: its vetted TLS connections are kept alive and reused
 * (safeFetch's pool), sparing a TCP and TLS handshake per push.
 *
 * Per subscription: 2xx is delivered to the push service; 404/410 means the browser dropped the
 * subscription, so it is deleted; 429, 5xx and network failures are transient; any other 4xx
 * (a refused token, a bad payload) is a failure of that subscription for this message. A
 * subscription that failed 10 times in a row is deleted too (the app registers a live one
 * again when the user opens it).
 * The message is `sent` when one subscription accepted it — the others' transient failures
 * are not retried, so no browser shows it twice. With none accepted, a transient failure is
 * retried by the job queue, after the push service's Retry-After when it gives one (the
 * service worker's `tag` is the delivery id, so even a repeated push replaces its notification
 * rather than adding one); otherwise the delivery fails for good with the reasons.
 */
import { vapidHeaders } from "@block65/webcrypto-web-push";
import type postgres from "postgres";
import type { VapidConfig } from "../config/push.ts";
import { PermanentJobError, RetryLaterError } from "../jobs/job.ts";
import { parseRetryAfter } from "../webhooks/outbound/schedule.ts";
import { connectionPool } from "../webhooks/ssrf/pool.ts";
import { safeFetch } from "../webhooks/ssrf/safe_fetch.ts";
import { encryptPush, type SubscriberKeys, subscriberKeys } from "./push_encryption.ts";
import type { OutboundMessage, SendResult, Transport } from "./transport.ts";

export interface PushTransportOptions {
  vapid: VapidConfig;
  /** SSRF allow-list beyond public addresses (`WEBHOOK_ALLOW_HOSTS`: tests, on-prem). */
  allow?: readonly string[];
  /** Extra PEM roots for the push services' TLS (tests). */
  caCerts?: readonly string[];
  /** Deadline of one push-service request (default 10 s). */
  timeoutMs?: number;
}

/** What the service worker receives: texts as rendered, the screen to open, the tag. */
export interface PushPayload {
  title: string;
  body: string;
  url: string;
  tag: string;
}

/** Queue calls are urgent and stale soon; everything else may wait for a sleeping phone. */
const URGENT_KINDS = new Set(["ticket_called", "queue_near"]);

/** RFC 8030 §5.2/§5.3: how long the push service keeps it (seconds), and its urgency. */
export function pushDelivery(kind: string | undefined): { ttl: number; urgency: string } {
  return kind && URGENT_KINDS.has(kind)
    ? { ttl: 15 * 60, urgency: "high" }
    : { ttl: 24 * 3600, urgency: "normal" };
}

interface Subscription {
  id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  /** Its last push was accepted, less than a minute ago: a success needs no write. */
  current: boolean;
}

type Outcome =
  | { kind: "accepted" }
  | { kind: "gone"; reason: string }
  | { kind: "transient"; reason: string; retryAfterSeconds?: number }
  | { kind: "refused"; reason: string };

/**
 * A VAPID token is valid 12 h (the library's `exp`; RFC 8292 allows up to 24 h and reuse):
 * one per push service, renewed an hour before it expires.
 */
const VAPID_REUSE_MS = 11 * 3600_000;
/** Subscriptions whose imported keys are kept (beyond it, the longest kept goes first). */
const KEY_CACHE_SIZE = 10_000;

export function webPushTransport(sql: postgres.Sql, options: PushTransportOptions): Transport {
  const tokens = new Map<string, { authorization: string; until: number }>();
  const keys = new Map<string, Promise<SubscriberKeys>>();
  const pool = connectionPool();

  function keysOf(subscription: Subscription): Promise<SubscriberKeys> {
    const id = `${subscription.p256dh} ${subscription.auth}`;
    let cached = keys.get(id);
    if (!cached) {
      if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value!);
      cached = subscriberKeys(subscription.p256dh, subscription.auth);
      keys.set(id, cached);
      cached.catch(() => keys.delete(id));
    }
    return cached;
  }

  async function authorization(subscription: Subscription): Promise<string> {
    const audience = new URL(subscription.endpoint).origin;
    const cached = tokens.get(audience);
    if (cached && cached.until > Date.now()) return cached.authorization;
    const { headers } = await vapidHeaders(asLibrarySubscription(subscription), options.vapid);
    tokens.set(audience, {
      authorization: headers.authorization,
      until: Date.now() + VAPID_REUSE_MS,
    });
    return headers.authorization;
  }

  async function pushOne(
    subscription: Subscription,
    plaintext: Uint8Array,
    delivery: { ttl: number; urgency: string },
  ): Promise<Outcome> {
    let body: Uint8Array;
    let token: string;
    try {
      body = await encryptPush(await keysOf(subscription), plaintext);
      token = await authorization(subscription);
    } catch (error) {
      // Keys that are no P-256 point, an endpoint that is no https URL: it can never work.
      return { kind: "gone", reason: `unusable subscription: ${errorText(error)}` };
    }
    const response = await safeFetch(subscription.endpoint, {
      method: "POST",
      headers: {
        authorization: token,
        ttl: String(delivery.ttl),
        urgency: delivery.urgency,
        "content-encoding": "aes128gcm",
        "content-type": "application/octet-stream",
      },
      body,
    }, {
      allow: options.allow,
      caCerts: options.caCerts,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxBodyBytes: 512,
      pool,
    });
    if (!response.ok) {
      const refused = ["invalid_url", "unsupported_scheme", "blocked_address"];
      return refused.includes(response.code)
        ? { kind: "refused", reason: `${response.code}: ${response.message}` }
        : { kind: "transient", reason: `${response.code}: ${response.message}` };
    }
    const { status } = response;
    if (status >= 200 && status < 300) return { kind: "accepted" };
    const reason = `HTTP ${status} ${response.body.slice(0, 200)}`.trim();
    if (status === 404 || status === 410) return { kind: "gone", reason };
    if (status === 429 || status >= 500) {
      const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after")) ?? undefined;
      return { kind: "transient", reason, retryAfterSeconds };
    }
    return { kind: "refused", reason };
  }

  return {
    async send(message: OutboundMessage): Promise<SendResult> {
      if (!message.userId) throw new PermanentJobError("web push: the message has no account");
      const subscriptions = await sql<Subscription[]>`
        select id, endpoint, p256dh, auth,
          failure_count = 0 and last_success_at > now() - interval '1 minute' as current
        from public.push_subscriptions
        where user_id = ${message.userId}
        order by created_at, id`;
      if (subscriptions.length === 0) {
        throw new PermanentJobError("web push: the account has no push subscription");
      }
      const payload: PushPayload = {
        title: message.subject,
        body: message.text,
        url: message.url ?? "/notifications",
        tag: message.idempotencyKey,
      };
      const plaintext = new TextEncoder().encode(JSON.stringify(payload));
      const delivery = pushDelivery(message.kind);
      const outcomes = await Promise.all(
        subscriptions.map((subscription) => pushOne(subscription, plaintext, delivery)),
      );
      await record(sql, subscriptions, outcomes);

      if (outcomes.some((o) => o.kind === "accepted")) {
        return { provider: "webpush", providerMessageId: message.idempotencyKey, status: "sent" };
      }
      const reasons = outcomes.map((o) => o.kind === "accepted" ? "" : `${o.kind}: ${o.reason}`)
        .join("; ");
      const transient = outcomes.filter((o) => o.kind === "transient");
      if (transient.length === 0) throw new PermanentJobError(`web push: ${reasons}`);
      // The push services' Retry-After is honoured; without one the job queue backs off.
      const retryAfter = Math.max(0, ...transient.map((o) => o.retryAfterSeconds ?? 0));
      if (retryAfter > 0) {
        throw new RetryLaterError(
          `web push: ${reasons} (Retry-After ${retryAfter} s)`,
          retryAfter * 1000,
        );
      }
      throw new Error(`web push: ${reasons}`);
    },
    close() {
      pool.close();
    },
  };
}

/** Consecutive failures after which a subscription is deleted. */
export const MAX_PUSH_FAILURES = 10;

/**
 * Marks accepted subscriptions, counts failures, deletes the gone and the hopeless ones. A
 * success within a minute of the last one, with no failure since, is not written again:
 * `last_success_at` is exact to the minute, and a busy subscription costs no write per push.
 */
async function record(sql: postgres.Sql, subscriptions: Subscription[], outcomes: Outcome[]) {
  const ids = (kinds: Outcome["kind"][]) =>
    subscriptions.filter((_, i) => kinds.includes(outcomes[i].kind)).map((s) => s.id);
  const [accepted, gone, failed] = [
    subscriptions.filter((s, i) => outcomes[i].kind === "accepted" && !s.current)
      .map((s) => s.id),
    ids(["gone"]),
    ids(["transient", "refused"]),
  ];
  if (gone.length) {
    await sql`delete from public.push_subscriptions where id = any(${gone}::uuid[])`;
  }
  if (accepted.length || failed.length) {
    await sql`
      update public.push_subscriptions
      set last_success_at = case when id = any(${accepted}::uuid[]) then now()
                                 else last_success_at end,
          failure_count = case when id = any(${accepted}::uuid[]) then 0
                               else failure_count + 1 end
      where id = any(${[...accepted, ...failed]}::uuid[])`;
  }
  if (failed.length) {
    await sql`
      delete from public.push_subscriptions
      where id = any(${failed}::uuid[]) and failure_count >= ${MAX_PUSH_FAILURES}`;
  }
}

function asLibrarySubscription(s: Subscription) {
  return { endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
