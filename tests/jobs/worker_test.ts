/**
 * The job worker: runs jobs once, retries with backoff, buries a poison job after its attempts,
 * honours run_at, wakes on NOTIFY, completes transactionally only while holding the lease, and
 * takes over the job of a worker process killed mid-job once its lease has expired.
 */
import assert from "node:assert/strict";
import { freshDatabase, type Sql } from "../support/db.ts";
import { killWhenPrinted } from "../support/process.ts";
import {
  backoffDelay,
  enqueue,
  type Handlers,
  LeaseLostError,
  PermanentJobError,
  RetryLaterError,
  startWorker,
  type WorkerOptions,
} from "../../edge/jobs/mod.ts";

const quiet = { log: () => {} };

async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function job(sql: Sql, id: string | null) {
  const [row] = await sql`
    select status::text as status, attempts, last_error, run_at, finished_at, locked_by
    from public.jobs where id = ${id}`;
  return row;
}

/** A worker of `options` (no recurring jobs) while `fn` runs. */
async function withWorker<T>(
  options: Omit<WorkerOptions, "schedules">,
  fn: () => Promise<T>,
): Promise<T> {
  const worker = startWorker({ ...quiet, schedules: [], ...options });
  await worker.ready;
  try {
    return await fn();
  } finally {
    await worker.stop({ graceMs: 2_000 });
  }
}

Deno.test("backoff doubles per attempt, is capped, and is jittered within [d/2, d]", () => {
  const b = { baseMs: 100, maxMs: 1_000 };
  assert.equal(backoffDelay(1, b, () => 0), 50);
  assert.equal(backoffDelay(1, b, () => 1), 100);
  assert.equal(backoffDelay(3, b, () => 1), 400);
  assert.equal(backoffDelay(10, b, () => 1), 1_000);
  assert.equal(backoffDelay(10, b, () => 0), 500);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, b);
    assert.ok(d >= 100 && d <= 200, `jittered ${d}`);
  }
});

Deno.test("every job runs once and succeeds", async () => {
  await using db = await freshDatabase();
  const seen = new Map<string, number>();
  const handlers: Handlers = {
    "test.count": (job) => {
      seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
    },
  };
  const ids = [];
  for (let i = 0; i < 50; i++) ids.push(await enqueue(db.sql, "test.count", { i }));
  await withWorker({ sql: db.sql, handlers, concurrency: 8, pollMs: 50 }, async () => {
    await until("all jobs", async () => {
      const [r] = await db.sql`
        select count(*)::int as n from public.jobs where status = 'succeeded'`;
      return r.n === 50;
    });
  });
  assert.equal(seen.size, 50);
  for (const id of ids) assert.equal(seen.get(id!), 1);
  const rows = await db.sql`select distinct attempts, locked_by from public.jobs`;
  assert.deepEqual(rows.map((r) => ({ ...r })), [{ attempts: 1, locked_by: null }]);
});

Deno.test("a failing job is retried with backoff and then succeeds", async () => {
  await using db = await freshDatabase();
  const attempts: number[] = [];
  const handlers: Handlers = {
    "test.flaky": (job) => {
      attempts.push(performance.now());
      if (job.attempts < 3) throw new Error(`flaky attempt ${job.attempts}`);
    },
  };
  const id = await enqueue(db.sql, "test.flaky");
  await withWorker(
    { sql: db.sql, handlers, pollMs: 20, backoff: { baseMs: 200, maxMs: 5_000 } },
    async () => {
      await until("success", async () => (await job(db.sql, id)).status === "succeeded");
    },
  );
  const row = await job(db.sql, id);
  assert.equal(row.attempts, 3);
  assert.match(row.last_error, /flaky attempt 2/, "the last error stays for the record");
  assert.equal(attempts.length, 3);
  // Retry 1 waits at least base/2, retry 2 at least base (equal jitter).
  assert.ok(attempts[1] - attempts[0] >= 100, `first retry after ${attempts[1] - attempts[0]}`);
  assert.ok(attempts[2] - attempts[1] >= 200, `second retry after ${attempts[2] - attempts[1]}`);
});

