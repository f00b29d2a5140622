/**
 * The content codings of the build: `build.ts` writes `<file>.br` / `<file>.gz` beside a text
 * file, `mod.ts` picks one per request by its Accept-Encoding.
 */

/** A content coding the build writes beside a file (`.br`, `.gz`), in the server's preference. */
export type Coding = "br" | "gzip";
export const CODINGS: readonly { coding: Coding; suffix: string }[] = [
  { coding: "br", suffix: ".br" },
  { coding: "gzip", suffix: ".gz" },
];

/**
 * The coding to send, of those available, for an Accept-Encoding header: the highest q above 0
 * (an unlisted coding takes the q of `*`, or 0), br before gzip on a tie; null means as is.
 */
export function negotiate(header: string | null, available: readonly Coding[]): Coding | null {
  if (!header || !available.length) return null;
  const q = new Map<string, number>();
  for (const part of header.toLowerCase().split(",")) {
    const [name, ...params] = part.split(";").map((p) => p.trim());
    if (!name) continue;
    const weight = params.find((p) => p.startsWith("q="));
    const value = weight ? Number(weight.slice(2)) : 1;
    q.set(name === "x-gzip" ? "gzip" : name, Number.isFinite(value) ? value : 0);
  }
  let best: Coding | null = null;
  let bestQ = 0;
  for (const { coding } of CODINGS) {
    if (!available.includes(coding)) continue;
    const weight = q.get(coding) ?? q.get("*") ?? 0;
    if (weight > bestQ) [best, bestQ] = [coding, weight];
  }
  return best;
}
