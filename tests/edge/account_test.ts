/**
 * Account recovery and verification through the app against the real database: the reset
 * request's one answer and one piece of work for known and unknown addresses, the e-mails the
 * worker sends through the recording transport (their links work once, in the account's
 * language), sessions ended by a reset or a change of password, e-mail verification and change,
 * bad input, replayed and expired links (400/410, never 5xx) and the rate limits.
 */
import assert from "node:assert/strict";
import { authLimits } from "../../edge/auth/limits.ts";
import { sha256Hex } from "../../edge/auth/opaque.ts";
import { smtpTransport } from "../../edge/notify/smtp.ts";
import type { Answer } from "../support/app.ts";
import { emailConfig, startSmtpServer } from "../support/smtp.ts";
import { runJobs, seen, type TestApp, testApp } from "./_support.ts";

const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a much better passphrase";

interface Session {
  userId: string;
  access: string;
  refresh: string;
}

let nextIp = 1;
/** A fresh client address, so per-address limits of one step do not touch the next. */
const ip = () => `198.51.100.${nextIp++}`;

async function signUp(app: TestApp, email: string): Promise<Session> {
  const res = await app.call("POST", "/api/auth/signup", {
    body: {
      clinic_code: "GFC-TP",
      email,
      password: PASSWORD,
      full_name: "Siti Nurhaliza",
      date_of_birth: "1985-03-02",
      gender: "female",
    },
    ip: ip(),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return {
    userId: res.body.user.id,
    access: res.body.access_token,
    refresh: res.body.refresh_token,
  };
}

async function login(app: TestApp, email: string, password: string): Promise<Answer> {
  return await app.call("POST", "/api/auth/login", { body: { email, password }, ip: ip() });
}

function refresh(app: TestApp, token: string): Promise<Answer> {
  return app.call("POST", "/api/auth/refresh", { body: { refresh_token: token }, ip: ip() });
}

/** Sends the queued account e-mails; answers those to `to` (oldest first). */
async function mailsTo(app: TestApp, to: string) {
  await runJobs(app.sql, ["auth.account_email"]);
  return await app.sql`select subject, body from private.outbound_messages
    where recipient = ${to} and channel = 'email' order by id`;
}

/** The token of the link to `page` in a mail's text. */
function linkToken(app: TestApp, body: string, page: string): string {
  const match = new RegExp(`${app.config.publicUrl}/${page}#([A-Za-z0-9_-]{43})`).exec(body);
  assert.ok(match, `no /${page} link in: ${body}`);
  return match[1];
}

Deno.test("forgot password: one answer and the same work for known and unknown addresses", async (t) => {
  await using app = await testApp();
  const known = "known.patient@example.com";
  await signUp(app, known);
  const unknown = "nobody.here@example.com";

  await t.step("the same 202 and the same rows written, whether the account exists", async () => {
    const work = async (email: string) => {
      const before = await app.sql`select
        (select count(*)::int from public.jobs) as jobs,
        (select count(*)::int from private.rate_limits) as limits`;
      const res = await app.call("POST", "/api/auth/password/forgot", {
        body: { email },
        ip: ip(),
      });
      const [after] = await app.sql`select
        (select count(*)::int from public.jobs) as jobs,
        (select count(*)::int from private.rate_limits) as limits`;
      const [job] = await app.sql`select kind, payload, status from public.jobs
        where payload ->> 'email' = ${email}`;
      return {
        answer: seen(res),
        jobs: after.jobs - before[0].jobs,
        limits: after.limits - before[0].limits,
        job: { kind: job.kind, keys: Object.keys(job.payload).sort(), status: job.status },
      };
    };
    const a = await work(known);
    const b = await work(unknown);
    assert.deepEqual(a, b);
    assert.deepEqual(a.answer.body, { status: "accepted" });
    assert.equal(a.answer.status, 202);
    assert.deepEqual(a.job.keys, ["email", "purpose", "url"]);
    assert.equal(a.jobs, 1);
    assert.equal(a.limits, 2, "one window per client address, one per address typed");
  });

  await t.step("the worker e-mails only the known address", async () => {
    assert.equal((await mailsTo(app, known)).length, 1);
    assert.equal((await mailsTo(app, unknown)).length, 0);
    const jobs = await app.sql`select status from public.jobs where kind = 'auth.account_email'`;
    assert.deepEqual(jobs.map((j) => j.status), ["succeeded", "succeeded"]);
  });
});

Deno.test("password reset: the e-mailed link works once and ends every session", async (t) => {
  await using app = await testApp();
  const email = "reset.me@example.com";
  const first = await signUp(app, email);
  const other = await login(app, email, PASSWORD);
  assert.equal(other.status, 200);
  let token = "";

  await t.step(
    "the mail arrives with a /reset-password link, its token stored hashed",
    async () => {
      const res = await app.call("POST", "/api/auth/password/forgot", {
        body: { email: "Reset.Me@Example.com" },
        ip: ip(),
      });
      assert.equal(res.status, 202);
      const [mail] = await mailsTo(app, email);
      assert.equal(mail.subject, "Reset your clinic account password");
      assert.match(mail.body, /within 30 minutes/);
      token = linkToken(app, mail.body, "reset-password");
      const [stored] = await app.sql`select token_hash, purpose,
      extract(epoch from expires_at - created_at)::int as ttl from private.account_tokens`;
      assert.deepEqual({ ...stored }, {
        token_hash: await sha256Hex(token),
        purpose: "password_reset",
        ttl: authLimits.accountLinks.password_reset.ttlSeconds,
      });
    },
  );

  await t.step("bad input: 400 with the fields, no change", async () => {
    for (
      const body of [{ token }, { token, password: "short" }, {
        token: "x",
        password: NEW_PASSWORD,
      }]
    ) {
      const res = await app.call("POST", "/api/auth/password/reset", { body, ip: ip() });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, "invalid_request");
    }
    const malformed = await app.call("POST", "/api/auth/password/reset", {
      body: "{not json",
      ip: ip(),
    });
    assert.equal(malformed.status, 400);
    const unknown = await app.call("POST", "/api/auth/password/reset", {
      body: { token: "A".repeat(43), password: NEW_PASSWORD },
      ip: ip(),
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "invalid_token");
  });

  await t.step("the new password is set; every session ends", async () => {
    const res = await app.call("POST", "/api/auth/password/reset", {
      body: { token, password: NEW_PASSWORD },
      ip: ip(),
    });
    assert.equal(res.status, 204, JSON.stringify(res.body));
    for (const r of [first.refresh, other.body.refresh_token]) {
      const gone = await refresh(app, r);
      assert.equal(gone.status, 401);
      assert.equal(gone.body.error.code, "refresh_token_revoked");
    }
    assert.equal((await login(app, email, PASSWORD)).status, 401);
    assert.equal((await login(app, email, NEW_PASSWORD)).status, 200);
    const [user] = await app.sql`select email_verified_at is not null as verified
      from public.users where id = ${first.userId}`;
    assert.equal(user.verified, true, "the link proved the mailbox");
  });

  await t.step("the link replayed: 410 token_used", async () => {
    const res = await app.call("POST", "/api/auth/password/reset", {
      body: { token, password: "yet another passphrase" },
      ip: ip(),
    });
    assert.equal(res.status, 410);
    assert.equal(res.body.error.code, "token_used");
    assert.equal((await login(app, email, NEW_PASSWORD)).status, 200);
  });

  await t.step("an expired link: 410 token_expired", async () => {
    await app.call("POST", "/api/auth/password/forgot", { body: { email }, ip: ip() });
    const mails = await mailsTo(app, email);
    const late = linkToken(app, mails.at(-1)!.body, "reset-password");
    await app.sql`update private.account_tokens set expires_at = now() - interval '1 second'
      where token_hash = ${await sha256Hex(late)}`;
    const res = await app.call("POST", "/api/auth/password/reset", {
      body: { token: late, password: "yet another passphrase" },
      ip: ip(),
    });
    assert.equal(res.status, 410);
    assert.equal(res.body.error.code, "token_expired");
  });
});

Deno.test("account e-mails speak the account's language", async () => {
  await using app = await testApp();
  const email = "zh.patient@example.com";
  const { userId } = await signUp(app, email);
  await app.sql`update public.users set language = 'zh' where id = ${userId}`;
  await app.call("POST", "/api/auth/password/forgot", { body: { email }, ip: ip() });
  const [mail] = await mailsTo(app, email);
  assert.equal(mail.subject, "重设您的诊所账户密码");
  assert.match(mail.body, /30 分钟内有效/);
  linkToken(app, mail.body, "reset-password");
});

Deno.test("the reset e-mail over SMTP: text and HTML with the link, no unsubscribe", async () => {
  await using server = await startSmtpServer();
  await using app = await testApp();
  const email = "smtp.patient@example.com";
  const { userId } = await signUp(app, email);
  await app.sql`update public.users set language = 'ms' where id = ${userId}`;
  await app.call("POST", "/api/auth/password/forgot", { body: { email }, ip: ip() });
  const smtp = smtpTransport(emailConfig(server));
  try {
    await runJobs(app.sql, ["auth.account_email"], { email: smtp });
  } finally {
    await smtp.close?.();
  }
  const [mail] = await server.received(1);
  assert.deepEqual(mail.envelopeTo, [email]);
  assert.equal(mail.parsed.subject, "Tetapkan semula kata laluan akaun klinik anda");
  assert.equal(mail.header("content-language"), "ms");
  assert.equal(mail.header("list-unsubscribe"), undefined, "account e-mails are not a list");
  const token = linkToken(app, mail.parsed.text ?? "", "reset-password");
  const html = String(mail.parsed.html);
  assert.ok(html.includes(`<a href="${app.config.publicUrl}/reset-password#${token}">`), html);
  const res = await app.call("POST", "/api/auth/password/reset", {
    body: { token, password: NEW_PASSWORD },
    ip: ip(),
  });
  assert.equal(res.status, 204);
});

Deno.test("change password: the current one required, other sessions end", async (t) => {
  await using app = await testApp();
  const email = "changer@example.com";
  const mine = await signUp(app, email);
  const [claims] = await app.sql`select family_id from private.refresh_tokens
    where user_id = ${mine.userId}`;
  const other = await login(app, email, PASSWORD);
  const { token } = await app.tokens.signAccess({
    userId: mine.userId,
    email,
    sessionId: claims.family_id,
    appMetadata: {},
  });
  const change = (body: unknown, bearer: string | undefined = token) =>
    app.call("POST", "/api/auth/password/change", { body, token: bearer, ip: ip() });

  await t.step("signed out: 401; bad input: 400", async () => {
    const anon = await change({ current_password: PASSWORD, new_password: NEW_PASSWORD }, "");
    assert.equal(anon.status, 401);
    const short = await change({ current_password: PASSWORD, new_password: "short" });
    assert.equal(short.status, 400);
    assert.equal((await change({ new_password: NEW_PASSWORD })).status, 400);
  });

  await t.step("a wrong current password: 403, nothing changes", async () => {
    const res = await change({ current_password: "not it at all", new_password: NEW_PASSWORD });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "wrong_password");
    assert.equal((await login(app, email, PASSWORD)).status, 200);
  });

  await t.step("changed: this session stays, the others end", async () => {
    const res = await change({ current_password: PASSWORD, new_password: NEW_PASSWORD });
    assert.equal(res.status, 204, JSON.stringify(res.body));
    assert.equal((await refresh(app, mine.refresh)).status, 200);
    const gone = await refresh(app, other.body.refresh_token);
    assert.equal(gone.body.error.code, "refresh_token_revoked");
    assert.equal((await login(app, email, NEW_PASSWORD)).status, 200);
  });

  await t.step("password checks are throttled per account: 429 with Retry-After", async () => {
    const { limit } = authLimits.passwordChangePerUser;
    let res: Answer | undefined;
    for (let i = 0; i < limit; i++) {
      res = await change({ current_password: `guess ${i}`, new_password: NEW_PASSWORD });
    }
    assert.equal(res?.status, 429);
    assert.equal(res?.body.error.code, "rate_limited");
    assert.ok(Number(res?.headers.get("retry-after")) > 0);
  });
});

Deno.test("e-mail verification and change of address", async (t) => {
  await using app = await testApp();
  const email = "verify.me@example.com";
  const me = await signUp(app, email);
  const bearer = (await login(app, email, PASSWORD)).body.access_token as string;
  const who = async () => (await app.call("GET", "/api/auth/me", { token: bearer })).body.user;

  await t.step("verify: a /confirm-email link to the address; opening it verifies", async () => {
    assert.equal((await who()).email_verified, false);
    const res = await app.call("POST", "/api/auth/email/verify", { token: bearer });
    assert.equal(res.status, 202);
    const [mail] = await mailsTo(app, email);
    assert.equal(mail.subject, "Confirm your e-mail address");
    const token = linkToken(app, mail.body, "confirm-email");
    const ok = await app.call("POST", "/api/auth/email/confirm", { body: { token }, ip: ip() });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { purpose: "email_verify", email });
    assert.equal((await who()).email_verified, true);
    const again = await app.call("POST", "/api/auth/email/confirm", { body: { token }, ip: ip() });
    assert.equal(again.status, 410);
    assert.equal(again.body.error.code, "token_used");
    const twice = await app.call("POST", "/api/auth/email/verify", { token: bearer });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, "email_already_verified");
  });

  const taken = "taken@example.com";
  await signUp(app, taken);
  const changeTo = (body: unknown, token: string | undefined = bearer) =>
    app.call("POST", "/api/auth/email/change", { body, token });

  await t.step("change: 401 signed out, 400 bad input, 403 wrong password, 409 taken", async () => {
    assert.equal(
      (await changeTo({ new_email: "x@example.com", password: PASSWORD }, "")).status,
      401,
    );
    assert.equal((await changeTo({ new_email: "not-an-address", password: PASSWORD })).status, 400);
    const wrong = await changeTo({ new_email: "new@example.com", password: "nope nope" });
    assert.equal(wrong.status, 403);
    const clash = await changeTo({ new_email: taken.toUpperCase(), password: PASSWORD });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.error.code, "email_taken");
  });

  await t.step("change: confirmed from the new address, then it signs in", async () => {
    const fresh = "new.address@example.com";
    const res = await changeTo({ new_email: fresh, password: PASSWORD });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await who()).email, email, "nothing changes before the link is opened");
    const [mail] = await mailsTo(app, fresh);
    assert.equal(mail.subject, "Confirm your new e-mail address");
    const token = linkToken(app, mail.body, "confirm-email");
    const ok = await app.call("POST", "/api/auth/email/confirm", { body: { token }, ip: ip() });
    assert.deepEqual(ok.body, { purpose: "email_change", email: fresh });
    const [row] = await app.sql`select email::text, email_verified_at is not null as verified
      from public.users where id = ${me.userId}`;
    assert.deepEqual({ ...row }, { email: fresh, verified: true });
    assert.equal((await login(app, fresh, PASSWORD)).status, 200);
    assert.equal((await login(app, email, PASSWORD)).status, 401);
  });

  await t.step(
    "a confirmation whose address was taken meanwhile: 409, nothing changes",
    async () => {
      const wanted = "contested@example.com";
      assert.equal((await changeTo({ new_email: wanted, password: PASSWORD })).status, 202);
      const [mail] = await mailsTo(app, wanted);
      const token = linkToken(app, mail.body, "confirm-email");
      await signUp(app, wanted);
      const res = await app.call("POST", "/api/auth/email/confirm", { body: { token }, ip: ip() });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, "email_taken");
    },
  );

  await t.step("confirm: unknown link 400, bad input 400", async () => {
    const unknown = await app.call("POST", "/api/auth/email/confirm", {
      body: { token: "B".repeat(43) },
      ip: ip(),
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "invalid_token");
    assert.equal((await app.call("POST", "/api/auth/email/confirm", { body: {} })).status, 400);
  });
});

