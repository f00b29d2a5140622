/**
 * The realtime server refuses tokens whose `sub` is empty or not a uuid (edge/auth/subject.ts):
 * the stock realtime-js client cannot join with one, the socket is not opened with one as its
 * apikey, and REST broadcast answers 401.
 */
import assert from "node:assert/strict";
import type { RealtimeClient } from "@supabase/realtime-js";
import { createMemoryFeed } from "../../realtime/mod.ts";
import { testAuthorizer } from "./fixtures.ts";
import { client, closeClient, sign, startServer, subscribed } from "./support.ts";

Deno.test("realtime refuses tokens whose subject is empty or not a uuid", async (t) => {
  const server = await startServer({ feed: createMemoryFeed(), authorizer: testAuthorizer() });
  const clients: RealtimeClient[] = [];
  const open = (apikey: string) => {
    const c = client(server, { apikey });
    clients.push(c);
    return c;
  };
  try {
    const good = await sign({ sub: crypto.randomUUID() });
    await t.step("control: a uuid subject joins", async () => {
      await subscribed(open(good).channel("control"));
    });
    for (const sub of ["", "user_tan", "00000000-0000-0000-0000"]) {
      const bad = await sign({ sub });
      await t.step(`sub ${JSON.stringify(sub)}: realtime-js cannot join with it`, async () => {
        const c = open(good);
        const channel = c.channel("refused");
        c.setAuth(bad);
        await assert.rejects(() => subscribed(channel), /InvalidJWTToken: Invalid claim: sub/);
      });
      await t.step(`sub ${JSON.stringify(sub)}: no socket, no REST broadcast`, async () => {
        const ws = await fetch(`${server.origin}/realtime/v1/websocket?vsn=1.0.0&apikey=${bad}`, {
          headers: { upgrade: "websocket" },
        });
        assert.equal(ws.status, 403);
        await ws.body?.cancel();
        const rest = await fetch(`${server.origin}/realtime/v1/api/broadcast`, {
          method: "POST",
          headers: { authorization: `Bearer ${bad}`, "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ topic: "t", event: "e", payload: {} }] }),
        });
        assert.equal(rest.status, 401);
        assert.equal((await rest.json()).error.message, "Invalid claim: sub");
      });
    }
  } finally {
    for (const c of clients) await closeClient(c);
    await server.close();
  }
});
