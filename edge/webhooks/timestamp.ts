/**
 * Replay window checks for signed webhook timestamps.
 *
 * @module
 */

/** Default tolerance: five minutes either side of now. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const UNIX_SECONDS = /^\d{1,12}$/;

/** Parses a Unix timestamp in whole seconds; `null` unless it is plain digits. */
export function parseUnixSeconds(text: string): number | null {
  return UNIX_SECONDS.test(text) ? Number(text) : null;
}

/**
 * True when `timestamp` (Unix seconds) is no more than `toleranceSeconds`
 * before or after `now`. Both stale and future timestamps fall outside.
 */
export function isTimestampInRange(
  timestamp: number,
  now: Date = new Date(),
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  return Math.abs(nowSeconds - timestamp) <= toleranceSeconds;
}
