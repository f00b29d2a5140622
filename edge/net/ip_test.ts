import assert from "node:assert/strict";
import { cidrContains, formatIp, parseCidr, parseIp, unmapIpv4 } from "./ip.ts";

Deno.test("parseIp", async (t) => {
  const cases: { input: string; expected: string | null }[] = [
    { input: "127.0.0.1", expected: "127.0.0.1" },
    { input: "0.0.0.0", expected: "0.0.0.0" },
    { input: "255.255.255.255", expected: "255.255.255.255" },
    { input: "256.0.0.1", expected: null },
    { input: "1.2.3", expected: null },
    { input: "1.2.3.4.5", expected: null },
    { input: "010.0.0.1", expected: null },
    { input: "0x7f.0.0.1", expected: null },
    { input: "2130706433", expected: null },
    { input: "1.2.3.-4", expected: null },
    { input: "", expected: null },
    { input: "example.com", expected: null },
    { input: "::", expected: "::" },
    { input: "::1", expected: "::1" },
    { input: "[::1]", expected: "::1" },
    { input: "1::", expected: "1::" },
    { input: "FE80::1", expected: "fe80::1" },
    { input: "2001:db8:0:0:1:0:0:1", expected: "2001:db8::1:0:0:1" },
    { input: "2001:0db8:0000:0000:0000:0000:0000:0001", expected: "2001:db8::1" },
    { input: "1:2:3:4:5:6:7:8", expected: "1:2:3:4:5:6:7:8" },
    { input: "1:0:3:4:5:6:7:8", expected: "1:0:3:4:5:6:7:8" },
    { input: "::ffff:127.0.0.1", expected: "::ffff:7f00:1" },
    { input: "::ffff:7f00:1", expected: "::ffff:7f00:1" },
    { input: "1:2:3:4:5:6:1.2.3.4", expected: "1:2:3:4:5:6:102:304" },
    { input: "1:2:3:4:5:6:7:8:9", expected: null },
    { input: "1:2:3:4:5:6:7", expected: null },
    { input: "1:2:3:4:5:6:7:8::", expected: null },
    { input: "1::2::3", expected: null },
    { input: ":::", expected: null },
    { input: ":1::", expected: null },
    { input: "12345::", expected: null },
    { input: "fe80::1%eth0", expected: null },
    { input: "::ffff:256.0.0.1", expected: null },
    { input: "1.2.3.4::", expected: null },
  ];
  for (const c of cases) {
    await t.step(JSON.stringify(c.input), () => {
      const ip = parseIp(c.input);
      assert.equal(ip && formatIp(ip), c.expected);
    });
  }
});

Deno.test("parseCidr and cidrContains", async (t) => {
  const cases: { cidr: string; ip: string; inside: boolean }[] = [
    { cidr: "10.0.0.0/8", ip: "10.255.1.2", inside: true },
    { cidr: "10.0.0.0/8", ip: "11.0.0.0", inside: false },
    { cidr: "172.16.0.0/12", ip: "172.31.255.255", inside: true },
    { cidr: "172.16.0.0/12", ip: "172.32.0.0", inside: false },
    { cidr: "100.64.0.0/10", ip: "100.127.0.1", inside: true },
    { cidr: "100.64.0.0/10", ip: "100.128.0.1", inside: false },
    { cidr: "127.0.0.1", ip: "127.0.0.1", inside: true },
    { cidr: "127.0.0.1", ip: "127.0.0.2", inside: false },
    { cidr: "0.0.0.0/0", ip: "8.8.8.8", inside: true },
    { cidr: "0.0.0.0/0", ip: "::1", inside: false },
    { cidr: "fc00::/7", ip: "fdff::1", inside: true },
    { cidr: "fc00::/7", ip: "fe00::1", inside: false },
    { cidr: "fe80::/10", ip: "febf::1", inside: true },
    { cidr: "fe80::/10", ip: "fec0::1", inside: false },
  ];
  for (const c of cases) {
    await t.step(`${c.ip} in ${c.cidr}`, () => {
      const cidr = parseCidr(c.cidr);
      const ip = parseIp(c.ip);
      assert.ok(cidr && ip);
      assert.equal(cidrContains(cidr, ip), c.inside);
    });
  }
  await t.step("invalid prefixes", () => {
    for (const text of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/a", "x/8"]) {
      assert.equal(parseCidr(text), null, text);
    }
  });
});

Deno.test("unmapIpv4", () => {
  assert.equal(formatIp(unmapIpv4(parseIp("::ffff:10.1.2.3")!)), "10.1.2.3");
  assert.equal(formatIp(unmapIpv4(parseIp("::10.1.2.3")!)), "::a01:203");
  assert.equal(formatIp(unmapIpv4(parseIp("8.8.8.8")!)), "8.8.8.8");
});
