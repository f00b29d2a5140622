/**
 * Wrong-password throttling that a stranger cannot turn into a lockout: locks per (account,
 * source) that double, the per-account guard that lets only known devices in, e-mailed unlock
 * links, and one answer for an unknown account, a wrong password and a refused source. Through
 * the app against the real database, each request from the client address it names.
 */
import assert from "node:assert/strict";
import { authLimits } from "../../edge/auth/limits.ts";
import { DEVICE_COOKIE } from "../../edge/auth/device.ts";
import { sha256Hex } from "../../edge/auth/opaque.ts";
import type { Answer } from "../support/app.ts";
import { runJobs, seen, type TestApp, testApp } from "./_support.ts";

const { perSource, perAccount } = authLimits.lockout;
const PASSWORD = "correct horse battery";

/** A new patient account (signed up from its own address); returns its user id. */
async function account(app: TestApp, email: string): Promise<string> {
  const res = await app.call("POST", "/api/auth/signup", {
    body: {
      clinic_code: "GFC-TP",
      email,
      password: PASSWORD,
      full_name: "Tan Ah Kow",
      date_of_birth: "1970-05-04",
      gender: "male",
    },
    ip: `192.0.2.${100 + Math.floor(Math.random() * 100)}`,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.user.id;
}

function login(
  app: TestApp,
  email: string,
  password: string,
  ip: string,
  device?: string,
): Promise<Answer> {
  return app.call("POST", "/api/auth/login", {
    body: { email, password },
    ip,
    headers: device ? { cookie: `${DEVICE_COOKIE}=${device}` } : {},
  });
}

/** The device id a successful answer set. */
function deviceFrom(res: Answer): string {
  const cookie = res.headers.get("set-cookie") ?? "";
  const match = new RegExp(`^${DEVICE_COOKIE}=([A-Za-z0-9_-]{43});`).exec(cookie);
  assert.ok(match, `no device cookie in '${cookie}'`);
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);
  assert.match(cookie, /Path=\/api\/auth/);
  return match[1];
}

const refused = {
  status: 401,
  body: { error: { code: "invalid_credentials", message: "Wrong email or password" } },
  contentType: "application/json; charset=utf-8",
  retryAfter: null,
  cookie: null,
};

async function failures(app: TestApp, email: string, source: string) {
  const [row] = await app.sql`
    select failures, locks, coalesce(locked_until > now(), false) as locked,
      extract(epoch from locked_until - now())::float8 as seconds_left
    from private.login_failures where account = ${email} and source = ${source}`;
  return row ? { ...row } : undefined;
}

/** Runs the job worker until no unlock e-mail is left to send. */
function sendUnlockMails(app: TestApp): Promise<void> {
  return runJobs(app.sql, ["auth.unlock_link"]);
}

Deno.test("a stranger failing from one address does not lock the owner out", async (t) => {
  await using app = await testApp();
  const email = "front.desk@example.com";
  await account(app, email);
  const attacker = "198.51.100.66";

  await t.step("20 wrong passwords from A: every answer the same 401", async () => {
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(seen(await login(app, email, `guess-${i}`, attacker)), refused, `try ${i}`);
    }
  });

  await t.step("A is throttled for this account: even the right password is refused", async () => {
    assert.deepEqual(seen(await login(app, email, PASSWORD, attacker)), refused);
    const row = await failures(app, email, `ip:${attacker}`);
    assert.equal(row?.locked, true);
    assert.equal(row?.locks, 1, "attempts while locked count for nothing");
    const [guard] = await app.sql`select failures, locked_until from private.login_failures
      where account = ${email} and source = ''`;
    assert.deepEqual({ ...guard }, { failures: perSource.maxFailures, locked_until: null });
  });

  await t.step("the owner at the clinic (address B) signs in", async () => {
    const res = await login(app, email, PASSWORD, "203.0.113.80");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    deviceFrom(res);
  });

  await t.step("A's lock covers this account only", async () => {
    const other = "other.staff@example.com";
    await account(app, other);
    assert.equal((await login(app, other, PASSWORD, attacker)).status, 200);
  });
});

Deno.test("an unknown account, a wrong password and a refused source answer alike", async () => {
  await using app = await testApp();
  const email = "alike@example.com";
  await account(app, email);
  const a = "198.51.100.70";
  const answers = [
    await login(app, "nobody-here@example.com", PASSWORD, a),
    await login(app, email, "wrong-password", a),
  ];
  for (let i = 1; i < perSource.maxFailures; i++) await login(app, email, `wrong-${i}`, a);
  answers.push(await login(app, email, PASSWORD, a)); // locked source, right password
  answers.push(await login(app, email, "wrong-again", a)); // locked source, wrong password
  for (const res of answers) assert.deepEqual(seen(res), refused);

  // An unknown account is throttled by the same rule, so its answers cannot differ either.
  for (let i = 1; i < perSource.maxFailures; i++) {
    await login(app, "nobody-here@example.com", `x-${i}`, a);
  }
  assert.equal((await failures(app, "nobody-here@example.com", `ip:${a}`))?.locked, true);
});

