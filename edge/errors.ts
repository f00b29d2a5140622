/**
 * The one error path: handlers throw `apiError(...)` (an HTTPException carrying the contract's
 * JSON body); `onError` turns everything else — validation, database, unexpected — into that
 * same shape, never leaking stack traces or SQL.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Context } from "hono";

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** An HTTPException whose response is `{"error":{code,message,details}}`. */
export function apiError(
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details?: unknown,
  headers?: Record<string, string>,
): HTTPException {
  const body: ErrorBody = {
    error: { code, message, ...(details === undefined ? {} : { details }) },
  };
  return new HTTPException(status, {
    message,
    res: new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
    }),
  });
}

/** Zod issues as `{path, message}` pairs for `details`. */
export function issuesToDetails(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): { path: string; message: string }[] {
  return issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
}

interface PgError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

/**
 * A data exception (SQLSTATE class 22: a value PostgreSQL cannot take — a NUL in text, an
 * out-of-range offset or number, a malformed literal). The same value fails the same way
 * every time, so it is the sender's error, never worth a retry.
 */
export function isDataException(error: unknown): boolean {
  const code = (error as PgError | null)?.code;
  return typeof code === "string" && /^22[0-9A-Z]{3}$/.test(code);
}

/**
 * Database errors a caller can cause, as API errors. Business errors come from
 * `private.raise_api` (SQLSTATE `PT<status>`, MESSAGE = code, DETAIL = message, HINT = JSON
 * details); the others are generic SQLSTATEs.
 */
function fromDatabase(error: PgError): HTTPException | undefined {
  if (/^PT[1-5]\d\d$/.test(error.code ?? "")) {
    let details: unknown;
    try {
      details = error.hint ? JSON.parse(error.hint) : undefined;
    } catch {
      details = undefined;
    }
    const status = Number(error.code!.slice(2)) as ContentfulStatusCode;
    return apiError(status, error.message || "error", error.detail || "Request failed", details);
  }
  if (isDataException(error) || error.code === "23514") { // 23514: a check constraint
    return apiError(400, "invalid_request", "The request contains an invalid value");
  }
  switch (error.code) {
    case "23P01": // exclusion_violation: the appointment overlap rule
      return apiError(409, "slot_unavailable", "That time slot is no longer available");
    case "23505":
      return apiError(409, "conflict", "A record with the same identity already exists");
    case "23503":
      return apiError(409, "conflict", "A referenced record does not exist");
    case "42501":
      return apiError(403, "forbidden", "You are not allowed to do that");
    case "40001":
    case "40P01":
      return apiError(503, "retry", "Please retry the request", undefined, { "retry-after": "1" });
    case "57014":
      return apiError(503, "timeout", "The request took too long");
  }
  return undefined;
}

/** `app.onError`: one JSON error shape for everything. */
export function onError(error: Error, c: Context): Response {
  if (error instanceof HTTPException) {
    if (error.res?.headers.get("content-type")?.includes("application/json")) {
      return error.getResponse();
    }
    const status = error.status as ContentfulStatusCode;
    const code = status === 400
      ? "invalid_request" // e.g. malformed JSON
      : status === 413
      ? "payload_too_large"
      : status === 401
      ? "unauthorized"
      : status === 503
      ? "timeout"
      : "http_error";
    return apiError(status, code, error.message || "Request failed").getResponse();
  }
  const mapped = fromDatabase(error as PgError);
  if (mapped) return mapped.getResponse();
  // Log the request id and error class only: messages may quote data.
  console.error(
    `[${c.get("requestId" as never) ?? "-"}] unhandled ${error.name}: ${
      (error as PgError).code ?? ""
    }`,
  );
  return apiError(500, "internal_error", "Something went wrong on our side").getResponse();
}
