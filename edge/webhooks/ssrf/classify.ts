/**
 * Classifies IP addresses for the SSRF guard: only `public` addresses may be
 * reached by outbound deliveries (unless allow-listed).
 *
 * @module
 */

import { cidrContains, type IpAddress, parseCidr, parseIp } from "../../net/ip.ts";

/** Where an address points. Everything but `public` is refused by default. */
export type AddressClass =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "link_local"
  | "metadata"
  | "cgnat"
  | "multicast"
  | "broadcast"
  | "reserved";

type Rule = readonly [cidr: string, addressClass: AddressClass | "embedded_ipv4"];

/** First match wins. `embedded_ipv4` classifies the IPv4 address carried inside. */
const RULES: readonly Rule[] = [
  ["169.254.169.254/32", "metadata"], // AWS, GCP, Azure, OpenStack instance metadata
  ["255.255.255.255/32", "broadcast"],
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "cgnat"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link_local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"], // IETF protocol assignments
  ["192.0.2.0/24", "reserved"], // TEST-NET-1
  ["192.88.99.0/24", "reserved"], // 6to4 relay anycast
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "reserved"], // benchmarking
  ["198.51.100.0/24", "reserved"], // TEST-NET-2
  ["203.0.113.0/24", "reserved"], // TEST-NET-3
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["fd00:ec2::254/128", "metadata"], // AWS instance metadata over IPv6
  ["::ffff:0:0/96", "embedded_ipv4"], // IPv4-mapped
  ["64:ff9b::/96", "embedded_ipv4"], // NAT64
  ["2002::/16", "embedded_ipv4"], // 6to4
  ["::/96", "reserved"], // IPv4-compatible (deprecated)
  ["64:ff9b:1::/48", "reserved"], // local-use NAT64
  ["100::/64", "reserved"], // discard-only
  ["2001::/23", "reserved"], // IETF protocol assignments, Teredo
  ["2001:db8::/32", "reserved"], // documentation
  ["3fff::/20", "reserved"], // documentation
  ["fc00::/7", "private"], // unique local
  ["fe80::/10", "link_local"],
  ["fec0::/10", "private"], // site-local (deprecated)
  ["ff00::/8", "multicast"],
];

const COMPILED = RULES.map(([cidr, addressClass]) => ({ cidr: parseCidr(cidr)!, addressClass }));
const GLOBAL_UNICAST_V6 = parseCidr("2000::/3")!;

function embeddedIpv4(ip: IpAddress): IpAddress {
  // 6to4 (2002::/16) carries it in bytes 2..5; mapped and NAT64 in the last four.
  const start = ip.bytes[0] === 0x20 && ip.bytes[1] === 0x02 ? 2 : 12;
  return { version: 4, bytes: ip.bytes.slice(start, start + 4) };
}

/** The class of a parsed address. */
export function classifyIp(ip: IpAddress): AddressClass {
  for (const { cidr, addressClass } of COMPILED) {
    if (!cidrContains(cidr, ip)) continue;
    return addressClass === "embedded_ipv4" ? classifyIp(embeddedIpv4(ip)) : addressClass;
  }
  if (ip.version === 6 && !cidrContains(GLOBAL_UNICAST_V6, ip)) return "reserved";
  return "public";
}

/** The class of an IP literal, or `null` when `text` is not one. */
export function classifyAddress(text: string): AddressClass | null {
  const ip = parseIp(text);
  return ip && classifyIp(ip);
}

/** True only for a literal IP that is publicly routable. */
export function isPublicAddress(text: string): boolean {
  return classifyAddress(text) === "public";
}