Deno.test("each further lock of a source lasts twice as long", async () => {
  await using app = await testApp();
  const email = "doubling@example.com";
  await account(app, email);
  const a = "198.51.100.71";
  const fail = async (n: number) => {
    for (let i = 0; i < n; i++) await login(app, email, `wrong-${i}`, a);
  };
  await fail(perSource.maxFailures);
  let row = await failures(app, email, `ip:${a}`);
  assert.equal(row?.locks, 1);
  assert.ok(row!.seconds_left > perSource.lockSeconds - 60, String(row!.seconds_left));
  assert.ok(row!.seconds_left <= perSource.lockSeconds, String(row!.seconds_left));

  await app.sql`update private.login_failures set locked_until = now() - interval '1 second'
    where account = ${email} and source = ${`ip:${a}`}`;
  await fail(perSource.maxFailures - 1);
  row = await failures(app, email, `ip:${a}`);
  assert.deepEqual([row?.locked, row?.failures, row?.locks], [false, perSource.maxFailures - 1, 1]);
  await fail(1);
  row = await failures(app, email, `ip:${a}`);
  assert.equal(row?.locks, 2);
  assert.ok(row!.seconds_left > 2 * perSource.lockSeconds - 60, String(row!.seconds_left));
  assert.ok(row!.seconds_left <= 2 * perSource.lockSeconds, String(row!.seconds_left));

  // The owner signing in from that source, once it may again, forgets its history.
  await app.sql`update private.login_failures set locked_until = now() - interval '1 second'
    where account = ${email} and source = ${`ip:${a}`}`;
  assert.equal((await login(app, email, PASSWORD, a)).status, 200);
  assert.equal(await failures(app, email, `ip:${a}`), undefined);
});

Deno.test("distributed guessing: known devices and unlock links keep the owner in", async (t) => {
  await using app = await testApp();
  const email = "dr.lee@example.com";
  const userId = await account(app, email);
  let home = "";

  await t.step("the owner has signed in from home before: a known device", async () => {
    home = deviceFrom(await login(app, email, PASSWORD, "203.0.113.10"));
  });

  await t.step("wrong passwords from many addresses guard the account", async () => {
    const sources = Math.ceil(perAccount.maxFailures / perSource.maxFailures);
    for (let s = 0; s < sources; s++) {
      for (let i = 0; i < perSource.maxFailures; i++) {
        const res = await login(app, email, `guess-${s}-${i}`, `198.51.100.${10 + s}`);
        assert.deepEqual(seen(res), refused);
      }
    }
    const [guard] = await app.sql`select locked_until > now() as guarded
      from private.login_failures where account = ${email} and source = ''`;
    assert.equal(guard.guarded, true);
  });

  await t.step("the known device signs in, from any address", async () => {
    const res = await login(app, email, PASSWORD, "203.0.113.99", home);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(deviceFrom(res), home, "the same device id, renewed");
  });

  await t.step("a known device's wrong passwords count against the device", async () => {
    for (let i = 0; i < perSource.maxFailures; i++) {
      assert.deepEqual(seen(await login(app, email, `typo-${i}`, "203.0.113.11", home)), refused);
    }
    const device = await failures(app, email, `device:${await sha256Hex(home)}`);
    assert.equal(device?.locked, true);
    assert.equal(await failures(app, email, "ip:203.0.113.11"), undefined);
    await app.sql`delete from private.login_failures
      where account = ${email} and source like 'device:%'`;
  });

  const stranger = "203.0.113.50";
  await t.step(
    "a new browser with the right password: refused, an unlock e-mail queued",
    async () => {
      assert.deepEqual(seen(await login(app, email, PASSWORD, stranger)), refused);
      assert.deepEqual(seen(await login(app, email, PASSWORD, stranger)), refused);
      assert.deepEqual(seen(await login(app, email, "not-it", stranger)), refused);
      const jobs = await app.sql`select payload from public.jobs where kind = 'auth.unlock_link'`;
      assert.equal(jobs.length, 1, "one e-mail per interval");
      assert.deepEqual(jobs[0].payload, { user_id: userId, url: app.config.publicUrl });
    },
  );

  let token = "";
  await t.step("the e-mail carries a link; only its hash is stored", async () => {
    await sendUnlockMails(app);
    const mails = await app.sql`select recipient, subject, body from private.outbound_messages`;
    assert.equal(mails.length, 1);
    assert.equal(mails[0].recipient, email);
    assert.equal(mails[0].subject, "Unlock sign-in to your clinic account");
    const link = new RegExp(`${app.config.publicUrl}/unlock#([A-Za-z0-9_-]{43})`)
      .exec(mails[0].body);
    assert.ok(link, mails[0].body);
    token = link[1];
    const [stored] = await app.sql`select token_hash, user_id from private.login_unlocks`;
    assert.deepEqual({ ...stored }, { token_hash: await sha256Hex(token), user_id: userId });
  });

  let unlocked = "";
  await t.step("the link makes this browser a known device, once", async () => {
    const res = await app.call("POST", "/api/auth/unlock", { body: { token }, ip: stranger });
    assert.equal(res.status, 204);
    unlocked = deviceFrom(res);
    const again = await app.call("POST", "/api/auth/unlock", { body: { token }, ip: stranger });
    assert.equal(again.status, 401);
    assert.equal(again.body.error.code, "invalid_unlock_token");
    const ok = await login(app, email, PASSWORD, stranger, unlocked);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(seen(await login(app, email, PASSWORD, "203.0.113.51")), refused);
  });

  await t.step("an expired link does nothing", async () => {
    const late = "L".repeat(43);
    await app.sql`select private.login_unlock_issue(${userId}, ${await sha256Hex(late)}, 3600)`;
    await app.sql`update private.login_unlocks set expires_at = now() - interval '1 second'
      where token_hash = ${await sha256Hex(late)}`;
    const res = await app.call("POST", "/api/auth/unlock", { body: { token: late } });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, "invalid_unlock_token");
    assert.equal(res.headers.get("set-cookie"), null);
  });

  await t.step("a cookie that is not a device id is ignored", async () => {
    const res = await login(app, email, PASSWORD, "203.0.113.52", "not a device id");
    assert.deepEqual(seen(res), refused);
  });
});

