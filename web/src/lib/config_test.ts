import assert from "node:assert/strict";
import { type PublicConfig, publicConfig, waitForConfig } from "./config.ts";

const CONFIG: PublicConfig = {
  anon_key: "anon",
  realtime_path: "/realtime/v1",
  environment: "test",
  vapid_public_key: null,
};

/** A loader that fails `failures` times, then answers; and a sleep that only records. */
function script(failures: number) {
  const delays: number[] = [];
  let calls = 0;
  return {
    delays,
    calls: () => calls,
    load: () => {
      calls++;
      return calls > failures ? Promise.resolve(CONFIG) : Promise.reject(new Error("offline"));
    },
    sleep: (ms: number) => {
      delays.push(ms);
      return Promise.resolve();
    },
  };
}

Deno.test("public config", async (t) => {
  await t.step("a config that loads at once is returned without waiting", async () => {
    const s = script(0);
    assert.equal(await waitForConfig(s), CONFIG);
    assert.deepEqual(s.delays, []);
  });

  await t.step("failures are retried, backing off 1, 2, 4… s up to the cap", async () => {
    const s = script(7);
    assert.equal(await waitForConfig(s), CONFIG);
    assert.equal(s.calls(), 8);
    assert.deepEqual(s.delays, [1_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000]);
    const board = script(7);
    await waitForConfig({ ...board, maxDelayMs: 30_000 });
    assert.deepEqual(board.delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  await t.step(
    "a caller that has gone gets null after the pause, and no more attempts",
    async () => {
      const s = script(Infinity);
      const waiting = waitForConfig({ ...s, cancelled: () => s.delays.length === 3 });
      assert.equal(await waiting, null);
      assert.equal(s.calls(), 3);
      assert.deepEqual(s.delays, [1_000, 2_000, 4_000]);
    },
  );

  await t.step("GET /api/config is fetched once per page, and again after a failure", async () => {
    const real = globalThis.fetch;
    const answers = [
      () => new Response("down", { status: 503 }),
      () => Response.json(CONFIG),
    ];
    const paths: string[] = [];
    globalThis.fetch = (input: RequestInfo | URL) => {
      paths.push(String(input));
      return Promise.resolve(answers[paths.length - 1]());
    };
    try {
      await assert.rejects(publicConfig());
      assert.deepEqual(await publicConfig(), CONFIG);
      assert.deepEqual(await publicConfig(), CONFIG);
      assert.deepEqual(paths, ["/api/config", "/api/config"]);
    } finally {
      globalThis.fetch = real;
    }
  });
});
