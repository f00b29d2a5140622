/**
 * A minimal HTTP/1.1 client exchange over an already-connected stream: one
 * request, one response, `Connection: close`. It exists so the SSRF guard can
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
}

/** The peer did not speak HTTP/1.x as expected. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const READ_SIZE = 16 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_HEADER_COUNT = 100;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/;
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

  return { readLine, read };
}

interface Head {
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
  return { status: Number(match[1]), statusText: match[2] ?? "", headers };
}

interface BodySink {
  /** Keeps what fits; returns false once the limit is exceeded. */
  add(bytes: Uint8Array): boolean;
  result(cutShort: boolean): { body: Uint8Array; bodyTruncated: boolean };
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
    result(cutShort) {
      return { body: concatBytes(...parts), bodyTruncated: overflow || cutShort };
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
  return sink.result(await copyBody(reader, length, sink) === "eof");
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
    if (size === 0) return sink.result(false);
    const outcome = await copyBody(reader, size, sink);
    if (outcome !== "done") return sink.result(outcome === "eof");
    if ((await reader.readLine()) !== "") throw new ProtocolError("bad chunk terminator");
  }
}

function readBody(
  reader: BufferedReader,
  headers: Headers,
  maxBytes: number,
): Promise<{ body: Uint8Array; bodyTruncated: boolean }> {
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
    const { body, bodyTruncated } = bodyless
      ? { body: new Uint8Array(), bodyTruncated: false }
      : await readBody(reader, head.headers, maxBodyBytes);
    return { ...head, body, bodyTruncated };
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
