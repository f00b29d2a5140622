/**
 * A fingerprint of everything the web build reads (sources, build scripts, import map), so the
 * server can tell whether `web/dist/` is current without importing the bundler.
 */

const BUILD_INPUTS = ["build.ts", "encoding.ts", "icons.ts", "html.ts", "fingerprint.ts"];

async function walk(dir: string, out: string[]): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await walk(path, out);
    else if (entry.isFile && !entry.name.endsWith("_test.ts")) out.push(path);
  }
}

/** SHA-256 (hex, 16 chars) over the web sources' paths and contents. */
export async function sourceFingerprint(webDir: string): Promise<string> {
  const files: string[] = [];
  await walk(`${webDir}/src`, files);
  for (const name of BUILD_INPUTS) files.push(`${webDir}/${name}`);
  files.push(`${webDir}/../import_map.json`);
  files.sort();
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const file of files) {
    chunks.push(encoder.encode(`${file.slice(webDir.length)}\n`));
    try {
      chunks.push(await Deno.readFile(file));
    } catch {
      chunks.push(encoder.encode("<missing>"));
    }
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}
