/**
 * A minimal HTTP/1.1 client exchange over an already-connected stream: one
 * request, one response (the caller decides whether the connection is kept:
 * `reusable` says whether it may be). It exists so the SSRF guard can
 * connect to the address it vetted (plain TCP or TLS with the URL's host name
 * verified) instead of letting `fetch` resolve the name again.
 *
 * It never follows redirects and reads at most `maxBodyBytes` of the body.
 *
 * @module
 */

import { concatBytes } from "../encoding.ts";

/** The part of `Deno.Conn` used here. */
export interface ByteStream {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
}

/** One request; `target` is in origin form (`/path?query`). */
export interface Http1Request {
  readonly method: string;
  readonly target: string;
  /** Value of the `Host` header, sent first. */
  readonly host: string;
  readonly headers: Headers;
  readonly body: Uint8Array | null;
}

/** The response, with the body cut at the requested size. */
export interface Http1Response {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
  /** True when the body is incomplete: longer than the limit, or cut short by the peer. */
  readonly bodyTruncated: boolean;
  /**
   * The connection may carry another request: an HTTP/1.1 response without `Connection:
   * close` whose body was delimited (length or chunks) and read to its end, nothing after it.
   */
  readonly reusable: boolean;
}

/** The peer did not speak HTTP/1.x as expected. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const READ_SIZE = 16 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_HEADER_COUNT = 100;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function latin1Encode(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

function latin1Decode(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** The request on the wire: request line, `Host` first, other headers, blank line, body. */
export function serializeRequest(request: Http1Request): Uint8Array {
  let head = `${request.method} ${request.target} HTTP/1.1\r\nhost: ${request.host}\r\n`;
  for (const [name, value] of request.headers) {
    if (name !== "host") head += `${name}: ${value}\r\n`;
  }
  head += "\r\n";
  return concatBytes(latin1Encode(head), request.body ?? new Uint8Array());
}

async function writeAll(stream: ByteStream, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength;) {
    offset += await stream.write(bytes.subarray(offset));
  }
}

interface BufferedReader {
  /** A line without its CR LF; throws at EOF or past `MAX_HEAD_BYTES`. */
  readLine(): Promise<string>;
  /** Up to `max` bytes, or `null` at EOF. */
  read(max: number): Promise<Uint8Array | null>;
  /** Bytes read from the stream and not consumed yet. */
  pending(): number;
}

function bufferedReader(stream: ByteStream): BufferedReader {
  let buffered = new Uint8Array();

  async function fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_SIZE);
    const count = await stream.read(chunk);
    if (count === null) return false;
    buffered = concatBytes(buffered, chunk.subarray(0, count));
    return true;
  }

  async function readLine(): Promise<string> {
    let searchFrom = 0;
    for (;;) {
      const lf = buffered.indexOf(0x0a, searchFrom);
      if (lf >= 0) {
        const end = lf > 0 && buffered[lf - 1] === 0x0d ? lf - 1 : lf;
        const line = latin1Decode(buffered.subarray(0, end));
        buffered = buffered.subarray(lf + 1);
        return line;
      }
      if (buffered.byteLength > MAX_HEAD_BYTES) throw new ProtocolError("line too long");
      searchFrom = buffered.byteLength;
      if (!(await fill())) throw new ProtocolError("connection closed before end of line");
    }
  }

  async function read(max: number): Promise<Uint8Array | null> {
    if (buffered.byteLength === 0 && !(await fill())) return null;
    const out = buffered.subarray(0, Math.min(max, buffered.byteLength));
    buffered = buffered.subarray(out.byteLength);
    return out;
  }

  return { readLine, read, pending: () => buffered.byteLength };
}

interface Head {
  readonly minorVersion: number;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
}

async function readHead(reader: BufferedReader): Promise<Head> {
  const statusLine = await reader.readLine();
  const match = STATUS_LINE.exec(statusLine);
  if (!match) throw new ProtocolError(`bad status line: ${statusLine.slice(0, 80)}`);
  const headers = new Headers();
  let headBytes = statusLine.length;
  for (let count = 0;; count++) {
    const line = await reader.readLine();
    if (line === "") break;
    headBytes += line.length;
    if (count >= MAX_HEADER_COUNT || headBytes > MAX_HEAD_BYTES) {
      throw new ProtocolError("response head too large");
    }
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) throw new ProtocolError("bad header line");
    try {
      headers.append(name, line.slice(colon + 1).trim());
    } catch {
      throw new ProtocolError(`bad value for header ${name}`);
    }
  }
  return {
    minorVersion: Number(match[1]),
    status: Number(match[2]),
    statusText: match[3] ?? "",
    headers,
  };
}

