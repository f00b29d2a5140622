/** A tiny History-API router: the current path as a signal, `navigate`, and route matching. */
import { signal } from "@preact/signals";

export const path = signal(location.pathname);
export const search = signal(location.search);

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = new URL(to, location.origin);
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  path.value = url.pathname;
  search.value = url.search;
  if (!url.hash) scrollTo(0, 0);
}

addEventListener("popstate", () => {
  path.value = location.pathname;
  search.value = location.search;
});

/** Params of `pattern` ("/appointments/:id") against `pathname`, or null. */
export function match(pattern: string, pathname: string): Record<string, string> | null {
  const a = pattern.split("/").filter(Boolean);
  const b = pathname.split("/").filter(Boolean);
  if (a.length !== b.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(":")) params[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}

/** Same-origin link clicks become client-side navigations. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = (event.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const href = a.getAttribute("href");
  if (!href || !href.startsWith("/") || href.startsWith("//")) return;
  if (href.startsWith("/board/") || href.startsWith("/staff") || href.startsWith("/api/")) return;
  event.preventDefault();
  navigate(href);
}

export function queryParam(name: string): string | null {
  return new URLSearchParams(search.value).get(name);
}
