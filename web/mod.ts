/**
 * `createWeb(options)` — serves the built PWA (`web/dist/`) for the one-origin server:
 *
 * - `/assets/*` content-hashed files, `cache-control: immutable` for a year;
 * - `/`, `/board/<code>`, `/staff…` and other page routes → the matching HTML shell (SPA
 *   fallback), `no-cache`; `/sw.js` and `/manifest.webmanifest` `no-cache` too;
 * - text files the build precompressed (`<file>.br`, `<file>.gz`) are sent in the best encoding
 *   the request's Accept-Encoding allows (br, then gzip, then as is), with `Vary:
 *   Accept-Encoding` and an ETag per encoding;
 * - ETag / If-None-Match, HEAD, a strict CSP on documents, 404 for unknown files.
 *
 * When `web/dist/` is missing or was built from other sources (its fingerprint differs), the
 * first request builds it (`deno run -A web/build.ts` in a subprocess, so the bundler never
 * loads into the server), so a fresh clone works with just `deno task start`.
 */
import { type Coding, CODINGS, negotiate } from "./encoding.ts";
import { sourceFingerprint } from "./fingerprint.ts";

export interface WebOptions {
  /** Directory of the build (default `web/dist`). */
  distDir?: string;
  /** `auto` (default): build when missing or stale; `never`: serve what is there. */
  build?: "auto" | "never";
  /** Start building/loading right away instead of on the first request. */
  warm?: boolean;
  log?: (line: string) => void;
}

export interface Web {
  fetch(req: Request): Promise<Response>;
  /** Resolves once the build is present and loaded (builds it if needed). */
  ready(): Promise<void>;
}

interface Variant {
  body: Uint8Array;
  etag: string;
}

interface Asset {
  type: string;
  cache: string;
  identity: Variant;
  encoded: Partial<Record<Coding, Variant>>;
}

const webDir = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json; charset=utf-8",
  map: "application/json; charset=utf-8",
  webmanifest: "application/manifest+json; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
};

const IMMUTABLE = "public, max-age=31536000, immutable";
const NO_CACHE = "no-cache";

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "manifest-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

function typeOf(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return TYPES[ext] ?? "application/octet-stream";
}

async function etagOf(body: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", body as BufferSource));
  return `"${Array.from(digest.subarray(0, 10), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

/** Whether an If-None-Match header (a list, weak or strong, or `*`) names this ETag. */
function matches(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim().replace(/^W\//, "");
    return t === "*" || t === etag;
  });
}

async function readTree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = `${prefix}/${entry.name}`;
    if (entry.isDirectory) out.push(...await readTree(`${dir}/${entry.name}`, rel));
    else if (entry.isFile) out.push(rel);
  }
  return out;
}

async function runBuild(distDir: string, log: (line: string) => void): Promise<void> {
  log("web: building the PWA (web/dist is missing or out of date)…");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${webDir}/build.ts`, distDir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (text) log(text);
  if (!out.success) {
    throw new Error(`web build failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Which document serves a page route, or undefined when the path is not a page. */
export function documentFor(pathname: string): string | undefined {
  if (/^\/(api|realtime)(\/|$)/.test(pathname)) return undefined;
  if (pathname === "/board" || pathname.startsWith("/board/")) return "/board.html";
  if (pathname === "/staff" || pathname.startsWith("/staff/")) return "/staff.html";
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  // A path with a file extension is a file request, not a page.
  if (last.includes(".")) return undefined;
  return "/index.html";
}

export function createWeb(options: WebOptions = {}): Web {
  const distDir = options.distDir ?? `${webDir}/dist`;
  const log = options.log ?? ((line: string) => console.log(line));
  let loading: Promise<Map<string, Asset>> | undefined;

  async function load(): Promise<Map<string, Asset>> {
    if (options.build !== "never") {
      let current = false;
      try {
        const built = JSON.parse(await Deno.readTextFile(`${distDir}/build.json`));
        current = built.fingerprint === await sourceFingerprint(webDir);
      } catch {
        current = false;
      }
      if (!current) await runBuild(distDir, log);
    }
    const assets = new Map<string, Asset>();
    const files = new Set(await readTree(distDir));
    const isVariant = (rel: string) =>
      CODINGS.some(({ suffix }) => rel.endsWith(suffix) && files.has(rel.slice(0, -suffix.length)));
    for (const rel of files) {
      if (rel === "/build.json" || isVariant(rel)) continue;
      const body = await Deno.readFile(`${distDir}${rel}`);
      const cache = rel.startsWith("/assets/")
        ? IMMUTABLE
        : rel.startsWith("/icons/")
        ? "public, max-age=86400"
        : NO_CACHE;
      const etag = await etagOf(body);
      const encoded: Asset["encoded"] = {};
      for (const { coding, suffix } of CODINGS) {
        if (!files.has(rel + suffix)) continue;
        // One ETag per representation: the encoded bytes differ from the file's.
        encoded[coding] = {
          body: await Deno.readFile(`${distDir}${rel}${suffix}`),
          etag: `${etag.slice(0, -1)}-${coding}"`,
        };
      }
      assets.set(rel, { type: typeOf(rel), cache, identity: { body, etag }, encoded });
    }
    return assets;
  }

  function assets(): Promise<Map<string, Asset>> {
    loading ??= load().catch((error) => {
      loading = undefined; // try again on the next request
      throw error;
    });
    return loading;
  }

  function respond(req: Request, asset: Asset): Response {
    const codings = Object.keys(asset.encoded) as Coding[];
    const coding = negotiate(req.headers.get("accept-encoding"), codings);
    const variant = coding ? asset.encoded[coding]! : asset.identity;
    const headers = new Headers({
      "content-type": asset.type,
      "cache-control": asset.cache,
      etag: variant.etag,
      "x-content-type-options": "nosniff",
      "referrer-policy": "strict-origin-when-cross-origin",
    });
    if (codings.length) headers.set("vary", "Accept-Encoding");
    if (asset.type.startsWith("text/html")) {
      headers.set("content-security-policy", CSP);
      headers.set("x-frame-options", "DENY");
    }
    if (matches(req.headers.get("if-none-match"), variant.etag)) {
      return new Response(null, { status: 304, headers });
    }
    if (coding) headers.set("content-encoding", coding);
    headers.set("content-length", String(variant.body.length));
    return new Response(req.method === "HEAD" ? null : variant.body as BodyInit, { headers });
  }

  if (options.warm) {
    assets().catch((error) => log(String(error instanceof Error ? error.message : error)));
  }

  return {
    ready: async () => {
      await assets();
    },
    async fetch(req) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("Method not allowed", { status: 405, headers: { allow: "GET, HEAD" } });
      }
      let files: Map<string, Asset>;
      try {
        files = await assets();
      } catch (error) {
        log(String(error instanceof Error ? error.message : error));
        return new Response("The web app could not be built; see the server log.", {
          status: 503,
          headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "5" },
        });
      }
      const { pathname } = new URL(req.url);
      const direct = files.get(pathname);
      if (direct && !pathname.endsWith(".html")) return respond(req, direct);
      const doc = pathname.endsWith(".html") ? pathname : documentFor(pathname);
      const page = doc ? files.get(doc) : undefined;
      if (page) return respond(req, page);
      return new Response("Not found", {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": NO_CACHE },
      });
    },
  };
}
