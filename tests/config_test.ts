/**
 * The environment (edge/config.ts): each process kind's loader reads exactly the variables it
 * declares, README "Environment" marks the same ones in that kind's column, and a bad value
 * stops the start with a message naming the variable.
 */
import assert from "node:assert/strict";
import {
  type Env,
  loadConfig,
  loadRealtimeConfig,
  loadStartConfig,
  loadTwilioConfig,
  loadWorkerConfig,
  type ProcessKind,
  processVariables,
} from "../edge/config.ts";

const root = new URL("..", import.meta.url).pathname;
const kinds: ProcessKind[] = ["start", "api", "worker", "realtime"];

const loaders: Record<ProcessKind, (env: Env) => unknown> = {
  start: (env) =>
    loadStartConfig(env, {
      developmentSecret: () => "development-secret",
      developmentVapid: () => DEVELOPMENT_VAPID,
    }),
  api: (env) => loadConfig(env),
  worker: (env) => loadWorkerConfig(env),
  realtime: (env) => loadRealtimeConfig(env),
};

const DEVELOPMENT_VAPID = {
  publicKey:
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  privateKey: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  subject: "mailto:dev@localhost.invalid",
};

/** Just enough for each loader to succeed. */
const MINIMAL: Record<ProcessKind, Env> = {
  start: {},
  api: { JWT_SECRET: "x" },
  worker: { DATABASE_URL: "postgres://127.0.0.1/clinic" },
  realtime: { JWT_SECRET: "x" },
};

/** A valid value of every variable (a `<…>` family by one member), production-grade. */
const FULL: Env = {
  APP_ENV: "production",
  PORT: "8123",
  HOST: "127.0.0.1",
  DATABASE_URL: "postgres://clinic:pw@127.0.0.1:5432/clinic",
  DATABASE_SOCKET: "/run/postgresql/.s.PGSQL.5432",
  DATABASE_POOL_SIZE: "5",
  DATA_DIR: "/var/lib/clinic",
  PG_PORT: "5433",
  JWT_SECRET: "0123456789abcdef0123456789abcdef01234567",
  JWT_ISSUER: "clinic",
  JWKS_URL: "https://idp.example/.well-known/jwks.json",
  JWKS_ISSUER: "https://idp.example",
  JWKS_AUDIENCE: "clinic",
  TRUSTED_PROXIES: "10.0.0.0/8",
  PUBLIC_URL: "https://clinic.example",
  CORS_ORIGINS: "https://partner.example",
  ACCESS_TOKEN_TTL: "600",
  REFRESH_TOKEN_TTL: "3600",
  PASSWORD_ITERATIONS: "1000",
  BODY_LIMIT: "1000",
  WEBHOOK_BODY_LIMIT: "2000",
  REQUEST_TIMEOUT_MS: "5000",
  REALTIME_MAX_SOCKETS_PER_ADDRESS: "3",
  REALTIME_PORT: "4001",
  REALTIME_HOST: "127.0.0.1",
  REALTIME_SLOT: "realtime_clinic",
  REALTIME_CATCHUP_WINDOW_MS: "1000",
  REALTIME_SWEEP_MS: "100",
  WORKER_CONCURRENCY: "4",
  WORKER_QUEUES: "default,bulk",
  STRIPE_WEBHOOK_SECRETS: "whsec_a",
  STRIPE_WEBHOOK_SECRETS_GFC_TP: "whsec_b",
  TWILIO_AUTH_TOKEN: "token",
  TWILIO_AUTH_TOKEN_GFC_TP: "clinic-token",
  TWILIO_WEBHOOK_URL: "https://clinic.example/api/webhooks/twilio",
  TWILIO_ACCOUNT_SID: "AC" + "0".repeat(32),
  TWILIO_API_KEY_SID: "SK" + "1".repeat(32),
  TWILIO_API_KEY_SECRET: "key-secret",
  TWILIO_MESSAGING_SERVICE_SID: "MG" + "2".repeat(32),
  TWILIO_SMS_FROM: "+6560000000",
  TWILIO_WHATSAPP_FROM: "whatsapp:+6560000001",
  TWILIO_API_URL: "https://api.twilio.com",
  TWILIO_MESSAGES_PER_SECOND: "5",
  TWILIO_REQUEST_TIMEOUT_MS: "3000",
  STANDARD_WEBHOOK_SECRETS_CLERK: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
  WEBHOOK_DELIVERY_TIMEOUT_MS: "800",
  WEBHOOK_DISABLE_AFTER_HOURS: "1",
  WEBHOOK_ROTATION_GRACE_HOURS: "1",
  VAPID_PUBLIC_KEY:
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  VAPID_PRIVATE_KEY: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  VAPID_SUBJECT: "mailto:ops@clinic.example",
};

