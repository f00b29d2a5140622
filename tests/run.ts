/**
 * `deno task test` runner: creates an ephemeral PostgreSQL cluster for this run, migrates two
 * template databases (blank and demo-seeded), runs every test against clones of them, removes
 * the cluster afterwards (also on failure or Ctrl-C) and ends with `N passed, N failed`.
 */
import postgres from "postgres";
import { destroyCluster, startCluster } from "../edge/db/cluster.ts";
import { migrate } from "../edge/db/migrate.ts";
import { seed } from "../edge/db/seed.ts";

const dir = await Deno.makeTempDir({ prefix: "clinic-test-pg-" });
const cluster = await startCluster({ dir, fast: true });
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await destroyCluster(cluster, dir);
}
Deno.addSignalListener("SIGINT", () => cleanup().then(() => Deno.exit(130)));
Deno.addSignalListener("SIGTERM", () => cleanup().then(() => Deno.exit(143)));

let code = 1;
try {
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  await admin.unsafe("create database app_blank");
  await admin.unsafe("create database app_seeded");
  for (const [name, withSeed] of [["app_blank", false], ["app_seeded", true]] as const) {
    const sql = postgres(cluster.urlFor(name), { max: 1, onnotice: () => {} });
    await migrate(sql);
    if (withSeed) await seed(sql);
    await sql.end();
  }
  await admin.end();

  const args = Deno.args.length ? Deno.args : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", ...args],
    env: {
      TEST_PG_URL: cluster.url,
      TEST_PG_PORT: String(cluster.port),
      TEST_PG_PASSWORD: cluster.password,
      APP_ENV: "test",
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4000);
  }
  const status = await child.status;
  code = status.code;
  // Deno's summary: "ok | 12 passed (40 steps) | 0 failed (3s)".
  // deno-lint-ignore no-control-regex
  const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
  const match = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(
    plain.split("\n").reverse().find((l) => / passed.*\| \d+ failed/.test(l)) ?? "",
  );
  await cleanup();
  console.log(match ? `${match[1]} passed, ${match[2]} failed` : `0 passed, 1 failed`);
  if (!match) code = code || 1;
} catch (error) {
  await cleanup();
  console.error(error);
  console.log("0 passed, 1 failed");
  code = 1;
}
Deno.exit(code);
