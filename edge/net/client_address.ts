/**
 * The client's address for rate limits and security logs: the connection's remote address,
 * unless that is a trusted proxy (`TRUSTED_PROXIES`: IPs and CIDRs) — then the nearest address
 * in `X-Forwarded-For` that is not itself a trusted proxy. Addresses a client wrote into the
 * header are never believed: only what trusted proxies appended counts, read from the right.
 *
 * @module
 */
import { cidrContains, type IpAddress, parseCidr, parseIp } from "./ip.ts";

/** Compiled `TRUSTED_PROXIES`. */
export type TrustedProxies = readonly NonNullable<ReturnType<typeof parseCidr>>[];

/** Parses `TRUSTED_PROXIES` entries; throws on one that is neither an IP nor a CIDR. */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies {
  return entries.map((entry) => {
    const cidr = parseCidr(entry.trim());
    if (!cidr) throw new Error(`TRUSTED_PROXIES: '${entry}' is not an IP address or CIDR`);
    return cidr;
  });
}

function isTrusted(ip: IpAddress, trusted: TrustedProxies): boolean {
  return trusted.some((network) => cidrContains(network, ip));
}

/**
 * `remote` is the connection's peer; `forwardedFor` the `X-Forwarded-For` header (a list,
 * client first, each proxy appending the address it received the request from).
 */
export function clientAddress(
  remote: string | undefined,
  forwardedFor: string | undefined,
  trusted: TrustedProxies,
): string | undefined {
  const peer = remote === undefined ? null : parseIp(remote);
  if (!peer || !forwardedFor || trusted.length === 0 || !isTrusted(peer, trusted)) {
    return remote;
  }
  let nearest = remote;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const text = hops[i].trim();
    const ip = parseIp(text);
    if (!ip) return nearest; // garbage: the hop that appended it is as far as we can trust
    nearest = text.startsWith("[") ? text.slice(1, -1) : text;
    if (!isTrusted(ip, trusted)) return nearest;
  }
  return nearest; // every hop a trusted proxy: the farthest one
}
