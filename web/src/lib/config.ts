/**
 * The public client configuration (`GET /api/config`: the anon key realtime needs). Every live
 * screen waits for it before it can connect, so a failed load is retried, backing off, until it
 * succeeds or the screen no longer needs it.
 */
import { call } from "./api.ts";
import type { components } from "./api_types.gen.ts";

export type PublicConfig = components["schemas"]["PublicConfig"];

let configPromise: Promise<PublicConfig> | undefined;
/** `GET /api/config`, once per page (retried after a failure). */
export function publicConfig(): Promise<PublicConfig> {
  configPromise ??= call("get", "/api/config", {}).catch((error) => {
    configPromise = undefined;
    throw error;
  });
  return configPromise;
}

export interface WaitOptions {
  /** The longest pause between attempts, which back off 1 s, 2 s, 4 s… (default 20 s). */
  maxDelayMs?: number;
  /** Asked after each pause: true gives up (the caller's screen or user has gone). */
  cancelled?: () => boolean;
  load?: () => Promise<PublicConfig>;
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The public config, retried with exponential backoff until it loads; null once cancelled. */
export async function waitForConfig(options: WaitOptions = {}): Promise<PublicConfig | null> {
  const { maxDelayMs = 20_000, cancelled = () => false, load = publicConfig, sleep = pause } =
    options;
  for (let attempt = 0;; attempt++) {
    try {
      return await load();
    } catch {
      await sleep(Math.min(maxDelayMs, 1_000 * 2 ** attempt));
      if (cancelled()) return null;
    }
  }
}
