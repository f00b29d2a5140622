/**
 * The service worker (hand-written, ~2 KB): a versioned cache of the app shell so the PWA, the
 * board and the console open offline; hashed assets cache-first; pages network-first with the
 * cached shell as the offline fallback. `/api/` and `/realtime/` are never intercepted, so API
 * responses are never served from a cache. Web push: a push (edge/notify/push.ts's payload:
 * title, body, url, tag) shows a notification; a click on it opens its screen in the app.
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
interface PushEvent extends ExtendableEvent {
  data: { text(): string } | null;
}
interface ShownNotification {
  data: unknown;
  close(): void;
}
interface NotificationEvent extends ExtendableEvent {
  notification: ShownNotification;
}
interface WindowClient {
  url: string;
  focus(): Promise<WindowClient>;
  navigate(url: string): Promise<WindowClient | null>;
}
interface WorkerScope {
  addEventListener(type: "install" | "activate", fn: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", fn: (event: FetchEvent) => void): void;
  addEventListener(type: "message", fn: (event: MessageEvent) => void): void;
  addEventListener(type: "push", fn: (event: PushEvent) => void): void;
  addEventListener(type: "notificationclick", fn: (event: NotificationEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: {
    claim(): Promise<void>;
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
  };
  registration: {
    showNotification(title: string, options: NotificationOptions): Promise<void>;
  };
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

/** A push's payload; anything else (a DevTools test push) still shows, opening the inbox. */
function pushPayload(event: PushEvent): { title: string; body: string; url: string; tag?: string } {
  const text = event.data?.text() ?? "";
  try {
    const p = JSON.parse(text);
    if (typeof p?.title === "string" && typeof p.body === "string") {
      const tag = typeof p.tag === "string" ? p.tag : undefined;
      return { title: p.title, body: p.body, url: screenPath(p.url), tag };
    }
  } catch {
    // not JSON
  }
  return { title: "Clinic", body: text, url: "/notifications" };
}

/** A path of this app; never another origin, whatever a payload says. */
function screenPath(url: unknown): string {
  if (typeof url !== "string") return "/notifications";
  const target = new URL(url, sw.location.origin);
  return target.origin === sw.location.origin ? target.pathname + target.search : "/notifications";
}

sw.addEventListener("push", (event) => {
  const { title, body, url, tag } = pushPayload(event);
  // The tag is the delivery: a repeated push replaces its notification instead of adding one.
  event.waitUntil(sw.registration.showNotification(title, {
    body,
    tag,
    data: { url },
    icon: "/icons/icon-192.png",
    badge: "/icons/icon-192.png",
  }));
});

/** Brings the app's open window to its screen, else opens one there. */
async function openScreen(path: string): Promise<void> {
  const windows = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
  const app = windows.find((w) => {
    const at = new URL(w.url);
    return at.origin === sw.location.origin && shellFor(at.pathname) === "/index.html";
  });
  if (app) {
    // Focusing needs the click's user activation; the navigation does not.
    const focused = await app.focus().catch(() => app);
    if (await focused.navigate(path).catch(() => null)) return;
  }
  await sw.clients.openWindow(path);
}

sw.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data as { url?: unknown } | null;
  const opened = openScreen(screenPath(data?.url));
  try {
    event.waitUntil(opened);
  } catch {
    // An event dispatched by script (DevTools, a test) cannot be extended; it still opens.
  }
});
