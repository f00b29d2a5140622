/**
 * edge/jobs/main.ts, the worker alone: it takes its configuration from the environment, knows
 * every job kind and recurring job of the service, and finishes on SIGTERM.
 */
import assert from "node:assert/strict";
import { serviceSchedules } from "../../edge/jobs/mod.ts";
import { freshDatabase } from "../support/db.ts";

const root = new URL("../..", import.meta.url).pathname;

Deno.test("edge/jobs/main.ts runs the service's recurring jobs and stops on SIGTERM", async () => {
  await using db = await freshDatabase();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${root}deno.json`, `${root}edge/jobs/main.ts`],
    env: { DATABASE_URL: db.url, APP_ENV: "test", WORKER_CONCURRENCY: "2" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  try {
    const until = async (what: string, probe: () => Promise<boolean> | boolean) => {
      for (let i = 0; i < 1200; i++) {
        if (await probe()) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`timed out waiting for ${what}:\n${out}`);
    };
    await until("the worker", () => out.includes("running (queues: default)"));
    await until("the recurring jobs", async () => {
      const [r] = await db.sql`
        select count(*) filter (where status not in ('succeeded', 'dead'))::int as open,
               count(*)::int as n
        from public.jobs`;
      return r.n >= serviceSchedules.length && r.open === 0;
    });
    const jobs = await db.sql`select kind, status::text as status from public.jobs`;
    assert.deepEqual(
      jobs.map((j) => [j.kind, j.status]).sort(),
      serviceSchedules.map((s) => [s.kind, "succeeded"]).sort(),
    );
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await pumps;
    assert.equal(status.code, 0, out);
  }
  assert.match(out, /SIGTERM: stopping the job worker/);
  assert.match(
    out,
    /Notifications: email via development, sms via development, whatsapp via development, push via development\n/,
    "the channels and their transports, at start-up",
  );
});
