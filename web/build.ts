/**
 * `deno task build:web` — regenerates the API types (`deno task gen:api`, `api_types.ts`), then
 * bundles the PWA with esbuild (npm) into `web/dist/`:
 *
 * - `assets/<name>-<hash>.js|css` (content-hashed, served immutable), code-split between the
 *   patient app, the TV board and the staff console;
 * - `index.html`, `board.html`, `staff.html` shells, `sw.js` (the service worker, versioned by
 *   the build), `manifest.webmanifest`, `icons/icon-192.png|512.png` (drawn by `icons.ts`);
 * - `build.json`: version, source fingerprint, entry files and measured gzip sizes;
 * - beside each text file of 512 bytes or more, `<file>.br` and `<file>.gz` (brotli at its best
 *   quality, gzip at level 9) when smaller, for `mod.ts` to send by Accept-Encoding.
 *
 * The board route's JavaScript (entry + every chunk it imports) is measured gzipped and the
 * build fails when it exceeds the budget (35 KB). The output is written to a temporary
 * directory and swapped in, so a server never sees a half-written build.
 */
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import type { Metafile } from "esbuild";
import { iconPng, THEME_COLOR } from "./icons.ts";
import { shell } from "./html.ts";
import { sourceFingerprint } from "./fingerprint.ts";
import { type Coding, CODINGS } from "./encoding.ts";

export const BOARD_BUDGET_BYTES = 35 * 1024;

const webDir = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const rootDir = webDir.replace(/\/web$/, "");

export interface EntryInfo {
  script: string;
  styles: string[];
  /** Every JS file the entry loads (itself and its static chunk imports). */
  scripts: string[];
  gzipBytes: number;
  rawBytes: number;
}

export interface BuildManifest {
  version: string;
  fingerprint: string;
  builtAt: string;
  entries: Record<"app" | "board" | "staff", EntryInfo>;
  shell: string[];
  budget: { boardGzipBytes: number; limitBytes: number };
}

export interface BuildOptions {
  outDir?: string;
  minify?: boolean;
  log?: (line: string) => void;
}

const ENTRIES = {
  app: { js: "src/app/main.tsx", css: "src/styles/app.css" },
  board: { js: "src/board/main.tsx", css: "src/styles/board.css" },
  staff: { js: "src/staff/main.tsx", css: "src/styles/staff.css" },
} as const;
type EntryName = keyof typeof ENTRIES;

const PAGES: Record<EntryName, { file: string; title: string; description: string }> = {
  app: {
    file: "index.html",
    title: "Clinic — book and follow your visit",
    description: "Book appointments, check in and follow your place in the queue live.",
  },
  board: {
    file: "board.html",
    title: "Queue board",
    description: "Now serving and next in line.",
  },
  staff: {
    file: "staff.html",
    title: "Clinic staff console",
    description: "Today's appointments and the live queue.",
  },
};

const FALLBACK: Record<EntryName, string> = {
  app: `<main class="boot"><h1>Clinic</h1><p>Loading… This app needs JavaScript.</p></main>`,
  board: `<main class="boot"><p>Loading the queue board…</p></main>`,
  staff: `<main class="boot"><h1>Staff console</h1><p>Loading…</p></main>`,
};

/** The packages the browser bundles come from must be in `node_modules/` for esbuild. */
async function ensurePackages(log: (line: string) => void): Promise<void> {
  const needed = ["preact", "@preact/signals", "@supabase/realtime-js"];
  const missing: string[] = [];
  for (const name of needed) {
    try {
      await Deno.stat(`${rootDir}/node_modules/${name}/package.json`);
    } catch {
      missing.push(name);
    }
  }
  if (!missing.length) return;
  log(`web: installing ${missing.join(", ")} into node_modules`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["install"],
    cwd: rootDir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno install failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(stream).arrayBuffer()).byteLength;
}

