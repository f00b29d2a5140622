/**
 * The outbound retry policy (Standard Webhooks' suggestion): attempts immediately, then after
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h — eight in all — each delay with ±10 % jitter.
 * `Retry-After` on 429/503 is honoured: the next attempt is never earlier than it asks (capped
 * at 24 h), and never earlier than the schedule (so a receiver cannot burn the attempts).
 *
 * @module
 */

/** Delay before attempt n+1 after attempt n failed, seconds (index n-1); 8 attempts in all. */
export const RETRY_SCHEDULE_SECONDS: readonly number[] = [
  5,
  5 * 60,
  30 * 60,
  2 * 3600,
  5 * 3600,
  10 * 3600,
  10 * 3600,
];

/** Total attempts: the immediate one and one per scheduled delay. */
export const MAX_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length + 1;

/** Relative jitter either side of each delay. */
export const JITTER = 0.1;

/** Longest `Retry-After` we honour. */
export const MAX_RETRY_AFTER_SECONDS = 24 * 3600;

/**
 * Parses `Retry-After` (delay-seconds or an HTTP-date) into seconds from `now`; null when
 * absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now = new Date()): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), MAX_RETRY_AFTER_SECONDS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, Math.ceil((at - now.getTime()) / 1000)), MAX_RETRY_AFTER_SECONDS);
}

/**
 * Seconds until the next attempt after attempt `attempt` (1-based) failed, or null when it was
 * the last. `retryAfterSeconds` applies only to 429 and 503 answers.
 */
export function nextDelaySeconds(
  attempt: number,
  options: { status?: number | null; retryAfterSeconds?: number | null; random?: () => number } =
    {},
): number | null {
  if (attempt >= MAX_ATTEMPTS) return null;
  const base = RETRY_SCHEDULE_SECONDS[Math.max(0, attempt - 1)];
  const random = options.random ?? Math.random;
  const jittered = base * (1 - JITTER + 2 * JITTER * random());
  const honoured = (options.status === 429 || options.status === 503) &&
      options.retryAfterSeconds != null
    ? options.retryAfterSeconds
    : 0;
  return Math.max(jittered, honoured);
}
