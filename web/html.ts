/** HTML shells for the three entry points (patient app, TV board, staff console). */
import { THEME_COLOR } from "./icons.ts";

export interface ShellInput {
  title: string;
  description: string;
  script: string;
  styles: string[];
  preload: string[];
  /** What a browser without JavaScript (or before the bundle runs) shows. */
  fallback: string;
  bodyClass?: string;
}

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function shell(input: ShellInput): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>${escape(input.title)}</title>
<meta name="description" content="${escape(input.description)}">
<meta name="theme-color" content="${THEME_COLOR}">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" type="image/png" sizes="192x192" href="/icons/icon-192.png">
<link rel="apple-touch-icon" href="/icons/icon-192.png">
${input.styles.map((href) => `<link rel="stylesheet" href="${href}">`).join("\n")}
${input.preload.map((href) => `<link rel="modulepreload" href="${href}">`).join("\n")}
<script type="module" src="${input.script}"></script>
</head>
<body${input.bodyClass ? ` class="${input.bodyClass}"` : ""}>
<div id="root">${input.fallback}</div>
</body>
</html>
`;
}
