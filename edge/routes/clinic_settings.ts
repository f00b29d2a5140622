/**
 * `/clinics/:code/settings`: the clinic's admins read and change its typed settings — time
 * zone, opening hours, queue policy, reminder leads, quiet hours and whether it takes new
 * patients. The database owns the
 * rules (private.clinic_settings_valid is the check on clinics.settings; opening hours and the
 * doctors' hours bind each other by constraint triggers); `SettingsDocument` mirrors the
 * validator so a bad value is a 400 naming its field, and tests/edge/clinic_settings_test.ts
 * checks that it accepts exactly what the database accepts.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors } from "../openapi.ts";
import { ClinicCode, one } from "./_shared.ts";

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});

/** A whole number of `lo`..`hi`. */
const whole = (lo: number, hi: number) => z.number().int().min(lo).max(hi);

/** Clinic-local `HH:MM`. */
const Hm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "Use HH:MM");

export const QueueSettings = z.strictObject({
  check_in_window_minutes: whole(0, 10080).optional().openapi({
    description: "Online check-in opens this long before a visit (default 60)",
  }),
  check_in_late_minutes: whole(0, 1440).optional().openapi({
    description: "…and stays open this long after its start (default 60)",
  }),
  near_threshold: whole(0, 50).optional().openapi({
    description: "Tell a patient when this many are ahead (default 3)",
  }),
  lateness_grace_minutes: whole(0, 240).optional().openapi({
    description: "Checked in by start + this: due at the booked time (default 10)",
  }),
  priority_step_minutes: whole(0, 240).optional().openapi({
    description: "Each priority level moves a ticket this much earlier (default 15)",
  }),
  max_wait_minutes: whole(1, 1440).optional().openapi({
    description: "Waited longer: goes first (default 90)",
  }),
  no_show_recall_minutes: whole(0, 240).optional().openapi({
    description: "A called patient not seen may be recalled within this (default 30)",
  }),
  no_show_grace_minutes: whole(0, 1440).optional().openapi({
    description: "Not checked in by start + this: a no-show (default 15)",
  }),
}).openapi("QueueSettings");

const QuietHours = z.union([z.literal(false), z.null(), z.strictObject({ start: Hm, end: Hm })])
  .openapi({
    description: "Clinic-local; start after end spans midnight; false or null: none " +
      '(default {"start":"21:00","end":"08:00"})',
  });

export const NotificationSettings = z.strictObject({
  reminder_minutes_before: z.array(whole(1, 10080)).max(5).optional().openapi({
    description: "Reminders this many minutes before a visit; [] for none (default [1440, 120])",
  }),
  quiet_hours: QuietHours.optional(),
}).openapi("NotificationSettings");

/** The settings document as the database takes it (private.clinic_settings_valid). */
export const SettingsDocument = z.strictObject({
  queue: QueueSettings.optional(),
  notifications: NotificationSettings.optional(),
});

const OpeningInterval = z.strictObject({
  weekday: whole(0, 6).openapi({ description: "0 = Sunday" }),
  opens: Hm,
  closes: z.string().regex(/^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/, "Use HH:MM"),
}).openapi("OpeningInterval");

const SettingsPatch = z.strictObject({
  ...SettingsDocument.shape,
  timezone: z.string().min(1).max(64).optional().openapi({
    description: "An IANA time zone, e.g. Asia/Singapore",
  }),
  opening_hours: z.array(OpeningInterval).max(70).optional().openapi({
    description: "The whole week, replacing the current one; [] for none (nothing bound)",
  }),
  accepts_new_patients: z.boolean().optional().openapi({
    description: "false: sign-up, registering from another clinic and new dependants are " +
      "refused (409 `not_accepting_patients`); existing patients book as before",
  }),
}).openapi("ClinicSettingsPatch");

const Settings = z.object({
  timezone: z.string(),
  accepts_new_patients: z.boolean(),
  queue: z.object({
    check_in_window_minutes: z.number().int(),
    check_in_late_minutes: z.number().int(),
    near_threshold: z.number().int(),
    lateness_grace_minutes: z.number().int(),
    priority_step_minutes: z.number().int(),
    max_wait_minutes: z.number().int(),
    no_show_recall_minutes: z.number().int(),
    no_show_grace_minutes: z.number().int(),
  }),
  notifications: z.object({
    reminder_minutes_before: z.array(z.number().int()),
    quiet_hours: z.union([z.literal(false), z.object({ start: z.string(), end: z.string() })]),
  }),
  opening_hours: z.array(OpeningInterval),
}).openapi("ClinicSettings");

const json = { "application/json": { schema: Settings } };

const getRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/settings",
  tags: ["clinics"],
  summary: "The clinic's time zone, opening hours and settings, defaults filled in (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: CodeParam },
  responses: { 200: { description: "Settings", content: json }, ...errors(400, 401, 403, 404) },
});

const patchRoute = createRoute({
  method: "patch",
  path: "/clinics/{code}/settings",
  tags: ["clinics"],
  summary: "Change the clinic's settings (admins; audited)",
  description: "`queue` and `notifications` merge key by key into the stored settings; " +
    "`opening_hours` replaces the week. Doctors' work hours must lie within the opening " +
    "hours whenever the clinic has any (a day without intervals is closed): opening hours " +
    "that would leave some outside are refused (409 `doctor_hours_outside` naming them), and " +
    "so are doctors' hours outside them (409 `outside_opening_hours`). The time zone cannot " +
    "change while bookings (scheduled or confirmed) remain from the clinic's local today on: " +
    "their instants would stay while their local dates and times moved, so the answer is 409 " +
    "`time_zone_in_use` listing them to move or cancel first; holds are released.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    body: { content: { "application/json": { schema: SettingsPatch } }, required: true },
  },
  responses: {
    200: { description: "The settings now", content: json },
    ...errors(
      400,
      401,
      403,
      404,
      [409, "Doctors' hours outside the opening hours, or bookings in the way of a time zone"],
      [422, "An unknown time zone; opening hours closing before they open or overlapping"],
    ),
  },
});

export const clinicSettings = new OpenAPIHono<AppEnv>()
  .openapi(getRoute, async (c) => {
    const { code } = c.req.valid("param");
    const settings = await c.get("db").run(async (tx) =>
      one(await tx`select api.clinic_settings(${code}) as r`)
    );
    return c.json(settings as z.infer<typeof Settings>, 200);
  })
  .openapi(patchRoute, async (c) => {
    const { code } = c.req.valid("param");
    const patch = c.req.valid("json");
    const settings = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.update_clinic_settings(${code},
          ${tx.json(patch as postgres.JSONValue)}) as r`,
      )
    );
    return c.json(settings as z.infer<typeof Settings>, 200);
  });
