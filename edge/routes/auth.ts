/**
 * `/auth/*`: patient sign-up, login, unlock, refresh, logout, me.
 *
 * Passwords: PBKDF2-SHA256 with a per-user salt (edge/auth/password.ts), verified outside any
 * transaction so no connection waits on the hash. Brute force: DB-backed rate limits per
 * client address, and wrong passwords throttled per (account, source) and per account
 * (edge/auth/limits.ts, the rules in the database) so that a stranger can slow down only
 * themselves; known devices (edge/auth/device.ts) and e-mailed unlock links keep the owner in.
 * Every refused login — unknown account, wrong password, refused source — answers the same
 * 401 after the same work. Sessions: a short-lived HS256 access token (Supabase-shaped) plus an
 * opaque refresh token stored hashed, rotated on every use; presenting a rotated token again
 * revokes the whole family. Credential work runs as `service_role` (the explicit privileged
 * path); `me` runs as the user.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { apiError } from "../errors.ts";
import { requireUser } from "../middleware/auth.ts";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import { newOpaqueToken, sha256Hex } from "../auth/opaque.ts";
import { authLimits, type Window } from "../auth/limits.ts";
import { DEVICE_COOKIE, deviceOf, rememberDevice } from "../auth/device.ts";
import type { AppRole } from "../auth/tokens.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import {
  clientIp,
  ClinicCode,
  ConsentChanges,
  IsoDate,
  Language,
  Line,
  one,
  Phone,
} from "./_shared.ts";

const SessionUser = z.object({
  id: z.string(),
  email: z.string(),
  full_name: z.string(),
  role: z.string().nullable().openapi({ example: "patient" }),
  clinic_id: z.string().nullable(),
  clinic_code: z.string().nullable(),
  clinic_ids: z.array(z.string()),
  patient_id: z.string().nullable(),
}).openapi("SessionUser");

const Session = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal("bearer"),
  expires_in: z.number().int(),
  expires_at: z.number().int(),
  user: SessionUser,
}).openapi("Session");

type SessionUserJson = z.infer<typeof SessionUser>;

const Password = z.string().min(8, "At least 8 characters").max(256);
const Email = z.string().trim().max(254).email();

const SignupBody = z.object({
  clinic_code: ClinicCode,
  email: Email,
  password: Password,
  full_name: Line.trim().min(1).max(200),
  date_of_birth: IsoDate,
  gender: z.enum(["male", "female", "other", "prefer_not_to_say"]),
  phone: Phone.optional().openapi({ description: "Stored in E.164" }),
  language: Language.optional().openapi({ description: "Messages and the PWA; default `en`" }),
  consents: ConsentChanges.optional().openapi({
    description: "Consent per channel to be reached off the app (recorded with source " +
      "`signup`); a channel left out: no consent",
  }),
}).openapi("SignupRequest");

const LoginBody = z.object({
  email: Email,
  password: z.string().min(1).max(256),
  clinic_code: ClinicCode.optional(),
}).openapi("LoginRequest");

const UnlockBody = z.object({ token: z.string().min(20).max(200) }).openapi("UnlockRequest");

const RefreshBody = z.object({ refresh_token: z.string().min(20).max(200) }).openapi(
  "RefreshRequest",
);
const LogoutBody = z.object({ refresh_token: z.string().max(200).optional() }).openapi(
  "LogoutRequest",
);

const json = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
  required: true,
});

const signupRoute = createRoute({
  method: "post",
  path: "/auth/signup",
  tags: ["auth"],
  summary: "Sign up as a patient of a clinic",
  request: { body: json(SignupBody) },
  responses: {
    201: {
      description: "Signed up and signed in",
      content: { "application/json": { schema: Session } },
    },
    ...errors(400, 404, 409, 429),
  },
});

const { perSource, perAccount, unlockLink } = authLimits.lockout;
const deviceCookie = {
  "Set-Cookie": {
    description: `\`${DEVICE_COOKIE}\`: this browser's device id (HttpOnly, path /api/auth)`,
    schema: { type: "string" as const },
  },
};

const loginRoute = createRoute({
  method: "post",
  path: "/auth/login",
  tags: ["auth"],
  summary: "Sign in with email and password",
  description: "An unknown email, a wrong password and a refused source all answer the same " +
    "401 invalid_credentials. A source — the client address, or a browser that has signed in " +
    `to the account before (the \`${DEVICE_COOKIE}\` cookie) — is refused for an account after ` +
    `${perSource.maxFailures} wrong passwords, for ${perSource.lockSeconds / 60} minutes, ` +
    `doubling with each further lock. After ${perAccount.maxFailures} wrong passwords from all ` +
    `sources together, only browsers that have signed in before may sign in for ` +
    `${perAccount.lockSeconds / 60} minutes (doubling). The right password from a refused ` +
    "source e-mails the account an unlock link (POST /api/auth/unlock). Rate limit: " +
    `${authLimits.loginPerIp.limit} attempts per ${authLimits.loginPerIp.windowSeconds / 60} ` +
    "min per client address (429 rate_limited).",
  request: { body: json(LoginBody) },
  responses: {
    200: {
      description: "Signed in",
      headers: deviceCookie,
      content: { "application/json": { schema: Session } },
    },
    ...errors(400, [401, "Wrong email or password (`invalid_credentials`)"], 403, 404, 429),
  },
});

const unlockRoute = createRoute({
  method: "post",
  path: "/auth/unlock",
  tags: ["auth"],
  summary: "Use an e-mailed unlock link: this browser may sign in again",
  description: "The token from the link the account was sent when its right password came " +
    `from a refused source. Works once, within ${unlockLink.ttlSeconds / 60} minutes; makes ` +
    `this browser (the \`${DEVICE_COOKIE}\` cookie) a known device of the account. ` +
    `Rate limit: ${authLimits.unlockPerIp.limit} per ` +
    `${authLimits.unlockPerIp.windowSeconds / 60} min per client address.`,
  request: { body: json(UnlockBody) },
  responses: {
    204: { description: "This browser may sign in", headers: deviceCookie },
    ...errors(400, [401, "Unknown, used or expired link (`invalid_unlock_token`)"], 429),
  },
});

const refreshRoute = createRoute({
  method: "post",
  path: "/auth/refresh",
  tags: ["auth"],
  summary: "Exchange a refresh token for a new session (rotation)",
  description: "Each refresh token works once. Presenting an already-rotated token again " +
    "revokes every token of that session (401 refresh_token_reused).",
  request: { body: json(RefreshBody) },
  responses: {
    200: { description: "New tokens", content: { "application/json": { schema: Session } } },
    ...errors(400, 401, 429),
  },
});

const logoutRoute = createRoute({
  method: "post",
  path: "/auth/logout",
  tags: ["auth"],
  summary: "Sign out: revoke the session's refresh tokens",
  description: "Revokes the refresh-token family of the given refresh token and/or of the " +
    "bearer token's session. Access tokens stay valid until they expire (short-lived).",
  request: {
    body: { content: { "application/json": { schema: LogoutBody } }, required: false },
  },
  responses: { 204: { description: "Signed out" }, ...errors(400, 401) },
});

const Me = z.object({
  user: z.object({
    id: z.string(),
    // null for Supabase Auth's phone-only and anonymous users (AUTH_MODE=supabase)
    email: z.string().nullable(),
    full_name: z.string(),
    display_name: z.string().nullable(),
    phone: z.string().nullable(),
    language: z.string(),
    is_superadmin: z.boolean(),
    role: z.string().nullable(),
    clinic_id: z.string().nullable(),
    memberships: z.array(z.object({
      clinic_id: z.string(),
      clinic_code: z.string(),
      clinic_name: z.string(),
      role: z.string(),
      is_primary: z.boolean(),
    })),
    patients: z.array(z.object({
      id: z.string(),
      clinic_id: z.string(),
      patient_number: z.string(),
      full_name: z.string(),
    })),
  }),
}).openapi("Me");

const meRoute = createRoute({
  method: "get",
  path: "/auth/me",
  tags: ["auth"],
  summary: "The signed-in user, memberships and patient records",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: {
    200: { description: "The user", content: { "application/json": { schema: Me } } },
    ...errors(401),
  },
});

interface SessionRow {
  session_id: string;
  user: SessionUserJson;
}

async function issue(c: Context<AppEnv>, session: SessionRow, refreshToken: string) {
  const user = session.user;
  const { token, expiresIn } = await c.get("tokens").signAccess({
    userId: user.id,
    email: user.email,
    sessionId: session.session_id,
    fullName: user.full_name,
    appMetadata: {
      clinic_id: user.clinic_id,
      clinic_ids: user.clinic_ids,
      ...(user.role ? { role: user.role as AppRole } : {}),
    },
  });
  return {
    access_token: token,
    refresh_token: refreshToken,
    token_type: "bearer" as const,
    expires_in: expiresIn,
    expires_at: Math.floor(Date.now() / 1000) + expiresIn,
    user,
  };
}

function tooMany(code: string, message: string, retryAfter: number) {
  return apiError(429, code, message, undefined, { "retry-after": String(Math.ceil(retryAfter)) });
}

function hit(key: string, rule: Window) {
  return [key, rule.limit, rule.windowSeconds] as const;
}

export const auth = new OpenAPIHono<AppEnv>()
  .openapi(signupRoute, async (c) => {
    const body = c.req.valid("json");
    const config = c.get("config");
    const [key, limit, window] = hit(`signup:ip:${clientIp(c)}`, authLimits.signupPerIp);
    const wait = await c.get("db").service(async (tx) =>
      one<number>(await tx`select api.rate_limit_hit(${key}, ${limit}, ${window}) as r`)
    );
    if (wait > 0) throw tooMany("rate_limited", "Too many sign-ups; try again later", wait);
    const passwordHash = await hashPassword(body.password, config.passwordIterations);
    const refresh = newOpaqueToken();
    const refreshHash = await sha256Hex(refresh);
    const session = await c.get("db").service(async (tx) =>
      one<SessionRow>(
        await tx`select api.signup_patient(${body.clinic_code}, ${body.email}, ${passwordHash},
          ${body.full_name}, ${body.date_of_birth}::date, ${body.gender}::public.gender,
          ${body.phone ?? null}, ${refreshHash}, ${config.refreshTokenTtl},
          ${body.consents ? tx.json(body.consents) : null}::jsonb, ${body.language ?? null}) as r`,
      )
    );
    return c.json(await issue(c, session, refresh), 201);
  })
  .openapi(loginRoute, async (c) => {
    const body = c.req.valid("json");
    const config = c.get("config");
    const device = deviceOf(c);
    const deviceHash = device ? await sha256Hex(device) : null;
    const address = clientIp(c);
    const [key, limit, window] = hit(`login:ip:${address}`, authLimits.loginPerIp);
    const first = await c.get("db").service(async (tx) => {
      const [row] = await tx`select
        api.rate_limit_hit(${key}, ${limit}, ${window}) as wait,
        api.login_begin(${body.email}, ${address}, ${deviceHash}) as attempt`;
      return row as {
        wait: number;
        attempt: {
          user_id: string | null;
          password_hash: string | null;
          source: string;
          blocked: boolean;
        };
      };
    });
    if (first.wait > 0) {
      throw tooMany("rate_limited", "Too many sign-in attempts; try again later", first.wait);
    }
    const attempt = first.attempt;
    // The same hash work whether or not the account exists or the source is refused.
    const check = await verifyPassword(
      body.password,
      attempt.password_hash,
      config.passwordIterations,
    );
    if (!check.ok || attempt.blocked) {
      await c.get("db").service((tx) =>
        tx`select api.login_failed(${body.email}, ${attempt.source}, ${attempt.user_id},
          ${check.ok}, ${tx.json(authLimits.lockout)}, ${config.publicUrl ?? null})`
      );
      throw apiError(401, "invalid_credentials", "Wrong email or password");
    }
    const rehash = check.needsRehash
      ? await hashPassword(body.password, config.passwordIterations)
      : null;
    const refresh = newOpaqueToken();
    const known = device ?? newOpaqueToken();
    const [refreshHash, knownHash] = await Promise.all([sha256Hex(refresh), sha256Hex(known)]);
    const session = await c.get("db").service(async (tx) =>
      one<SessionRow>(
        await tx`select api.login_succeeded(${attempt.user_id}, ${body.clinic_code ?? null},
          ${rehash}, ${refreshHash}, ${config.refreshTokenTtl}, ${body.email}, ${attempt.source},
          ${knownHash}, ${authLimits.lockout.deviceSeconds}) as r`,
      )
    );
    rememberDevice(c, known);
    return c.json(await issue(c, session, refresh), 200);
  })
  .openapi(unlockRoute, async (c) => {
    const body = c.req.valid("json");
    const [key, limit, window] = hit(`unlock:ip:${clientIp(c)}`, authLimits.unlockPerIp);
    const device = deviceOf(c) ?? newOpaqueToken();
    const [tokenHash, deviceHash] = await Promise.all([sha256Hex(body.token), sha256Hex(device)]);
    const result = await c.get("db").service(async (tx) => {
      const wait = one<number>(
        await tx`select api.rate_limit_hit(${key}, ${limit}, ${window}) as r`,
      );
      if (wait > 0) return { wait, unlocked: false };
      const unlocked = one<boolean>(
        await tx`select api.login_unlock(${tokenHash}, ${deviceHash},
          ${authLimits.lockout.deviceSeconds}) as r`,
      );
      return { wait: 0, unlocked };
    });
    if (result.wait > 0) {
      throw tooMany("rate_limited", "Too many unlock attempts; try again later", result.wait);
    }
    if (!result.unlocked) {
      throw apiError(401, "invalid_unlock_token", "This unlock link is unknown, used or expired");
    }
    rememberDevice(c, device);
    return c.body(null, 204);
  })
  .openapi(refreshRoute, async (c) => {
    const body = c.req.valid("json");
    const config = c.get("config");
    const [key, limit, window] = hit(`refresh:ip:${clientIp(c)}`, authLimits.refreshPerIp);
    const refresh = newOpaqueToken();
    const [oldHash, newHash] = await Promise.all([
      sha256Hex(body.refresh_token),
      sha256Hex(refresh),
    ]);
    const result = await c.get("db").service(async (tx) => {
      const wait = one<number>(
        await tx`select api.rate_limit_hit(${key}, ${limit}, ${window}) as r`,
      );
      if (wait > 0) return { wait };
      return {
        wait: 0,
        rotated: one<SessionRow | { error: string }>(
          await tx`select api.refresh_rotate(${oldHash}, ${newHash}, ${config.refreshTokenTtl}) as r`,
        ),
      };
    });
    if (result.wait > 0) {
      throw tooMany("rate_limited", "Too many refresh attempts; try again later", result.wait);
    }
    const rotated = result.rotated!;
    if ("error" in rotated) {
      const messages: Record<string, string> = {
        invalid_refresh_token: "Unknown refresh token",
        refresh_token_revoked: "This session has been signed out",
        refresh_token_reused: "This refresh token was already used; the session is now revoked",
        refresh_token_expired: "The refresh token has expired",
      };
      throw apiError(401, rotated.error, messages[rotated.error] ?? "Invalid refresh token");
    }
    return c.json(await issue(c, rotated, refresh), 200);
  })
  .openapi(logoutRoute, async (c) => {
    let body: z.infer<typeof LogoutBody> = {};
    if ((c.req.header("content-type") ?? "").includes("application/json")) {
      body = c.req.valid("json") ?? {};
    }
    const claims = c.get("claims");
    const session = claims.role === "authenticated" && typeof claims.session_id === "string"
      ? claims.session_id
      : null;
    const user = session ? claims.sub ?? null : null;
    if (!body.refresh_token && !session) {
      throw apiError(401, "auth_required", "Send a refresh token or sign in to sign out");
    }
    const tokenHash = body.refresh_token ? await sha256Hex(body.refresh_token) : null;
    await c.get("db").service((tx) =>
      tx`select api.logout(${tokenHash}, ${session}::uuid, ${user}::uuid) as r`
    );
    return c.body(null, 204);
  })
  .openapi(meRoute, async (c) => {
    const me = await c.get("db").run(async (tx) =>
      one<Record<string, unknown> | null>(await tx`select api.me() as r`)
    );
    if (!me) throw apiError(401, "auth_required", "The account no longer exists");
    const meta = c.get("claims").app_metadata ?? {};
    return c.json({
      user: {
        ...(me as z.infer<typeof Me>["user"]),
        role: meta.role ?? null,
        clinic_id: meta.clinic_id ?? null,
      },
    }, 200);
  });
