/**
 * `safeFetch`: one outbound HTTP request that can only reach addresses the
 * SSRF guard vetted.
 *
 * The host is resolved once; the TCP connection goes to that vetted address
 * (no second lookup, so DNS rebinding between check and connect is
 * impossible). For `https:` TLS is started on that connection with the URL's
 * host name for SNI and certificate verification. Redirects are never
 * followed (a 3xx is returned as is), a deadline covers DNS, connect, TLS and
 * the exchange, and at most `maxBodyBytes` of the response body are kept.
 *
 * By default each request has its own connection (`Connection: close`). With
 * a `pool` (opt-in, push services) a connection whose exchange completed
 * cleanly is kept alive and reused by a later request whose guard check
 * vetted the same address for the same host name and port; any failure, a
 * `Connection: close` or an undelimited body closes it instead.
 *
 * @module
 */

import { utf8 } from "../encoding.ts";
import type { AddressClass } from "./classify.ts";
import {
  checkDestination,
  type Destination,
  type GuardFailureCode,
  type GuardOptions,
} from "./guard.ts";
import { exchange, type Http1Request, ProtocolError } from "./http1.ts";
import { type ConnectionPool, keepAliveTimeoutMs, type PoolKey } from "./pool.ts";

/** Default deadline for the whole request. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default size of the kept response body. */
export const DEFAULT_MAX_BODY_BYTES = 4096;

/** The request. */
export interface SafeFetchInit {
  readonly method?: string;
  readonly headers?: HeadersInit;
  readonly body?: string | Uint8Array | null;
  readonly signal?: AbortSignal;
}

/** Guard and transport settings. */
export interface SafeFetchOptions extends Omit<GuardOptions, "signal"> {
  readonly timeoutMs?: number;
  readonly maxBodyBytes?: number;
  /** Extra PEM root certificates (tests, on-prem CAs). */
  readonly caCerts?: readonly string[];
  /** Keep-alive connections to reuse (see the module doc); none: one connection per request. */
  readonly pool?: ConnectionPool;
}

/** Why no response was obtained. */
export type SafeFetchFailureCode =
  | GuardFailureCode
  | "invalid_request"
  | "connect_failed"
  | "tls_failed"
  | "network_error"
  | "protocol_error"
  | "timeout"
  | "aborted";

/**
 * An HTTP response was received. `ok` means the exchange completed, NOT that
 * the status is 2xx: check `status`.
 */
export interface SafeFetchResponse {
  readonly ok: true;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The first `maxBodyBytes` of the body, decoded as UTF-8. */
  readonly body: string;
  readonly bodyTruncated: boolean;
  /** The vetted address that was connected to. */
  readonly address: string;
  readonly durationMs: number;
}

/** No HTTP response: refused by the guard, or the transport failed. */
export interface SafeFetchFailure {
  readonly ok: false;
  readonly code: SafeFetchFailureCode;
  readonly message: string;
  readonly address?: string;
  readonly addressClass?: AddressClass;
  readonly durationMs: number;
}

/** Result of {@linkcode safeFetch}. */
export type SafeFetchResult = SafeFetchResponse | SafeFetchFailure;

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers owned by the transport, dropped from the caller's. */
const TRANSPORT_HEADERS = [
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
  "expect",
];
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

interface Deadline {
  readonly signal: AbortSignal;
  /** `timeout` or `aborted` once the deadline or the caller's signal fired. */
  readonly fired: () => "timeout" | "aborted" | null;
  readonly dispose: () => void;
}

function startDeadline(timeoutMs: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let fired: "timeout" | "aborted" | null = null;
  const fire = (reason: "timeout" | "aborted") => {
    fired ??= reason;
    controller.abort(reason);
  };
  const timer = setTimeout(() => fire("timeout"), timeoutMs);
  const onParentAbort = () => fire("aborted");
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: controller.signal,
    fired: () => fired,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

function closeQuietly(conn: Deno.Conn | null): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}

function buildRequest(
  destination: Destination,
  init: SafeFetchInit,
  keepAlive: boolean,
): Http1Request | string {
  const method = (init.method ?? "GET").toUpperCase();
  if (!METHOD.test(method) || method === "CONNECT") return `invalid method ${method}`;
  let headers: Headers;
  try {
    headers = new Headers(init.headers);
  } catch (error) {
    return `invalid headers: ${error}`;
  }
  for (const name of TRANSPORT_HEADERS) headers.delete(name);
  const body = typeof init.body === "string" ? utf8(init.body) : init.body ?? null;
  if (body !== null || BODY_METHODS.has(method)) {
    headers.set("content-length", String(body?.byteLength ?? 0));
  }
  if (!keepAlive) headers.set("connection", "close");
  if (!headers.has("accept-encoding")) headers.set("accept-encoding", "identity");
  const { url } = destination;
  return { method, target: url.pathname + url.search, host: url.host, headers, body };
}

