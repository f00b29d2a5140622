/**
 * Regressions of issue #13 on the realtime side: what one client sends never takes the
 * process down nor leaves the server's structures half-updated, and the REST and upgrade
 * edges answer bad input with a JSON 4xx. Through a server on a loopback port fed by the
 * in-memory change feed; tests/realtime/fuzz_test.ts generalizes these over random frames.
 */
import assert from "node:assert/strict";
import { RealtimeClient } from "@supabase/realtime-js";
import { loadStartConfig } from "../../edge/config.ts";
import { parseTrustedProxies } from "../../edge/net/client_address.ts";
import { createMemoryFeed } from "../../realtime/mod.ts";
import { CLINIC_A, insertAppointment, testAuthorizer } from "./fixtures.ts";
import {
  closeClient,
  eventually,
  holds,
  rawClient,
  SECRET,
  sign,
  startServer,
  type TestServer,
  v2,
} from "./support.ts";

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

const patient = (sub = crypto.randomUUID()) =>
  sign({ sub, app_metadata: { role: "patient", clinic_ids: [CLINIC_A] } });

const appointmentsWhere = (filter: string) => ({
  config: {
    postgres_changes: [{ event: "*", schema: "public", table: "appointments", filter }],
  },
});

/** A server holding nothing, its handlers having never failed. */
const nothing = {
  sockets: 0,
  topics: 0,
  groups: 0,
  principals: 0,
  subscribers: 0,
  handlerErrors: 0,
};

async function withServer(
  options: Parameters<typeof startServer>[0],
  run: (server: TestServer, feed: ReturnType<typeof createMemoryFeed>) => Promise<void>,
) {
  const feed = createMemoryFeed();
  const server = await startServer({ feed, authorizer: testAuthorizer(), ...options });
  try {
    await run(server, feed);
  } finally {
    await server.close();
  }
}

Deno.test("a NUL in an equality filter value", async (t) => {
  await withServer({}, async (server, feed) => {
    await t.step("join with a patient token, then close: the process stays up", async () => {
      const sub = crypto.randomUUID();
      const c = await rawClient(server, await patient(sub));
      c.send(["1", "1", "realtime:nul", "phx_join", appointmentsWhere("status=eq.a\u0000b")]);
      assert.equal((await c.next(v2("phx_reply", "1")) as Frame)[4].status, "ok");
      await c.close();
      await holds(server.realtime, nothing);
    });

    await t.step("join then phx_leave: the registry is empty again, and still works", async () => {
      const sub = crypto.randomUUID();
      const token = await patient(sub);
      const c = await rawClient(server, token);
      c.send(["1", "1", "realtime:nul", "phx_join", appointmentsWhere(`patient_id=eq.${sub}\0x`)]);
      assert.equal((await c.next(v2("phx_reply", "1")) as Frame)[4].status, "ok");
      c.send(["1", "2", "realtime:nul", "phx_leave", {}]);
      assert.equal((await c.next(v2("phx_reply", "2")) as Frame)[4].status, "ok");
      await c.next(v2("phx_close"));
      await holds(server.realtime, { ...nothing, sockets: 1 });
      // The same filter again, and a row whose value holds the NUL: it is indexed and sent.
      c.send(["3", "3", "realtime:nul", "phx_join", appointmentsWhere("status=eq.a\u0000b")]);
      assert.equal((await c.next(v2("phx_reply", "3")) as Frame)[4].status, "ok");
      feed.push([
        insertAppointment({ id: 1, clinic_id: CLINIC_A, patient_id: sub, status: "a\0b" }),
      ]);
      const change = await c.next(v2("postgres_changes")) as Frame;
      assert.equal((change[4].data as { record: { status: string } }).record.status, "a\0b");
      await c.close();
      await holds(server.realtime, nothing);
    });
  });
});