Deno.test("a poison job ends dead after max attempts with its last error", async () => {
  await using db = await freshDatabase();
  let runs = 0;
  const handlers: Handlers = {
    "test.poison": (job) => {
      runs++;
      throw new Error(`cannot process (attempt ${job.attempts})`);
    },
  };
  const id = await enqueue(db.sql, "test.poison", {}, { maxAttempts: 3 });
  await withWorker(
    { sql: db.sql, handlers, pollMs: 20, backoff: { baseMs: 10, maxMs: 50 } },
    async () => {
      await until("dead", async () => (await job(db.sql, id)).status === "dead");
    },
  );
  const row = await job(db.sql, id);
  assert.equal(row.attempts, 3);
  assert.equal(runs, 3);
  assert.match(row.last_error, /Error: cannot process \(attempt 3\)/);
  assert.ok(row.finished_at);
  assert.equal(row.locked_by, null);
});

Deno.test("a PermanentJobError is dead at once; an unknown kind is retried", async () => {
  await using db = await freshDatabase();
  const handlers: Handlers = {
    "test.permanent": () => {
      throw new PermanentJobError("bad payload");
    },
  };
  const permanent = await enqueue(db.sql, "test.permanent");
  const unknown = await enqueue(db.sql, "test.nobody", {}, { maxAttempts: 2 });
  // A kind named like an Object method is no handler either.
  const inherited = await enqueue(db.sql, "toString", {}, { maxAttempts: 2 });
  await withWorker(
    { sql: db.sql, handlers, pollMs: 20, backoff: { baseMs: 10, maxMs: 20 } },
    async () => {
      await until("all dead", async () => {
        const rows = await db.sql`select count(*)::int as n from public.jobs where status = 'dead'`;
        return rows[0].n === 3;
      });
    },
  );
  assert.equal((await job(db.sql, permanent)).attempts, 1);
  for (const [id, kind] of [[unknown, "test.nobody"], [inherited, "toString"]]) {
    const u = await job(db.sql, id);
    assert.equal(u.attempts, 2);
    assert.match(u.last_error, new RegExp(`no handler for job kind '${kind}'`));
  }
});

Deno.test("RetryLaterError: no sooner than its delay; a wait gives its attempt back", async () => {
  await using db = await freshDatabase();
  const handlers: Handlers = {
    "test.retry_after": () => {
      throw new RetryLaterError("provider said 429", 60_000);
    },
    "test.wait_turn": () => {
      throw new RetryLaterError("rate limit: not yet", 45_000, false);
    },
  };
  // Both on their last attempt: the 429 one dies of it, the one waiting its turn does not.
  const retried = await enqueue(db.sql, "test.retry_after", {}, { maxAttempts: 2 });
  const last = await enqueue(db.sql, "test.retry_after", {}, { maxAttempts: 1 });
  const waiting = await enqueue(db.sql, "test.wait_turn", {}, { maxAttempts: 1 });
  const before = Date.now();
  await withWorker(
    { sql: db.sql, handlers, pollMs: 20, backoff: { baseMs: 10, maxMs: 20 } },
    async () => {
      await until("all three handled", async () => {
        const rows = await db.sql`
          select count(*)::int as n from public.jobs where last_error is not null`;
        return rows[0].n === 3;
      });
    },
  );
  const r = await job(db.sql, retried);
  assert.deepEqual([r.status, r.attempts], ["queued", 1]);
  assert.ok(r.run_at.getTime() >= before + 60_000, "not before the provider's delay");
  assert.equal((await job(db.sql, last)).status, "dead");
  const w = await job(db.sql, waiting);
  assert.deepEqual([w.status, w.attempts], ["queued", 0]);
  assert.ok(w.run_at.getTime() >= before + 45_000);
  assert.match(w.last_error, /RetryLaterError: rate limit: not yet/);
});

Deno.test("run_at is honoured", async () => {
  await using db = await freshDatabase();
  let startedAt = 0;
  const handlers: Handlers = {
    "test.later": () => {
      startedAt = Date.now();
    },
  };
  const runAt = new Date(Date.now() + 400);
  const id = await enqueue(db.sql, "test.later", {}, { runAt });
  await withWorker({ sql: db.sql, handlers, pollMs: 50 }, async () => {
    await until("ran", async () => (await job(db.sql, id)).status === "succeeded");
  });
  assert.ok(startedAt >= runAt.getTime(), "not started before its run_at");
});

