/**
 * `/auth/password/*`, `/auth/email/*`: account recovery and verification — a password reset by
 * e-mailed link, e-mail verification, change of password and of address.
 *
 * The links are e-mailed by a job (edge/auth/account_mail.ts), single use, stored hashed. A
 * reset request answers the same 202 after the same work for every address: it never looks the
 * account up (supabase/migrations/20261206001200_account_recovery.sql). A reset ends every
 * session of the account; a change of password every other one. Checking the current password
 * is throttled per account. Credential work runs as `service_role`, as in auth.ts.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import { apiError } from "../errors.ts";
import { requireUser } from "../middleware/auth.ts";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import { sha256Hex } from "../auth/opaque.ts";
import { authLimits, type Window } from "../auth/limits.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { clientIp, one } from "./_shared.ts";
import { Email, hit, json, Password, tooMany } from "./auth.ts";

export const Token = z.string().min(20).max(200);

const ForgotBody = z.object({ email: Email }).openapi("PasswordForgotRequest");
const ResetBody = z.object({ token: Token, password: Password }).openapi("PasswordResetRequest");
const ChangePasswordBody = z.object({
  current_password: z.string().min(1).max(256),
  new_password: Password,
}).openapi("PasswordChangeRequest");
const ChangeEmailBody = z.object({
  new_email: Email,
  password: z.string().min(1).max(256),
}).openapi("EmailChangeRequest");
const ConfirmBody = z.object({ token: Token }).openapi("EmailConfirmRequest");

const Accepted = z.object({ status: z.literal("accepted") }).openapi("Accepted");
const Confirmed = z.object({
  purpose: z.enum(["email_verify", "email_change"]),
  email: z.string(),
}).openapi("EmailConfirmed");

const links = authLimits.accountLinks;
const minutes = (seconds: number) => `${seconds / 60} min`;
const per = (w: Window) => `${w.limit} per ${minutes(w.windowSeconds)}`;
const accepted = {
  description: "Accepted; the e-mail is on its way",
  content: { "application/json": { schema: Accepted } },
};
const linkErrors = errors(
  [400, "Invalid request, or an unknown link (`invalid_token`)"],
  [410, "A link used already (`token_used`) or expired (`token_expired`)"],
  429,
);

const forgotRoute = createRoute({
  method: "post",
  path: "/auth/password/forgot",
  tags: ["auth"],
  summary: "E-mail a link to reset the password",
  description: "Answers the same 202 for every address, known or not, after the same work; an " +
    "account with a password gets a link to the PWA's `/reset-password` page, single use, " +
    `valid ${minutes(links.password_reset.ttlSeconds)}. Rate limits: ` +
    `${per(authLimits.resetRequestPerIp)} per client address (429); ` +
    `${per(authLimits.resetRequestPerEmail)} e-mails per address (more: the same 202, no mail).`,
  request: { body: json(ForgotBody) },
  responses: { 202: accepted, ...errors(400, 429, 503) },
});

const resetRoute = createRoute({
  method: "post",
  path: "/auth/password/reset",
  tags: ["auth"],
  summary: "Set a new password with an e-mailed reset link",
  description: "Every session of the account ends (its refresh tokens are revoked; access " +
    "tokens run out within their short lifetime) and its sign-in throttling is forgotten. " +
    `Rate limit: ${per(authLimits.linkUsePerIp)} per client address.`,
  request: { body: json(ResetBody) },
  responses: { 204: { description: "The new password is set" }, ...linkErrors },
});

const changePasswordRoute = createRoute({
  method: "post",
  path: "/auth/password/change",
  tags: ["auth"],
  summary: "Change the password (the current one required)",
  description: "Every other session of the account ends; this one stays. Rate limit: " +
    `${per(authLimits.passwordChangePerUser)} password checks per account.`,
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { body: json(ChangePasswordBody) },
  responses: {
    204: { description: "Changed" },
    ...errors(
      400,
      401,
      [403, "The current password is wrong (`wrong_password`)"],
      [409, "The account signs in without a password (`no_password`)"],
      429,
    ),
  },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/auth/email/verify",
  tags: ["auth"],
  summary: "E-mail a link that verifies the account's address",
  description: `The link opens the PWA's \`/confirm-email\` page; single use, valid ` +
    `${minutes(links.email_verify.ttlSeconds)}. Rate limit: ` +
    `${per(authLimits.accountMailPerUser)} e-mails per account.`,
  security: bearerSecurity,
  middleware: [requireUser] as const,
  responses: {
    202: accepted,
    ...errors(401, [409, "The address is verified already (`email_already_verified`)"], 429, 503),
  },
});

const changeEmailRoute = createRoute({
  method: "post",
  path: "/auth/email/change",
  tags: ["auth"],
  summary: "Change the address: e-mail a confirmation link to the new one",
  description: "The address changes when the link sent to the new address is opened (single " +
    `use, valid ${minutes(links.email_change.ttlSeconds)}). The password is required. Rate ` +
    `limits: ${per(authLimits.passwordChangePerUser)} password checks and ` +
    `${per(authLimits.accountMailPerUser)} e-mails per account.`,
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { body: json(ChangeEmailBody) },
  responses: {
    202: accepted,
    ...errors(
      400,
      401,
      [403, "The password is wrong (`wrong_password`)"],
      [409, "Another account uses the address (`email_taken`), or none (`no_password`)"],
      429,
      503,
    ),
  },
});

const confirmRoute = createRoute({
  method: "post",
  path: "/auth/email/confirm",
  tags: ["auth"],
  summary: "Use an e-mailed verification or change-of-address link",
  description: "The address the link went to becomes the account's, verified. Rate limit: " +
    `${per(authLimits.linkUsePerIp)} per client address.`,
  request: { body: json(ConfirmBody) },
  responses: {
    200: { description: "Confirmed", content: { "application/json": { schema: Confirmed } } },
    ...linkErrors,
    ...errors([409, "Another account took the address meanwhile (`email_taken`)"]),
  },
});

/** Counts `rule` for `key`; 429 when over. */
export async function limit(c: Context<AppEnv>, key: string, rule: Window, what: string) {
  const [k, n, window] = hit(key, rule);
  const wait = await c.get("db").service(async (tx) =>
    one<number>(await tx`select api.rate_limit_hit(${k}, ${n}, ${window}) as r`)
  );
  if (wait > 0) throw tooMany("rate_limited", `Too many ${what}; try again later`, wait);
}