Deno.test("housekeeping forgets old throttling state and keeps the live one", async () => {
  await using app = await testApp();
  const userId = await account(app, "tidy@example.com");
  await app.sql`insert into private.login_failures (account, source, failures, forget_at) values
    ('old@example.com', 'ip:192.0.2.1', 3, now() - interval '1 second'),
    ('live@example.com', 'ip:192.0.2.1', 3, now() + interval '1 hour')`;
  await app.sql`insert into private.login_devices (user_id, device_hash, expires_at) values
    (${userId}, 'old', now() - interval '1 second'), (${userId}, 'live', now() + interval '1 day')`;
  await app.sql`insert into private.login_unlocks (token_hash, user_id, expires_at) values
    ('old', ${userId}, now() - interval '2 days'), ('live', ${userId}, now() + interval '1 hour')`;
  await app.sql`select api.purge_expired_auth_state()`;
  const left = await app.sql`
    select 'failures' as t, account as k from private.login_failures
    union all select 'devices', device_hash from private.login_devices
    union all select 'unlocks', token_hash from private.login_unlocks
    order by 1, 2`;
  assert.deepEqual(left.map((r) => `${r.t}:${r.k}`), [
    "devices:live",
    "failures:live@example.com",
    "unlocks:live",
  ]);
});

Deno.test("the README's sign-in numbers are the rules' (edge/auth/limits.ts)", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Sign-in protection")).split("\n## ")[0]
    .replace(/\s+/g, " ");
  const spoken = (s: number) =>
    s === 86_400 ? "a day" : s === 3600 ? "an hour" : `${s / 60} minutes`;
  const { loginPerIp } = authLimits;
  const { maxLockSeconds, unlockLink } = authLimits.lockout;
  for (
    const phrase of [
      `After ${perSource.maxFailures}, that source is refused for that account for ` +
      `${spoken(perSource.lockSeconds)}, then ${spoken(2 * perSource.lockSeconds)}`,
      `(at most ${spoken(maxLockSeconds)})`,
      `After ${perAccount.maxFailures} wrong passwords from all sources`,
      `for ${spoken(perAccount.lockSeconds)} (doubling likewise)`,
      `at most one per ${spoken(unlockLink.everySeconds)}`,
      `valid for ${spoken(authLimits.accountLinks.login_unlock.ttlSeconds)}`,
      `${loginPerIp.limit} login attempts per ${spoken(loginPerIp.windowSeconds)}`,
    ]
  ) {
    assert.ok(section.includes(phrase), `README: '${phrase}'`);
  }
});
