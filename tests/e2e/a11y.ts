/**
 * Accessibility audit of a live page with axe-core (npm, injected into the page): WCAG 2.x
 * A/AA rules — labels, names, landmarks, headings, contrast ≥ 4.5:1, ARIA use. Returns the
 * serious and critical violations as readable lines.
 */
import type { Page } from "playwright-core";

const root = new URL("../../", import.meta.url).pathname;
let source: string | undefined;

async function axeSource(): Promise<string> {
  if (source) return source;
  const file = `${root}node_modules/axe-core/axe.min.js`;
  try {
    source = await Deno.readTextFile(file);
  } catch {
    // A fresh clone: let Deno put the import map's npm packages into node_modules.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["install"],
      cwd: root,
      stdout: "null",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error("deno install failed (needed for axe-core)");
    source = await Deno.readTextFile(file);
  }
  return source;
}

interface AxeResult {
  violations: {
    id: string;
    impact: string | null;
    help: string;
    nodes: { target: unknown[]; failureSummary?: string }[];
  }[];
}

export async function audit(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in globalThis))) {
    // Evaluated over the DevTools protocol: the page's CSP (rightly) forbids inline scripts.
    await page.evaluate(await axeSource());
  }
  const result = await page.evaluate(() =>
    (globalThis as unknown as {
      axe: { run(ctx: Document, opts: unknown): Promise<unknown> };
    }).axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    })
  ) as AxeResult;
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) =>
      v.nodes.slice(0, 3).map((n) => `${v.id} (${v.impact}): ${v.help} at ${n.target.join(" ")}`)
    );
}
