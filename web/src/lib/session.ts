/**
 * The signed-in session: tokens in localStorage (one key per app, shared by its tabs), the
 * access token refreshed a minute before expiry (single flight; a rotation done by another tab
 * is adopted), and sign-out when the refresh token is refused.
 */
import { computed, signal } from "@preact/signals";
import { ApiError, type Auth, call, jwtPayload } from "./api.ts";
import type { components } from "./api_types.gen.ts";
import { t } from "./messages.ts";

/**
 * What a 401 from login means to the user. The server does not say whether the account exists,
 * the password was wrong, or this browser was refused after repeated failures (then the
 * account was e-mailed a link that lets a browser sign in: the `/unlock` page).
 */
export const notSignedIn = (): string => t("notSignedIn");

/** The signed-in user, as login, signup and refresh return it. */
export type User = components["schemas"]["SessionUser"];
type AuthResponse = components["schemas"]["Session"];
export type SignupInput = components["schemas"]["SignupRequest"];

export interface SessionData {
  access_token: string;
  refresh_token: string;
  /** Epoch ms when the access token expires (local clock). */
  expires_at: number;
  user: User;
  clinic_code?: string | null;
}

export interface Session extends Auth {
  current: ReturnType<typeof signal<SessionData | null>>;
  /** True when the session ended because the server refused to renew it (say so at login). */
  expired: ReturnType<typeof signal<boolean>>;
  user: ReturnType<typeof computed<User | null>>;
  login(email: string, password: string, clinicCode?: string): Promise<SessionData>;
  signup(input: SignupInput): Promise<SessionData>;
  logout(): Promise<void>;
}

function fromResponse(res: AuthResponse, clinicCode?: string | null): SessionData {
  const claims = jwtPayload(res.access_token);
  const exp = typeof claims.exp === "number" ? claims.exp * 1000 : 0;
  return {
    access_token: res.access_token,
    refresh_token: res.refresh_token,
    expires_at: exp || Date.now() + res.expires_in * 1000,
    user: res.user,
    clinic_code: clinicCode ?? res.user.clinic_code ?? null,
  };
}

export function createSession(storageKey: string): Session {
  const read = (): SessionData | null => {
    try {
      const raw = localStorage.getItem(storageKey);
      return raw ? JSON.parse(raw) as SessionData : null;
    } catch {
      return null;
    }
  };
  const current = signal<SessionData | null>(read());
  const expired = signal(false);
  const write = (data: SessionData | null) => {
    current.value = data;
    try {
      if (data) localStorage.setItem(storageKey, JSON.stringify(data));
      else localStorage.removeItem(storageKey);
    } catch {
      // Private mode: the session lives as long as the page.
    }
  };
  addEventListener("storage", (event) => {
    if (event.key === storageKey) current.value = read();
  });

  let refreshing: Promise<boolean> | undefined;
  async function doRefresh(): Promise<boolean> {
    const used = current.value;
    if (!used) return false;
    try {
      const res = await call("post", "/api/auth/refresh", {
        body: { refresh_token: used.refresh_token },
      });
      write(fromResponse(res, used.clinic_code));
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        // Another tab may have rotated the token first.
        const stored = read();
        if (stored && stored.refresh_token !== used.refresh_token) {
          current.value = stored;
          return true;
        }
        expired.value = true;
        write(null);
      }
      return false;
    }
  }

  const session: Session = {
    current,
    expired,
    user: computed(() => current.value?.user ?? null),
    async token() {
      const s = current.value;
      if (!s) return null;
      if (s.expires_at - Date.now() < 60_000) {
        await session.refresh();
        return current.value?.access_token ?? null;
      }
      return s.access_token;
    },
    refresh() {
      refreshing ??= doRefresh().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    async login(email, password, clinicCode) {
      const res = await call("post", "/api/auth/login", {
        body: { email, password, ...(clinicCode ? { clinic_code: clinicCode } : {}) },
      });
      const data = fromResponse(res, clinicCode);
      expired.value = false;
      write(data);
      return data;
    },
    async signup(input) {
      const res = await call("post", "/api/auth/signup", { body: input });
      const data = fromResponse(res, input.clinic_code);
      expired.value = false;
      write(data);
      return data;
    },
    async logout() {
      const s = current.value;
      expired.value = false;
      write(null);
      if (s) {
        await call("post", "/api/auth/logout", {
          body: { refresh_token: s.refresh_token },
          bearer: s.access_token,
        }).catch(() => {});
      }
    },
  };
  return session;
}