Deno.test("NOTIFY wakes an idle worker (no polling)", async () => {
  await using db = await freshDatabase();
  let ran = false;
  const handlers: Handlers = {
    "test.wake": () => {
      ran = true;
    },
  };
  await withWorker({ sql: db.sql, handlers, pollMs: 600_000 }, async () => {
    // The first poll found nothing; from here on only a notification can wake the worker.
    await new Promise((r) => setTimeout(r, 100));
    const id = await db.sql.begin((tx) => enqueue(tx, "test.wake"));
    await until("ran", async () => (await job(db.sql, id)).status === "succeeded", 10_000);
  });
  assert.ok(ran);
});

Deno.test("concurrent enqueuers send one NOTIFY; the worker's follow-up claim takes the rest", async () => {
  await using db = await freshDatabase();
  const heard: string[] = [];
  const { unlisten } = await db.sql.listen("jobs", (queue) => heard.push(queue));
  const ran: number[] = [];
  const handlers: Handlers = {
    "test.pair": (job) => {
      ran.push(job.payload.n as number);
    },
  };
  try {
    // No polling: only a notification or the follow-up claim can start a job.
    const options = { sql: db.sql, handlers, pollMs: 600_000, followUpMs: 1_000 };
    await withWorker(options, async () => {
      await new Promise((r) => setTimeout(r, 100));
      let commitFirst!: () => void;
      let commitSecond!: () => void;
      const first = new Promise<void>((r) => commitFirst = r);
      const second = new Promise<void>((r) => commitSecond = r);
      let firstEnqueued!: () => void;
      const firstIn = new Promise<void>((r) => firstEnqueued = r);
      const a = db.sql.begin(async (tx) => {
        await tx`select private.enqueue_job('test.pair', '{"n": 1}')`;
        firstEnqueued();
        await first;
      });
      await firstIn;
      let secondEnqueued!: () => void;
      const secondIn = new Promise<void>((r) => secondEnqueued = r);
      const b = db.sql.begin(async (tx) => {
        await tx`select private.enqueue_job('test.pair', '{"n": 2}')`; // the wake-up is taken
        secondEnqueued();
        await second;
      });
      await secondIn;
      // The one that notified commits first; the other right after it.
      commitFirst();
      await a;
      commitSecond();
      await b;
      await until("both ran", () => ran.length === 2);
    });
    assert.deepEqual(ran.sort(), [1, 2]);
    await until("the notification", () => heard.length >= 1);
    assert.deepEqual(heard, ["default"], "one NOTIFY for the two transactions");
  } finally {
    await unlisten();
  }
});

Deno.test("private.enqueue_job from SQL reaches the worker, and dedupe keys dedupe", async () => {
  await using db = await freshDatabase();
  const runs: unknown[] = [];
  const handlers: Handlers = {
    "test.sql": (job) => {
      runs.push(job.payload);
    },
  };
  await withWorker({ sql: db.sql, handlers, pollMs: 600_000 }, async () => {
    await new Promise((r) => setTimeout(r, 50));
    await db.sql`select private.enqueue_job('test.sql', '{"n": 1}', now(), null, 'k1')`;
    await db.sql`select private.enqueue_job('test.sql', '{"n": 2}', now(), null, 'k1')`;
    await until("ran", () => runs.length === 1);
    await new Promise((r) => setTimeout(r, 100));
  });
  assert.deepEqual(runs, [{ n: 1 }]);
});

