/**
 * Host name resolution for the SSRF guard.
 *
 * @module
 */

/** Resolves a host name to IP literals. Injectable so tests never touch real DNS. */
export type Resolver = (hostname: string, signal?: AbortSignal) => Promise<string[]>;

/** Loopback addresses that `localhost` and `*.localhost` always mean (RFC 6761). */
export const LOCALHOST_ADDRESSES: readonly string[] = ["127.0.0.1", "::1"];

/** True for `localhost` and its subdomains (lower-case, no trailing dot). */
export function isLocalhostName(hostname: string): boolean {
  return hostname === "localhost" || hostname.endsWith(".localhost");
}

/**
 * A and AAAA records of `hostname` from DNS, IPv4 first. Rejects when neither
 * query succeeds. (`Deno.resolveDns` does not read `/etc/hosts`; the guard
 * answers localhost names itself.)
 */
export async function resolveHost(hostname: string, signal?: AbortSignal): Promise<string[]> {
  const [a, aaaa] = await Promise.allSettled([
    Deno.resolveDns(hostname, "A", { signal }),
    Deno.resolveDns(hostname, "AAAA", { signal }),
  ]);
  if (a.status === "rejected" && aaaa.status === "rejected") throw a.reason;
  return [
    ...(a.status === "fulfilled" ? a.value : []),
    ...(aaaa.status === "fulfilled" ? aaaa.value : []),
  ];
}