async function hashHex(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Text files worth compressing (images are compressed already). */
const COMPRESSIBLE = /\.(js|mjs|css|html|json|map|webmanifest|svg|txt)$/;
/** Below this, the headers outweigh what compression saves. */
export const COMPRESS_MIN_BYTES = 512;

const ENCODERS: Record<Coding, (bytes: Uint8Array) => Uint8Array> = {
  br: (bytes) =>
    brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  gzip: (bytes) => gzipSync(bytes, { level: 9 }),
};

/** Writes `<file>.br` and `<file>.gz` beside every text file of the build they make smaller. */
async function precompress(dir: string, prefix = ""): Promise<void> {
  for await (const entry of Deno.readDir(`${dir}${prefix}`)) {
    const rel = `${prefix}/${entry.name}`;
    if (entry.isDirectory) await precompress(dir, rel);
    if (!entry.isFile || !COMPRESSIBLE.test(rel) || rel === "/build.json") continue;
    const bytes = await Deno.readFile(`${dir}${rel}`);
    if (bytes.length < COMPRESS_MIN_BYTES) continue;
    for (const { coding, suffix } of CODINGS) {
      const packed = ENCODERS[coding](bytes);
      if (packed.length < bytes.length) await Deno.writeFile(`${dir}${rel}${suffix}`, packed);
    }
  }
}

/** An esbuild output path → the JS files it statically imports, transitively. */
function closure(meta: Metafile, output: string, rel: (p: string) => string): string[] {
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const imp of meta.outputs[path]?.imports ?? []) {
      if (imp.kind === "import-statement" && !imp.external) visit(imp.path);
    }
  };
  visit(output);
  return [...seen].map(rel);
}