Deno.test("ctx.complete commits the effect with the completion, only under the lease", async (t) => {
  await using db = await freshDatabase();
  await db.sql`create table public.test_effects (job_id bigint primary key, note text)`;

  await t.step("effect and completion commit together", async () => {
    const handlers: Handlers = {
      "test.tx": (job, ctx) =>
        ctx.complete((tx) => tx`insert into public.test_effects values (${job.id}, 'done')`),
    };
    const id = await enqueue(db.sql, "test.tx");
    await withWorker({ sql: db.sql, handlers, pollMs: 20 }, async () => {
      await until("done", async () => (await job(db.sql, id)).status === "succeeded");
    });
    const effects = await db.sql`select note from public.test_effects where job_id = ${id}`;
    assert.equal(effects.length, 1);
  });

  await t.step("a lost lease rolls the effect back", async () => {
    let error: unknown;
    const handlers: Handlers = {
      "test.stolen": async (job, ctx) => {
        // Another worker took the job meanwhile (its lease expired).
        await db.sql`update public.jobs set locked_by = 'someone-else' where id = ${job.id}`;
        try {
          await ctx.complete((tx) =>
            tx`insert into public.test_effects values (${job.id}, 'stolen')`
          );
        } catch (e) {
          error = e;
          throw e;
        }
      },
    };
    const id = await enqueue(db.sql, "test.stolen");
    await withWorker({ sql: db.sql, handlers, pollMs: 20 }, async () => {
      await until("handled", () => error !== undefined);
    });
    assert.ok(error instanceof LeaseLostError);
    const effects = await db.sql`select 1 from public.test_effects where job_id = ${id}`;
    assert.equal(effects.length, 0, "rolled back");
    const row = await job(db.sql, id);
    assert.equal(row.status, "running", "left to the worker that holds it now");
    assert.equal(row.locked_by, "someone-else");
  });
});

/**
 * The worker that takes over from a killed one: counts the runs of each job and completes it
 * with an effect row naming itself, in one transaction.
 */
function survivor(
  sql: Sql,
  leaseMs: number,
  runs: Map<string, number>,
  more: Partial<WorkerOptions> = {},
): Omit<WorkerOptions, "schedules"> {
  return {
    sql,
    handlers: {
      "test.crash": (job, ctx) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        return ctx.complete((tx) =>
          tx`insert into public.test_effects values (${job.id}, ${ctx.workerId})`
        );
      },
    },
    pollMs: 50,
    leaseMs,
    backoff: { baseMs: 10, maxMs: 10 },
    workerId: "survivor",
    ...more,
  };
}

Deno.test("a worker killed mid-job: the job completes once, after the lease", async () => {
  await using db = await freshDatabase();
  await db.sql`create table public.test_effects (job_id bigint, worker text)`;
  const id = await enqueue(db.sql, "test.crash", {}, { maxAttempts: 5 });
  const leaseMs = 1_500;

  await killWhenPrinted(
    new URL("./_crash_worker.ts", import.meta.url),
    [db.url, String(leaseMs)],
    `started ${id} attempt 1`,
  );
  const killed = await job(db.sql, id);
  assert.equal(killed.status, "running", "the dead worker still holds the lease");
  assert.equal(killed.attempts, 1);
  const [{ lease_left }] = await db.sql`
    select extract(epoch from locked_until - now()) * 1000 as lease_left
    from public.jobs where id = ${id}`;

  const runs = new Map<string, number>();
  const takenOver = Date.now();
  await withWorker(
    survivor(db.sql, leaseMs, runs),
    async () => {
      await until("completion", async () => (await job(db.sql, id)).status === "succeeded");
    },
  );
  const done = await job(db.sql, id);
  assert.equal(done.attempts, 2, "the crashed attempt counts");
  assert.match(done.last_error, /lease expired: worker .* stopped during attempt 1/);
  assert.equal(runs.get(id!), 1);
  const effects = await db.sql`select worker from public.test_effects where job_id = ${id}`;
  assert.deepEqual(effects.map((e) => e.worker), ["survivor"], "exactly once");
  assert.ok(
    Date.now() - takenOver >= Number(lease_left) - 50,
    "not taken before the lease expired",
  );
});

Deno.test("a job whose worker died on its last attempt is buried", async () => {
  await using db = await freshDatabase();
  const id = await enqueue(db.sql, "test.crash", {}, { maxAttempts: 1 });
  // As a crashed worker leaves it: claimed, attempt counted, lease run out.
  await db.sql`
    update public.jobs set status = 'running', attempts = 1, locked_by = 'ghost',
      locked_until = now() - interval '1 second'
    where id = ${id}`;
  await withWorker({ sql: db.sql, handlers: {}, pollMs: 20 }, async () => {
    await until("dead", async () => (await job(db.sql, id)).status === "dead");
  });
  const row = await job(db.sql, id);
  assert.equal(row.attempts, 1);
  assert.match(row.last_error, /lease expired: worker ghost/);
});

