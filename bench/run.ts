/**
 * `deno task bench`: runs every benchmark in `bench/<name>/main.ts` (or the ones named on the
 * command line) against an ephemeral PostgreSQL cluster and writes docs/BENCHMARKS.md with the
 * machine and date. Figures are measured, never asserted.
 */
import postgres from "postgres";
import { destroyCluster, startCluster } from "../edge/db/cluster.ts";
import { migrate } from "../edge/db/migrate.ts";
import { seed } from "../edge/db/seed.ts";
import type { Bench, BenchContext, BenchResult } from "./support.ts";

const root = new URL("..", import.meta.url);
const names: string[] = [];
for await (const entry of Deno.readDir(new URL("bench/", root))) {
  if (entry.isDirectory) {
    try {
      await Deno.stat(new URL(`bench/${entry.name}/main.ts`, root));
      names.push(entry.name);
    } catch { /* not a benchmark */ }
  }
}
const selected = Deno.args.length ? names.filter((n) => Deno.args.includes(n)) : names.sort();

async function machine(): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const memGiB = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(0);
  const pg = await new Deno.Command("postgres", { args: ["--version"] }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "PostgreSQL");
  return `${model}, ${cores} cores, ${memGiB} GiB RAM; Deno ${Deno.version.deno}; ${pg}; ${Deno.build.os}/${Deno.build.arch}`;
}

const dir = await Deno.makeTempDir({ prefix: "clinic-bench-pg-" });
const cluster = await startCluster({ dir });
const results: BenchResult[] = [];
try {
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  for (const [name, withSeed] of [["bench_blank", false], ["bench_seeded", true]] as const) {
    await admin.unsafe(`create database ${name}`);
    const sql = postgres(cluster.urlFor(name), { max: 1, onnotice: () => {} });
    await migrate(sql);
    if (withSeed) await seed(sql);
    await sql.end();
  }
  let counter = 0;
  const ctx: BenchContext = {
    async freshDatabase(options = {}) {
      const name = `b_${counter++}_${Date.now().toString(36)}`;
      await admin.unsafe(
        `create database ${name} template ${options.seed ? "bench_seeded" : "bench_blank"}`,
      );
      const url = cluster.urlFor(name);
      const socket = cluster.socket;
      const sql = postgres(url, { max: options.max ?? 20, path: socket, onnotice: () => {} });
      return {
        url,
        socket,
        sql,
        drop: async () => {
          await sql.end();
          await admin.unsafe(`drop database if exists ${name} with (force)`);
        },
      };
    },
  };
  for (const name of selected) {
    console.log(`\n### bench/${name}`);
    const mod = await import(new URL(`bench/${name}/main.ts`, root).href) as { default: Bench };
    const result = await mod.default(ctx);
    console.log(result.markdown);
    results.push(result);
  }
  await admin.end();
} finally {
  await destroyCluster(cluster, dir);
}

const file = new URL("docs/BENCHMARKS.md", root);
const previous = await Deno.readTextFile(file).catch(() => "");
const sections = new Map<string, string>();
for (const chunk of previous.split(/^## /m).slice(1)) {
  const newline = chunk.indexOf("\n");
  sections.set(chunk.slice(0, newline).trim(), chunk.slice(newline + 1).trim());
}
const stamp = `_Measured ${new Date().toISOString().slice(0, 10)} on ${await machine()}._`;
for (const result of results) sections.set(result.title, `${stamp}\n\n${result.markdown.trim()}`);
const body = [...sections.entries()].map(([title, text]) => `## ${title}\n\n${text}\n`).join("\n");
await Deno.mkdir(new URL("docs/", root), { recursive: true });
await Deno.writeTextFile(
  file,
  `# Benchmarks\n\nWritten by \`deno task bench\` (\`deno task bench <name>\` runs one). ` +
    `Each section says when and on what machine it was measured.\n\n${body}`,
);
console.log(`\nwrote ${file.pathname}`);
