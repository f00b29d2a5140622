/**
 * `deno task start` as a user runs it: first start creates the embedded cluster, migrates,
 * seeds and serves /api/health; Ctrl-C stops server and cluster; a second start reuses the
 * cluster; a killed run (stale postmaster.pid, or a postmaster left running) is handled. The
 * app's pools reach the embedded cluster over its Unix socket.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { freePort, pgBin } from "../edge/db/cluster.ts";

const root = new URL("..", import.meta.url).pathname;

interface Started {
  child: Deno.ChildProcess;
  output: () => string;
  port: number;
}

async function start(dataDir: string): Promise<Started> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}edge/start.ts`],
    env: { DATA_DIR: dataDir, PORT: String(port), APP_ENV: "development", HOST: "127.0.0.1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const deadline = Date.now() + 90_000;
  while (!text.includes("Serving on")) {
    if (Date.now() > deadline) throw new Error(`start did not come up:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const started = { child, output: () => text, port, pumps };
  return started;
}

async function stop(started: Started, signal: Deno.Signal): Promise<Deno.CommandStatus> {
  started.child.kill(signal);
  const status = await started.child.status;
  await (started as unknown as { pumps: Promise<unknown> }).pumps;
  return status;
}

async function pgRunning(dataDir: string): Promise<boolean> {
  const bin = await pgBin("pg_ctl");
  const [cmd, args] = Deno.uid() === 0
    ? ["runuser", ["-u", "postgres", "--", bin, "status", "-D", `${dataDir}/pg`]]
    : [bin, ["status", "-D", `${dataDir}/pg`]];
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
  return out.success;
}

async function health(port: number): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}/api/health`);
  return await res.json();
}

Deno.test("deno task start: create, stop cleanly, reuse, survive a killed run", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "clinic-start-" });
  try {
    await t.step("first start creates the cluster, migrates, seeds and serves", async () => {
      const s = await start(dataDir);
      const up = await health(s.port) as { status: string; notify: Record<string, string> };
      assert.equal(up.status, "healthy");
      assert.deepEqual(up.notify, {
        email: "development",
        sms: "development",
        whatsapp: "development",
        push: "web-push",
      }, "each channel's transport (web push with the generated development VAPID keys)");
      assert.match(s.output(), /Notifications: email via development, sms via development/);
      assert.match(s.output(), /Migrations: applied/);
      assert.match(s.output(), /Seed: demo data loaded/);
      // The API's pools use the cluster's Unix socket (no TCP connection of theirs).
      const socket = `${dataDir}/pg/.s.PGSQL.${/127\.0\.0\.1:(\d+)/.exec(s.output())![1]}`;
      assert.ok(s.output().includes(` and ${socket}`), s.output());
      const password = (await Deno.readTextFile(`${dataDir}/pg_password`)).trim();
      const db = postgres({ path: socket, user: "postgres", password, database: "clinic", max: 1 });
      try {
        const [{ n }] = await db`
          select count(*)::int as n from pg_stat_activity
          where datname = 'clinic' and backend_type = 'client backend' and client_addr is null
            and pid <> pg_backend_pid()`;
        assert.ok(n >= 1, "the API's connections come over the socket");
      } finally {
        await db.end();
      }
      const status = await stop(s, "SIGINT");
      assert.equal(status.code, 0, s.output());
      assert.match(s.output(), /Stopped\./);
      assert.equal(await pgRunning(dataDir), false, "Ctrl-C stops the cluster");
    });

    await t.step("a second start reuses the cluster and its data", async () => {
      const s = await start(dataDir);
      assert.match(s.output(), /Migrations: up to date/);
      assert.doesNotMatch(s.output(), /Seed: demo data loaded/);
      assert.equal((await health(s.port) as { status: string }).status, "healthy");
      await stop(s, "SIGINT");
    });

    await t.step(
      "a killed run leaves the postmaster running: the next start reuses it",
      async () => {
        const s = await start(dataDir);
        await stop(s, "SIGKILL");
        assert.equal(await pgRunning(dataDir), true);
        const again = await start(dataDir);
        assert.equal((await health(again.port) as { status: string }).status, "healthy");
        await stop(again, "SIGINT");
        assert.equal(await pgRunning(dataDir), false);
      },
    );

    await t.step("a stale postmaster.pid from a killed cluster is handled", async () => {
      const s = await start(dataDir);
      const pid = Number((await Deno.readTextFile(`${dataDir}/pg/postmaster.pid`)).split("\n")[0]);
      await stop(s, "SIGKILL");
      Deno.kill(pid, "SIGKILL"); // the postmaster dies too; its pid file stays behind
      for (let i = 0; i < 50 && await pgRunning(dataDir); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(await Deno.stat(`${dataDir}/pg/postmaster.pid`).then(() => true, () => false));
      const again = await start(dataDir);
      assert.equal((await health(again.port) as { status: string }).status, "healthy");
      await stop(again, "SIGINT");
    });
  } finally {
    if (await pgRunning(dataDir)) {
      const bin = await pgBin("pg_ctl");
      const args = ["stop", "-m", "immediate", "-D", `${dataDir}/pg`];
      await new Deno.Command(Deno.uid() === 0 ? "runuser" : bin, {
        args: Deno.uid() === 0 ? ["-u", "postgres", "--", bin, ...args] : args,
        stdout: "null",
        stderr: "null",
      }).output();
    }
    await Deno.remove(dataDir, { recursive: true });
  }
});
