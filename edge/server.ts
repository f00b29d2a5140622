/**
 * Composes the one-origin service: `/api/*` (Hono), `/realtime/v1/*` (websocket server) and
 * everything else from the PWA. Used by `deno task start` and by end-to-end tests.
 */
export interface Mounted {
  fetch(req: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response>;
}

export interface Parts {
  api: Mounted;
  realtime?: Mounted;
  web?: Mounted;
}

export function compose(
  parts: Parts,
): (req: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  return async function handle(req, info) {
    const { pathname } = new URL(req.url);
    if (pathname === "/api" || pathname.startsWith("/api/")) {
      return await parts.api.fetch(req, info);
    }
    if (parts.realtime && pathname.startsWith("/realtime/v1/")) {
      return await parts.realtime.fetch(req, info);
    }
    if (parts.web) return await parts.web.fetch(req, info);
    return new Response("Not found", { status: 404 });
  };
}
