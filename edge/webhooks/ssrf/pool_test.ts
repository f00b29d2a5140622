import assert from "node:assert/strict";
import { connectionPool, keepAliveTimeoutMs } from "./pool.ts";
import type { Resolver } from "./resolve.ts";
import { safeFetch } from "./safe_fetch.ts";

const testdata = new URL("./testdata/", import.meta.url);
const CA = Deno.readTextFileSync(new URL("ca.pem", testdata));
const CERT = Deno.readTextFileSync(new URL("server.pem", testdata));
const KEY = Deno.readTextFileSync(new URL("server.key", testdata));

/** What the server does after reading a request: answer (keeping or closing), or drop it. */
type Answer = { status: number; close?: boolean; headers?: string } | "drop" | "garbage";

interface Server {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Each request's head as received, with the connection it came on. */
  readonly requests: { connection: number; head: string }[];
  /** Closes every open connection (as a server closing idle ones does). */
  closeIdle(): void;
  close(): Promise<void>;
}

/**
 * An HTTP/1.1 server on 127.0.0.1 (plain or TLS) speaking keep-alive by hand, so the test
 * sees every connection it accepts: `answer(n)` decides what the n-th request gets.
 */
function startServer(answer: (n: number) => Answer, tls = false): Server {
  const listener = tls
    ? Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY })
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const requests: { connection: number; head: string }[] = [];
  const serving: Promise<void>[] = [];
  let connections = 0;

  async function serve(conn: Deno.Conn, connection: number) {
    const decoder = new TextDecoder();
    let text = "";
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        let end = text.indexOf("\r\n\r\n");
        while (end < 0) {
          const n = await conn.read(buffer);
          if (n === null) return;
          text += decoder.decode(buffer.subarray(0, n));
          end = text.indexOf("\r\n\r\n");
        }
        const head = text.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        while (text.length < end + 4 + length) {
          const n = await conn.read(buffer);
          if (n === null) return;
          text += decoder.decode(buffer.subarray(0, n));
        }
        text = text.slice(end + 4 + length);
        requests.push({ connection, head });
        const what = answer(requests.length);
        if (what === "drop") return;
        if (what === "garbage") {
          await conn.write(
            new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA"),
          );
          continue;
        }
        const reply = `HTTP/1.1 ${what.status} X\r\ncontent-length: 2\r\n${what.headers ?? ""}` +
          `${what.close ? "connection: close\r\n" : ""}\r\nok`;
        await conn.write(new TextEncoder().encode(reply));
        if (what.close) return;
      }
    } catch {
      // the client went away
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // closed by closeIdle
      }
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      serving.push(serve(conn, ++connections));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return connections;
    },
    requests,
    closeIdle() {
      for (const conn of open) conn.close();
      open.clear();
    },
    async close() {
      listener.close();
      await accepting;
      this.closeIdle();
      await Promise.all(serving);
    },
  };
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

const post = { method: "POST", body: "payload" };

async function statuses(url: string, n: number, options: Parameters<typeof safeFetch>[2]) {
  const out: (number | string)[] = [];
  for (let i = 0; i < n; i++) {
    const result = await safeFetch(url, post, options);
    out.push(result.ok ? result.status : result.code);
  }
  return out;
}

