/**
 * Request generators of the API fuzz suite (tests/edge/fuzz_test.ts): the operations of the
 * OpenAPI document, values drawn from each parameter's and body's JSON schema (or from a hint
 * by field name, so that requests get past validation and into SQL), and the hostile things
 * a client can send instead: control characters, U+0000, lone surrogates, huge and odd numbers,
 * deep nesting, wrong types, very long strings, malformed JSON, invalid UTF-8, wrong content
 * types and odd percent-encoding.
 */
import fc from "fast-check";

// deno-lint-ignore no-explicit-any
export type Schema = Record<string, any>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, Schema>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: string;
  /** As documented, e.g. `/api/clinics/{code}`. */
  path: string;
  parameters: Parameter[];
  body?: { required: boolean; schema: Schema };
}

/** A value for a field of an operation, or undefined to draw it from its schema. */
export type Hint = (op: Operation, name: string) => fc.Arbitrary<unknown> | undefined;

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

/** Every operation of the document, `$ref`s resolved. */
export function operations(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const json = op.requestBody?.content?.["application/json"];
      out.push({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []).map((p: Schema) => ({
          name: p.name,
          in: p.in,
          required: p.required ?? false,
          schema: resolve(p.schema ?? {}, doc),
        })),
        body: json
          ? { required: op.requestBody.required ?? false, schema: resolve(json.schema, doc) }
          : undefined,
      });
    }
  }
  return out;
}

function resolve(schema: Schema, doc: OpenApiDocument): Schema {
  if (Array.isArray(schema)) return schema.map((s) => resolve(s, doc));
  if (schema === null || typeof schema !== "object") return schema;
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/components/schemas/", "");
    return resolve(doc.components?.schemas?.[name] ?? {}, doc);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolve(v, doc)]));
}

// ---------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------

/** C0 and C1 controls, U+0000, lone surrogates, BOM, non-characters, bidi and line separators. */
export const controlCharacter = fc.constantFrom(
  "\u0000",
  "\u0001",
  "\u0008",
  "\t",
  "\n",
  "\u000b",
  "\r",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009f",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\ufeff",
  "\uffff",
  "\u2028",
  "\u202e",
);

const trickyStrings = [
  "",
  " ",
  "NaN",
  "Infinity",
  "-Infinity",
  "-0",
  "0x1F",
  "1e308",
  "-1e308",
  "1e-400",
  "9007199254740993",
  "null",
  "true",
  "[]",
  "{}",
  "%00",
  "%",
  "\\u0000",
  "\\",
  "' or '1'='1' --",
  "$1",
  "../../etc/passwd",
  "2026-12-01T09:00:00+16:00",
  "2026-12-01T09:00:00-16:00",
  "2026-12-01T09:00:00+99:00",
  "2026-12-01T24:00:00+08:00",
  "2026-02-30T09:00:00+08:00",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59-15:59",
  "0000-01-01",
  "2026-13-01",
  "99999-01-01",
  "infinity",
  "epoch",
  "allballs",
  "00000000-0000-0000-0000-000000000000",
  "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
  "\u{1F600}",
  "Z\u0301\u0301\u0301\u0301",
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.string({ maxLength: 8 }), controlCharacter, fc.string({ maxLength: 8 }))
      .map(([a, c, b]) => a + c + b),
  },
  { weight: 3, arbitrary: fc.constantFrom(...trickyStrings) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(41, 101, 201, 256, 1001, 2001, 20_000).map((n) => "x".repeat(n)),
  },
);

export const hostileNumber: fc.Arbitrary<number> = fc.constantFrom(
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 63,
  -0,
  0.5,
  -1,
  1e-320,
);

/** `[{"a":[{"a":…"x"}]}]`, `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = "x";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

/** Anything but what the field expects. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      [],
      {},
      [null],
      JSON.parse('{"__proto__":{"admin":true}}'),
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 400 }).map(nested) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

// ---------------------------------------------------------------------------------------
// Values from JSON schemas
// ---------------------------------------------------------------------------------------

/** A value the schema (mostly) accepts; `hint` first, by field name. */
export function fromSchema(
  schema: Schema,
  hint: (name: string) => fc.Arbitrary<unknown> | undefined,
  name?: string,
): fc.Arbitrary<unknown> {
  const hinted = name === undefined ? undefined : hint(name);
  if (hinted) return hinted;
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s: Schema) => fromSchema(s, hint, name)));
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
  return fc.oneof(...types.map((type) => fromType(type, schema, hint)));
}

