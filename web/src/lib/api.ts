/**
 * The API client: JSON in and out, the contract's error shape as `ApiError`, the server clock
 * learnt from every response, one silent token refresh on a 401, and a timeout so a dead
 * network never leaves a spinner forever; `call` types it by the API's OpenAPI document.
 */
import type { paths } from "./api_types.gen.ts";
import { noteServerDate } from "./clock.ts";
import { t } from "./messages.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
  /** Field path → message, from a 400 `invalid_request`. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (Array.isArray(this.details)) {
      for (const d of this.details as { path?: string; message?: string }[]) {
        if (d?.path) out[d.path] ??= d.message ?? "Invalid value";
      }
    }
    return out;
  }
}

export interface Auth {
  /** A valid access token (refreshed ahead of expiry), or null when signed out. */
  token(): Promise<string | null>;
  /** Forces a refresh after a 401; false when the session is gone. */
  refresh(): Promise<boolean>;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  auth?: Auth | null;
  /** A fixed bearer token (the TV board's). */
  bearer?: string;
  idempotencyKey?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * The browser's HTTP cache: `no-store` (the default) bypasses it; `no-cache` revalidates
   * what it holds with `If-None-Match`, a 304 then answering from it (the slots' ETag).
   */
  cache?: RequestCache;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  for (let attempt = 0;; attempt++) {
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    const token = options.bearer ?? (options.auth ? await options.auth.token() : null);
    if (token) headers.authorization = `Bearer ${token}`;
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const sentAt = Date.now();
    let response: Response;
    try {
      response = await fetch(path, {
        method: options.method ?? (options.body === undefined ? "GET" : "POST"),
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal,
        cache: options.cache ?? "no-store",
        credentials: "same-origin",
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const timedOut = timeout.aborted;
      throw new ApiError(
        0,
        timedOut ? "timeout" : "network",
        timedOut
          ? "The server took too long to answer. Please try again."
          : "No connection. Check your network and try again.",
      );
    }
    noteServerDate(response.headers.get("date"), sentAt, Date.now());
    if (response.status === 401 && options.auth && !options.bearer && attempt === 0) {
      await response.body?.cancel();
      if (await options.auth.refresh()) continue;
    }
    const text = await response.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!response.ok) {
      const err = (json as { error?: { code?: string; message?: string; details?: unknown } })
        ?.error;
      throw new ApiError(
        response.status,
        err?.code ?? `http_${response.status}`,
        err?.message ?? `The request failed (${response.status}).`,
        err?.details,
      );
    }
    return json as T;
  }
}

// The typed layer: path, method, parameters, body and answer as the API's OpenAPI document
// (`api_types.gen.ts`) has them.

type Method = "get" | "post" | "patch" | "delete";
/** The operation of `path` under `method`; never when the API has none. */
type Operation<P extends keyof paths, M extends Method> = Exclude<paths[P][M], undefined>;
type ParametersOf<O> = O extends { parameters: infer X } ? X : never;
type PathParams<O> = ParametersOf<O> extends { path: infer X } ? X : never;
type Query<O> = ParametersOf<O> extends { query?: infer X } ? X : never;
type Json<R> = R extends { content: { "application/json": infer X } } ? X : never;
type Body<O> = O extends { requestBody?: infer R } ? Json<Exclude<R, undefined>> : never;
type Success<O> = O extends { responses: infer R } ? R[Extract<keyof R, 200 | 201 | 204>] : never;
/** The JSON of the success answer (undefined for a 204). */
type Answer<O> = [Json<Success<O>>] extends [never] ? undefined : Json<Success<O>>;

/** The JSON body `method path` takes. */
export type RequestBody<P extends keyof paths, M extends Method> = Body<Operation<P, M>>;

/** `params` when the path has `{…}`, `query` and `body` as documented; the rest as `request`. */
export type CallOptions<O> =
  & Omit<RequestOptions, "method" | "body">
  & ([PathParams<O>] extends [never] ? { params?: never } : { params: PathParams<O> })
  & ([Query<O>] extends [never | undefined] ? { query?: never }
    : Record<never, never> extends Query<O> ? { query?: Query<O> }
    : { query: Query<O> })
  & ([Body<O>] extends [never] ? { body?: never } : { body: Body<O> });

/** `request` to an operation of the API, checked against its document. */
export function call<P extends keyof paths, M extends Method>(
  method: M,
  path: P,
  options: CallOptions<Operation<P, M>>,
): Promise<Answer<Operation<P, M>>> {
  const { params, query, ...rest } = options as RequestOptions & {
    params?: Record<string, string>;
    query?: Record<string, unknown>;
  };
  let url: string = path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params![name]));
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) search.set(key, String(value));
  }
  if (search.toString()) url += `?${search}`;
  return request(url, { ...rest, method: method.toUpperCase() });
}

/** A fresh Idempotency-Key (one per booking attempt, reused by its retries). */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/** The payload of a JWT (unverified: only for display and filters). */
export function jwtPayload(token: string): Record<string, unknown> {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

/**
 * A user-facing message for any error, in the screen's language where the PWA wrote it (the
 * server's messages are English).
 */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError && error.status === 0) {
    return t(error.code === "timeout" ? "error.timeout" : "error.network");
  }
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return t("error.unknown");
}
