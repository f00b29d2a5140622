import assert from "node:assert/strict";
import type { Resolver } from "./resolve.ts";
import { safeFetch, type SafeFetchResult } from "./safe_fetch.ts";

const testdata = new URL("./testdata/", import.meta.url);
const CA = Deno.readTextFileSync(new URL("ca.pem", testdata));
const CERT = Deno.readTextFileSync(new URL("server.pem", testdata));
const KEY = Deno.readTextFileSync(new URL("server.key", testdata));

interface Seen {
  method: string;
  url: string;
  host: string | null;
  headers: Headers;
  body: string;
}

interface Receiver {
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 (the only network tests may use), HTTP or HTTPS. */
function startReceiver(
  handler: (request: Request) => Response | Promise<Response>,
  tls = false,
): Receiver {
  const seen: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, ...(tls ? { cert: CERT, key: KEY } : {}) },
    async (request) => {
      seen.push({
        method: request.method,
        url: request.url,
        host: request.headers.get("host"),
        headers: request.headers,
        body: await request.text(),
      });
      return handler(request);
    },
  );
  return { port: server.addr.port, seen, close: () => server.shutdown() };
}

/** Fake DNS pointing test names at loopback; never a real lookup. */
function loopbackDns(calls: string[] = []): Resolver {
  return (hostname) => {
    calls.push(hostname);
    return hostname.endsWith(".example.com")
      ? Promise.resolve(["127.0.0.1"])
      : Promise.reject(new Error("NXDOMAIN"));
  };
}

function assertResponse(result: SafeFetchResult): asserts result is SafeFetchResult & { ok: true } {
  assert.equal(result.ok, true, JSON.stringify(result));
}

Deno.test("safeFetch against a local receiver", async (t) => {
  const receiver = startReceiver((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/redirect") {
      return new Response(null, { status: 302, headers: { location: "/target" } });
    }
    if (path === "/gone") return new Response("endpoint removed", { status: 410 });
    if (path === "/big") return new Response("x".repeat(10_000));
    if (path === "/stream") {
      const chunks = ["first,", "second,", "third"];
      return new Response(
        new ReadableStream({
          pull(controller) {
            const next = chunks.shift();
            if (next === undefined) controller.close();
            else controller.enqueue(new TextEncoder().encode(next));
          },
        }),
      );
    }
    return new Response("accepted", { status: 202, headers: { "x-receiver": "yes" } });
  });
  const base = `http://127.0.0.1:${receiver.port}`;
  try {
    await t.step("refused without an allow-list, nothing sent", async () => {
      const result = await safeFetch(`${base}/hooks`, { method: "POST", body: "{}" });
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.code, "blocked_address");
      assert.equal(!result.ok && result.addressClass, "loopback");
      assert.equal(receiver.seen.length, 0);
    });

    await t.step("refused via localhost too", async () => {
      const result = await safeFetch(`http://localhost:${receiver.port}/hooks`);
      assert.equal(!result.ok && result.code, "blocked_address");
      assert.equal(receiver.seen.length, 0);
    });

    for (const allow of [["127.0.0.1"], ["127.0.0.0/8"], ["localhost"]]) {
      await t.step(`delivered when allow-listed as ${allow}`, async () => {
        const before = receiver.seen.length;
        const host = allow[0] === "localhost" ? "localhost" : "127.0.0.1";
        const result = await safeFetch(
          `http://${host}:${receiver.port}/hooks?clinic=1`,
          {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "webhook-id": "msg_1",
              host: "evil.example",
              "transfer-encoding": "chunked",
            },
            body: '{"type":"appointment.created"}',
          },
          { allow },
        );
        assertResponse(result);
        assert.equal(result.status, 202);
        assert.equal(result.body, "accepted");
        assert.equal(result.bodyTruncated, false);
        assert.equal(result.headers.get("x-receiver"), "yes");
        assert.equal(result.address, "127.0.0.1");
        assert.equal(typeof result.durationMs, "number");
        const seen = receiver.seen[before];
        assert.equal(seen.method, "POST");
        assert.equal(new URL(seen.url).pathname + new URL(seen.url).search, "/hooks?clinic=1");
        assert.equal(seen.host, `${host}:${receiver.port}`);
        assert.equal(seen.headers.get("webhook-id"), "msg_1");
        assert.equal(seen.headers.get("content-type"), "application/json");
        assert.equal(seen.body, '{"type":"appointment.created"}');
      });
    }

    await t.step("connects to the vetted address, keeping the URL's host name", async () => {
      const calls: string[] = [];
      const result = await safeFetch(
        `http://hooks.example.com:${receiver.port}/pinned`,
        {},
        { allow: ["127.0.0.1"], resolve: loopbackDns(calls) },
      );
      assertResponse(result);
      assert.equal(result.status, 202);
      assert.deepEqual(calls, ["hooks.example.com"]);
      assert.equal(receiver.seen.at(-1)?.host, `hooks.example.com:${receiver.port}`);
    });

    await t.step("a redirect is returned, not followed", async () => {
      const before = receiver.seen.length;
      const result = await safeFetch(`${base}/redirect`, {}, { allow: ["127.0.0.1"] });
      assertResponse(result);
      assert.equal(result.status, 302);
      assert.equal(result.headers.get("location"), "/target");
      assert.equal(receiver.seen.length, before + 1);
    });

    await t.step("410 is returned with its body", async () => {
      const result = await safeFetch(`${base}/gone`, { method: "POST" }, { allow: ["127.0.0.1"] });
      assertResponse(result);
      assert.equal(result.status, 410);
      assert.equal(result.body, "endpoint removed");
    });

    await t.step("a long body is truncated", async () => {
      const result = await safeFetch(`${base}/big`, {}, {
        allow: ["127.0.0.1"],
        maxBodyBytes: 100,
      });
      assertResponse(result);
      assert.equal(result.body, "x".repeat(100));
      assert.equal(result.bodyTruncated, true);
    });

    await t.step("a chunked body is decoded and truncated", async () => {
      const whole = await safeFetch(`${base}/stream`, {}, { allow: ["127.0.0.1"] });
      assertResponse(whole);
      assert.equal(whole.body, "first,second,third");
      assert.equal(whole.bodyTruncated, false);
      const cut = await safeFetch(`${base}/stream`, {}, { allow: ["127.0.0.1"], maxBodyBytes: 8 });
      assertResponse(cut);
      assert.equal(cut.body, "first,se");
      assert.equal(cut.bodyTruncated, true);
    });

    await t.step("an already aborted signal sends nothing", async () => {
      const before = receiver.seen.length;
      const result = await safeFetch(`${base}/hooks`, { signal: AbortSignal.abort() }, {
        allow: ["127.0.0.1"],
      });
      assert.equal(!result.ok && result.code, "aborted");
      assert.equal(receiver.seen.length, before);
    });

    await t.step("invalid requests are refused before connecting", async () => {
      const before = receiver.seen.length;
      for (const init of [{ method: "BAD METHOD" }, { method: "CONNECT" }]) {
        const result = await safeFetch(`${base}/hooks`, init, { allow: ["127.0.0.1"] });
        assert.equal(!result.ok && result.code, "invalid_request");
      }
      assert.equal(receiver.seen.length, before);
    });
  } finally {
    await receiver.close();
  }
});

