/**
 * The same Hono app behind its other two entries: `edge/main.ts` (Deno Deploy / Deno.serve) and
 * the Supabase Edge Function `supabase/functions/api/index.ts` (base path = function name).
 */
import assert from "node:assert/strict";
import { freePort } from "../edge/db/cluster.ts";
import { freshDatabase } from "./support/db.ts";

const root = new URL("..", import.meta.url).pathname;
const secret = "entry-test-secret-entry-test-secret-0123";

async function serveEntry(entry: string, env: Record<string, string>) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}${entry}`],
    env: { ...env, PORT: String(port), DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}` },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0;; i++) {
    try {
      const res = await fetch(`${base}/api/health`);
      await res.body?.cancel();
      break;
    } catch (error) {
      if (i > 300) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    base,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
    },
  };
}

const entries: [string, (url: string) => Record<string, string>][] = [
  ["edge/main.ts", (url) => ({ DATABASE_URL: url, JWT_SECRET: secret, APP_ENV: "test" })],
  [
    "supabase/functions/api/index.ts",
    (url) => ({ SUPABASE_DB_URL: url, SUPABASE_JWT_SECRET: secret }),
  ],
];

for (const [entry, env] of entries) {
  Deno.test(`${entry} serves the API`, async () => {
    await using db = await freshDatabase({ seed: true });
    const server = await serveEntry(entry, env(db.url));
    try {
      const health = await fetch(`${server.base}/api/health`);
      assert.equal((await health.json()).status, "healthy");
      const clinic = await fetch(`${server.base}/api/clinics/GFC-TP`);
      assert.equal(clinic.status, 200);
      assert.equal((await clinic.json()).code ?? "GFC-TP", "GFC-TP");
      const login = await fetch(`${server.base}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "admin@demo.com", password: "Demo123!" }),
      });
      assert.equal(login.status, 200);
      const { access_token } = await login.json();
      const me = await fetch(`${server.base}/api/auth/me`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      assert.equal(me.status, 200);
      await me.body?.cancel();
    } finally {
      await server.stop();
    }
  });
}
