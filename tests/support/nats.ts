/**
 * nats-server for tests: one server with JetStream (file storage in a temp dir) or a 3-server
 * cluster with routes (R3 streams), on free 127.0.0.1 ports. Each server can be stopped, killed
 * with SIGKILL and restarted on the same ports and store. Every wait is bounded; `close()` ends
 * the processes and removes the stores, so Deno's sanitizers see nothing left behind.
 */
import { freePort } from "../../edge/db/cluster.ts";

const READY_MS = 20_000;
const STOP_MS = 10_000;

export interface NatsServer {
  readonly name: string;
  /** Client port and URL (`nats://127.0.0.1:<port>`); both stay the same across restarts. */
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  readonly running: boolean;
  /** The process id while it runs (for CPU accounting in benchmarks). */
  readonly pid: number | undefined;
  /** Graceful stop (SIGTERM), escalating to SIGKILL if it does not end in time. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown, the store is left as a crash leaves it. */
  kill(): Promise<void>;
  /** Starts again on the same ports and store and waits until it is ready. */
  restart(): Promise<void>;
  /** The server's log, for failure messages. */
  log(): Promise<string>;
}

export interface NatsCluster {
  readonly servers: NatsServer[];
  /** Every member's client URL (a client given all of them fails over between them). */
  readonly urls: string[];
  close(): Promise<void>;
}

/** The nats-server binary: $NATS_SERVER, or the Debian package's, or the first on PATH. */
export async function natsServerBin(): Promise<string> {
  const candidates = [
    Deno.env.get("NATS_SERVER"),
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    ...(Deno.env.get("PATH") ?? "").split(":").map((dir) => `${dir}/nats-server`),
  ];
  for (const path of candidates) {
    if (!path) continue;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not here; try the next one
    }
  }
  throw new Error("nats-server not found: run .ci/setup (Debian package nats-server)");
}

interface Ports {
  client: number;
  monitor: number;
  route?: number;
}

class Server implements NatsServer {
  #child?: Deno.ChildProcess;

  constructor(
    readonly name: string,
    readonly storeDir: string,
    private readonly bin: string,
    private readonly ports: Ports,
    private readonly routes: number[],
  ) {}

  get port(): number {
    return this.ports.client;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.ports.client}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #args(): string[] {
    const args = [
      "--addr",
      "127.0.0.1",
      "--port",
      String(this.ports.client),
      "--http_port",
      String(this.ports.monitor),
      "--server_name",
      this.name,
      "--jetstream",
      "--store_dir",
      `${this.storeDir}/js`,
      "--log",
      `${this.storeDir}/server.log`,
    ];
    if (this.ports.route !== undefined) {
      args.push(
        "--cluster_name",
        "test",
        "--cluster",
        `nats://127.0.0.1:${this.ports.route}`,
        "--routes",
        this.routes.map((port) => `nats://127.0.0.1:${port}`).join(","),
      );
    }
    return args;
  }

  spawn(): void {
    if (this.#child) throw new Error(`${this.name} is already running`);
    this.#child = new Deno.Command(this.bin, {
      args: this.#args(),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  /** Waits until the server answers /healthz (for a cluster member: JetStream is current). */
  async ready(): Promise<void> {
    const deadline = Date.now() + READY_MS;
    let last = "";
    while (Date.now() < deadline) {
      if (!this.#child) throw new Error(`${this.name} is not running`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.ports.monitor}/healthz`);
        last = await res.text();
        if (res.ok) return;
      } catch (error) {
        last = String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${this.name} not ready after ${READY_MS} ms (${last}):\n${await this.log()}`);
  }

  async #end(signal: Deno.Signal): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch {
      // already exited
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), STOP_MS);
    });
    const outcome = await Promise.race([child.status, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      child.kill("SIGKILL");
      await child.status;
    }
  }

  stop(): Promise<void> {
    return this.#end("SIGTERM");
  }

  kill(): Promise<void> {
    return this.#end("SIGKILL");
  }

  async restart(): Promise<void> {
    await this.#end("SIGTERM");
    this.spawn();
    await this.ready();
  }

  async log(): Promise<string> {
    try {
      return await Deno.readTextFile(`${this.storeDir}/server.log`);
    } catch {
      return "(no log)";
    }
  }
}

/** One nats-server with JetStream on a free port; `close()` stops it and removes its store. */
export async function startNats(): Promise<NatsServer & { close(): Promise<void> }> {
  const bin = await natsServerBin();
  const dir = await Deno.makeTempDir({ prefix: "clinic-nats-" });
  const server = new Server("n1", dir, bin, { client: freePort(), monitor: freePort() }, []);
  const close = async () => {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    server.spawn();
    await server.ready();
  } catch (error) {
    await close();
    throw error;
  }
  return Object.assign(server, { close });
}

/**
 * `size` nats-servers (3 by default) routed to each other in one JetStream cluster, each with
 * its own store. Ready once every member reports JetStream current (a meta leader is elected).
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const bin = await natsServerBin();
  const dir = await Deno.makeTempDir({ prefix: "clinic-nats-cluster-" });
  const ports = Array.from({ length: size }, () => ({
    client: freePort(),
    monitor: freePort(),
    route: freePort(),
  }));
  const routes = ports.map((p) => p.route);
  const servers: Server[] = [];
  for (const [i, p] of ports.entries()) {
    const storeDir = `${dir}/n${i + 1}`;
    await Deno.mkdir(storeDir);
    servers.push(new Server(`n${i + 1}`, storeDir, bin, p, routes.filter((r) => r !== p.route)));
  }
  const close = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  };
  try {
    for (const server of servers) server.spawn();
    await Promise.all(servers.map((s) => s.ready()));
  } catch (error) {
    await close();
    throw error;
  }
  return { servers, urls: servers.map((s) => s.url), close };
}