Deno.test("stop() waits for running jobs and re-queues those that outlive the grace", async () => {
  await using db = await freshDatabase();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const handlers: Handlers = {
    "test.slow": async (_job, ctx) => {
      await Promise.race([
        gate,
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true })
        ),
      ]);
    },
  };
  const id = await enqueue(db.sql, "test.slow");
  const worker = startWorker({ ...quiet, sql: db.sql, handlers, schedules: [], pollMs: 20 });
  await worker.ready;
  await until("running", async () => (await job(db.sql, id)).status === "running");
  await worker.stop({ graceMs: 100 });
  const row = await job(db.sql, id);
  assert.equal(row.status, "queued");
  assert.equal(row.locked_by, null);
  release();
});

Deno.test("claims ahead of the concurrency: the waiting jobs are leased, run once each, and go back unattempted on stop", async () => {
  await using db = await freshDatabase();
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const handlers: Handlers = {
    "test.gated": (job) => {
      started.push(job.id);
      return new Promise<void>((resolve) => gates.set(job.id, resolve));
    },
  };
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await enqueue(db.sql, "test.gated", { i }))!);
  const worker = startWorker({
    ...quiet,
    sql: db.sql,
    handlers,
    schedules: [],
    concurrency: 2,
    batchSize: 4,
    pollMs: 20,
    workerId: "ahead",
  });
  await worker.ready;
  await until("two running", () => started.length === 2);
  const held = await db.sql`
    select id::text from public.jobs where status = 'running' and locked_by = 'ahead'
    order by id`;
  assert.deepEqual(held.map((r) => r.id), ids.slice(0, 4), "one claim of 4: 2 run, 2 wait");
  assert.equal(worker.stats.claimed, 4);

  // A slot frees: a waiting job starts without another claim.
  gates.get(started[0])!();
  await until("third started", () => started.length === 3);
  assert.equal(started[2], ids[2]);

  // Stopping hands the job still waiting back with its attempt uncounted; the running ones
  // finish within the grace.
  const stopping = worker.stop({ graceMs: 5_000 });
  await until("waiting job released", async () => (await job(db.sql, ids[3])).status === "queued");
  for (const id of started) gates.get(id)!();
  await stopping;
  const waiting = await job(db.sql, ids[3]);
  assert.equal(waiting.attempts, 0);
  assert.equal(waiting.locked_by, null);
  assert.equal(waiting.last_error, null);
  for (const id of ids.slice(0, 3)) assert.equal((await job(db.sql, id)).status, "succeeded");
  assert.deepEqual(started, ids.slice(0, 3), "each started once, in claim order");
});

Deno.test("a worker killed between claim and completion: every job of its batch runs again after the lease, once", async () => {
  await using db = await freshDatabase();
  await db.sql`create table public.test_effects (job_id bigint, worker text)`;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await enqueue(db.sql, "test.crash", { i }))!);
  const leaseMs = 1_500;
  // One job running, two waiting in the worker, when it dies.
  await killWhenPrinted(
    new URL("./_crash_worker.ts", import.meta.url),
    [db.url, String(leaseMs), "3"],
    `started ${ids[0]} attempt 1`,
  );
  const killed = await db.sql`
    select status::text, attempts from public.jobs where id = any(${ids}::bigint[])`;
  assert.deepEqual(
    killed.map((r) => ({ ...r })),
    ids.map(() => ({ status: "running", attempts: 1 })),
  );

  const runs = new Map<string, number>();
  await withWorker(
    survivor(db.sql, leaseMs, runs, { batchSize: 10 }),
    async () => {
      await until("all completed", async () => {
        const [r] = await db.sql`
          select count(*)::int as n from public.jobs
          where id = any(${ids}::bigint[]) and status = 'succeeded'`;
        return r.n === 3;
      });
    },
  );
  for (const id of ids) {
    assert.equal(runs.get(id), 1);
    const row = await job(db.sql, id);
    assert.equal(row.attempts, 2, "the claim of the dead worker counts");
    assert.match(row.last_error, /lease expired/);
  }
  const effects = await db
    .sql`select job_id::text, worker from public.test_effects order by job_id`;
  assert.deepEqual(
    effects.map((e) => ({ ...e })),
    ids.map((id) => ({ job_id: id, worker: "survivor" })),
  );
});

