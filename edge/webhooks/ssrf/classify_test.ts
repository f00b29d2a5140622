import assert from "node:assert/strict";
import { type AddressClass, classifyAddress, isPublicAddress } from "./classify.ts";

const CASES: readonly (readonly [string, AddressClass | null])[] = [
  // IPv4 public
  ["8.8.8.8", "public"],
  ["1.1.1.1", "public"],
  ["93.184.216.34", "public"],
  ["172.15.255.255", "public"],
  ["172.32.0.0", "public"],
  ["100.63.255.255", "public"],
  ["100.128.0.0", "public"],
  ["169.253.255.255", "public"],
  ["192.167.255.255", "public"],
  ["223.255.255.255", "public"],
  // unspecified / this network
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  // loopback
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  // private
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.0.1", "private"],
  ["192.168.255.255", "private"],
  // link-local and metadata
  ["169.254.0.1", "link_local"],
  ["169.254.169.253", "link_local"],
  ["169.254.169.254", "metadata"],
  // CGNAT
  ["100.64.0.1", "cgnat"],
  ["100.127.255.255", "cgnat"],
  ["100.100.100.200", "cgnat"],
  // multicast, broadcast, reserved
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["255.255.255.255", "broadcast"],
  ["240.0.0.1", "reserved"],
  ["192.0.0.8", "reserved"],
  ["192.0.2.1", "reserved"],
  ["198.18.0.1", "reserved"],
  ["198.51.100.7", "reserved"],
  ["203.0.113.9", "reserved"],
  // IPv6 public
  ["2606:4700:4700::1111", "public"],
  ["2001:4860:4860::8888", "public"],
  ["[2a00:1450:4001::200e]", "public"],
  // IPv6 local forms
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["[::1]", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback"],
  ["fc00::1", "private"],
  ["fd12:3456:789a::1", "private"],
  ["fe80::1", "link_local"],
  ["febf:ffff::1", "link_local"],
  ["fec0::1", "private"],
  ["ff02::1", "multicast"],
  ["fd00:ec2::254", "metadata"],
  // IPv4-mapped and other IPv4-carrying forms classify the IPv4 inside
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::ffff:10.0.0.1", "private"],
  ["::ffff:169.254.169.254", "metadata"],
  ["::ffff:a9fe:a9fe", "metadata"],
  ["::ffff:100.64.0.1", "cgnat"],
  ["::ffff:0.0.0.0", "unspecified"],
  ["::ffff:8.8.8.8", "public"],
  ["64:ff9b::7f00:1", "loopback"],
  ["64:ff9b::808:808", "public"],
  ["2002:7f00:1::", "loopback"],
  ["2002:a00:1::1", "private"],
  ["2002:808:808::1", "public"],
  ["::127.0.0.1", "reserved"],
  ["::8.8.8.8", "reserved"],
  // other special IPv6
  ["2001::1", "reserved"],
  ["2001:db8::1", "reserved"],
  ["100::1", "reserved"],
  ["64:ff9b:1::1", "reserved"],
  ["3fff::1", "reserved"],
  ["4000::1", "reserved"],
  ["1::1", "reserved"],
  // not IP literals
  ["localhost", null],
  ["example.com", null],
  ["fe80::1%eth0", null],
  ["2130706433", null],
];

Deno.test("classifyAddress", async (t) => {
  for (const [address, expected] of CASES) {
    await t.step(`${address} → ${expected}`, () => {
      assert.equal(classifyAddress(address), expected);
      assert.equal(isPublicAddress(address), expected === "public");
    });
  }
});