interface BodyResult {
  body: Uint8Array;
  bodyTruncated: boolean;
  delimited: boolean;
}

interface BodySink {
  /** Keeps what fits; returns false once the limit is exceeded. */
  add(bytes: Uint8Array): boolean;
  /** `delimited`: the body's end was known (length or last chunk) and reached. */
  result(cutShort: boolean, delimited?: boolean): BodyResult;
}

function bodySink(maxBytes: number): BodySink {
  const parts: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  return {
    add(bytes) {
      const room = maxBytes - size;
      if (bytes.byteLength > room) overflow = true;
      const kept = bytes.subarray(0, Math.max(0, room));
      if (kept.byteLength > 0) parts.push(kept.slice());
      size += kept.byteLength;
      return !overflow;
    },
    result(cutShort, delimited = false) {
      const bodyTruncated = overflow || cutShort;
      return { body: concatBytes(...parts), bodyTruncated, delimited: delimited && !bodyTruncated };
    },
  };
}

function contentLength(headers: Headers): number | null {
  const value = headers.get("content-length");
  if (value === null) return null;
  const values = new Set(value.split(",").map((part) => part.trim()));
  const [only] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(only)) throw new ProtocolError("bad Content-Length");
  return Number(only);
}

type CopyOutcome = "done" | "eof" | "full";

async function copyBody(
  reader: BufferedReader,
  length: number,
  sink: BodySink,
): Promise<CopyOutcome> {
  for (let left = length; left > 0;) {
    const chunk = await reader.read(Math.min(left, READ_SIZE));
    if (chunk === null) return "eof";
    left -= chunk.byteLength;
    if (!sink.add(chunk)) return "full";
  }
  return "done";
}

async function readFixed(reader: BufferedReader, length: number, sink: BodySink) {
  const outcome = await copyBody(reader, length, sink);
  return sink.result(outcome === "eof", outcome === "done");
}

async function readToEnd(reader: BufferedReader, sink: BodySink) {
  for (;;) {
    const chunk = await reader.read(READ_SIZE);
    if (chunk === null || !sink.add(chunk)) return sink.result(false);
  }
}

async function readChunked(reader: BufferedReader, sink: BodySink) {
  for (;;) {
    const sizeText = (await reader.readLine()).split(";")[0].trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new ProtocolError("bad chunk size");
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      // Trailer fields (ignored) up to the blank line that ends the message.
      for (let count = 0; (await reader.readLine()) !== ""; count++) {
        if (count >= MAX_HEADER_COUNT) throw new ProtocolError("too many trailer fields");
      }
      return sink.result(false, true);
    }
    const outcome = await copyBody(reader, size, sink);
    if (outcome !== "done") return sink.result(outcome === "eof");
    if ((await reader.readLine()) !== "") throw new ProtocolError("bad chunk terminator");
  }
}

function readBody(
  reader: BufferedReader,
  headers: Headers,
  maxBytes: number,
): Promise<BodyResult> {
  const sink = bodySink(maxBytes);
  const codings = headers.get("transfer-encoding");
  if (codings !== null) {
    const last = codings.split(",").at(-1)!.trim().toLowerCase();
    return last === "chunked" ? readChunked(reader, sink) : readToEnd(reader, sink);
  }
  const length = contentLength(headers);
  return length === null ? readToEnd(reader, sink) : readFixed(reader, length, sink);
}

/** Reads one final response (skipping 1xx interim ones) for a request made with `method`. */
export async function readResponse(
  stream: ByteStream,
  method: string,
  maxBodyBytes: number,
): Promise<Http1Response> {
  const reader = bufferedReader(stream);
  for (;;) {
    const head = await readHead(reader);
    if (head.status === 101) throw new ProtocolError("unexpected protocol switch");
    if (head.status < 200) continue;
    const bodyless = method === "HEAD" || head.status === 204 || head.status === 304;
    const { body, bodyTruncated, delimited } = bodyless
      ? { body: new Uint8Array(), bodyTruncated: false, delimited: true }
      : await readBody(reader, head.headers, maxBodyBytes);
    const { minorVersion, ...rest } = head;
    const closing = (head.headers.get("connection") ?? "").toLowerCase().split(",")
      .some((option) => option.trim() === "close");
    const reusable = minorVersion === 1 && !closing && delimited && reader.pending() === 0;
    return { ...rest, body, bodyTruncated, reusable };
  }
}

/** Sends `request` and reads its response. Throws {@linkcode ProtocolError} or I/O errors. */
export async function exchange(
  stream: ByteStream,
  request: Http1Request,
  maxBodyBytes: number,
): Promise<Http1Response> {
  await writeAll(stream, serializeRequest(request));
  return readResponse(stream, request.method, maxBodyBytes);
}
