import assert from "node:assert/strict";
import { brotliDecompressSync } from "node:zlib";
import { createWeb, documentFor } from "./mod.ts";

Deno.test("documentFor maps page routes to shells", () => {
  assert.equal(documentFor("/"), "/index.html");
  assert.equal(documentFor("/appointments"), "/index.html");
  assert.equal(documentFor("/c/GFC-TP"), "/index.html");
  assert.equal(documentFor("/board/GFC-TP"), "/board.html");
  assert.equal(documentFor("/staff"), "/staff.html");
  assert.equal(documentFor("/staff/queue"), "/staff.html");
  assert.equal(documentFor("/favicon.ico"), undefined);
  assert.equal(documentFor("/assets/missing-123.js"), undefined);
});

Deno.test("createWeb builds on first use and serves the PWA", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "web-dist-test-" });
  const logs: string[] = [];
  try {
    const web = createWeb({ distDir: `${dir}/dist`, log: (l) => logs.push(l) });
    const get = (path: string, headers: HeadersInit = {}) =>
      web.fetch(new Request(`http://localhost${path}`, { headers }));

    await t.step("index: html, no-cache, CSP, built on demand", async () => {
      const res = await get("/");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/html/);
      assert.equal(res.headers.get("cache-control"), "no-cache");
      assert.match(res.headers.get("content-security-policy")!, /default-src 'self'/);
      const html = await res.text();
      assert.match(html, /<html lang="en">/);
      assert.match(html, /rel="manifest"/);
      assert.ok(logs.some((l) => l.includes("building")), "it built");
    });

    const build = JSON.parse(await Deno.readTextFile(`${dir}/dist/build.json`));

    await t.step("board and staff routes get their own shells (SPA fallback)", async () => {
      const board = await (await get("/board/GFC-TP")).text();
      assert.ok(board.includes(build.entries.board.script));
      const staff = await (await get("/staff")).text();
      assert.ok(staff.includes(build.entries.staff.script));
      const deep = await (await get("/appointments/123")).text();
      assert.ok(deep.includes(build.entries.app.script));
    });

    await t.step("hashed assets are immutable, with the right types", async () => {
      const js = await get(build.entries.board.script);
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type")!, /^text\/javascript/);
      assert.match(js.headers.get("cache-control")!, /immutable/);
      await js.body?.cancel();
      const css = await get(build.entries.board.styles[0]);
      assert.match(css.headers.get("content-type")!, /^text\/css/);
      await css.body?.cancel();
    });

    await t.step("service worker, manifest and icons", async () => {
      const sw = await get("/sw.js");
      assert.equal(sw.headers.get("cache-control"), "no-cache");
      assert.match(sw.headers.get("content-type")!, /^text\/javascript/);
      const swText = await sw.text();
      assert.ok(swText.includes(`clinic-shell-`) && swText.includes(build.version));
      assert.ok(swText.includes("/api/"), "the worker knows to leave the API alone");
      const manifest = await (await get("/manifest.webmanifest")).json();
      assert.equal(manifest.display, "standalone");
      assert.equal(manifest.start_url, "/");
      assert.ok(manifest.theme_color);
      assert.deepEqual(manifest.icons.map((i: { sizes: string }) => i.sizes), [
        "192x192",
        "512x512",
      ]);
      for (const size of [192, 512]) {
        const png = await get(`/icons/icon-${size}.png`);
        assert.equal(png.headers.get("content-type"), "image/png");
        const bytes = new Uint8Array(await png.arrayBuffer());
        assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
        assert.equal(new DataView(bytes.buffer).getUint32(16), size, "PNG width");
      }
    });

    await t.step("ETag revalidation, HEAD, 404 and 405", async () => {
      const first = await get("/");
      await first.body?.cancel();
      const etag = first.headers.get("etag")!;
      const again = await get("/", { "if-none-match": etag });
      assert.equal(again.status, 304);
      const head = await web.fetch(new Request("http://localhost/staff", { method: "HEAD" }));
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
      const missing = await get("/assets/nope-123.js");
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const post = await web.fetch(new Request("http://localhost/", { method: "POST" }));
      assert.equal(post.status, 405);
      await post.body?.cancel();
    });

    await t.step("precompressed text: br, then gzip, then as is, by Accept-Encoding", async () => {
      const path = build.entries.app.script;
      const raw = await Deno.readFile(`${dir}/dist${path}`);
      const plain = await get(path);
      assert.equal(plain.headers.get("content-encoding"), null, "no Accept-Encoding: as is");
      assert.equal(plain.headers.get("vary"), "Accept-Encoding");
      assert.deepEqual(new Uint8Array(await plain.arrayBuffer()), raw);

      const etags = new Set([plain.headers.get("etag")]);
      for (
        const [accept, coding, format] of [
          ["gzip, deflate, br, zstd", "br", "brotli"],
          ["gzip, deflate", "gzip", "gzip"],
          ["br;q=0, gzip", "gzip", "gzip"],
        ] as const
      ) {
        const res = await get(path, { "accept-encoding": accept });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-encoding"), coding, accept);
        assert.equal(res.headers.get("vary"), "Accept-Encoding");
        assert.match(res.headers.get("cache-control")!, /immutable/, "caching unchanged");
        assert.match(res.headers.get("content-type")!, /^text\/javascript/);
        const body = new Uint8Array(await res.arrayBuffer());
        assert.equal(res.headers.get("content-length"), String(body.length));
        assert.ok(body.length < raw.length / 2, `${coding} is much smaller`);
        const decoded = format === "brotli" ? brotliDecompressSync(body) : new Uint8Array(
          await new Response(
            new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip")),
          ).arrayBuffer(),
        );
        assert.deepEqual(new Uint8Array(decoded), raw, `${coding} decodes to the file`);
        etags.add(res.headers.get("etag"));
      }
      assert.equal(etags.size, 3, "one ETag per encoding");

      const none = await get(path, { "accept-encoding": "identity, br;q=0, gzip;q=0" });
      assert.equal(none.headers.get("content-encoding"), null, "q=0 is honoured");
      await none.body?.cancel();
      for (const doc of ["/", "/sw.js", build.entries.board.styles[0]]) {
        const res = await get(doc, { "accept-encoding": "br" });
        assert.equal(res.headers.get("content-encoding"), "br", doc);
        await res.body?.cancel();
      }
      const png = await get("/icons/icon-192.png", { "accept-encoding": "br, gzip" });
      assert.equal(png.headers.get("content-encoding"), null, "images are sent as they are");
      assert.equal(png.headers.get("vary"), null);
      await png.body?.cancel();
      const variant = await get(`${path}.br`);
      assert.equal(variant.status, 404, "the .br files are not pages of their own");
      await variant.body?.cancel();
    });

    await t.step("per encoding: revalidation, HEAD and Range", async () => {
      const path = build.entries.board.script;
      const br = await get(path, { "accept-encoding": "br" });
      const brBytes = (await br.arrayBuffer()).byteLength;
      const brTag = br.headers.get("etag")!;
      const same = await get(path, { "accept-encoding": "br", "if-none-match": brTag });
      assert.equal(same.status, 304);
      assert.equal(same.headers.get("etag"), brTag);
      assert.equal(same.headers.get("vary"), "Accept-Encoding");
      const other = await get(path, { "accept-encoding": "gzip", "if-none-match": brTag });
      assert.equal(other.status, 200, "a br ETag does not validate the gzip variant");
      assert.equal(other.headers.get("content-encoding"), "gzip");
      await other.body?.cancel();
      const listed = await get(path, {
        "accept-encoding": "br",
        "if-none-match": `"other", W/${brTag}`,
      });
      assert.equal(listed.status, 304, "If-None-Match lists, weak comparison");

      const head = await web.fetch(
        new Request(`http://localhost${path}`, {
          method: "HEAD",
          headers: { "accept-encoding": "br" },
        }),
      );
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-encoding"), "br");
      assert.equal(head.headers.get("content-length"), String(brBytes), "the GET's length");
      assert.equal(head.headers.get("etag"), brTag);
      assert.equal(await head.text(), "");

      // No partial responses: a Range request gets the whole representation, as before.
      const ranged = await get(path, { "accept-encoding": "br", range: "bytes=0-9" });
      assert.equal(ranged.status, 200);
      assert.equal(ranged.headers.get("content-range"), null);
      assert.equal((await ranged.arrayBuffer()).byteLength, brBytes);
    });

    await t.step("the board's JavaScript is within budget", () => {
      assert.ok(build.entries.board.gzipBytes <= 35 * 1024, `${build.entries.board.gzipBytes}`);
    });

    await t.step("an up-to-date build is reused, not rebuilt", async () => {
      logs.length = 0;
      const again = createWeb({ distDir: `${dir}/dist`, log: (l) => logs.push(l) });
      await again.ready();
      assert.equal(logs.length, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