function fromType(
  type: string | undefined,
  schema: Schema,
  hint: (name: string) => fc.Arbitrary<unknown> | undefined,
): fc.Arbitrary<unknown> {
  switch (type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 });
    case "number":
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true });
    case "string":
      return stringFrom(schema);
    case "array":
      return fc.array(fromSchema(schema.items ?? {}, hint), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 3, 3),
      });
    case "object": {
      const properties: Record<string, Schema> = schema.properties ?? {};
      return fc.record(
        Object.fromEntries(
          Object.entries(properties).map(([key, s]) => [key, fromSchema(s, hint, key)]),
        ),
        { requiredKeys: schema.required ?? [] },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringFrom(schema: Schema): fc.Arbitrary<string> {
  const options: fc.Arbitrary<string>[] = [];
  if (typeof schema.example === "string") options.push(fc.constant(schema.example));
  if (schema.format === "uuid") options.push(fc.uuid());
  else if (schema.format === "email") options.push(fc.emailAddress());
  else if (schema.pattern) {
    options.push(fc.stringMatching(new RegExp(schema.pattern), { maxLength: schema.maxLength }));
  } else {
    options.push(fc.string({
      unit: "grapheme",
      minLength: schema.minLength ?? 0,
      maxLength: Math.min(schema.maxLength ?? 40, 40),
    }));
  }
  return fc.oneof(...options);
}

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

function setAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]] = replacement;
  return copy;
}

/** `value` with one value inside it (`pick` chooses which) replaced by `replacement`. */
function replaceOne(value: unknown, pick: number, replacement: unknown): unknown {
  const paths = pathsOf(value);
  // A value inside rather than the root: the root alone is only a wrong-type body.
  const path = paths.length > 1 ? paths[1 + (pick % (paths.length - 1))] : [];
  return setAt(value, path, replacement);
}

/** `base` with one value inside it replaced by `replacement`. */
export function mutated(
  base: fc.Arbitrary<unknown>,
  replacement: fc.Arbitrary<unknown> = hostileValue,
): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.nat(), replacement).map(([value, pick, hostile]) =>
    replaceOne(value, pick, hostile)
  );
}

const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80], // overlong NUL
  [0xed, 0xa0, 0x80], // a UTF-16 surrogate, UTF-8 encoded
  [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
  [0x80],
  [0xe2, 0x82], // truncated
  [0x00], // a raw NUL byte
];
const MARKER = "\ue000";
const MARKER_BYTES = new TextEncoder().encode(MARKER);

/** JSON of `value` with one value inside it (`pick`) replaced by the bytes `bad`. */
function withInvalidUtf8(value: unknown, pick: number, bad: number[]): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(JSON.stringify(replaceOne(value, pick, MARKER)));
  const at = bytes.findIndex((_, i) => MARKER_BYTES.every((b, j) => bytes[i + j] === b));
  if (at < 0) return new Uint8Array([...bytes, ...bad]);
  return new Uint8Array([
    ...bytes.subarray(0, at),
    ...bad,
    ...bytes.subarray(at + MARKER_BYTES.length),
  ]);
}

const invalidUtf8 = fc.tuple(fc.nat(), fc.constantFrom(...INVALID_UTF8));

/** JSON of `base` with one value inside it replaced by invalid UTF-8 bytes. */
export function invalidUtf8Body(
  base: fc.Arbitrary<unknown>,
): fc.Arbitrary<Uint8Array<ArrayBuffer>> {
  return fc.tuple(base, invalidUtf8).map(([value, [pick, bad]]) =>
    withInvalidUtf8(value, pick, bad)
  );
}

