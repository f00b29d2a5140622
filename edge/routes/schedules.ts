/**
 * `/clinics/:code/doctors…`: a clinic's admins list its doctors with a summary of their
 * schedules, read and change a doctor's schedule (slot settings and the week's hours, in one
 * go), block and unblock dates, and preview the week a draft would give. The rules live in the
 * database (supabase/migrations/20261207000100_doctor_schedules_admin.sql): the tables'
 * constraints, admins only, every change audited; a broken rule is a 422 naming its field.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type postgres from "postgres";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { ClinicCode, IsoDate, Line, one, Uuid } from "./_shared.ts";
import { Collision } from "./collisions.ts";

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});
const DoctorParams = CodeParam.extend({
  id: Uuid.openapi({ param: { name: "id", in: "path" } }),
});
const BlockedParams = DoctorParams.extend({
  blocked_id: Uuid.openapi({ param: { name: "blocked_id", in: "path" } }),
});

/** A whole number PostgreSQL's `integer` holds; the ranges are the database's checks. */
const Count = z.number().int().min(-2147483648).max(2147483647);

const Settings = z.object({
  slot_minutes: z.number().int().openapi({ description: "A visit's length (5–240)" }),
  buffer_minutes: z.number().int().openapi({ description: "Gap after each visit (0–120)" }),
  max_per_day: z.number().int().nullable().openapi({ description: "Daily cap; null: none" }),
  advance_days: z.number().int().openapi({ description: "How far ahead patients book (0–365)" }),
  min_notice_minutes: z.number().int().openapi({ description: "Minimum notice (≥ 0)" }),
  updated_at: z.string(),
}).openapi("ScheduleSettings");

const SettingsChange = z.strictObject({
  slot_minutes: Count.optional(),
  buffer_minutes: Count.optional(),
  max_per_day: Count.nullable().optional(),
  advance_days: Count.optional(),
  min_notice_minutes: Count.optional(),
}).openapi("ScheduleSettingsChange");

const clockTime = /^([01]\d|2[0-3]):[0-5]\d$/;
const Interval = z.strictObject({
  weekday: z.number().int().min(0).max(6).openapi({ description: "0 = Sunday … 6 = Saturday" }),
  kind: z.enum(["work", "break"]),
  starts: z.string().regex(clockTime, "Use HH:MM").openapi({ example: "09:00" }),
  ends: z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, "Use HH:MM (24:00: midnight)")
    .openapi({ example: "13:00" }),
}).openapi("ScheduleInterval");

const BlockedDate = z.object({
  id: z.string(),
  day: z.string(),
  reason: z.string().nullable(),
  affected_appointments: z.array(Collision).optional().openapi({
    description: "When a date was just blocked: the doctor's bookings now off their grid, " +
      "listed until resolved (POST /api/clinics/{code}/collisions/resolve)",
  }),
}).openapi("BlockedDate");

const Schedule = z.object({
  doctor: z.object({ id: z.string(), display_name: z.string(), is_active: z.boolean() }),
  settings: Settings.nullable().openapi({ description: "Null: the doctor has no schedule" }),
  hours: z.array(Interval).openapi({ description: "By weekday, work before breaks, by start" }),
  blocked_dates: z.array(BlockedDate).openapi({ description: "From today on" }),
  affected_appointments: z.array(Collision).optional().openapi({
    description: "After a change: the doctor's bookings now off their grid (shorter hours, a " +
      "new break, another slot length), listed until resolved " +
      "(POST /api/clinics/{code}/collisions/resolve) — never dropped",
  }),
}).openapi("DoctorSchedule");

const DoctorSummary = z.object({
  id: z.string(),
  display_name: z.string(),
  is_active: z.boolean(),
  user_id: z.string().nullable(),
  settings: Settings.nullable(),
  work_days: z.array(z.number().int()).openapi({ description: "Weekdays with working hours" }),
  weekly_minutes: z.number().int().openapi({ description: "Working minutes a week, breaks off" }),
  upcoming_blocked_dates: z.number().int(),
}).openapi("DoctorScheduleSummary");

