import assert from "node:assert/strict";
import { checkDestination, type GuardFailureCode, parseAllowList } from "./guard.ts";
import { isLocalhostName, type Resolver } from "./resolve.ts";

/** A fake DNS: tests never query real resolvers. */
function fakeDns(records: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = (hostname: string) => {
    calls.push(hostname);
    const found = records[hostname];
    return found ? Promise.resolve(found) : Promise.reject(new Error("NXDOMAIN"));
  };
  return Object.assign(resolve, { calls });
}

const DNS = fakeDns({
  "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
  "internal.example": ["10.0.0.7"],
  "mixed.example": ["93.184.216.34", "127.0.0.1"],
  "metadata.example": ["169.254.169.254"],
  "mapped.example": ["::ffff:127.0.0.1"],
  "mapped-public.example": ["::ffff:93.184.216.34"],
  "ula.example": ["fd00::1"],
  "empty.example": [],
  "garbage.example": ["not-an-ip"],
  "hooks.internal": ["10.1.2.3"],
});

Deno.test("checkDestination refuses", async (t) => {
  const cases: {
    url: string;
    allow?: string[];
    code: GuardFailureCode;
    address?: string;
    addressClass?: string;
  }[] = [
    { url: "not a url", code: "invalid_url" },
    { url: "ftp://public.example/", code: "unsupported_scheme" },
    { url: "file:///etc/passwd", code: "unsupported_scheme" },
    { url: "gopher://public.example/", code: "unsupported_scheme" },
    { url: "https://user:pw@public.example/", code: "invalid_url" },
    { url: "http://127.0.0.1/", code: "blocked_address", addressClass: "loopback" },
    { url: "http://127.1/", code: "blocked_address", address: "127.0.0.1" },
    { url: "http://2130706433/", code: "blocked_address", address: "127.0.0.1" },
    { url: "http://0x7f.0.0.1/", code: "blocked_address", address: "127.0.0.1" },
    { url: "http://0.0.0.0:8080/", code: "blocked_address", addressClass: "unspecified" },
    { url: "http://10.0.0.1/", code: "blocked_address", addressClass: "private" },
    { url: "http://172.16.5.4/", code: "blocked_address", addressClass: "private" },
    { url: "http://192.168.1.1/", code: "blocked_address", addressClass: "private" },
    { url: "http://100.64.0.1/", code: "blocked_address", addressClass: "cgnat" },
    {
      url: "http://169.254.169.254/latest/meta-data/",
      code: "blocked_address",
      addressClass: "metadata",
    },
    { url: "http://169.254.1.1/", code: "blocked_address", addressClass: "link_local" },
    { url: "http://224.0.0.1/", code: "blocked_address", addressClass: "multicast" },
    { url: "http://255.255.255.255/", code: "blocked_address", addressClass: "broadcast" },
    { url: "http://[::1]/", code: "blocked_address", addressClass: "loopback" },
    { url: "http://[::]/", code: "blocked_address", addressClass: "unspecified" },
    { url: "http://[fc00::1]/", code: "blocked_address", addressClass: "private" },
    { url: "http://[fe80::1]/", code: "blocked_address", addressClass: "link_local" },
    { url: "http://[::ffff:127.0.0.1]/", code: "blocked_address", addressClass: "loopback" },
    { url: "http://[::ffff:a9fe:a9fe]/", code: "blocked_address", addressClass: "metadata" },
    { url: "http://localhost:3000/", code: "blocked_address", addressClass: "loopback" },
    { url: "http://api.localhost/", code: "blocked_address", addressClass: "loopback" },
    { url: "https://internal.example/", code: "blocked_address", address: "10.0.0.7" },
    { url: "https://INTERNAL.example./", code: "blocked_address", address: "10.0.0.7" },
    { url: "https://mixed.example/", code: "blocked_address", address: "127.0.0.1" },
    { url: "https://metadata.example/", code: "blocked_address", addressClass: "metadata" },
    { url: "https://mapped.example/", code: "blocked_address", addressClass: "loopback" },
    { url: "https://ula.example/", code: "blocked_address", addressClass: "private" },
    { url: "https://nxdomain.example/", code: "dns_failed" },
    { url: "https://empty.example/", code: "dns_failed" },
    { url: "https://garbage.example/", code: "dns_failed" },
    // An allow-listed network does not open other private ranges.
    {
      url: "https://mixed.example/",
      allow: ["10.0.0.0/8"],
      code: "blocked_address",
      address: "127.0.0.1",
    },
    { url: "http://127.0.0.2/", allow: ["127.0.0.1"], code: "blocked_address" },
    { url: "http://localhost/", allow: ["other.localhost"], code: "blocked_address" },
  ];
  for (const c of cases) {
    await t.step(`${c.url}${c.allow ? ` allow ${c.allow}` : ""}`, async () => {
      const result = await checkDestination(c.url, { allow: c.allow, resolve: DNS });
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, c.code, result.message);
      if (c.address) assert.equal(result.address, c.address);
      if (c.addressClass) assert.equal(result.addressClass, c.addressClass);
    });
  }
});