/** Not JSON, or JSON no parser should be asked to build. */
export const malformedBody: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "{",
    "}",
    "nul",
    "{'a':1}",
    "[1,]",
    '{"a":1}}',
    '{"a":1} trailing',
    "\ufeff{}",
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    '{"a":1e999}',
    '"a string"',
    "123",
    "null",
    "[]",
    '{"a":1,"a":2}',
    '{"__proto__":{"admin":true}}',
    "a=1&b=2",
  ),
  fc.integer({ min: 1_000, max: 60_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)),
  fc.constantFrom(...INVALID_UTF8).map((bad) => new Uint8Array([0x7b, ...bad, 0x7d])),
);

/** Content types other than plain `application/json`. */
export const oddContentType = fc.constantFrom(
  "application/json; charset=utf-8",
  "application/json;charset=latin1",
  "APPLICATION/JSON",
  "application/vnd.api+json",
  "text/plain",
  "text/html",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/xml",
  "*/*",
  "application/json, text/plain",
  "",
);

// ---------------------------------------------------------------------------------------
// Paths, queries, headers
// ---------------------------------------------------------------------------------------

/** Percent-encodes what `encodeURIComponent` would, without throwing on lone surrogates. */
function encode(s: string): string {
  return [...new TextEncoder().encode(s)].map((b) =>
    /[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b)) && b < 0x80
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
  ).join("");
}

/** Raw path segments no client library would send. */
export const oddSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "%00",
    "%",
    "%zz",
    "%%30",
    "%C0%AF",
    "%ED%A0%80",
    "%FF",
    "%2F",
    "%2e%2e",
    "..",
    "%20",
    "%0A",
    "%0D%0A",
    "%7F",
    "%C2%85",
    "GFC-TP%00",
    "%47%46%43-TP",
    "GFC%2DTP",
    "%EF%BC%A7FC-TP",
    "%25",
    "a;b",
    "-1",
    "1e308",
    "NaN",
  ),
  fc.constantFrom(21, 41, 300, 5000).map((n) => "A".repeat(n)),
  hostileString.map(encode),
);

/** Header values a Fetch `Headers` accepts (no NUL, CR or LF; bytes only). */
export const headerSafe = (s: string) => /^[^\0\r\n\u0100-\uffff]*$/.test(s);

/** Odd query strings appended to a valid one. */
const oddQuery = fc.constantFrom("limit=1&limit=2", "x[]=1", "=", "&&", "%zz=%zz", "a=%00", "%");

// ---------------------------------------------------------------------------------------
// Whole requests
// ---------------------------------------------------------------------------------------

interface Parts {
  path: string[];
  query: (string | undefined)[];
  headers: (string | undefined)[];
  /** JSON value; undefined = no body. */
  body: unknown;
  rawBody?: string | Uint8Array<ArrayBuffer>;
  contentType?: string;
  extraQuery?: string;
}

/**
 * Requests for `op`: a valid request drawn from its schemas (and hints), then exactly one
 * hostile change — to one path parameter, query value, header or body value, or the body's
 * bytes, encoding or content type — so that the change, not some other error, is what the
 * API meets. Some are left valid.
 */
