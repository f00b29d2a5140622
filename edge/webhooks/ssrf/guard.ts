/**
 * The SSRF guard: decides, after DNS resolution, whether an outbound URL may
 * be connected to, and which vetted addresses to connect to.
 *
 * Every resolved address must be public (or allow-listed); one bad record
 * refuses the whole host, so a name that mixes public and internal records
 * cannot be used to reach the internal one.
 *
 * @module
 */

import { type AddressClass, classifyIp } from "./classify.ts";
import {
  type Cidr,
  cidrContains,
  formatIp,
  type IpAddress,
  parseCidr,
  parseIp,
  unmapIpv4,
} from "../../net/ip.ts";
import { isLocalhostName, LOCALHOST_ADDRESSES, resolveHost, type Resolver } from "./resolve.ts";

/** Options of {@linkcode checkDestination}. */
export interface GuardOptions {
  /**
   * Exceptions for tests and on-prem: exact host names (`localhost`,
   * `hooks.internal`), IP addresses (`127.0.0.1`) or CIDRs (`10.20.0.0/16`).
   * A listed host name may resolve to anything; other hosts may resolve to
   * public addresses or to listed networks.
   */
  readonly allow?: readonly string[];
  /** DNS resolution; defaults to {@linkcode resolveHost}. */
  readonly resolve?: Resolver;
  readonly signal?: AbortSignal;
}

/** Why a destination was refused. */
export type GuardFailureCode =
  | "invalid_url"
  | "unsupported_scheme"
  | "dns_failed"
  | "blocked_address";

/** A destination that passed the guard. */
export interface Destination {
  readonly url: URL;
  /** Host name or IP literal, without IPv6 brackets; used for TLS verification. */
  readonly hostname: string;
  readonly port: number;
  /** Vetted addresses to connect to, in order; never re-resolve. */
  readonly addresses: readonly string[];
}

/** A refused destination. */
export interface GuardFailure {
  readonly ok: false;
  readonly code: GuardFailureCode;
  readonly message: string;
  /** The offending address, for `blocked_address`. */
  readonly address?: string;
  readonly addressClass?: AddressClass;
}

/** Result of {@linkcode checkDestination}. */
export type GuardResult = { readonly ok: true; readonly destination: Destination } | GuardFailure;

/** A compiled allow-list. */
export interface AllowList {
  readonly hosts: ReadonlySet<string>;
  readonly networks: readonly Cidr[];
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { "http:": 80, "https:": 443 };

function normalizeHost(host: string): string {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, "");
}

/** Compiles allow-list entries: CIDRs and IPs become networks, anything else a host name. */
export function parseAllowList(entries: readonly string[] = []): AllowList {
  const hosts = new Set<string>();
  const networks: Cidr[] = [];
  for (const entry of entries) {
    const cidr = parseCidr(entry.trim());
    if (cidr) networks.push(cidr);
    else hosts.add(normalizeHost(entry.trim()));
  }
  return { hosts, networks };
}

/** True when `ip` may be connected to: public, or inside an allow-listed network. */
export function isAddressAllowed(ip: IpAddress, allow: AllowList): boolean {
  const unmapped = unmapIpv4(ip);
  if (classifyIp(unmapped) === "public") return true;
  return allow.networks.some((network) => cidrContains(network, unmapped));
}

function refuse(code: GuardFailureCode, message: string): GuardFailure {
  return { ok: false, code, message };
}

function parseUrl(url: string | URL): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

async function lookUp(
  hostname: string,
  options: GuardOptions,
): Promise<string[] | GuardFailure> {
  if (parseIp(hostname)) return [hostname];
  if (isLocalhostName(hostname)) return [...LOCALHOST_ADDRESSES];
  try {
    const found = await (options.resolve ?? resolveHost)(hostname, options.signal);
    return found.length > 0 ? found : refuse("dns_failed", `${hostname} has no A or AAAA record`);
  } catch (error) {
    return refuse("dns_failed", `cannot resolve ${hostname}: ${error}`);
  }
}

/** Parses, resolves and vets `url`. Never throws. */
export async function checkDestination(
  url: string | URL,
  options: GuardOptions = {},
): Promise<GuardResult> {
  const parsed = parseUrl(url);
  if (parsed === null) return refuse("invalid_url", "not a valid URL");
  const defaultPort = DEFAULT_PORTS[parsed.protocol];
  if (defaultPort === undefined) {
    return refuse("unsupported_scheme", `${parsed.protocol} is not http: or https:`);
  }
  if (parsed.username || parsed.password) {
    return refuse("invalid_url", "credentials in the URL are not allowed");
  }
  const hostname = normalizeHost(parsed.hostname);
  if (hostname === "") return refuse("invalid_url", "no host");

  const found = await lookUp(hostname, options);
  if (!Array.isArray(found)) return found;

  const allow = parseAllowList(options.allow);
  const hostAllowed = allow.hosts.has(hostname);
  const addresses: string[] = [];
  for (const text of found) {
    const ip = parseIp(text);
    if (ip === null) return refuse("dns_failed", `resolver returned a non-IP: ${text}`);
    if (!hostAllowed && !isAddressAllowed(ip, allow)) {
      const addressClass = classifyIp(unmapIpv4(ip));
      return {
        ok: false,
        code: "blocked_address",
        message: `${hostname} resolves to ${text} (${addressClass})`,
        address: text,
        addressClass,
      };
    }
    addresses.push(formatIp(unmapIpv4(ip)));
  }
  const port = parsed.port === "" ? defaultPort : Number(parsed.port);
  return { ok: true, destination: { url: parsed, hostname, port, addresses } };
}
