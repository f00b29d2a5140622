/**
 * `/clinics…`: the public list of clinics (to pick one), public clinic information and
 * doctors, free slots for a local date (api.available_slots), the coming days open or closed
 * (api.clinic_days), and the day's appointments for
 * the clinic's staff.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/auth.ts";
import { Appointment } from "./_schemas.ts";
import { bearerSecurity, errors, json } from "../openapi.ts";
import { ClinicCode, IsoDate, one, RequestedType, Uuid } from "./_shared.ts";

const ClinicList = z.object({
  clinics: z.array(z.object({
    code: z.string().openapi({ example: "GFC-TP" }),
    name: z.string(),
    branch_name: z.string().nullable(),
    timezone: z.string().openapi({ example: "Asia/Singapore" }),
  })),
}).openapi("ClinicList");

const ClinicInfo = z.object({
  clinic: z.object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    branch_name: z.string().nullable(),
    timezone: z.string(),
    address: z.string().nullable(),
    postal_code: z.string().nullable(),
    phone: z.string().nullable(),
    email: z.string().nullable(),
    website: z.string().nullable(),
  }),
  doctors: z.array(z.object({
    id: z.string(),
    display_name: z.string(),
    specializations: z.array(z.string()),
    languages: z.array(z.string()),
    bio: z.string().nullable(),
    consultation_fee: z.number().nullable(),
  })),
}).openapi("ClinicInfo");

const Slots = z.object({
  clinic_code: z.string(),
  date: z.string(),
  timezone: z.string().openapi({ example: "Asia/Singapore" }),
  appointment_type: z.string().optional().openapi({
    description: "The type the slots are for",
    example: "consultation",
  }),
  bookable_by: z.enum(["patients", "staff"]).optional().openapi({
    description: "Who may book the type: a staff-only type's slots are not shared by caches",
  }),
  slots: z.array(z.object({
    doctor_id: z.string(),
    doctor_name: z.string(),
    start: z.string().openapi({ example: "2026-12-01T09:00:00+08:00" }),
    end: z.string().openapi({ example: "2026-12-01T09:15:00+08:00" }),
    local_time: z.string().openapi({ example: "09:00" }),
    duration_minutes: z.number().int(),
  })),
}).openapi("Slots");

const ClinicDays = z.object({
  clinic_code: z.string(),
  timezone: z.string().openapi({ example: "Asia/Singapore" }),
  last_bookable_date: z.string().nullable().openapi({
    example: "2026-12-31",
    description: "The last day of the advance window (the longest of the doctors asked " +
      "about); null when none takes appointments",
  }),
  days: z.array(z.object({
    date: z.string().openapi({ example: "2026-12-01" }),
    open: z.boolean().openapi({ description: "Some doctor still has a slot ahead that day" }),
    free_slots: z.number().int(),
  })),
}).openapi("ClinicDays");

const DayAppointments = z.object({
  clinic_code: z.string(),
  date: z.string(),
  timezone: z.string(),
  appointments: z.array(Appointment.extend({
    patient_name: z.string(),
    patient_number: z.string(),
    patient_no_shows: z.number().int().openapi({
      description: "The patient's no-show count in this clinic",
    }),
    no_show_undoable: z.boolean().openapi({
      description: "A no-show the sweep marked, which staff may undo",
    }),
  })),
}).openapi("ClinicDayAppointments");

const CodeParam = z.object({
  code: ClinicCode.openapi({ param: { name: "code", in: "path" } }),
});

const listRoute = createRoute({
  method: "get",
  path: "/clinics",
  tags: ["clinics"],
  summary: "The active clinics (public), by name",
  responses: {
    200: json(ClinicList, "Clinics"),
  },
});

const infoRoute = createRoute({
  method: "get",
  path: "/clinics/{code}",
  tags: ["clinics"],
  summary: "Public clinic information and its doctors",
  request: { params: CodeParam },
  responses: {
    200: { description: "The clinic", content: { "application/json": { schema: ClinicInfo } } },
    ...errors(400, 404),
  },
});

/**
 * Shared caches may keep a grid a second and serve it a little longer while they revalidate;
 * the booking page hears of changes through `availability_versions` and revalidates at once.
 */
export const SLOTS_CACHE_CONTROL = "public, max-age=1, stale-while-revalidate=2";
/**
 * Asked with a token, or a staff-only type's slots: the answer may depend on the caller, and
 * `public` would let a shared cache keep an authorized answer (RFC 9111 §3.5), so none keeps it.
 */
export const STAFF_SLOTS_CACHE_CONTROL = "private, no-cache";

const slotsHeaders = {
  ETag: {
    description: "Changes whenever the answer can (bookings, holds, schedule, time)",
    schema: { type: "string" as const },
  },
  "Cache-Control": { schema: { type: "string" as const, example: SLOTS_CACHE_CONTROL } },
};

/** The ETag of a slots answer: the request's parameters and api.slots_version's key. */
function slotsEtag(
  code: string,
  date: string,
  doctor: string | null,
  type: string,
  version: string,
): string {
  return `"${code.toUpperCase()}.${date}.${doctor?.toLowerCase() ?? "all"}.${type}.${version}"`;
}

/**
 * Does an `If-None-Match` list name `etag` (weak comparison, RFC 9110 §13.1.2)? `*` is not
 * honoured: whether the answer exists (clinic, doctor) is only known by computing it.
 */
