import assert from "node:assert/strict";
import { clientAddress, parseTrustedProxies } from "./client_address.ts";

Deno.test("clientAddress: X-Forwarded-For counts only behind a trusted proxy", async (t) => {
  const trusted = parseTrustedProxies(["10.0.0.0/8", "127.0.0.1", "fd00::/8"]);

  await t.step("no trusted proxies: the connection's address, whatever the header says", () => {
    assert.equal(clientAddress("203.0.113.7", "198.51.100.1", []), "203.0.113.7");
  });

  await t.step("an untrusted peer cannot name another client", () => {
    assert.equal(clientAddress("203.0.113.7", "198.51.100.1", trusted), "203.0.113.7");
  });

  await t.step("behind a trusted proxy: the address it received the request from", () => {
    assert.equal(clientAddress("10.1.2.3", "198.51.100.1", trusted), "198.51.100.1");
    assert.equal(clientAddress("10.1.2.3", undefined, trusted), "10.1.2.3");
  });

  await t.step("read from the right: a client's own entries are skipped over", () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real peer.
    assert.equal(clientAddress("10.1.2.3", "1.2.3.4, 198.51.100.9", trusted), "198.51.100.9");
  });

  await t.step("a chain of trusted proxies is walked through", () => {
    assert.equal(
      clientAddress("127.0.0.1", "198.51.100.1, 10.9.9.9, 10.0.0.2", trusted),
      "198.51.100.1",
    );
    assert.equal(clientAddress("127.0.0.1", "10.9.9.9, 10.0.0.2", trusted), "10.9.9.9");
  });

  await t.step("IPv6, bracketed or not", () => {
    assert.equal(clientAddress("fd00::1", "2001:db8::5", trusted), "2001:db8::5");
    assert.equal(clientAddress("fd00::1", "[2001:db8::6]", trusted), "2001:db8::6");
  });

  await t.step("garbage stops the walk at the last hop that could be trusted", () => {
    assert.equal(clientAddress("10.1.2.3", "not-an-ip", trusted), "10.1.2.3");
    assert.equal(clientAddress("10.1.2.3", "198.51.100.1, junk, 10.0.0.9", trusted), "10.0.0.9");
  });

  await t.step("configuration errors are refused", () => {
    assert.throws(() => parseTrustedProxies(["10.0.0.0/33"]), /TRUSTED_PROXIES/);
    assert.throws(() => parseTrustedProxies(["proxy.internal"]), /TRUSTED_PROXIES/);
  });
});
