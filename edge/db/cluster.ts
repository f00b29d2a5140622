/**
 * An embedded PostgreSQL cluster: created on first use, reused afterwards, stopped cleanly.
 *
 * Runs the server binaries as the `postgres` OS user when the process is root (initdb
 * refuses root), listens on loopback only — TCP, and a Unix socket in its data directory that
 * the local app's pools use (no TCP stack per message: a few percent of CPU under load) — and
 * has `wal_level=logical` for the realtime server's replication slot.
 */

export interface ClusterOptions {
  /** Directory holding the cluster (PGDATA) and its password file. */
  dir: string;
  /** TCP port; a free one is picked when absent. */
  port?: number;
  /** Trade durability for speed (tests and benchmarks). */
  fast?: boolean;
  /** The bootstrap superuser's name (default `postgres`), fixed when the cluster is created. */
  superuser?: string;
}

export interface Cluster {
  /** Superuser connection URL to the `postgres` database (as `ClusterOptions.superuser`). */
  url: string;
  port: number;
  password: string;
  /** Connection URL for another database of the cluster. */
  urlFor(database: string): string;
  /**
   * The server's Unix socket (postgres.js `path`), when it has one: same server, same
   * authentication as the URLs. Absent when the data directory's path is too long for one.
   */
  socket?: string;
  stop(): Promise<void>;
}

const asRoot = Deno.uid() === 0;

/** Finds the PostgreSQL server binaries: PATH first, then Debian's versioned directory. */
export async function pgBin(name: string): Promise<string> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && await exists(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch { /* not installed */ }
  for (const v of versions.sort((a, b) => b - a)) {
    const path = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (await exists(path)) return path;
  }
  throw new Error(`PostgreSQL binary '${name}' not found: install PostgreSQL 15 or newer`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function run(name: string, args: string[], quiet = false): Promise<string> {
  const bin = await pgBin(name);
  const [cmd, cmdArgs] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  const out = await new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success && !quiet) throw new Error(`${name} ${args.join(" ")} failed:\n${text}`);
  return out.success ? text : `__failed__${text}`;
}

/** A TCP port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function settings(fast: boolean): string {
  const lines = [
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    "wal_level = logical",
    "max_wal_senders = 20",
    "max_replication_slots = 20",
    // Guard against an abandoned replication slot filling the disk (see README).
    "max_slot_wal_keep_size = '2GB'",
    "max_connections = 400",
    "shared_buffers = '256MB'",
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    "logging_collector = off",
    "log_min_messages = warning",
  ];
  if (fast) lines.push("fsync = off", "synchronous_commit = off", "full_page_writes = off");
  return lines.join("\n") + "\n";
}

async function init(
  pgdata: string,
  passwordFile: string,
  fast: boolean,
  superuser: string,
): Promise<void> {
  await Deno.mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (asRoot) await chownPostgres(pgdata);
  const pwfile = `${pgdata}.pwfile`;
  await Deno.writeTextFile(pwfile, await Deno.readTextFile(passwordFile));
  if (asRoot) await chownPostgres(pwfile);
  try {
    await run("initdb", [
      "-D",
      pgdata,
      "-U",
      superuser,
      "--auth=scram-sha-256",
      `--pwfile=${pwfile}`,
      "--encoding=UTF8",
      "--no-locale",
    ]);
  } finally {
    await Deno.remove(pwfile).catch(() => {});
  }
  const conf = `${pgdata}/postgresql.conf`;
  await Deno.writeTextFile(conf, settings(fast), { append: true });
}

async function chownPostgres(path: string): Promise<void> {
  const out = await new Deno.Command("chown", { args: ["-R", "postgres:postgres", path] }).output();
  if (!out.success) throw new Error(`chown ${path} failed`);
}

/** The port of a server that is still running on this data directory, if any. */
async function runningPort(pgdata: string): Promise<number | undefined> {
  const status = await run("pg_ctl", ["status", "-D", pgdata], true);
  if (status.startsWith("__failed__")) return undefined;
  const pid = await Deno.readTextFile(`${pgdata}/postmaster.pid`).catch(() => "");
  const port = Number(pid.split("\n")[3]);
  return Number.isFinite(port) && port > 0 ? port : undefined;
}

/** Creates (first run) or reuses the cluster under `dir`, and starts it. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const dir = options.dir;
  const pgdata = `${dir}/pg`;
  const passwordFile = `${dir}/pg_password`;
  await Deno.mkdir(dir, { recursive: true });
  if (asRoot) {
    // The postgres user must be able to reach the data directory.
    await Deno.chmod(dir, 0o755);
  }
  if (!await exists(passwordFile)) {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    const password = btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "x");
    await Deno.writeTextFile(passwordFile, password, { mode: 0o600 });
  }
  const password = (await Deno.readTextFile(passwordFile)).trim();
  const superuser = options.superuser ?? "postgres";
  if (!await exists(`${pgdata}/PG_VERSION`)) {
    await Deno.remove(pgdata, { recursive: true }).catch(() => {});
    await init(pgdata, passwordFile, options.fast ?? false, superuser);
  }

  let port = await runningPort(pgdata);
  const socketDir = usableSocketDir(pgdata);
  if (port === undefined) {
    // A stale postmaster.pid from a killed run: pg_ctl start copes with it when the pid
    // is gone; remove it when it names a live process that is not a postmaster.
    await removeStalePid(pgdata);
    port = options.port ?? freePort();
    await run("pg_ctl", [
      "start",
      "-w",
      "-t",
      "60",
      "-D",
      pgdata,
      "-l",
      `${pgdata}/server.log`,
      "-o",
      `-p ${port}${socketDir ? ` -k '${socketDir}'` : ""}`,
    ]);
  }
  const socket = socketDir && await exists(`${socketDir}/.s.PGSQL.${port}`)
    ? `${socketDir}/.s.PGSQL.${port}`
    : undefined;

  const urlFor = (database: string) =>
    `postgres://${superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor("postgres"),
    port,
    password,
    urlFor,
    socket,
    stop: async () => {
      await run("pg_ctl", ["stop", "-w", "-t", "60", "-m", "fast", "-D", pgdata], true);
    },
  };
}

/** The data directory as the socket's directory, unless its path cannot hold one. */
function usableSocketDir(pgdata: string): string | undefined {
  const path = pgdata.startsWith("/") ? pgdata : `${Deno.cwd()}/${pgdata}`;
  // sun_path holds 107 bytes; the name adds up to 16 (`/.s.PGSQL.65535`).
  return path.length <= 90 && !/['\s]/.test(path) ? path : undefined;
}

async function removeStalePid(pgdata: string): Promise<void> {
  const pidFile = `${pgdata}/postmaster.pid`;
  const text = await Deno.readTextFile(pidFile).catch(() => "");
  const pid = Number(text.split("\n")[0]);
  if (!pid) return;
  const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
  if (!cmdline.includes("postgres")) await Deno.remove(pidFile).catch(() => {});
}

/** Stops the cluster and deletes its directory. */
export async function destroyCluster(cluster: Cluster, dir: string): Promise<void> {
  await cluster.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
