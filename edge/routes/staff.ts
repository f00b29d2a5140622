/**
 * `/clinics/:code/staff`, `/clinics/:code/invitations`: a clinic's admins invite staff by
 * e-mail, change a member's role and end a membership; `/auth/invitations/accept` uses an
 * invitation link. The rules live in the database
 * (supabase/migrations/20261206001500_staff_invitations.sql): admins only, one staff role per
 * member, the last admin stays, every change audited. The invitation mail goes the way account
 * e-mails go (edge/auth/account_mail.ts); accepting runs as `service_role`, as a password reset.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { hashPassword } from "../auth/password.ts";
import { sha256Hex } from "../auth/opaque.ts";
import { authLimits } from "../auth/limits.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { clientIp, ClinicCode, Line, one, Uuid } from "./_shared.ts";
import { Email, json, Password } from "./auth.ts";
import { limit, publicUrl, Token } from "./account.ts";

/** The roles an admin may give: private.staff_roles() (checked by tests/edge/staff_test.ts). */
export const StaffRole = z.enum(["doctor", "nurse", "staff", "admin"]).openapi("StaffRole");

const Member = z.object({
  user_id: z.string(),
  full_name: z.string(),
  email: z.string(),
  role: StaffRole,
  granted_at: z.string(),
}).openapi("StaffMember");

const Invitation = z.object({
  id: z.string(),
  email: z.string(),
  role: StaffRole,
  created_at: z.string(),
  expires_at: z.string(),
  expired: z.boolean(),
}).openapi("StaffInvitation");

const Staff = z.object({
  members: z.array(Member),
  invitations: z.array(Invitation).openapi({ description: "Pending invitations, newest first" }),
}).openapi("Staff");

const Accepted = z.object({
  clinic_code: z.string(),
  role: StaffRole,
  email: z.string(),
  account_created: z.boolean(),
}).openapi("InvitationAccepted");

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});
const MemberParams = CodeParam.extend({
  user_id: Uuid.openapi({ param: { name: "user_id", in: "path" } }),
});
const InvitationParams = CodeParam.extend({
  id: Uuid.openapi({ param: { name: "id", in: "path" } }),
});

const ttlDays = authLimits.accountLinks.staff_invite.ttlSeconds / 86_400;
const adminErrors = [400, 401, [403, "Not an admin of the clinic (`not_clinic_admin`)"]] as const;

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/staff",
  tags: ["staff"],
  summary: "The clinic's staff and pending invitations (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: CodeParam },
  responses: {
    200: { description: "Staff", content: { "application/json": { schema: Staff } } },
    ...errors(...adminErrors, 404),
  },
});

const inviteRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/invitations",
  tags: ["staff"],
  summary: "Invite a member of staff by e-mail (admins)",
  description: "The address gets a link to the PWA's `/accept-invite` page, single use, valid " +
    `${ttlDays} days; a new invitation to the same address replaces the pending one and its link.`,
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: json(z.object({ email: Email, role: StaffRole }).openapi("StaffInvitationRequest")),
  },
  responses: {
    201: { description: "Invited", content: { "application/json": { schema: Invitation } } },
    ...errors(
      ...adminErrors,
      404,
      [409, "The address is staff of the clinic already (`already_staff`)"],
      503,
    ),
  },
});

const withdrawRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/invitations/{id}",
  tags: ["staff"],
  summary: "Withdraw a pending invitation: its link stops working (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: InvitationParams },
  responses: { 204: { description: "Withdrawn" }, ...errors(...adminErrors, 404) },
});

const roleRoute = createRoute({
  method: "patch",
  path: "/clinics/{code}/staff/{user_id}",
  tags: ["staff"],
  summary: "Change a staff member's role (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: MemberParams,
    body: json(z.object({ role: StaffRole }).openapi("StaffRoleChange")),
  },
  responses: {
    200: { description: "Changed", content: { "application/json": { schema: Member } } },
    ...errors(...adminErrors, 404, [409, "The clinic's last admin (`last_admin`)"]),
  },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/staff/{user_id}",
  tags: ["staff"],
  summary: "End a staff member's membership (admins)",
  description: "Their open realtime streams stop at the next change; a patient record of " +
    "theirs stays.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: MemberParams },
  responses: {
    204: { description: "Revoked" },
    ...errors(...adminErrors, 404, [409, "The clinic's last admin (`last_admin`)"]),
  },
});

const acceptRoute = createRoute({
  method: "post",
  path: "/auth/invitations/accept",
  tags: ["auth"],
  summary: "Accept a staff invitation with its e-mailed link",
  description: "The invited address's account gets the role; without one, an account is made " +
    "from `full_name` and `password` (400 `account_details_required` when they are missing). " +
    `Rate limit: ${authLimits.linkUsePerIp.limit} per client address.`,
  request: {
    body: json(
      z.object({
        token: Token,
        full_name: Line.trim().min(1).max(200).optional(),
        password: Password.optional(),
      }).openapi("InvitationAcceptRequest"),
    ),
  },
  responses: {
    200: { description: "Accepted", content: { "application/json": { schema: Accepted } } },
    ...errors(
      [400, "Invalid request, an unknown link (`invalid_token`) or a missing name and password"],
      [410, "A link used already (`token_used`), withdrawn or expired (`token_expired`)"],
      429,
    ),
  },
});

type Member = z.infer<typeof Member>;

export const staff = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const list = await c.get("db").run(async (tx) =>
      one<z.infer<typeof Staff>>(await tx`select api.list_staff(${code}) as r`)
    );
    return c.json(list, 200);
  })
  .openapi(inviteRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { email, role } = c.req.valid("json");
    const url = publicUrl(c);
    const { ttlSeconds } = authLimits.accountLinks.staff_invite;
    const invitation = await c.get("db").run(async (tx) =>
      one<z.infer<typeof Invitation>>(
        await tx`select api.invite_staff(${code}, ${email}, ${role}, ${url}, ${ttlSeconds}) as r`,
      )
    );
    return c.json(invitation, 201);
  })
  .openapi(withdrawRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.revoke_invitation(${code}, ${id}::uuid)`);
    return c.body(null, 204);
  })
  .openapi(roleRoute, async (c) => {
    const { code, user_id } = c.req.valid("param");
    const { role } = c.req.valid("json");
    const member = await c.get("db").run(async (tx) =>
      one<Member>(await tx`select api.set_member_role(${code}, ${user_id}::uuid, ${role}) as r`)
    );
    return c.json(member, 200);
  })
  .openapi(revokeRoute, async (c) => {
    const { code, user_id } = c.req.valid("param");
    await c.get("db").run((tx) => tx`select api.revoke_member(${code}, ${user_id}::uuid)`);
    return c.body(null, 204);
  })
  .openapi(acceptRoute, async (c) => {
    const body = c.req.valid("json");
    await limit(c, `link:ip:${clientIp(c)}`, authLimits.linkUsePerIp, "attempts");
    const [tokenHash, passwordHash] = await Promise.all([
      sha256Hex(body.token),
      body.password ? hashPassword(body.password, c.get("config").passwordIterations) : null,
    ]);
    const accepted = await c.get("db").service(async (tx) =>
      one<z.infer<typeof Accepted>>(
        await tx`select api.accept_invitation(${tokenHash}, ${body.full_name ?? null},
          ${passwordHash}) as r`,
      )
    );
    return c.json(accepted, 200);
  });
