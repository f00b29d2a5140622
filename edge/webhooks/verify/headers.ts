/**
 * Case-insensitive header lookup over `Headers` or a plain record.
 *
 * @module
 */

/** Request headers as a `Headers` object or a plain record (any key case). */
export type HeadersLike = Headers | Readonly<Record<string, string | undefined>>;

/** The value of header `name`, or `undefined` when absent or empty. */
export function headerValue(headers: HeadersLike, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let value: string | null | undefined;
  if (headers instanceof Headers) {
    value = headers.get(wanted);
  } else {
    for (const [key, candidate] of Object.entries(headers)) {
      if (key.toLowerCase() === wanted) {
        value = candidate;
        break;
      }
    }
  }
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
