/**
 * The same Hono app behind its other two entries: `edge/main.ts` (Deno Deploy / Deno.serve) and
 * the Supabase Edge Function `supabase/functions/api/index.ts` (base path = function name).
 */
import assert from "node:assert/strict";
import { freshDatabase } from "./support/db.ts";
import { serveEntry } from "./support/serve.ts";

const secret = "entry-test-secret-entry-test-secret-0123";

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