Deno.test("an outcome counts only for the attempt that ran it: a job is never completed twice", async () => {
  await using db = await freshDatabase();
  const gates: (() => void)[] = [];
  const attempts: number[] = [];
  const handlers: Handlers = {
    "test.twice": (job) => {
      attempts.push(job.attempts);
      return new Promise<void>((resolve) => gates.push(resolve));
    },
  };
  const id = await enqueue(db.sql, "test.twice");
  const worker = startWorker({
    ...quiet,
    sql: db.sql,
    handlers,
    schedules: [],
    concurrency: 2,
    pollMs: 20,
    heartbeatMs: 600_000, // no heartbeat notices the lapse: the first attempt runs on
    backoff: { baseMs: 10, maxMs: 10 },
  });
  try {
    await worker.ready;
    await until("first attempt", () => attempts.length === 1);
    // Its lease lapses: the reaper re-queues the job and this same worker claims it again.
    await db
      .sql`update public.jobs set locked_until = now() - interval '1 second' where id = ${id}`;
    await until("second attempt", () => attempts.length === 2);
    assert.deepEqual(attempts, [1, 2]);

    // The first attempt ends: its success is not the second's.
    gates[0]();
    await new Promise((r) => setTimeout(r, 200));
    const during = await job(db.sql, id);
    assert.equal(during.status, "running");
    assert.equal(during.attempts, 2);
    assert.equal(worker.stats.succeeded, 0);

    gates[1]();
    await until("completed", async () => (await job(db.sql, id)).status === "succeeded");
    assert.equal(worker.stats.succeeded, 1);
  } finally {
    gates.forEach((open) => open());
    await worker.stop({ graceMs: 2_000 });
  }
});

Deno.test("outcomes recorded together: a failure touches only its own job; retry-at and death as alone", async () => {
  await using db = await freshDatabase();
  const handlers: Handlers = {
    "test.mixed": (job) => {
      const role = job.payload.role;
      if (role === "flaky") throw new Error("flaky");
      if (role === "permanent") throw new PermanentJobError("never");
    },
  };
  const roles = ["ok", "flaky", "ok", "permanent", "ok", "ok"];
  const ids: string[] = [];
  for (const role of roles) ids.push((await enqueue(db.sql, "test.mixed", { role }))!);
  const baseMs = 60_000; // the retry is due well after the test
  const worker = startWorker({
    ...quiet,
    sql: db.sql,
    handlers,
    schedules: [],
    concurrency: 6,
    pollMs: 20,
    backoff: { baseMs, maxMs: baseMs },
  });
  try {
    await worker.ready;
    await until(
      "all recorded",
      () => worker.stats.succeeded + worker.stats.retried + worker.stats.dead === roles.length,
    );
  } finally {
    await worker.stop({ graceMs: 2_000 });
  }
  assert.deepEqual({ ...worker.stats, reaped: 0 }, {
    claimed: 6,
    succeeded: 4,
    retried: 1,
    dead: 1,
    reaped: 0,
  });
  const rows = await db.sql`
    select id::text, status::text, attempts, last_error, locked_by,
      extract(epoch from run_at - updated_at) * 1000 as retry_in_ms, finished_at is not null as finished
    from public.jobs order by id`;
  rows.forEach((row, i) => {
    assert.equal(row.id, ids[i]);
    assert.equal(row.attempts, 1);
    assert.equal(row.locked_by, null);
    if (roles[i] === "ok") {
      assert.equal(row.status, "succeeded");
      assert.equal(row.last_error, null);
      assert.ok(row.finished);
    } else if (roles[i] === "flaky") {
      assert.equal(row.status, "queued");
      assert.match(row.last_error, /Error: flaky/);
      assert.ok(!row.finished);
      // Equal jitter: between half the delay and the delay, from when the failure was recorded.
      assert.ok(row.retry_in_ms >= baseMs / 2 && row.retry_in_ms <= baseMs, `${row.retry_in_ms}`);
    } else {
      assert.equal(row.status, "dead");
      assert.match(row.last_error, /PermanentJobError: never/);
      assert.ok(row.finished);
    }
  });
});