/** Lets the idle watch see a close before the next request. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

Deno.test("keep-alive pool: one vetted TLS connection carries many requests", async (t) => {
  const server = startServer(() => ({ status: 201 }), true);
  const pool = connectionPool();
  const dns: string[] = [];
  const options = { allow: ["127.0.0.1"], resolve: loopbackDns(dns), caCerts: [CA], pool };
  const url = `https://hooks.example.com:${server.port}/push/1`;
  try {
    await t.step("5 requests, 1 connection; each request still checked by the guard", async () => {
      assert.deepEqual(await statuses(url, 5, options), [201, 201, 201, 201, 201]);
      assert.equal(server.connections, 1);
      assert.equal(pool.idle, 1);
      assert.equal(dns.length, 5, "the host name is resolved and vetted for every request");
      assert.ok(server.requests.every((r) => !/^connection: close$/im.test(r.head)));
    });

    await t.step("another host name on the same address gets its own connection", async () => {
      const other = `https://127.0.0.1:${server.port}/push/2`;
      assert.deepEqual(await statuses(other, 2, options), [201, 201]);
      assert.equal(server.connections, 2);
      assert.equal(pool.idle, 2);
    });

    await t.step("an address the guard refuses now is never reached on a kept one", async () => {
      const result = await safeFetch(url, post, { ...options, allow: [] });
      assert.equal(!result.ok && result.code, "blocked_address");
      assert.equal(server.requests.length, 7);
    });

    await t.step(
      "the server closing idle connections: the next request connects anew",
      async () => {
        server.closeIdle();
        await settle();
        assert.equal(pool.idle, 0, "dropped as soon as the server closed it");
        assert.deepEqual(await statuses(url, 2, options), [201, 201]);
        assert.equal(server.connections, 3);
      },
    );

    await t.step("closed with the pool", () => {
      pool.close();
      assert.equal(pool.idle, 0);
    });
  } finally {
    pool.close();
    await server.close();
  }
});

Deno.test("keep-alive pool: a connection is kept only after a clean exchange", async (t) => {
  await t.step(
    "without a pool (webhooks): one connection per request, Connection: close",
    async () => {
      const server = startServer(() => ({ status: 200 }));
      try {
        const url = `http://127.0.0.1:${server.port}/hook`;
        assert.deepEqual(await statuses(url, 3, { allow: ["127.0.0.1"] }), [200, 200, 200]);
        assert.equal(server.connections, 3);
        assert.ok(server.requests.every((r) => /^connection: close$/im.test(r.head)));
      } finally {
        await server.close();
      }
    },
  );

  await t.step("Connection: close from the server: not kept", async () => {
    const server = startServer((n) => ({ status: 200, close: n === 2 }));
    const pool = connectionPool();
    try {
      const url = `http://127.0.0.1:${server.port}/push`;
      assert.deepEqual(await statuses(url, 3, { allow: ["127.0.0.1"], pool }), [200, 200, 200]);
      assert.deepEqual(server.requests.map((r) => r.connection), [1, 1, 2]);
    } finally {
      pool.close();
      await server.close();
    }
  });

  await t.step("errors never poison the pool", async () => {
    // 2: dropped without an answer; 4: bytes after the body; 6: a 503 (an answer, kept).
    const server = startServer((n) =>
      n === 2 ? "drop" : n === 4 ? "garbage" : { status: n === 6 ? 503 : 200 }
    );
    const pool = connectionPool();
    try {
      const url = `http://127.0.0.1:${server.port}/push`;
      const options = { allow: ["127.0.0.1"], pool };
      const seen = await statuses(url, 7, options);
      assert.deepEqual(seen, [200, "protocol_error", 200, 200, 200, 503, 200]);
      assert.deepEqual(server.requests.map((r) => r.connection), [1, 1, 2, 2, 3, 3, 3]);
      assert.equal(pool.idle, 1);
    } finally {
      pool.close();
      await server.close();
    }
  });

  await t.step("a deadline during the exchange closes that connection", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) conns.push(conn);
    })();
    const pool = connectionPool();
    try {
      const result = await safeFetch(`http://127.0.0.1:${listener.addr.port}/`, post, {
        allow: ["127.0.0.1"],
        pool,
        timeoutMs: 100,
      });
      assert.equal(!result.ok && result.code, "timeout");
      assert.equal(pool.idle, 0);
    } finally {
      pool.close();
      listener.close();
      await accepting;
      for (const conn of conns) conn.close();
    }
  });

  await t.step("the server's Keep-Alive timeout bounds the idle time", () => {
    assert.equal(keepAliveTimeoutMs("timeout=5"), 5000);
    assert.equal(keepAliveTimeoutMs("max=100, timeout=2"), 2000);
    assert.equal(keepAliveTimeoutMs(null), null);
    assert.equal(keepAliveTimeoutMs("max=100"), null);
  });
});
