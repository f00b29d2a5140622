/**
 * supabase-js against the composed service, as an app uses it: the Hono API and the realtime
 * server on one origin over a real (seeded) database, the anon key from `GET /api/config`, a
 * session from `POST /api/auth/login`, and changes caused through the API (a walk-in, which
 * inserts a `queue_board` row that reaches subscribers through logical replication).
 *
 * Both documented ways of giving realtime a token are covered, with every frame recorded so
 * the tests can state what the client actually sent:
 *
 * - `createClient(origin, anonKey, { accessToken })`. supabase-js resolves the callback
 *   asynchronously, but `subscribe()` snapshots the join payload at once: a channel subscribed
 *   in the same tick as `createClient` sends its first `phx_join` without `access_token`, and
 *   realtime-js never re-sends a token it already holds. The server refuses that join (the
 *   connection's anon key may read no row of the tables) so the client rejoins with its token
 *   a second later; accepting it, as Supabase does, would leave the channel subscribed to
 *   nothing. Subscribed once the client holds its token, there is no error at all.
 * - `createClient(origin, anonKey)` + `realtime.setAuth(token)`. supabase-js always runs
 *   realtime in `accessToken`-callback mode; without a GoTrue session its callback yields the
 *   anon key, which replaces the manual token: pushed as `access_token` when the channel is
 *   already joined, or silently put into the next join's payload. The server now treats such a
 *   push like Supabase: a re-authorization under the new claims (no channel error), which for
 *   the anon key means no row of these tables, until a token that may is pushed again.
 */
import assert from "node:assert/strict";
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";
import type { RealtimeClient } from "@supabase/realtime-js";
import { freshDatabase } from "../support/db.ts";
import { loadConfig } from "../../edge/config.ts";
import { createApp } from "../../edge/app.ts";
import { compose } from "../../edge/server.ts";
import { createRealtime } from "../../realtime/mod.ts";
import { dropSlots } from "./db_support.ts";
import { closeClient, delay, eventually } from "./support.ts";

const SECRET = "supabase-js-against-the-composed-service-0123456789";
const GFC_TP = "11111111-1111-4111-8111-111111111111";

/** Frames one client sent and received (vsn 2.0.0 arrays), in order. */
interface Trace {
  sent: unknown[][];
  received: unknown[][];
}

function recorder(trace: Trace) {
  return class RecordingWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (e: MessageEvent) => {
        if (typeof e.data === "string") trace.received.push(JSON.parse(e.data));
      });
    }
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView) {
      if (typeof data === "string") trace.sent.push(JSON.parse(data));
      super.send(data);
    }
  };
}

interface Watched {
  channel: RealtimeChannel;
  statuses: string[];
  errors: string[];
  /** ticket_id of every queue_board INSERT received. */
  tickets: string[];
  system: Array<{ extension?: string; status?: string; message?: string }>;
}