Deno.test("an error inside a socket handler closes that socket only", async () => {
  const rules = testAuthorizer();
  const authorizer = {
    ...rules,
    tableAccess: (...args: Parameters<typeof rules.tableAccess>) => {
      if (args[2] === "queue_board") throw new TypeError("a bug in a handler");
      return rules.tableAccess(...args);
    },
  };
  await withServer({ authorizer }, async (server, feed) => {
    const sub = crypto.randomUUID();
    const bystander = await rawClient(server, await patient(sub));
    const c = await rawClient(server, await patient());
    bystander.send(["1", "1", "realtime:b", "phx_join", appointmentsWhere(`patient_id=eq.${sub}`)]);
    await bystander.next(v2("phx_reply", "1"));
    let code: number | undefined;
    c.socket.addEventListener("close", (event) => code = event.code);
    c.send(["1", "1", "realtime:x", "phx_join", {
      config: { postgres_changes: [{ event: "*", schema: "public", table: "queue_board" }] },
    }]);
    await eventually(() => code !== undefined, 5000, "the socket to close");
    assert.equal(code, 1011);
    // The process is up and the other socket is served.
    feed.push([insertAppointment({ id: 2, clinic_id: CLINIC_A, patient_id: sub, status: "s" })]);
    await bystander.next(v2("postgres_changes"));
    await bystander.close();
    await c.close();
    await holds(server.realtime, { ...nothing, handlerErrors: 1 });
  });
});

Deno.test("REST broadcast edges", async (t) => {
  await withServer({}, async (server) => {
    const token = await patient();
    const post = (path: string, init: RequestInit = {}) =>
      fetch(`${server.origin}/realtime/v1/api/broadcast${path}`, {
        method: "POST",
        ...init,
        headers: { apikey: token, "content-type": "application/json", ...init.headers },
      });

    await t.step("malformed percent-encoding in the topic or event: 400 JSON", async () => {
      for (const path of ["/%E0%A4%A/events/e", "/room/events/%ZZ", "/%/events/e"]) {
        const res = await post(path, { body: "{}" });
        assert.equal(res.status, 400, path);
        assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
        assert.equal((await res.json()).error.code, "invalid_request");
      }
    });

    await t.step("a chunked body past 1 MB: 413 without reading it all", async () => {
      const total = 256 * 1024 * 1024;
      const chunk = new Uint8Array(64 * 1024).fill(0x20);
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= total) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const res = await post("/room/events/e", { body });
      assert.equal(res.status, 413);
      assert.equal((await res.json()).error.code, "payload_too_large");
      assert.ok(pulled < total, `the server read all ${pulled} bytes`);
    });
  });
});

Deno.test('a `table: "*"` join with only the anon apikey', async (t) => {
  await withServer({}, async (server, feed) => {
    const anon = await sign({ role: "anon" });
    const everything = {
      config: { postgres_changes: [{ event: "*", schema: "public", table: "*" }] },
    };

    await t.step("is refused, saying why; with an access_token it is accepted", async () => {
      const c = await rawClient(server, anon);
      c.send(["1", "1", "realtime:all", "phx_join", everything]);
      const refused = (await c.next(v2("phx_reply", "1")) as Frame)[4];
      assert.equal(refused.status, "error");
      assert.match(
        (refused.response as { reason: string }).reason,
        /^Unauthorized: the join carried no access_token .*role anon.* may read no row of public\.\*; join with an access_token$/,
      );
      c.send(["2", "2", "realtime:all", "phx_join", { ...everything, access_token: anon }]);
      assert.equal((await c.next(v2("phx_reply", "2")) as Frame)[4].status, "ok");
      await c.next(v2("system"));
      const told = (await c.next(v2("system")) as Frame)[4];
      assert.match(String(told.message), /role anon may read no row of public\.\*/);
      await c.close();
    });

    await t.step("so realtime-js rejoins with its token and receives changes", async () => {
      const sub = crypto.randomUUID();
      const token = await patient(sub);
      const client = new RealtimeClient(server.endpoint, {
        params: { apikey: anon },
        accessToken: () => Promise.resolve(token),
        heartbeatIntervalMs: 60_000,
        timeout: 5_000,
        logger: () => {},
      });
      try {
        const rows: unknown[] = [];
        const statuses: string[] = [];
        const channel = client.channel("all").on(
          "postgres_changes",
          { event: "*", schema: "public", table: "*" },
          (p) => rows.push(p.new),
        );
        // Subscribed in the same tick as the client is created: the first join has no token.
        channel.subscribe((status) => statuses.push(status));
        await eventually(() => statuses.includes("SUBSCRIBED"), 8000, "SUBSCRIBED");
        feed.push([
          insertAppointment({ id: 3, clinic_id: CLINIC_A, patient_id: sub, status: "s" }),
        ]);
        await eventually(() => rows.length === 1, 5000, "the patient's row");
      } finally {
        await closeClient(client);
      }
    });
  });
});