export function requestsFor(op: Operation, hint: Hint): fc.Arbitrary<FuzzRequest> {
  const hintFor = (name: string) => hint(op, name);
  const valueOf = (p: Parameter) => fromSchema(p.schema, hintFor, p.name).map(String);
  const pathParams = op.parameters.filter((p) => p.in === "path");
  const queryParams = op.parameters.filter((p) => p.in === "query");
  const headerParams = op.parameters.filter((p) => p.in === "header");

  const valid: fc.Arbitrary<Parts> = fc.record({
    path: fc.tuple(...pathParams.map((p) => valueOf(p).map(encode))),
    query: fc.tuple(
      ...queryParams.map((p) =>
        fc.option(valueOf(p).map(encode), { freq: p.required ? 10 : 2, nil: undefined })
      ),
    ),
    headers: fc.tuple(...headerParams.map(valueOf)),
    body: op.body ? fromSchema(op.body.schema, hintFor) : fc.constant(undefined),
  });
  const one = <T>(
    list: unknown[],
    change: fc.Arbitrary<T>,
    apply: (p: Parts, i: number, v: T) => void,
  ) =>
    fc.tuple(valid, fc.nat(), change).map(([parts, pick, value]) => {
      apply(parts, list.length ? pick % list.length : 0, value);
      return parts;
    });
  // JSON text, not String(v): an object such as {"toString": 1} cannot be made a string.
  const queryHostile = fc.oneof(
    hostileValue.map((v) => encode(typeof v === "string" ? v : JSON.stringify(v))),
    oddSegment,
  );
  const kinds: fc.WeightedArbitrary<Parts>[] = [
    { weight: 2, arbitrary: valid },
    { weight: 1, arbitrary: one([], oddQuery, (p, _, q) => p.extraQuery = q) },
    { weight: 1, arbitrary: one([], oddContentType, (p, _, type) => p.contentType = type) },
  ];
  if (op.method !== "GET") {
    kinds.push({ weight: 1, arbitrary: one([], malformedBody, (p, _, raw) => p.rawBody = raw) });
  }
  if (pathParams.length) {
    kinds.push({ weight: 4, arbitrary: one(pathParams, oddSegment, (p, i, v) => p.path[i] = v) });
  }
  if (queryParams.length) {
    kinds.push({
      weight: 3,
      arbitrary: one(queryParams, queryHostile, (p, i, v) => p.query[i] = v),
    });
  }
  if (headerParams.length) {
    const hostile = hostileString.filter(headerSafe);
    kinds.push({ weight: 1, arbitrary: one(headerParams, hostile, (p, i, v) => p.headers[i] = v) });
    kinds.push({
      weight: 1,
      arbitrary: one(headerParams, fc.constant(undefined), (p, i) => p.headers[i] = undefined),
    });
  }
  if (op.body) {
    kinds.push(
      {
        weight: 8,
        arbitrary: one(
          [],
          fc.tuple(fc.nat(), hostileValue),
          (p, _, [pick, v]) => p.body = replaceOne(p.body, pick, v),
        ),
      },
      {
        weight: 1,
        arbitrary: one([], invalidUtf8, (p, _, [pick, bad]) => {
          p.rawBody = withInvalidUtf8(p.body, pick, bad);
        }),
      },
      { weight: 1, arbitrary: one([], fc.constant(undefined), (p) => p.body = undefined) },
    );
  } else if (op.method !== "GET") {
    kinds.push({ weight: 1, arbitrary: one([], hostileValue, (p, _, v) => p.body = v) });
  }

  return fc.oneof(...kinds).map((parts) => {
    let path = op.path;
    pathParams.forEach((p, i) => path = path.replace(`{${p.name}}`, parts.path[i]));
    const query = [
      ...queryParams.flatMap((p, i) =>
        parts.query[i] === undefined ? [] : [`${p.name}=${parts.query[i]}`]
      ),
      ...(parts.extraQuery ? [parts.extraQuery] : []),
    ].join("&");
    const headers: Record<string, string> = {};
    headerParams.forEach((p, i) => {
      if (parts.headers[i] !== undefined) headers[p.name] = parts.headers[i]!;
    });
    const body = parts.rawBody ??
      (parts.body === undefined ? undefined : JSON.stringify(parts.body));
    if (body !== undefined || parts.contentType !== undefined) {
      headers["content-type"] = parts.contentType ?? "application/json";
    }
    return { method: op.method, path: query ? `${path}?${query}` : path, headers, body };
  });
}

/** Why `answer` breaks the contract (a 5xx, or an error not in the JSON error shape), or null. */
export function contractBreach(status: number, contentTypeHeader: string, text: string) {
  if (status >= 500) return `answered ${status}: ${text.slice(0, 300)}`;
  if (status < 400) return null;
  if (!contentTypeHeader.includes("application/json")) {
    return `error ${status} as ${contentTypeHeader}: ${text.slice(0, 300)}`;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `error ${status} is not JSON: ${text.slice(0, 300)}`;
  }
  const error = (body as { error?: Record<string, unknown> })?.error;
  const ok = body !== null && typeof body === "object" && Object.keys(body).join() === "error" &&
    error !== null && typeof error === "object" && typeof error.code === "string" &&
    error.code.length > 0 && typeof error.message === "string" &&
    Object.keys(error).every((k) => k === "code" || k === "message" || k === "details");
  return ok ? null : `error ${status} not in the error shape: ${text.slice(0, 300)}`;
}
