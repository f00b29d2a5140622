/**
 * The one rule for text a caller sends that we store or search: no control characters and
 * no lone surrogates. U+0000 cannot be stored in PostgreSQL text at all, a lone surrogate is
 * not encodable as UTF-8, and the other C0/C1 controls only ever break a name, room or label
 * where they are shown. Multi-line text (reasons, descriptions) keeps tab and line breaks.
 */

const inLine = /[\p{Cc}\p{Cs}]/u;
const inMultiLine = /(?![\t\n\r])[\p{Cc}\p{Cs}]/u;

/** True when `s` holds a character no text field accepts (tab and line breaks only when
 * `multiLine`). */
export function hasControlCharacters(s: string, multiLine = false): boolean {
  return (multiLine ? inMultiLine : inLine).test(s);
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `s` as HTML text or attribute value: it can never become markup. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}