const Draft = z.strictObject({
  settings: SettingsChange.optional().openapi({ description: "Absent keys stay" }),
  hours: z.array(Interval).max(200).optional().openapi({
    description: "The whole week's intervals, replacing the saved ones; absent: unchanged",
  }),
});

const Preview = z.object({
  doctor_id: z.string(),
  timezone: z.string(),
  week_start: z.string().openapi({ description: "The Monday of the week" }),
  days: z.array(z.object({
    date: z.string(),
    weekday: z.number().int(),
    closed: z.boolean().openapi({ description: "A clinic closure" }),
    blocked: z.boolean().openapi({ description: "A blocked date of the doctor" }),
    slots: z.array(z.object({
      start: z.string(),
      end: z.string(),
      local_time: z.string(),
      refusal: z.string().nullable().openapi({
        description: "Null: bookable now; else the booking decision's refusal now " +
          "(`too_soon`, `too_far_ahead`, `day_full`, `taken`, …)",
      }),
    })),
  })),
  affected_appointments: z.array(Collision).openapi({
    description: "The doctor's bookings the draft would leave off their grid",
  }),
}).openapi("SchedulePreview");

const adminErrors = [
  401,
  [403, "Not an admin of the clinic (`not_clinic_admin`)"],
  [404, "No such clinic, or no such doctor there (`doctor_not_found`)"],
] as const;
const ruleErrors = [
  422,
  "A broken rule, its field in `details` [{path, message}]: `overlapping_hours`, " +
  "`invalid_interval` (ends before it starts), `break_outside_work`, `invalid_setting`",
] as const;

const listRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/doctors",
  tags: ["schedules"],
  summary: "The clinic's doctors with a summary of their schedules (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: CodeParam },
  responses: {
    200: json(z.object({ doctors: z.array(DoctorSummary) }).openapi("DoctorSchedules"), "Doctors"),
    ...errors(400, ...adminErrors),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/doctors/{id}/schedule",
  tags: ["schedules"],
  summary: "A doctor's schedule: settings, weekly hours, blocked dates ahead (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: DoctorParams },
  responses: { 200: json(Schedule, "The schedule"), ...errors(400, ...adminErrors) },
});

const setRoute = createRoute({
  method: "patch",
  path: "/clinics/{code}/doctors/{id}/schedule",
  tags: ["schedules"],
  summary: "Change a doctor's settings and/or replace the week's hours, atomically (admins)",
  description: "Hours are the whole week: intervals of one kind never overlap on a weekday, " +
    "each ends after it starts, each break lies inside one work period. Nothing is written " +
    "when a rule is broken. Bookings already made stay.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: DoctorParams, body: json(Draft.openapi("ScheduleChange"), "The change") },
  responses: { 200: json(Schedule, "The schedule"), ...errors(400, ...adminErrors, ruleErrors) },
});

const previewRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/doctors/{id}/schedule/preview",
  tags: ["schedules"],
  summary: "The week a draft schedule would give, nothing saved (admins)",
  description: "The draft (as the PATCH takes it; none: the saved schedule) is applied in a " +
    "transaction, the week's slots are listed by the booking decision itself " +
    "(private.slot_decisions), and the transaction is rolled back. Every start of the grid is " +
    "listed, decided as of now: the minimum notice and the advance window apply — a start " +
    "they rule out is listed with `refusal` `too_soon` or `too_far_ahead`, not left out — as " +
    "do the daily cap and the bookings already made (`day_full`, `taken`). The starts whose " +
    "`refusal` is null are exactly what `GET /clinics/{code}/slots` offers once saved. Closed " +
    "and blocked days have no starts.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: DoctorParams,
    body: json(
      Draft.extend({
        week: IsoDate.openapi({ description: "Any day of the week (Monday to Sunday)" }),
      }).openapi("SchedulePreviewRequest"),
      "The week and the draft",
    ),
  },
  responses: { 200: json(Preview, "The week"), ...errors(400, ...adminErrors, ruleErrors) },
});

const blockedRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/doctors/{id}/blocked-dates",
  tags: ["schedules"],
  summary: "A doctor's blocked dates, by day (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: DoctorParams,
    query: z.object({ from: IsoDate.optional().openapi({ description: "Only from this day" }) }),
  },
  responses: {
    200: json(z.object({ blocked_dates: z.array(BlockedDate) }), "Blocked dates"),
    ...errors(400, ...adminErrors),
  },
});

const blockRoute = createRoute({
  method: "post",
  path: "/clinics/{code}/doctors/{id}/blocked-dates",
  tags: ["schedules"],
  summary: "Block a date: the doctor has no slots that day (admins)",
  description: "Bookings already on that day stay booked.",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: DoctorParams,
    body: json(
      z.strictObject({
        day: IsoDate,
        reason: Line.optional().openapi({ description: "A short label (≤ 100), e.g. Leave" }),
      }).openapi("BlockedDateRequest"),
      "The date",
    ),
  },
  responses: {
    201: json(BlockedDate, "Blocked"),
    ...errors(400, ...adminErrors, [409, "Blocked already (`date_blocked`)"], [
      422,
      "A reason over 100 characters (`invalid_reason`)",
    ]),
  },
});

const unblockRoute = createRoute({
  method: "delete",
  path: "/clinics/{code}/doctors/{id}/blocked-dates/{blocked_id}",
  tags: ["schedules"],
  summary: "Unblock a date (admins)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: { params: BlockedParams },
  responses: { 204: { description: "Unblocked" }, ...errors(400, ...adminErrors) },
});

type Schedule = z.infer<typeof Schedule>;

/** A draft's part as the SQL functions take it (null: unchanged). */
function part(tx: postgres.TransactionSql, value: object | undefined) {
  return value === undefined ? null : tx.json(value as postgres.JSONValue);
}

export const schedules = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { code } = c.req.valid("param");
    const doctors = await c.get("db").run(async (tx) =>
      one<z.infer<typeof DoctorSummary>[]>(await tx`select api.list_doctor_schedules(${code}) as r`)
    );
    return c.json({ doctors }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const schedule = await c.get("db").run(async (tx) =>
      one<Schedule>(await tx`select api.doctor_schedule(${code}, ${id}::uuid) as r`)
    );
    return c.json(schedule, 200);
  })
  .openapi(setRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { settings, hours } = c.req.valid("json");
    const schedule = await c.get("db").run(async (tx) =>
      one<Schedule>(
        await tx`select api.set_doctor_schedule(${code}, ${id}::uuid, ${part(tx, settings)}::jsonb,
          ${part(tx, hours)}::jsonb) as r`,
      )
    );
    return c.json(schedule, 200);
  })
  .openapi(previewRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { week, settings, hours } = c.req.valid("json");
    const preview = await c.get("db").run(async (tx) =>
      one<z.infer<typeof Preview>>(
        await tx`select api.preview_doctor_schedule(${code}, ${id}::uuid, ${week}::date,
          ${part(tx, settings)}::jsonb, ${part(tx, hours)}::jsonb) as r`,
      )
    );
    return c.json(preview, 200);
  })
  .openapi(blockedRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { from } = c.req.valid("query");
    const list = await c.get("db").run(async (tx) =>
      one<z.infer<typeof BlockedDate>[]>(
        await tx`select api.list_blocked_dates(${code}, ${id}::uuid, ${from ?? null}::date) as r`,
      )
    );
    return c.json({ blocked_dates: list }, 200);
  })
  .openapi(blockRoute, async (c) => {
    const { code, id } = c.req.valid("param");
    const { day, reason } = c.req.valid("json");
    const row = await c.get("db").run(async (tx) =>
      one<z.infer<typeof BlockedDate>>(
        await tx`select api.add_blocked_date(${code}, ${id}::uuid, ${day}::date,
          ${reason ?? null}) as r`,
      )
    );
    return c.json(row, 201);
  })
  .openapi(unblockRoute, async (c) => {
    const { code, id, blocked_id } = c.req.valid("param");
    await c.get("db").run((tx) =>
      tx`select api.remove_blocked_date(${code}, ${id}::uuid, ${blocked_id}::uuid)`
    );
    return c.body(null, 204);
  });