Deno.test("supabase-js against the composed service (real database, API writes)", async (t) => {
  const db = await freshDatabase({ seed: true });
  const config = loadConfig({ APP_ENV: "test", JWT_SECRET: SECRET });
  const api = createApp({ config, sql: db.sql });
  const realtime = createRealtime({
    jwtSecret: config.jwtSecret,
    issuer: config.jwtIssuer,
    audience: ["authenticated", "anon", "board"],
    databaseUrl: db.url,
    tickIntervalMs: 200,
    sweepIntervalMs: 200,
  });
  await realtime.start();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    compose({ api, realtime }),
  );
  const origin = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  const clients: RealtimeClient[] = [];

  const json = async (res: Response) => {
    const body = await res.json();
    assert.ok(res.ok, `${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const { anon_key: anonKey } = await json(await fetch(`${origin}/api/config`));
  const session = await json(
    await fetch(`${origin}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "staff.koh@demo.com", password: "Demo123!" }),
    }),
  );
  const token: string = session.access_token;

  /** A walk-in at GFC-TP through the API; returns its ticket id. */
  async function walkIn(): Promise<string> {
    const body = await json(
      await fetch(`${origin}/api/clinics/GFC-TP/queue/walk-ins`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      }),
    );
    return body.ticket.id;
  }

  const clientOptions = (trace: Trace) => ({
    auth: { autoRefreshToken: false, persistSession: false, detectSessionInUrl: false },
    realtime: { transport: recorder(trace), heartbeatIntervalMs: 60_000, logger: () => {} },
  });

  function watch(supabase: SupabaseClient, name: string): Watched {
    const w: Watched = {
      channel: undefined as unknown as RealtimeChannel,
      statuses: [],
      errors: [],
      tickets: [],
      system: [],
    };
    w.channel = supabase.channel(name)
      .on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "queue_board" },
        (p) => w.tickets.push((p.new as { ticket_id: string }).ticket_id),
      )
      .on(
        "postgres_changes",
        {
          event: "INSERT",
          schema: "public",
          table: "appointments",
          filter: `clinic_id=eq.${GFC_TP}`,
        },
        () => {},
      )
      .on("system", {}, (p) => w.system.push(p))
      .subscribe((status, error) => {
        w.statuses.push(status);
        if (error) w.errors.push(error.message);
      });
    return w;
  }

  const joins = (trace: Trace, topic: string) =>
    trace.sent.filter((f) => f[2] === `realtime:${topic}` && f[3] === "phx_join")
      .map((f) => (f[4] as { access_token?: string }).access_token);
  const tokenPushes = (trace: Trace, topic: string) =>
    trace.sent.filter((f) => f[2] === `realtime:${topic}` && f[3] === "access_token")
      .map((f) => (f[4] as { access_token?: string }).access_token);

  // A staff subscriber that stays up throughout: proof that each walk-in was streamed.
  let control: Watched;
  // The setAuth-style client, downgraded and upgraded in a later step.
  let manual: { supabase: SupabaseClient; trace: Trace; w: Watched };

  try {
    await t.step("accessToken option: SUBSCRIBED, no error, a walk-in arrives", async () => {
      const trace: Trace = { sent: [], received: [] };
      const supabase = createClient(origin, anonKey, {
        ...clientOptions(trace),
        accessToken: () => Promise.resolve(token),
      });
      clients.push(supabase.realtime as unknown as RealtimeClient);
      // What an app does before its first subscription: the client resolves its token.
      await supabase.realtime.setAuth();
      control = watch(supabase, "control");
      await eventually(() => control.statuses.length > 0, 5000, "subscribe status");
      assert.deepEqual(control.statuses, ["SUBSCRIBED"]);
      assert.deepEqual(joins(trace, "control"), [token]);
      const ticket = await walkIn();
      await eventually(() => control.tickets.includes(ticket), 5000, "the walk-in");
      assert.deepEqual(control.statuses, ["SUBSCRIBED"]);
      assert.deepEqual(control.errors, []);
    });

    await t.step(
      "accessToken option, subscribed in the same tick: the token-less first join",
      async () => {
        const trace: Trace = { sent: [], received: [] };
        const supabase = createClient(origin, anonKey, {
          ...clientOptions(trace),
          accessToken: () => Promise.resolve(token),
        });
        clients.push(supabase.realtime as unknown as RealtimeClient);
        const w = watch(supabase, "same-tick");
        await eventually(() => w.statuses.includes("SUBSCRIBED"), 8000, "SUBSCRIBED");
        const sentTokens = joins(trace, "same-tick");
        if (sentTokens[0] === undefined) {
          // realtime-js 2.119.1: the join was snapshotted before the callback resolved.
          assert.deepEqual(sentTokens, [undefined, token]);
          assert.deepEqual(w.statuses, ["CHANNEL_ERROR", "SUBSCRIBED"]);
          assert.match(w.errors[0], /carried no access_token.*may read no row of public\./);
        } else {
          // A client that waits for its token before joining: nothing to recover from.
          assert.deepEqual(w.statuses, ["SUBSCRIBED"]);
        }
        const ticket = await walkIn();
        await eventually(() => w.tickets.includes(ticket), 5000, "the walk-in");
        await eventually(() => control.tickets.includes(ticket), 5000, "control");
      },
    );

    await t.step(
      "createClient + realtime.setAuth(token): SUBSCRIBED, a walk-in arrives",
      async () => {
        const trace: Trace = { sent: [], received: [] };
        const supabase = createClient(origin, anonKey, clientOptions(trace));
        clients.push(supabase.realtime as unknown as RealtimeClient);
        await supabase.realtime.setAuth(token);
        const w = watch(supabase, "set-auth");
        await eventually(() => w.statuses.length > 0, 5000, "subscribe status");
        assert.deepEqual(w.statuses, ["SUBSCRIBED"]);
        assert.deepEqual(joins(trace, "set-auth"), [token]);
        const ticket = await walkIn();
        await eventually(() => w.tickets.includes(ticket), 5000, "the walk-in");
        assert.deepEqual(w.statuses, ["SUBSCRIBED"]);
        manual = { supabase, trace, w };
      },
    );

    await t.step(
      "an access_token push of the anon key downgrades (nothing, no error); a user token upgrades",
      async () => {
        const { supabase, trace, w } = manual;
        await supabase.realtime.setAuth(token); // the client's own view is the anon key by now
        await supabase.realtime.setAuth(anonKey);
        assert.equal(tokenPushes(trace, "set-auth").at(-1), anonKey);
        await eventually(
          () => w.system.some((s) => s.status === "error" && /role anon/.test(s.message ?? "")),
          5000,
          "the system message about the downgrade",
        );
        const hidden = await walkIn();
        await eventually(() => control.tickets.includes(hidden), 5000, "control");
        await delay(300);
        assert.ok(!w.tickets.includes(hidden), "anon received a staff-only board row");

        await supabase.realtime.setAuth(token);
        const shown = await walkIn();
        await eventually(() => w.tickets.includes(shown), 5000, "the walk-in after upgrade");
        // Deliveries resume from the upgrade; what anon could not see is not replayed.
        assert.ok(!w.tickets.includes(hidden));
        assert.deepEqual(w.statuses, ["SUBSCRIBED"]);
        assert.deepEqual(w.errors, []);
      },
    );

    await t.step(
      "setAuth not awaited: supabase-js pushes the anon key after SUBSCRIBED (no error loop)",
      async () => {
        const trace: Trace = { sent: [], received: [] };
        const supabase = createClient(origin, anonKey, clientOptions(trace));
        clients.push(supabase.realtime as unknown as RealtimeClient);
        void supabase.realtime.setAuth(token);
        const w = watch(supabase, "no-await");
        await eventually(() => tokenPushes(trace, "no-await").length > 0, 5000, "a token push");
        assert.deepEqual(joins(trace, "no-await"), [token]);
        assert.deepEqual(tokenPushes(trace, "no-await"), [anonKey]);
        const hidden = await walkIn();
        await eventually(() => control.tickets.includes(hidden), 5000, "control");
        await delay(300);
        assert.deepEqual(w.tickets, []);
        assert.deepEqual(w.statuses, ["SUBSCRIBED"]);
        assert.deepEqual(w.errors, []);
      },
    );
  } finally {
    for (const c of clients) await closeClient(c);
    await realtime.stop();
    await server.shutdown();
    await dropSlots(db.sql);
    await db.drop();
  }
});
