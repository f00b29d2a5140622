/**
 * CPU accounting from /proc (Linux): per process, per thread, for a PostgreSQL cluster (its
 * postmaster and children, found by port), and for the whole machine. Used to say where the
 * cores went during a benchmark step — the server, the load generator, PostgreSQL, or other
 * work on the machine.
 */

const TICK = 100; // USER_HZ

function statFields(path: string): string[] | undefined {
  try {
    const text = Deno.readTextFileSync(path);
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // gone
  }
}

/** CPU seconds (user + system) of a process, all threads. */
export function processSeconds(pid: number): number {
  const f = statFields(`/proc/${pid}/stat`);
  return f ? (Number(f[11]) + Number(f[12])) / TICK : 0;
}

/** CPU seconds of one thread of a process. */
export function threadSeconds(pid: number, tid: number): number {
  const f = statFields(`/proc/${pid}/task/${tid}/stat`);
  return f ? (Number(f[11]) + Number(f[12])) / TICK : 0;
}

/** CPU seconds of the PostgreSQL cluster listening on `port` (postmaster and children). */
export function postgresSeconds(port: number): number {
  let postmaster: number | undefined;
  const procs: Array<{ pid: number; ppid: number }> = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const f = statFields(`/proc/${pid}/stat`);
    if (!f) continue;
    procs.push({ pid, ppid: Number(f[1]) });
    if (postmaster === undefined) {
      try {
        const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
        if (cmd[0].endsWith("postgres") && cmd.includes("-p") && cmd.includes(String(port))) {
          postmaster = pid;
        }
      } catch { /* gone */ }
    }
  }
  if (postmaster === undefined) return 0;
  let total = processSeconds(postmaster);
  for (const p of procs) if (p.ppid === postmaster) total += processSeconds(p.pid);
  return total;
}

/** Jiffies of the whole machine: [busy, total]. */
function machineJiffies(): [number, number] {
  const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3] + (cpu[4] ?? 0); // idle + iowait
  return [total - idle, total];
}

/** Samples CPU use between `start()` and `stop()`. */
export function cpuMeter(parts: Record<string, () => number>) {
  let before: Record<string, number> = {};
  let machine: [number, number] = [0, 0];
  let startedAt = 0;
  return {
    start() {
      before = Object.fromEntries(Object.entries(parts).map(([k, f]) => [k, f()]));
      machine = machineJiffies();
      startedAt = performance.now();
    },
    /** Cores used by each part (CPU seconds per second), and by the whole machine. */
    stop(): Record<string, number> & { machine: number } {
      const seconds = (performance.now() - startedAt) / 1000;
      const out: Record<string, number> = {};
      for (const [k, f] of Object.entries(parts)) out[k] = (f() - before[k]) / seconds;
      const [busy, total] = machineJiffies();
      out.machine = ((busy - machine[0]) / (total - machine[1])) * navigator.hardwareConcurrency;
      return out as Record<string, number> & { machine: number };
    },
  };
}