Deno.test("checkDestination allows", async (t) => {
  const cases: {
    url: string;
    allow?: string[];
    hostname: string;
    port: number;
    addresses: string[];
  }[] = [
    {
      url: "https://public.example/hooks",
      hostname: "public.example",
      port: 443,
      addresses: ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    },
    {
      url: "http://93.184.216.34:8080/",
      hostname: "93.184.216.34",
      port: 8080,
      addresses: ["93.184.216.34"],
    },
    {
      url: "https://[2606:4700:4700::1111]/",
      hostname: "2606:4700:4700::1111",
      port: 443,
      addresses: ["2606:4700:4700::1111"],
    },
    {
      url: "https://mapped-public.example/",
      hostname: "mapped-public.example",
      port: 443,
      addresses: ["93.184.216.34"],
    },
    {
      url: "http://127.0.0.1:9000/",
      allow: ["127.0.0.1"],
      hostname: "127.0.0.1",
      port: 9000,
      addresses: ["127.0.0.1"],
    },
    {
      url: "http://127.0.0.5/",
      allow: ["127.0.0.0/8"],
      hostname: "127.0.0.5",
      port: 80,
      addresses: ["127.0.0.5"],
    },
    {
      url: "http://[::ffff:127.0.0.1]/",
      allow: ["127.0.0.0/8"],
      hostname: "::ffff:7f00:1",
      port: 80,
      addresses: ["127.0.0.1"],
    },
    {
      url: "http://localhost:3000/",
      allow: ["localhost"],
      hostname: "localhost",
      port: 3000,
      addresses: ["127.0.0.1", "::1"],
    },
    {
      url: "https://hooks.internal/",
      allow: [" Hooks.Internal. "],
      hostname: "hooks.internal",
      port: 443,
      addresses: ["10.1.2.3"],
    },
    {
      url: "https://mixed.example/",
      allow: ["127.0.0.1/32"],
      hostname: "mixed.example",
      port: 443,
      addresses: ["93.184.216.34", "127.0.0.1"],
    },
  ];
  for (const c of cases) {
    await t.step(`${c.url}${c.allow ? ` allow ${c.allow}` : ""}`, async () => {
      const result = await checkDestination(c.url, { allow: c.allow, resolve: DNS });
      assert.equal(result.ok, true, JSON.stringify(result));
      if (!result.ok) return;
      assert.equal(result.destination.hostname, c.hostname);
      assert.equal(result.destination.port, c.port);
      assert.deepEqual(result.destination.addresses, c.addresses);
    });
  }
});

Deno.test("checkDestination resolves a name once and skips DNS for IP literals", async () => {
  const dns = fakeDns({ "public.example": ["93.184.216.34"] });
  await checkDestination("https://public.example/", { resolve: dns });
  await checkDestination("https://93.184.216.34/", { resolve: dns });
  await checkDestination("https://[2606:4700:4700::1111]/", { resolve: dns });
  assert.deepEqual(dns.calls, ["public.example"]);
});

Deno.test("parseAllowList", () => {
  const allow = parseAllowList(["127.0.0.1", "10.0.0.0/8", "::1", "Localhost", "hooks.test."]);
  assert.deepEqual([...allow.hosts], ["localhost", "hooks.test"]);
  assert.equal(allow.networks.length, 3);
});

Deno.test("isLocalhostName", () => {
  assert.equal(isLocalhostName("localhost"), true);
  assert.equal(isLocalhostName("app.localhost"), true);
  assert.equal(isLocalhostName("localhost.example"), false);
  assert.equal(isLocalhostName("notlocalhost"), false);
});
