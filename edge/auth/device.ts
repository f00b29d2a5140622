/**
 * Known devices: a browser that has signed in to an account (or used one of its unlock links)
 * carries a random device id in the `clinic_device` cookie; the database keeps its SHA-256 per
 * account (private.login_devices). Such a browser counts its wrong passwords apart from its
 * address, and may sign in while the account is guarded against distributed guessing.
 * HttpOnly and SameSite=Strict, scoped to `/api/auth`; Secure in production.
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../context.ts";
import { authLimits } from "./limits.ts";

export const DEVICE_COOKIE = "clinic_device";

/** newOpaqueToken's shape: 256 bits, base64url. Anything else is not our cookie. */
const deviceShape = /^[A-Za-z0-9_-]{43}$/;

/** The browser's device id, or null when it has none (or not one of ours). */
export function deviceOf(c: Context<AppEnv>): string | null {
  const value = getCookie(c, DEVICE_COOKIE);
  return value && deviceShape.test(value) ? value : null;
}

/** Sets (or renews) the device cookie on the answer. */
export function rememberDevice(c: Context<AppEnv>, id: string): void {
  setCookie(c, DEVICE_COOKIE, id, {
    path: "/api/auth",
    httpOnly: true,
    sameSite: "Strict",
    secure: c.get("config").env === "production",
    maxAge: authLimits.lockout.deviceSeconds,
  });
}