/** Where links point (`PUBLIC_URL`); without it no account e-mail can be sent. */
export function publicUrl(c: Context<AppEnv>): string {
  const url = c.get("config").publicUrl;
  if (!url) throw apiError(503, "email_unavailable", "Account e-mails are not configured");
  return url;
}

/** Checks the signed-in user's password (throttled per account); answers the user id. */
async function checkPassword(c: Context<AppEnv>, password: string): Promise<string> {
  const user = c.get("claims").sub!;
  await limit(c, `password_check:user:${user}`, authLimits.passwordChangePerUser, "attempts");
  const stored = await c.get("db").service(async (tx) =>
    one<string | null>(await tx`select api.password_hash_of(${user}) as r`)
  );
  const check = await verifyPassword(password, stored, c.get("config").passwordIterations);
  if (!stored) throw apiError(409, "no_password", "This account signs in without a password");
  if (!check.ok) throw apiError(403, "wrong_password", "The password is wrong");
  return user;
}

function mailQueued(c: Context<AppEnv>, wait: number) {
  if (wait > 0) throw tooMany("rate_limited", "Too many e-mails; try again later", wait);
  return c.json({ status: "accepted" as const }, 202);
}

export const account = new OpenAPIHono<AppEnv>()
  .openapi(forgotRoute, async (c) => {
    const { email } = c.req.valid("json");
    const url = publicUrl(c);
    await limit(c, `reset:ip:${clientIp(c)}`, authLimits.resetRequestPerIp, "reset requests");
    const { limit: n, windowSeconds } = authLimits.resetRequestPerEmail;
    // Over the per-address limit: the same answer, and no e-mail.
    await c.get("db").service((tx) =>
      tx`select api.password_reset_request(${email}, ${url}, ${n}, ${windowSeconds})`
    );
    return c.json({ status: "accepted" as const }, 202);
  })
  .openapi(resetRoute, async (c) => {
    const body = c.req.valid("json");
    await limit(c, `link:ip:${clientIp(c)}`, authLimits.linkUsePerIp, "attempts");
    const [tokenHash, passwordHash] = await Promise.all([
      sha256Hex(body.token),
      hashPassword(body.password, c.get("config").passwordIterations),
    ]);
    await c.get("db").service((tx) => tx`select api.password_reset(${tokenHash}, ${passwordHash})`);
    return c.body(null, 204);
  })
  .openapi(changePasswordRoute, async (c) => {
    const body = c.req.valid("json");
    const user = await checkPassword(c, body.current_password);
    const session = c.get("claims").session_id ?? null;
    const passwordHash = await hashPassword(body.new_password, c.get("config").passwordIterations);
    await c.get("db").service((tx) =>
      tx`select api.password_change(${user}, ${session}::uuid, ${passwordHash})`
    );
    return c.body(null, 204);
  })
  .openapi(verifyRoute, async (c) => {
    const url = publicUrl(c);
    const { limit: n, windowSeconds } = authLimits.accountMailPerUser;
    const wait = await c.get("db").service(async (tx) =>
      one<number>(
        await tx`select api.email_verify_request(${c.get("claims").sub!}, ${url}, ${n},
          ${windowSeconds}) as r`,
      )
    );
    return mailQueued(c, wait);
  })
  .openapi(changeEmailRoute, async (c) => {
    const body = c.req.valid("json");
    const url = publicUrl(c);
    const user = await checkPassword(c, body.password);
    const { limit: n, windowSeconds } = authLimits.accountMailPerUser;
    const wait = await c.get("db").service(async (tx) =>
      one<number>(
        await tx`select api.email_change_request(${user}, ${body.new_email}, ${url}, ${n},
          ${windowSeconds}) as r`,
      )
    );
    return mailQueued(c, wait);
  })
  .openapi(confirmRoute, async (c) => {
    const { token } = c.req.valid("json");
    await limit(c, `link:ip:${clientIp(c)}`, authLimits.linkUsePerIp, "attempts");
    const tokenHash = await sha256Hex(token);
    const confirmed = await c.get("db").service(async (tx) =>
      one<z.infer<typeof Confirmed>>(await tx`select api.email_confirm(${tokenHash}) as r`)
    );
    return c.json(confirmed, 200);
  });
