import assert from "node:assert/strict";
import { utf8 } from "../encoding.ts";
import { type ByteStream, ProtocolError, readResponse, serializeRequest } from "./http1.ts";

/** A stream that yields `chunks` one read at a time (splitting reads that do not fit). */
function fakeStream(...chunks: (string | Uint8Array)[]): ByteStream {
  const queue = chunks.map((chunk) => typeof chunk === "string" ? utf8(chunk) : chunk);
  return {
    read(buffer) {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      const count = Math.min(buffer.byteLength, next.byteLength);
      buffer.set(next.subarray(0, count));
      if (count < next.byteLength) queue.unshift(next.subarray(count));
      return Promise.resolve(count);
    },
    write(bytes) {
      return Promise.resolve(bytes.byteLength);
    },
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("serializeRequest puts Host first and keeps the body bytes", () => {
  const wire = serializeRequest({
    method: "POST",
    target: "/hooks?x=1",
    host: "hooks.example.com:8443",
    headers: new Headers({ "content-length": "2", "webhook-id": "msg_1" }),
    body: utf8("{}"),
  });
  assert.equal(
    text(wire),
    "POST /hooks?x=1 HTTP/1.1\r\nhost: hooks.example.com:8443\r\n" +
      "content-length: 2\r\nwebhook-id: msg_1\r\n\r\n{}",
  );
});

Deno.test("readResponse", async (t) => {
  const cases: {
    name: string;
    chunks: string[];
    method?: string;
    max?: number;
    status: number;
    body: string;
    truncated: boolean;
    header?: [string, string];
  }[] = [
    {
      name: "Content-Length body",
      chunks: ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"],
      status: 200,
      body: "hello",
      truncated: false,
      header: ["x-a", "b"],
    },
    {
      name: "head and body split across many reads",
      chunks: ["HTT", "P/1.1 201 Cr", "eated\r", "\nContent-Length: 3\r\n", "\r\n", "a", "bc"],
      status: 201,
      body: "abc",
      truncated: false,
    },
    {
      name: "bare LF line endings",
      chunks: ["HTTP/1.0 200 OK\nContent-Length: 2\n\nok"],
      status: 200,
      body: "ok",
      truncated: false,
    },
    {
      name: "Content-Length body over the limit",
      chunks: ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"],
      max: 4,
      status: 200,
      body: "0123",
      truncated: true,
    },
    {
      name: "Content-Length body exactly at the limit",
      chunks: ["HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n0123"],
      max: 4,
      status: 200,
      body: "0123",
      truncated: false,
    },
    {
      name: "peer closes before Content-Length is reached",
      chunks: ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01"],
      status: 200,
      body: "01",
      truncated: true,
    },
    {
      name: "chunked",
      chunks: [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n",
        "2\r\nde\r\n0\r\n\r\n",
      ],
      status: 200,
      body: "abcde",
      truncated: false,
    },
    {
      name: "chunked over the limit",
      chunks: [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
      ],
      max: 4,
      status: 200,
      body: "abcd",
      truncated: true,
    },
    {
      name: "chunked filling the limit exactly at a chunk boundary",
      chunks: ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
      max: 3,
      status: 200,
      body: "abc",
      truncated: false,
    },
    {
      name: "body until close",
      chunks: ["HTTP/1.1 500 Internal Server Error\r\n\r\n", "boom", "!"],
      status: 500,
      body: "boom!",
      truncated: false,
    },
    {
      name: "body until close over the limit",
      chunks: ["HTTP/1.1 200 OK\r\n\r\n", "abc", "def"],
      max: 5,
      status: 200,
      body: "abcde",
      truncated: true,
    },
    {
      name: "1xx interim responses are skipped",
      chunks: [
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
      ],
      status: 204,
      body: "",
      truncated: false,
    },
    {
      name: "redirect returned as is",
      chunks: [
        "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
      ],
      status: 302,
      body: "",
      truncated: false,
      header: ["location", "http://169.254.169.254/"],
    },
    {
      name: "HEAD has no body",
      method: "HEAD",
      chunks: ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"],
      status: 200,
      body: "",
      truncated: false,
    },
    {
      name: "repeated identical Content-Length",
      chunks: ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"],
      status: 200,
      body: "ok",
      truncated: false,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const response = await readResponse(
        fakeStream(...c.chunks),
        c.method ?? "POST",
        c.max ?? 1024,
      );
      assert.equal(response.status, c.status);
      assert.equal(text(response.body), c.body);
      assert.equal(response.bodyTruncated, c.truncated);
      if (c.header) assert.equal(response.headers.get(c.header[0]), c.header[1]);
    });
  }
});

Deno.test("readResponse rejects what is not HTTP/1.x", async (t) => {
  const cases: { name: string; chunks: string[] }[] = [
    { name: "not HTTP", chunks: ["SSH-2.0-OpenSSH_9.6\r\n"] },
    { name: "HTTP/2 preface", chunks: ["HTTP/2 200\r\n\r\n"] },
    { name: "closed before the status line", chunks: [] },
    { name: "closed inside the head", chunks: ["HTTP/1.1 200 OK\r\nX-A: b"] },
    { name: "header without colon", chunks: ["HTTP/1.1 200 OK\r\nbogus\r\n\r\n"] },
    { name: "obsolete line folding", chunks: ["HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n"] },
    {
      name: "conflicting Content-Length",
      chunks: ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"],
    },
    {
      name: "bad chunk size",
      chunks: ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    },
    {
      name: "bad chunk terminator",
      chunks: ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX\r\n0\r\n\r\n"],
    },
    { name: "protocol switch", chunks: ["HTTP/1.1 101 Switching Protocols\r\n\r\n"] },
    { name: "endless head", chunks: ["HTTP/1.1 200 OK\r\n", "X: " + "a".repeat(70_000)] },
    {
      name: "too many headers",
      chunks: ["HTTP/1.1 200 OK\r\n" + "X-A: b\r\n".repeat(101) + "\r\n"],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await assert.rejects(() => readResponse(fakeStream(...c.chunks), "GET", 1024), ProtocolError);
    });
  }
});