type Connected = { readonly conn: Deno.Conn; readonly address: string };
type ConnectFailure = { readonly code: "connect_failed" | "tls_failed"; readonly message: string };

/** Connects to the first reachable vetted address; starts TLS for `https:`. */
async function connectVetted(
  destination: Destination,
  signal: AbortSignal,
  caCerts: readonly string[] | undefined,
  track: (conn: Deno.Conn | null) => void,
): Promise<Connected | ConnectFailure> {
  let lastError: unknown = "no address";
  for (const address of destination.addresses) {
    if (signal.aborted) break;
    let tcp: Deno.TcpConn;
    try {
      tcp = await Deno.connect({ hostname: address, port: destination.port, signal });
    } catch (error) {
      lastError = error;
      continue;
    }
    if (destination.url.protocol === "http:") {
      track(tcp);
      return { conn: tcp, address };
    }
    let tls: Deno.TlsConn | null = null;
    try {
      tls = await Deno.startTls(tcp, {
        hostname: destination.hostname,
        caCerts: caCerts ? [...caCerts] : undefined,
        alpnProtocols: ["http/1.1"],
      });
      track(tls);
      await tls.handshake();
      return { conn: tls, address };
    } catch (error) {
      track(null);
      closeQuietly(tls);
      closeQuietly(tcp);
      return { code: "tls_failed", message: `TLS with ${destination.hostname}: ${error}` };
    }
  }
  return { code: "connect_failed", message: `cannot connect: ${lastError}` };
}

/**
 * Makes one request to `url` through the SSRF guard. Never throws: every
 * outcome is a {@linkcode SafeFetchResult}.
 */
export async function safeFetch(
  url: string | URL,
  init: SafeFetchInit = {},
  options: SafeFetchOptions = {},
): Promise<SafeFetchResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const deadline = startDeadline(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, init.signal);
  let conn: Deno.Conn | null = null;
  /** Set once the exchange completed cleanly on a pooled request: the connection is kept. */
  let reuse: PoolKey | null = null;
  let keepAliveMs: number | null = null;
  const closeOnAbort = () => closeQuietly(conn);
  deadline.signal.addEventListener("abort", closeOnAbort, { once: true });

  const failure = (
    code: SafeFetchFailureCode,
    message: string,
    extra: Partial<SafeFetchFailure> = {},
  ): SafeFetchFailure => {
    const fired = deadline.fired();
    const finalCode = fired ?? code;
    const finalMessage = fired ? `${fired} after ${elapsed()} ms (${message})` : message;
    return { ...extra, ok: false, code: finalCode, message: finalMessage, durationMs: elapsed() };
  };

  try {
    const checked = await checkDestination(url, { ...options, signal: deadline.signal });
    if (!checked.ok) {
      const { code, message, address, addressClass } = checked;
      return failure(code, message, { address, addressClass });
    }
    const { destination } = checked;
    const { pool } = options;
    const request = buildRequest(destination, init, pool !== undefined);
    if (typeof request === "string") return failure("invalid_request", request);

    const origin = {
      protocol: destination.url.protocol,
      hostname: destination.hostname,
      port: destination.port,
    };
    const kept = pool?.take(origin, destination.addresses) ?? null;
    if (kept) conn = kept.conn;
    const connected = kept ?? await connectVetted(
      destination,
      deadline.signal,
      options.caCerts,
      (current) => conn = current,
    );
    if ("code" in connected) return failure(connected.code, connected.message);

    try {
      const response = await exchange(
        kept?.stream ?? connected.conn,
        request,
        options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      );
      if (pool && response.reusable && !deadline.signal.aborted) {
        reuse = { ...origin, address: connected.address };
        keepAliveMs = keepAliveTimeoutMs(response.headers.get("keep-alive"));
      }
      return {
        ok: true,
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        body: new TextDecoder().decode(response.body),
        bodyTruncated: response.bodyTruncated,
        address: connected.address,
        durationMs: elapsed(),
      };
    } catch (error) {
      const code = error instanceof ProtocolError ? "protocol_error" : "network_error";
      return failure(code, String(error), { address: connected.address });
    }
  } finally {
    deadline.signal.removeEventListener("abort", closeOnAbort);
    deadline.dispose();
    if (reuse && conn && options.pool) options.pool.give(reuse, conn, keepAliveMs);
    else closeQuietly(conn);
  }
}
