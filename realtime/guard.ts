/**
 * The one error path of the realtime server's entry points: socket listeners, timers, feed
 * callbacks and queued socket handlers. The runtime calls these, and an exception escaping
 * one ends the whole process — the API and the worker with it. Instead, the error is logged
 * with the id of what it was serving (its kind and where it was thrown, never its message,
 * which may quote data) and only that part is closed: its socket, or its feed connection.
 */

/** A callback whose exceptions and rejections are reported, never thrown. */
export type Guarded<A extends unknown[]> = (...args: A) => void | Promise<void>;

/**
 * Wraps `callback`: what it throws or rejects with is logged under `id`, then `close` runs
 * (itself guarded). A returned promise never rejects, so a queue may chain on it.
 */
export function guarded<A extends unknown[]>(
  id: string,
  callback: (...args: A) => unknown,
  close?: () => void,
): Guarded<A> {
  // No closure but this one: every socket holds several guarded callbacks.
  return (...args) => {
    try {
      const result = callback(...args);
      if (result instanceof Promise) return result.then(() => {}, (e) => failed(id, e, close));
    } catch (error) {
      failed(id, error, close);
    }
  };
}

function failed(id: string, error: unknown, close: (() => void) | undefined): void {
  report(id, error);
  if (!close) return;
  try {
    close();
  } catch (again) {
    report(id, again);
  }
}

/** Logs an error of what `id` names: kind and origin only. */
export function report(id: string, error: unknown): void {
  console.error(`realtime [${id}]: ${describeError(error)}${origin(error)}`);
}

/** An error's kind without its message (which may quote data). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? `${error.name} ${code}` : error.name;
}

/** ` at file:line:column` of the innermost frame (stack frames carry no data). */
function origin(error: unknown): string {
  const frame = error instanceof Error ? error.stack?.split("\n").find(isFrame) : undefined;
  const at = frame?.match(/([^/\s(]+:\d+:\d+)\)?\s*$/);
  return at ? ` at ${at[1]}` : "";
}

const isFrame = (line: string) => /^\s+at /.test(line);

/**
 * The id of a request (and of the websocket it opens): the caller's `X-Request-Id` when it
 * is a plain token (as hono/request-id accepts it), or a new one.
 */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given && /^[\w\-=]{1,255}$/.test(given) ? given : crypto.randomUUID();
}
