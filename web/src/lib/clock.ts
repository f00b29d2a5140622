/**
 * Server time: the offset between this device's clock and the server's, learnt from the `Date`
 * header of API responses (1 s resolution, corrected for half the round trip). TVs and phones
 * with wrong clocks still show the right time and the right "waited" durations.
 */
import { signal } from "@preact/signals";

/** Server time minus local time, in milliseconds. */
export const clockOffset = signal(0);
let bestRtt = Infinity;
let samples = 0;

/** Feeds one response's `Date` header (sentAt/receivedAt: local `Date.now()` values). */
export function noteServerDate(header: string | null, sentAt: number, receivedAt: number): void {
  if (!header) return;
  const server = Date.parse(header);
  if (Number.isNaN(server)) return;
  const rtt = Math.max(0, receivedAt - sentAt);
  // Date has whole seconds: the true server time is in [server, server + 1000).
  const offset = server + 500 - (sentAt + rtt / 2);
  samples++;
  // Prefer the fastest round trips; re-learn slowly so a changed device clock is followed.
  if (rtt <= bestRtt * 1.5 || samples % 10 === 0 || Math.abs(offset - clockOffset.value) > 5000) {
    bestRtt = Math.min(bestRtt, rtt);
    clockOffset.value = samples === 1 ? offset : Math.round(clockOffset.value * 0.5 + offset * 0.5);
  }
}

/** Server-corrected "now" in epoch milliseconds. */
export function serverNow(): number {
  return Date.now() + clockOffset.value;
}