export async function buildWeb(options: BuildOptions = {}): Promise<BuildManifest> {
  const log = options.log ?? ((line: string) => console.log(line));
  const outDir = options.outDir ?? `${webDir}/dist`;
  const minify = options.minify ?? true;
  const started = performance.now();
  await ensurePackages(log);
  const fingerprint = await sourceFingerprint(webDir);

  const parent = outDir.replace(/\/[^/]+$/, "");
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: ".dist-build-" });
  try {
    const common: esbuild.BuildOptions = {
      absWorkingDir: rootDir,
      bundle: true,
      minify,
      write: true,
      metafile: true,
      logLevel: "silent",
      nodePaths: [`${rootDir}/node_modules`],
      legalComments: "none",
    };
    const js = await esbuild.build({
      ...common,
      entryPoints: Object.entries(ENTRIES).map(([name, e]) => ({
        in: `${webDir}/${e.js}`,
        out: name,
      })),
      outdir: `${tmp}/assets`,
      entryNames: "[name]-[hash]",
      chunkNames: "chunk-[hash]",
      splitting: true,
      format: "esm",
      platform: "browser",
      target: ["es2020", "chrome92", "safari15", "firefox90"],
      jsx: "automatic",
      jsxImportSource: "preact",
      sourcemap: "linked",
      define: { "process.env.NODE_ENV": '"production"' },
    });
    const css = await esbuild.build({
      ...common,
      entryPoints: Object.entries(ENTRIES).map(([name, e]) => ({
        in: `${webDir}/${e.css}`,
        out: name,
      })),
      outdir: `${tmp}/assets`,
      entryNames: "[name]-[hash]",
      target: ["chrome92", "safari15", "firefox90"],
    });

    // esbuild's metafile paths are relative to absWorkingDir; make them relative to tmp.
    const rel = (p: string) => new URL(p, `file://${rootDir}/`).pathname.slice(tmp.length + 1);
    const entries = {} as BuildManifest["entries"];
    const toUrl = (p: string) => `/${p}`;
    for (const name of Object.keys(ENTRIES) as EntryName[]) {
      const jsOut = Object.entries(js.metafile!.outputs).find(([, o]) =>
        o.entryPoint?.endsWith(ENTRIES[name].js)
      )![0];
      const cssOut = Object.entries(css.metafile!.outputs).find(([, o]) =>
        o.entryPoint?.endsWith(ENTRIES[name].css)
      )![0];
      const scripts = closure(js.metafile!, jsOut, rel);
      let gzipBytes = 0;
      let rawBytes = 0;
      for (const file of scripts) {
        const bytes = await Deno.readFile(`${tmp}/${file}`);
        rawBytes += bytes.length;
        gzipBytes += await gzipSize(bytes);
      }
      entries[name] = {
        script: toUrl(rel(jsOut)),
        styles: [toUrl(rel(cssOut))],
        scripts: scripts.map(toUrl),
        gzipBytes,
        rawBytes,
      };
    }

    // Icons and the manifest.
    await Deno.mkdir(`${tmp}/icons`);
    for (const size of [192, 512]) {
      await Deno.writeFile(`${tmp}/icons/icon-${size}.png`, await iconPng(size));
    }
    const manifest = {
      name: "Clinic — appointments and queue",
      short_name: "Clinic",
      description: "Book appointments, check in and follow your place in the queue live.",
      id: "/",
      start_url: "/",
      scope: "/",
      display: "standalone",
      orientation: "any",
      background_color: "#ffffff",
      theme_color: THEME_COLOR,
      icons: [192, 512].map((size) => ({
        src: `/icons/icon-${size}.png`,
        sizes: `${size}x${size}`,
        type: "image/png",
        purpose: "any maskable",
      })),
    };
    await Deno.writeTextFile(
      `${tmp}/manifest.webmanifest`,
      JSON.stringify(manifest, null, 2),
    );

    // HTML shells.
    for (const name of Object.keys(ENTRIES) as EntryName[]) {
      const e = entries[name];
      await Deno.writeTextFile(
        `${tmp}/${PAGES[name].file}`,
        shell({
          title: PAGES[name].title,
          description: PAGES[name].description,
          script: e.script,
          styles: e.styles,
          preload: e.scripts.filter((s) => s !== e.script),
          fallback: FALLBACK[name],
          bodyClass: name,
        }),
      );
    }

    // The service worker, versioned by everything it caches.
    const shellFiles = [
      "/index.html",
      "/board.html",
      "/staff.html",
      "/manifest.webmanifest",
      "/icons/icon-192.png",
      "/icons/icon-512.png",
      ...new Set(Object.values(entries).flatMap((e) => [...e.scripts, ...e.styles])),
    ].sort();
    const version = await hashHex(
      shellFiles.join("\n") + (await Deno.readTextFile(`${tmp}/index.html`)),
    );
    await esbuild.build({
      ...common,
      entryPoints: [`${webDir}/src/sw.ts`],
      outfile: `${tmp}/sw.js`,
      format: "iife",
      platform: "browser",
      target: ["es2020"],
      define: {
        __SW_VERSION__: JSON.stringify(version),
        __SW_SHELL__: JSON.stringify(shellFiles),
      },
    });

    await precompress(tmp);

    const boardGzip = entries.board.gzipBytes;
    const result: BuildManifest = {
      version,
      fingerprint,
      builtAt: new Date().toISOString(),
      entries,
      shell: shellFiles,
      budget: { boardGzipBytes: boardGzip, limitBytes: BOARD_BUDGET_BYTES },
    };
    await Deno.writeTextFile(`${tmp}/build.json`, JSON.stringify(result, null, 2));

    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    for (const name of Object.keys(ENTRIES) as EntryName[]) {
      const e = entries[name];
      log(
        `web: ${name.padEnd(5)} JS ${kb(e.rawBytes)} raw, ${kb(e.gzipBytes)} gzipped ` +
          `(${e.scripts.length} file${e.scripts.length === 1 ? "" : "s"})`,
      );
    }
    if (boardGzip > BOARD_BUDGET_BYTES) {
      throw new Error(
        `board route JavaScript is ${kb(boardGzip)} gzipped, over the ${
          kb(BOARD_BUDGET_BYTES)
        } budget`,
      );
    }

    // Swap the new build in.
    const old = `${parent}/.dist-old-${crypto.randomUUID().slice(0, 8)}`;
    let hadOld = false;
    try {
      await Deno.rename(outDir, old);
      hadOld = true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await Deno.rename(tmp, outDir);
    if (hadOld) await Deno.remove(old, { recursive: true });
    log(`web: built ${version} into ${outDir} in ${Math.round(performance.now() - started)} ms`);
    return result;
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw error;
  } finally {
    await esbuild.stop();
  }
}

if (import.meta.main) {
  try {
    await buildWeb({ outDir: Deno.args[0] });
  } catch (error) {
    console.error(`web build failed: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
