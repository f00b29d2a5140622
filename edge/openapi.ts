/**
 * What every sub-app's OpenAPI routes share: the one error schema (`Error`, the body of every
 * error answer, built by `apiError` and `onError` in errors.ts), its response entries, JSON
 * content and the bearer security requirement.
 */
import { z } from "@hono/zod-openapi";

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().openapi({ example: "slot_unavailable" }),
    message: z.string(),
    details: z.unknown().optional(),
  }),
}).openapi("Error");

/** A JSON response entry. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

const descriptions: Record<number, string> = {
  400: "Invalid request (`invalid_request` with field paths in `details`, or a specific code)",
  401: "Not signed in, or a bad token (`auth_required`, `token_expired`, …)",
  403: "Not allowed (`forbidden`, `not_a_patient`, `not_a_member`, …)",
  404: "Not found (`clinic_not_found`, `doctor_not_found`, `not_found`, …)",
  409: "Conflict (`slot_unavailable`, `idempotency_key_in_use`, `invalid_state`, …)",
  413: "Body over the limit (`payload_too_large`)",
  422: "Unprocessable (`outside_schedule`, `too_soon`, `idempotency_key_mismatch`, …)",
  429: "Too many requests from this client (`rate_limited`); see Retry-After",
  503: "Temporarily unavailable (`retry`, `timeout`, …); see Retry-After",
};

/**
 * Error response entries: a status (with the generic description) or `[status, description]`
 * where a route says more.
 */
export function errors<S extends number>(...entries: (S | readonly [S, string])[]) {
  return Object.fromEntries(entries.map((entry) => {
    const [status, description] = typeof entry === "number"
      ? [entry, descriptions[entry] ?? "Error"]
      : entry;
    return [status, json(ErrorBody, description)];
  })) as Record<S, ReturnType<typeof json<typeof ErrorBody>>>;
}

export const bearerSecurity = [{ bearer: [] }];
