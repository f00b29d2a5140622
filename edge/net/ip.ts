/**
 * IP address and CIDR parsing, as bytes: the SSRF guard and trusted-proxy matching.
 *
 * Only canonical literal forms are accepted: dotted-quad IPv4 without leading
 * zeros, and IPv6 (with `::` and an optional dotted IPv4 tail, brackets
 * allowed, zone ids refused). Legacy spellings such as `0x7f.1` or
 * `2130706433` are not IPs here; the WHATWG URL parser already normalizes
 * them to dotted quads in URLs.
 *
 * @module
 */

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export interface IpAddress {
  readonly version: 4 | 6;
  readonly bytes: Uint8Array;
}

/** A network: `prefix` leading bits of `bytes`. */
export interface Cidr extends IpAddress {
  readonly prefix: number;
}

const IPV4_PART = /^(0|[1-9]\d{0,2})$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i;

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    if (!IPV4_PART.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[index] = value;
  }
  return bytes;
}

function parseIpv6Groups(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (IPV6_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = parseIpv6Groups(halves[0]);
  const tail = halves.length === 2 ? parseIpv6Groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 2 && halves[0].includes(".")) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  for (const [index, group] of groups.entries()) {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  }
  return bytes;
}

/** Parses an IP literal (`[…]` brackets allowed around IPv6); `null` when it is not one. */
export function parseIp(text: string): IpAddress | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (bare.includes(":")) {
    const bytes = parseIpv6(bare);
    return bytes && { version: 6, bytes };
  }
  const bytes = parseIpv4(bare);
  return bytes && { version: 4, bytes };
}

/** Parses `address/prefix`, or a single address as a full-length prefix; `null` when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === null) return null;
  const bits = ip.bytes.byteLength * 8;
  if (slash < 0) return { ...ip, prefix: bits };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= bits ? { ...ip, prefix } : null;
}

/** True when `ip` lies inside `cidr` (same IP version only). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.version !== ip.version) return false;
  const fullBytes = cidr.prefix >> 3;
  for (let i = 0; i < fullBytes; i++) {
    if (cidr.bytes[i] !== ip.bytes[i]) return false;
  }
  const restBits = cidr.prefix & 7;
  if (restBits === 0) return true;
  const mask = (0xff << (8 - restBits)) & 0xff;
  return (cidr.bytes[fullBytes] & mask) === (ip.bytes[fullBytes] & mask);
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else `ip` itself. */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.version !== 6) return ip;
  for (let i = 0; i < 10; i++) if (ip.bytes[i] !== 0) return ip;
  if (ip.bytes[10] !== 0xff || ip.bytes[11] !== 0xff) return ip;
  return { version: 4, bytes: ip.bytes.slice(12) };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return ip.bytes.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => (ip.bytes[i * 2] << 8) | ip.bytes[i * 2 + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end + 1;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}
