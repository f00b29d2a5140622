/**
 * The service worker (hand-written, ~1 KB): a versioned cache of the app shell so the PWA, the
 * board and the console open offline; hashed assets cache-first; pages network-first with the
 * cached shell as the offline fallback. `/api/` and `/realtime/` are never intercepted, so API
 * responses are never served from a cache.
 */

declare const __SW_VERSION__: string;
declare const __SW_SHELL__: string[];

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface WorkerScope {
  addEventListener(type: "install" | "activate", fn: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", fn: (event: FetchEvent) => void): void;
  addEventListener(type: "message", fn: (event: MessageEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
}

const sw = self as unknown as WorkerScope;
const CACHE = `clinic-shell-${__SW_VERSION__}`;
const PREFIX = "clinic-shell-";

sw.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) =>
        cache.addAll(__SW_SHELL__.map((url) => new Request(url, { cache: "reload" })))
      )
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k)),
        )
      )
      .then(() => sw.clients.claim()),
  );
});

/** The shell document for a navigation, by route. */
function shellFor(path: string): string {
  if (path === "/board" || path.startsWith("/board/")) return "/board.html";
  if (path === "/staff" || path.startsWith("/staff/")) return "/staff.html";
  return "/index.html";
}

sw.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  // Live data is never cached: let the network answer (or fail) for the API and realtime.
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/realtime/")) return;

  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(async () => {
        const cached = await caches.match(shellFor(url.pathname), { cacheName: CACHE });
        return cached ?? new Response("Offline", { status: 503 });
      }),
    );
    return;
  }

  if (url.pathname.startsWith("/assets/")) {
    // Content-hashed: a cached copy is always right.
    event.respondWith(
      caches.match(request, { cacheName: CACHE }).then((hit) =>
        hit ?? fetch(request).then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(request, copy));
          }
          return response;
        })
      ),
    );
    return;
  }

  if (__SW_SHELL__.includes(url.pathname)) {
    // Manifest, icons: network first, cached copy offline.
    event.respondWith(
      fetch(request).catch(async () =>
        (await caches.match(request, { cacheName: CACHE })) ??
          new Response("Offline", { status: 503 })
      ),
    );
  }
});
