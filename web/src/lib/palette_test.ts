/**
 * Every text/background colour pair the stylesheets use meets WCAG AA (≥ 4.5:1), read from
 * the CSS custom properties themselves so a palette change cannot silently break contrast.
 * (The e2e run also audits the rendered pages with axe-core.)
 */
import assert from "node:assert/strict";

const styles = new URL("../styles/", import.meta.url);

async function variables(file: string): Promise<Map<string, string>> {
  const css = await Deno.readTextFile(new URL(file, styles));
  const out = new Map<string, string>();
  for (const m of css.matchAll(/(--[a-z0-9-]+):\s*(#[0-9a-f]{6})\s*;/gi)) {
    out.set(m[1], m[2].toLowerCase());
  }
  return out;
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

Deno.test("contrast: the WCAG formula", () => {
  assert.equal(Math.round(contrast("#000000", "#ffffff") * 10) / 10, 21);
  assert.equal(contrast("#777777", "#777777"), 1);
});

Deno.test("contrast: every text colour pair is at least 4.5:1", async () => {
  const base = await variables("base.css");
  const board = await variables("board.css");
  const v = (map: Map<string, string>, name: string) => {
    const value = map.get(name);
    assert.ok(value, `${name} is defined`);
    return value;
  };
  const pairs: [string, string, string][] = [
    ["body text", v(base, "--text"), v(base, "--bg")],
    ["muted text", v(base, "--muted"), v(base, "--bg")],
    ["muted text on surface", v(base, "--muted"), v(base, "--surface")],
    ["links", v(base, "--primary-strong"), v(base, "--bg")],
    ["links on surface", v(base, "--primary-strong"), v(base, "--surface")],
    ["primary button", v(base, "--on-primary"), v(base, "--primary")],
    ["primary button hover", v(base, "--on-primary"), v(base, "--primary-strong")],
    ["danger button / badge", v(base, "--on-danger"), v(base, "--danger")],
    ["error text", v(base, "--danger"), v(base, "--bg")],
    ["error notice", "#8a1c13", "#fdecea"],
    ["success", v(base, "--success-text"), v(base, "--success-bg")],
    ["warning", v(base, "--warning-text"), v(base, "--warning-bg")],
    ["info", v(base, "--info-text"), v(base, "--info-bg")],
    ["body text on warning (called ticket)", v(base, "--text"), v(base, "--warning-bg")],
    ["board text", v(board, "--b-text"), v(board, "--b-bg")],
    ["board muted", v(board, "--b-muted"), v(board, "--b-bg")],
    ["board muted on panel", v(board, "--b-muted"), v(board, "--b-panel")],
    ["board codes", v(board, "--b-accent"), v(board, "--b-panel")],
    ["board text on panel", v(board, "--b-text"), v(board, "--b-panel")],
    ["board flash", v(board, "--b-flash-text"), v(board, "--b-flash-bg")],
    ["board offline marker", v(board, "--b-warn"), v(board, "--b-bg")],
  ];
  const failing = pairs
    .map(([name, fg, bg]) => [name, fg, bg, contrast(fg, bg)] as const)
    .filter(([, , , ratio]) => ratio < 4.5)
    .map(([name, fg, bg, ratio]) => `${name}: ${fg} on ${bg} = ${ratio.toFixed(2)}:1`);
  assert.deepEqual(failing, []);
});
