/**
 * Brute-force defences of the auth endpoints. Rate limits are fixed windows counted in the
 * database (private.rate_limits via api.rate_limit_hit), so every edge instance shares them;
 * the lockout lives on the account (private.credentials.failed_login_attempts/locked_until).
 */

export interface Window {
  limit: number;
  windowSeconds: number;
}

export const authLimits = {
  /** Login attempts per client address. */
  loginPerIp: { limit: 30, windowSeconds: 300 } as Window,
  /** Login attempts per email address (known or not), from anywhere. */
  loginPerAccount: { limit: 10, windowSeconds: 900 } as Window,
  /** Sign-ups per client address. */
  signupPerIp: { limit: 10, windowSeconds: 3600 } as Window,
  /** Refresh-token exchanges per client address. */
  refreshPerIp: { limit: 120, windowSeconds: 60 } as Window,
  /** Consecutive wrong passwords that lock an account, and for how long. */
  lockout: { maxFailures: 5, lockSeconds: 900 },
};