// The project's machines (developers' and CI's) have IPv6 loopback; the test needs it.
Deno.test({
  name: "safeFetch to an IPv6 loopback receiver",
  async fn() {
    const server = Deno.serve(
      { hostname: "::1", port: 0, onListen() {} },
      (request) => new Response(`host ${request.headers.get("host")}`),
    );
    try {
      const url = `http://[::1]:${server.addr.port}/`;
      const refused = await safeFetch(url);
      assert.equal(!refused.ok && refused.addressClass, "loopback");
      const result = await safeFetch(url, {}, { allow: ["::1"] });
      assertResponse(result);
      assert.equal(result.body, `host [::1]:${server.addr.port}`);
      assert.equal(result.address, "::1");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test("safeFetch over TLS verifies the URL's host name on the vetted connection", async (t) => {
  const receiver = startReceiver(() => new Response("tls ok"), true);
  const options = { allow: ["127.0.0.1"], resolve: loopbackDns(), caCerts: [CA] };
  try {
    await t.step("certificate for the host name", async () => {
      const result = await safeFetch(`https://hooks.example.com:${receiver.port}/x`, {}, options);
      assertResponse(result);
      assert.equal(result.status, 200);
      assert.equal(result.body, "tls ok");
      assert.equal(receiver.seen.at(-1)?.host, `hooks.example.com:${receiver.port}`);
    });
    await t.step("certificate for the IP literal", async () => {
      const result = await safeFetch(`https://127.0.0.1:${receiver.port}/x`, {}, options);
      assertResponse(result);
      assert.equal(result.status, 200);
    });
    await t.step("another host name on the same address fails", async () => {
      const result = await safeFetch(`https://other.example.com:${receiver.port}/x`, {}, options);
      assert.equal(!result.ok && result.code, "tls_failed");
    });
    await t.step("an untrusted CA fails", async () => {
      const result = await safeFetch(`https://hooks.example.com:${receiver.port}/x`, {}, {
        ...options,
        caCerts: undefined,
      });
      assert.equal(!result.ok && result.code, "tls_failed");
    });
  } finally {
    await receiver.close();
  }
});

Deno.test("safeFetch transport failures", async (t) => {
  await t.step("timeout against a receiver that never answers", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) accepted.push(conn);
    })();
    try {
      const started = performance.now();
      const result = await safeFetch(
        `http://127.0.0.1:${listener.addr.port}/slow`,
        { method: "POST", body: "{}" },
        { allow: ["127.0.0.1"], timeoutMs: 200 },
      );
      assert.equal(!result.ok && result.code, "timeout");
      assert.ok(performance.now() - started < 2000);
    } finally {
      listener.close();
      await accepting;
      for (const conn of accepted) conn.close();
    }
  });

  await t.step("protocol error from a receiver that is not HTTP", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      const conn = await listener.accept();
      await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.6\r\n"));
      conn.close();
    })();
    try {
      const result = await safeFetch(`http://127.0.0.1:${listener.addr.port}/`, {}, {
        allow: ["127.0.0.1"],
      });
      assert.equal(!result.ok && result.code, "protocol_error");
    } finally {
      await serving;
      listener.close();
    }
  });

  await t.step("connection refused", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const result = await safeFetch(`http://127.0.0.1:${port}/`, {}, { allow: ["127.0.0.1"] });
    assert.equal(!result.ok && result.code, "connect_failed");
  });

  await t.step("guard refusals come back as results", async () => {
    const cases: [string, string][] = [
      ["ftp://127.0.0.1/", "unsupported_scheme"],
      ["http://169.254.169.254/latest/meta-data/", "blocked_address"],
      ["http://[::ffff:10.0.0.1]/", "blocked_address"],
      ["http://nowhere.invalid/", "dns_failed"],
      ["::", "invalid_url"],
    ];
    for (const [url, code] of cases) {
      const result = await safeFetch(url, {}, { resolve: loopbackDns() });
      assert.equal(!result.ok && result.code, code, url);
    }
  });
});
