/**
 * Brute-force defences of the auth endpoints. Rate limits are fixed windows counted in the
 * database (private.rate_limits via api.rate_limit_hit), so every edge instance shares them;
 * they are per client address only, so a stranger can only rate-limit themselves. Wrong
 * passwords are throttled per (account, source) and per account with the rules of `lockout`,
 * applied in the database (supabase/migrations/20261122000500_authentication.sql).
 */

export interface Window {
  limit: number;
  windowSeconds: number;
}

/**
 * Wrong passwords that lock, and the first lock's length (each further lock doubles it). A type,
 * not an interface, so the rules pass as JSON to the database.
 */
export type LockRule = {
  maxFailures: number;
  lockSeconds: number;
};

export const authLimits = {
  /** Login attempts per client address. */
  loginPerIp: { limit: 30, windowSeconds: 300 } as Window,
  /** Sign-ups per client address. */
  signupPerIp: { limit: 10, windowSeconds: 3600 } as Window,
  /** Refresh-token exchanges per client address. */
  refreshPerIp: { limit: 120, windowSeconds: 60 } as Window,
  /** Unlock-link uses per client address. */
  unlockPerIp: { limit: 10, windowSeconds: 900 } as Window,
  /** "Forgot password" requests per client address. */
  resetRequestPerIp: { limit: 10, windowSeconds: 900 } as Window,
  /**
   * Reset e-mails per address as typed, known or not (more requests answer the same and send
   * nothing): nobody can flood a mailbox.
   */
  resetRequestPerEmail: { limit: 3, windowSeconds: 900 } as Window,
  /** Uses of reset and e-mail links per client address. */
  linkUsePerIp: { limit: 10, windowSeconds: 900 } as Window,
  /** Verification and change-of-address e-mails per account. */
  accountMailPerUser: { limit: 3, windowSeconds: 900 } as Window,
  /** Password changes per account: the current password is checked, so it is throttled too. */
  passwordChangePerUser: { limit: 5, windowSeconds: 900 } as Window,
  /** How long each e-mailed account link works (once). */
  accountLinks: {
    password_reset: { ttlSeconds: 1800 },
    email_verify: { ttlSeconds: 3600 },
    email_change: { ttlSeconds: 3600 },
    login_unlock: { ttlSeconds: 3600 },
    /** A staff invitation (the invitation's expiry; a new mail replaces the link). */
    staff_invite: { ttlSeconds: 7 * 86_400 },
  },
  lockout: {
    /**
     * Wrong passwords for one account from one source (a client address, or a known device
     * of the account): that source is refused for that account only.
     */
    perSource: { maxFailures: 5, lockSeconds: 900 } as LockRule,
    /**
     * Wrong passwords for one account from every source together (distributed guessing): the
     * account is guarded — only its known devices may sign in; the right password from
     * anywhere else e-mails an unlock link instead.
     */
    perAccount: { maxFailures: 20, lockSeconds: 3600 } as LockRule,
    /** The longest lock; failures are forgotten after this long without one. */
    maxLockSeconds: 86_400,
    /** Unlock links: at most one e-mail per account per `everySeconds` (valid: accountLinks). */
    unlockLink: { everySeconds: 900 },
    /** A browser stays a known device of an account this long after its last sign-in. */
    deviceSeconds: 180 * 86_400,
  },
};