/** The variables `kind`'s loader reads from `env`, a family's members by the family's name. */
function reads(kind: ProcessKind, env: Env): Set<string> {
  const declared = processVariables[kind];
  const families = declared.filter((name) => name.includes("<"));
  const read = new Set<string>();
  const recorder = new Proxy(env, {
    get(target, name) {
      if (typeof name === "string") {
        const family = families.find((f) => name.startsWith(f.slice(0, f.indexOf("<"))));
        read.add(declared.includes(name) ? name : family ?? name);
      }
      return Reflect.get(target, name);
    },
  });
  loaders[kind](recorder);
  return read;
}

/** README "Environment": the variables marked in each kind's column. */
async function readmeVariables(): Promise<Record<string, string[]>> {
  const readme = await Deno.readTextFile(`${root}README.md`);
  const section = readme.split(/^## /m).find((s) => s.startsWith("Environment\n"));
  assert.ok(section, "README has an Environment section");
  const rows = section.split("\n").filter((line) => line.startsWith("|"))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
  const [header, _rule, ...body] = rows;
  const out: Record<string, string[]> = {};
  for (const row of body) {
    const names = [...row[0].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const marked = header.filter((kind, i) => kinds.includes(kind as ProcessKind) && row[i]);
    assert.ok(marked.length, `README: ${names.join(", ")} is read by no process kind`);
    for (const kind of marked) (out[kind] ??= []).push(...names);
  }
  return out;
}

Deno.test("each loader reads the variables it declares, and README lists them per kind", async () => {
  const readme = await readmeVariables();
  for (const kind of kinds) {
    const declared = [...processVariables[kind]].sort();
    const read = new Set([...reads(kind, MINIMAL[kind]), ...reads(kind, FULL)]);
    assert.deepEqual([...read].sort(), declared, `${kind}: read = declared`);
    assert.deepEqual([...readme[kind] ?? []].sort(), declared, `${kind}: README = declared`);
  }
});

Deno.test("the job worker alone: its settings, the transport by APP_ENV, fail-fast", () => {
  const url = "postgres://127.0.0.1/clinic";
  const worker = loadWorkerConfig({ DATABASE_URL: url, APP_ENV: "test" });
  assert.deepEqual(
    [worker.concurrency, worker.queues, worker.notifyTransport],
    [10, ["default"], "development"],
  );
  assert.ok(worker.webhooks.deliveryTimeoutMs > 0, "webhook settings always filled");
  const production = loadWorkerConfig({
    DATABASE_URL: url,
    APP_ENV: "production",
    WORKER_CONCURRENCY: "3",
    WORKER_QUEUES: " bulk , default ",
  });
  assert.deepEqual(
    [production.concurrency, production.queues, production.notifyTransport],
    [3, ["bulk", "default"], "none"],
  );
  assert.throws(() => loadWorkerConfig({}), /DATABASE_URL is required/);
  assert.throws(() => loadWorkerConfig({ DATABASE_URL: "localhost" }), /DATABASE_URL must be/);
  for (const bad of ["0", "ten", "-2", "1.5"]) {
    assert.throws(
      () => loadWorkerConfig({ DATABASE_URL: url, WORKER_CONCURRENCY: bad }),
      /WORKER_CONCURRENCY must be a whole number of at least 1/,
    );
  }
});

Deno.test("realtime alone: a secret or JWKS, its port, the shared secret rule", () => {
  assert.throws(() => loadRealtimeConfig({}), /JWT_SECRET \(or JWKS_URL\) is required/);
  const jwks = loadRealtimeConfig({ JWKS_URL: "https://idp.example/jwks" });
  assert.deepEqual([jwks.jwtSecret, jwks.port, jwks.host], [undefined, 4000, "127.0.0.1"]);
  assert.equal(loadRealtimeConfig({ JWT_SECRET: "x", PORT: "4100" }).port, 4100);
  assert.equal(
    loadRealtimeConfig({ JWT_SECRET: "x", PORT: "4100", REALTIME_PORT: "4200" }).port,
    4200,
  );
  assert.throws(
    () => loadRealtimeConfig({ JWT_SECRET: "x", REALTIME_PORT: "http" }),
    /REALTIME_PORT/,
  );
  assert.throws(() => loadRealtimeConfig({ JWT_SECRET: "x", REALTIME_SWEEP_MS: "0" }), /SWEEP/);
  assert.throws(
    () => loadRealtimeConfig({ JWT_SECRET: "x", TRUSTED_PROXIES: "proxy" }),
    /TRUSTED_PROXIES/,
  );
  assert.throws(
    () => loadRealtimeConfig({ APP_ENV: "production", JWT_SECRET: "secret" }),
    /JWT_SECRET is too weak/,
  );
});

Deno.test("realtime over NATS: off without NATS_URL; its role, stream and heartbeat checked", () => {
  const alone = loadRealtimeConfig({ JWT_SECRET: "x" });
  assert.deepEqual([alone.natsServers, alone.role, alone.stream], [[], "both", "realtime"]);
  const bus = {
    JWT_SECRET: "x",
    DATABASE_URL: "postgres://u@127.0.0.1/db",
    NATS_URL: "nats://127.0.0.1:4222, 127.0.0.1:4223",
  };
  const node = loadRealtimeConfig({ ...bus, REALTIME_ROLE: "node", REALTIME_HEARTBEAT_MS: "250" });
  assert.deepEqual(
    [node.natsServers, node.role, node.heartbeatMs, node.streamReplicas],
    [["nats://127.0.0.1:4222", "127.0.0.1:4223"], "node", 250, 1],
  );
  assert.throws(() => loadRealtimeConfig({ ...bus, REALTIME_ROLE: "leader" }), /REALTIME_ROLE/);
  assert.throws(() => loadRealtimeConfig({ ...bus, REALTIME_STREAM: "a.b" }), /REALTIME_STREAM/);
  assert.throws(
    () => loadRealtimeConfig({ ...bus, REALTIME_STREAM_REPLICAS: "0" }),
    /REALTIME_STREAM_REPLICAS/,
  );
  assert.throws(
    () => loadRealtimeConfig({ JWT_SECRET: "x", NATS_URL: "127.0.0.1:4222" }),
    /DATABASE_URL is required with NATS_URL/,
  );
});

Deno.test("deno task start: the development secret only outside production and when unset", () => {
  const asked: string[] = [];
  const developmentSecret = (dataDir: string) => {
    asked.push(dataDir);
    return "development-secret";
  };
  const developmentVapid = () => DEVELOPMENT_VAPID;
  const start = loadStartConfig({ DATA_DIR: "/tmp/d", APP_ENV: "test" }, {
    developmentSecret,
    developmentVapid,
  });
  assert.deepEqual(asked, ["/tmp/d"]);
  assert.deepEqual(
    [start.jwtSecret, start.host, start.pgPort, start.notifyTransport],
    ["development-secret", "0.0.0.0", undefined, "development"],
  );
  loadStartConfig({ JWT_SECRET: "mine", APP_ENV: "test" }, { developmentSecret, developmentVapid });
  assert.equal(asked.length, 1, "not when JWT_SECRET is set");
  assert.throws(
    () => loadStartConfig({ APP_ENV: "production" }, { developmentSecret }),
    /JWT_SECRET is required in production/,
  );
  assert.equal(asked.length, 1, "never in production");
  const production = loadStartConfig({ APP_ENV: "production", JWT_SECRET: FULL.JWT_SECRET });
  assert.equal(production.notifyTransport, "none", "production never records as development");
  assert.throws(
    () =>
      loadStartConfig({ JWT_SECRET: "x", PG_PORT: "five" }, {
        developmentSecret,
        developmentVapid,
      }),
    /PG_PORT must be a whole number/,
  );
});

Deno.test("web push keys: all three or none, checked; development keeps a pair", () => {
  const vapid = {
    VAPID_PUBLIC_KEY: FULL.VAPID_PUBLIC_KEY,
    VAPID_PRIVATE_KEY: FULL.VAPID_PRIVATE_KEY,
    VAPID_SUBJECT: FULL.VAPID_SUBJECT,
  };
  const url = "postgres://127.0.0.1/clinic";
  assert.equal(loadWorkerConfig({ DATABASE_URL: url }).vapid, undefined, "none: push off");
  assert.deepEqual(loadWorkerConfig({ DATABASE_URL: url, ...vapid }).vapid, {
    publicKey: vapid.VAPID_PUBLIC_KEY,
    privateKey: vapid.VAPID_PRIVATE_KEY,
    subject: vapid.VAPID_SUBJECT,
  });
  assert.throws(
    () => loadWorkerConfig({ DATABASE_URL: url, VAPID_PUBLIC_KEY: vapid.VAPID_PUBLIC_KEY }),
    /VAPID_PRIVATE_KEY and VAPID_SUBJECT must be set with VAPID_PUBLIC_KEY/,
  );
  for (
    const [name, value] of [
      ["VAPID_PUBLIC_KEY", "BP4z9KsN6nGRTbVYI"],
      ["VAPID_PRIVATE_KEY", "not a key"],
      ["VAPID_SUBJECT", "http://clinic.example"],
      ["VAPID_SUBJECT", "ops@clinic.example"],
    ]
  ) {
    assert.throws(
      () => loadWorkerConfig({ DATABASE_URL: url, ...vapid, [name]: value }),
      new RegExp(name),
    );
  }
  assert.throws(() => loadConfig({ JWT_SECRET: "x", VAPID_PUBLIC_KEY: "x" }), /VAPID_PUBLIC_KEY/);
  assert.equal(loadConfig({ JWT_SECRET: "x", ...vapid }).vapidPublicKey, vapid.VAPID_PUBLIC_KEY);

  const dataDir = Deno.makeTempDirSync();
  try {
    const first = loadStartConfig({ DATA_DIR: dataDir, APP_ENV: "test" });
    assert.ok(first.vapid, "development generates a pair");
    assert.equal(first.vapidPublicKey, first.vapid.publicKey, "the API serves the same key");
    const again = loadStartConfig({ DATA_DIR: dataDir, APP_ENV: "test" });
    assert.deepEqual(again.vapid, first.vapid, "kept across restarts");
    const production = loadStartConfig({
      DATA_DIR: dataDir,
      APP_ENV: "production",
      JWT_SECRET: FULL.JWT_SECRET,
    });
    assert.equal(production.vapid, undefined, "production: push off without the variables");
    const configured = loadStartConfig({ DATA_DIR: dataDir, JWT_SECRET: "x", ...vapid });
    assert.equal(configured.vapid?.publicKey, vapid.VAPID_PUBLIC_KEY, "the variables win");
  } finally {
    Deno.removeSync(dataDir, { recursive: true });
  }
});

Deno.test("the API's webhook settings are always filled; bad values name the variable", () => {
  const config = loadConfig({ JWT_SECRET: "x" });
  assert.deepEqual(config.webhooks.stripeSecrets, []);
  assert.equal(config.webhooks.deliveryTimeoutMs, 10_000);
  for (
    const [name, value] of [
      ["DATABASE_POOL_SIZE", "0"],
      ["BODY_LIMIT", "big"],
      ["TWILIO_WEBHOOK_URL", "example.com/twilio"],
      ["JWKS_URL", "idp.example"],
      ["WEBHOOK_DELIVERY_TIMEOUT_MS", "-1"],
    ]
  ) {
    assert.throws(() => loadConfig({ JWT_SECRET: "x", [name]: value }), new RegExp(name));
  }
});

Deno.test("a process that cannot load its configuration exits 2 with the message", async () => {
  for (
    const [entry, env, message] of [
      ["edge/jobs/main.ts", { DATABASE_URL: "" }, "worker: DATABASE_URL is required"],
      [
        "realtime/main.ts",
        { JWT_SECRET: "x", REALTIME_MAX_SOCKETS_PER_ADDRESS: "lots" },
        "realtime: REALTIME_MAX_SOCKETS_PER_ADDRESS must be a whole number",
      ],
    ] as const
  ) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}${entry}`],
      cwd: root,
      env,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 2, entry);
    assert.ok(new TextDecoder().decode(stderr).includes(message), entry);
  }
});

Deno.test("Twilio: off without an account, else a working sender or a clear error", () => {
  const sid = "AC" + "a".repeat(32);
  const hook = "https://clinic.example/api/webhooks/twilio";
  const base = { TWILIO_ACCOUNT_SID: sid, TWILIO_WEBHOOK_URL: hook };
  assert.equal(loadTwilioConfig({}), undefined);
  const token = loadTwilioConfig({
    ...base,
    TWILIO_AUTH_TOKEN: "t1,t2",
    TWILIO_SMS_FROM: "Clinic",
  })!;
  assert.deepEqual(
    [token.username, token.password, token.apiUrl, token.statusCallback, token.messagesPerSecond],
    [sid, "t1", "https://api.twilio.com", hook, 10],
  );
  const key = loadTwilioConfig({
    ...base,
    TWILIO_API_KEY_SID: "SK" + "b".repeat(32),
    TWILIO_API_KEY_SECRET: "s",
    TWILIO_WHATSAPP_FROM: "whatsapp:+6560000001",
    TWILIO_API_URL: "http://127.0.0.1:9/",
  })!;
  assert.deepEqual(
    [key.username, key.password, key.whatsappFrom, key.apiUrl],
    ["SK" + "b".repeat(32), "s", "+6560000001", "http://127.0.0.1:9"],
  );
  const bad: [Env, RegExp][] = [
    [{ ...base, TWILIO_ACCOUNT_SID: "AC123" }, /TWILIO_ACCOUNT_SID must be AC/],
    [{ ...base, TWILIO_SMS_FROM: "x" }, /TWILIO_API_KEY_SID\/_SECRET or TWILIO_AUTH_TOKEN/],
    [{ ...base, TWILIO_AUTH_TOKEN: "t" }, /needs a sender/],
    [
      { TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: "t", TWILIO_SMS_FROM: "x" },
      /TWILIO_WEBHOOK_URL/,
    ],
    [{ ...base, TWILIO_API_KEY_SID: "SK" + "b".repeat(32), TWILIO_SMS_FROM: "x" }, /go together/],
    [{ ...base, TWILIO_AUTH_TOKEN: "t", TWILIO_MESSAGING_SERVICE_SID: "MG1" }, /MESSAGING_SERVICE/],
    [
      { ...base, TWILIO_AUTH_TOKEN: "t", TWILIO_SMS_FROM: "x", TWILIO_API_URL: "ftp://x" },
      /API_URL/,
    ],
  ];
  for (const [env, error] of bad) assert.throws(() => loadTwilioConfig(env), error);
  const worker = loadWorkerConfig({
    DATABASE_URL: "postgres://127.0.0.1/clinic",
    ...base,
    TWILIO_AUTH_TOKEN: "t",
    TWILIO_SMS_FROM: "x",
  });
  assert.equal(worker.twilio?.accountSid, sid);
});