Deno.test("sockets per client address", async (t) => {
  const options = { limits: { maxSocketsPerAddress: 2 } };
  await withServer(options, async (server) => {
    const token = await patient();
    await t.step("one more than the cap is answered 429 JSON before upgrading", async () => {
      const a = await rawClient(server, token);
      const b = await rawClient(server, token);
      const res = await upgrade(server, token);
      assert.equal(res.status, 429);
      assert.equal((await res.json()).error.code, "too_many_connections");
      await a.close();
      // A socket that closed frees its place.
      await holds(server.realtime, { ...nothing, sockets: 1 });
      const c = await rawClient(server, token);
      await b.close();
      await c.close();
    });
  });

  const trustedProxies = parseTrustedProxies(["127.0.0.1"]);
  await withServer({ ...options, trustedProxies }, async (server) => {
    const token = await patient();
    await t.step("behind a trusted proxy, the forwarded address counts", async () => {
      const sockets = [
        await open(server, token, "10.0.0.1"),
        await open(server, token, "10.0.0.1"),
      ];
      const res = await upgrade(server, token, "10.0.0.1");
      assert.equal(res.status, 429);
      await res.body?.cancel();
      sockets.push(await open(server, token, "10.0.0.2"));
      for (const socket of sockets) await shut(socket);
    });
  });

  await t.step("`deno task start` takes the cap from REALTIME_MAX_SOCKETS_PER_ADDRESS", () => {
    const env = { APP_ENV: "test", JWT_SECRET: SECRET };
    const cap = (value?: string) =>
      loadStartConfig({ ...env, REALTIME_MAX_SOCKETS_PER_ADDRESS: value })
        .realtimeMaxSocketsPerAddress;
    assert.equal(cap("3"), 3);
    assert.equal(cap(), undefined); // the realtime server's default
    assert.throws(() => cap("many"), /REALTIME_MAX_SOCKETS_PER_ADDRESS must be a whole number/);
  });
});

/** An upgrade request by fetch (only for answers that are not an upgrade). */
function upgrade(server: TestServer, token: string, forwardedFor?: string) {
  return fetch(`${server.origin}/realtime/v1/websocket?apikey=${token}&vsn=2.0.0`, {
    headers: {
      upgrade: "websocket",
      connection: "upgrade",
      ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
    },
  });
}

/** Deno's WebSocket takes request headers (the DOM typings in deno.json do not say so). */
type WebSocketWithHeaders = new (url: string, options: { headers: HeadersInit }) => WebSocket;

/** A websocket as if forwarded by a proxy for `forwardedFor`. */
async function open(server: TestServer, token: string, forwardedFor: string): Promise<WebSocket> {
  const url = `${server.endpoint}/websocket?apikey=${token}&vsn=2.0.0`;
  const socket = new (WebSocket as unknown as WebSocketWithHeaders)(url, {
    headers: { "x-forwarded-for": forwardedFor },
  });
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("websocket failed to open"));
  });
  return socket;
}

async function shut(socket: WebSocket): Promise<void> {
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
  socket.close();
  await closed;
}