function noneMatch(header: string, etag: string): boolean {
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

const slotsRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/slots",
  tags: ["clinics"],
  summary: "Free appointment slots on a date (clinic-local)",
  description: "Slots come from each doctor's weekly hours in the clinic's time zone (work " +
    "periods minus breaks, on a grid of slot length + buffer), skip blocked dates, respect the " +
    "advance-booking window, minimum notice and daily cap, and leave out booked slots and live " +
    "holds. `start`/`end` carry the clinic's UTC offset of that instant (DST-aware). Each slot " +
    "is as long as the appointment `type` (default `consultation`: the doctor's slot length) " +
    "and only doctors offering the type have slots.",
  request: {
    params: CodeParam,
    query: z.object({
      date: IsoDate.openapi({ param: { name: "date", in: "query" } }),
      doctor_id: Uuid.optional().openapi({ param: { name: "doctor_id", in: "query" } }),
      type: RequestedType.openapi({ param: { name: "type", in: "query" } }),
    }),
  },
  responses: {
    200: {
      description:
        "Free slots, with `ETag` and a short shared `Cache-Control` (`private, no-cache` when " +
        "asked with a token or for a staff-only type)",
      headers: slotsHeaders,
      content: { "application/json": { schema: Slots } },
    },
    304: {
      description: "Unchanged since the `If-None-Match` ETag (the grid is not computed)",
      headers: slotsHeaders,
    },
    ...errors(400, 403, 404, 422),
  },
});

const daysRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/days",
  tags: ["clinics"],
  summary: "The coming days (clinic-local, from today or `from`): open or closed, free times",
  description: "For the booking calendar: `open` when some doctor (or `doctor_id`) still has " +
    "a slot of the schedule ahead that day, `free_slots` as `/slots` would list them. A date " +
    "picker pages through the advance window with `from` up to `last_bookable_date`.",
  request: {
    params: CodeParam,
    query: z.object({
      doctor_id: Uuid.optional().openapi({ param: { name: "doctor_id", in: "query" } }),
      days: z.coerce.number().int().min(1).max(62).optional().openapi({
        param: { name: "days", in: "query" },
        description: "How many days (default 14)",
      }),
      from: IsoDate.optional().openapi({
        param: { name: "from", in: "query" },
        description: "The first day (default: today, clinic-local)",
      }),
      type: RequestedType.openapi({ param: { name: "type", in: "query" } }),
    }),
  },
  responses: {
    200: {
      description: "Days",
      content: { "application/json": { schema: ClinicDays } },
    },
    ...errors(400, 403, 404, 422),
  },
});

const dayRoute = createRoute({
  method: "get",
  path: "/clinics/{code}/appointments",
  tags: ["clinics"],
  summary: "The clinic's appointments on a date (staff)",
  security: bearerSecurity,
  middleware: [requireUser] as const,
  request: {
    params: CodeParam,
    query: z.object({ date: IsoDate.openapi({ param: { name: "date", in: "query" } }) }),
  },
  responses: {
    200: {
      description: "Appointments",
      content: { "application/json": { schema: DayAppointments } },
    },
    ...errors(400, 401, 403, 404),
  },
});

export const clinics = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const rows = await c.get("db").run((tx) =>
      tx<z.infer<typeof ClinicList>["clinics"]>`
        select code, name, branch_name, timezone from public.clinics order by name, code`
    );
    c.header("cache-control", "public, max-age=300");
    return c.json({ clinics: [...rows] }, 200);
  })
  .openapi(infoRoute, async (c) => {
    const { code } = c.req.valid("param");
    const info = await c.get("db").run(async (tx) =>
      one(await tx`select api.clinic_info(${code}) as r`)
    );
    return c.json(info as z.infer<typeof ClinicInfo>, 200);
  })
  .openapi(slotsRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { date, doctor_id, type = "consultation" } = c.req.valid("query");
    const doctor = doctor_id ?? null;
    const shared = !c.req.header("authorization");
    // Revalidation first, in one statement; the grid only when it is needed. The key is read
    // before (or with) the grid, never after it: an ETag may be older than its body (a
    // needless refetch), never newer (a stale body kept as current).
    const ifNoneMatch = c.req.header("if-none-match");
    if (ifNoneMatch) {
      const version = await c.get("db").callAs<string | null>(
        "private.slots_version_as",
        code,
        date,
      );
      const etag = version && slotsEtag(code, date, doctor, type, version);
      if (etag && noneMatch(ifNoneMatch, etag)) {
        c.header("etag", etag);
        c.header("cache-control", shared ? SLOTS_CACHE_CONTROL : STAFF_SLOTS_CACHE_CONTROL);
        return c.body(null, 304);
      }
    }
    const row = await c.get("db").run(async (tx) =>
      (await tx`select api.slots_version(${code}, ${date}::date) as v,
        api.available_slots(${code}, ${date}::date, ${doctor}::uuid, ${type}) as r`)[0]
    );
    c.header("etag", slotsEtag(code, date, doctor, type, row.v));
    c.header(
      "cache-control",
      shared && row.r.bookable_by !== "staff" ? SLOTS_CACHE_CONTROL : STAFF_SLOTS_CACHE_CONTROL,
    );
    return c.json(row.r as z.infer<typeof Slots>, 200);
  })
  .openapi(daysRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { doctor_id, days, type, from } = c.req.valid("query");
    const found = await c.get("db").run(async (tx) =>
      one(
        await tx`select api.clinic_days(${code}, ${doctor_id ?? null}::uuid, ${
          days ?? 14
        }::integer, ${type ?? null}, ${from ?? null}::date) as r`,
      )
    );
    return c.json(found as z.infer<typeof ClinicDays>, 200);
  })
  .openapi(dayRoute, async (c) => {
    const { code } = c.req.valid("param");
    const { date } = c.req.valid("query");
    const day = await c.get("db").run(async (tx) =>
      one(await tx`select api.clinic_appointments(${code}, ${date}::date) as r`)
    );
    return c.json(day as z.infer<typeof DayAppointments>, 200);
  });