Deno.test("account e-mail rate limits", async (t) => {
  await using app = await testApp();
  const email = "limited@example.com";
  const { access } = await signUp(app, email);

  await t.step(
    "forgot: per address typed, more requests answer the same and mail nothing",
    async () => {
      const { limit } = authLimits.resetRequestPerEmail;
      for (let i = 0; i < limit + 2; i++) {
        const res = await app.call("POST", "/api/auth/password/forgot", {
          body: { email },
          ip: ip(),
        });
        assert.deepEqual(seen(res).body, { status: "accepted" });
      }
      const [jobs] = await app.sql`select count(*)::int as n from public.jobs
      where kind = 'auth.account_email'`;
      assert.equal(jobs.n, limit);
    },
  );

  await t.step("forgot: per client address, 429 with Retry-After", async () => {
    const from = ip();
    const { limit } = authLimits.resetRequestPerIp;
    let res: Answer | undefined;
    for (let i = 0; i <= limit; i++) {
      res = await app.call("POST", "/api/auth/password/forgot", {
        body: { email: `someone${i}@example.com` },
        ip: from,
      });
    }
    assert.equal(res?.status, 429);
    assert.ok(Number(res?.headers.get("retry-after")) > 0);
  });

  await t.step("link uses per client address: 429", async () => {
    const from = ip();
    let res: Answer | undefined;
    for (let i = 0; i <= authLimits.linkUsePerIp.limit; i++) {
      res = await app.call("POST", "/api/auth/email/confirm", {
        body: { token: `${"C".repeat(42)}${i}` },
        ip: from,
      });
    }
    assert.equal(res?.status, 429);
  });

  await t.step("verification e-mails per account: 429", async () => {
    let res: Answer | undefined;
    for (let i = 0; i <= authLimits.accountMailPerUser.limit; i++) {
      res = await app.call("POST", "/api/auth/email/verify", { token: access });
    }
    assert.equal(res?.status, 429);
  });
});

Deno.test("the README's account-recovery numbers are the rules' (edge/auth/limits.ts)", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Account recovery and verification"))
    .split("\n## ")[0].replace(/\s+/g, " ");
  const spoken = (s: number) => `${s / 60} minutes`;
  const a = authLimits;
  for (
    const phrase of [
      `valid ${spoken(a.accountLinks.password_reset.ttlSeconds)}`,
      `${a.resetRequestPerIp.limit} reset requests per ${
        spoken(a.resetRequestPerIp.windowSeconds)
      } per client address`,
      `${a.resetRequestPerEmail.limit} reset e-mails per ${
        spoken(a.resetRequestPerEmail.windowSeconds)
      } per address typed`,
      `${a.linkUsePerIp.limit} link uses per ${spoken(a.linkUsePerIp.windowSeconds)}`,
      `${a.accountMailPerUser.limit} verification or change e-mails and ` +
      `${a.passwordChangePerUser.limit} password checks per ${
        spoken(a.passwordChangePerUser.windowSeconds)
      } per account`,
    ]
  ) {
    assert.ok(section.includes(phrase), `README: '${phrase}'`);
  }
  assert.equal(a.accountMailPerUser.windowSeconds, a.passwordChangePerUser.windowSeconds);
});
