/**
 * The console's realtime wiring: it follows the signed-in member of staff, and for each one
 * (and clinic) loads the clinic, waits for the public config and opens one feed whose changes
 * trigger a debounced reload of the truth. A sign-out or a switch of user or clinic tears the
 * previous feed down and clears its data first.
 */
import { batch, effect } from "@preact/signals";
import { waitForConfig } from "../lib/config.ts";
import { clinics } from "../lib/endpoints.ts";
import { type ClientLike, createClient, debounce, openFeed } from "../lib/live.ts";
import { consoleFeed, consoleKey } from "./state.ts";
import { appointments, feed, info, loadAll, session, tickets } from "./store.ts";

let client: ClientLike | null = null;
/** Bumped by every teardown: work started under an older scope stops. */
let scope = 0;

async function connect(code: string) {
  const myScope = ++scope;
  const clinic = await clinics.get(code);
  if (myScope !== scope) return;
  info.value = clinic;
  const config = await waitForConfig({ cancelled: () => myScope !== scope });
  if (!config) return;
  client = createClient(config.anon_key, () => session.token());
  const reload = debounce(() => void loadAll(code).catch(() => {}), 250);
  feed.value = openFeed({
    client,
    ...consoleFeed(clinic.clinic.id),
    refreshMs: 60_000,
    snapshot: () => loadAll(code),
    onChange: () => {
      if (myScope === scope) reload();
    },
  });
}

async function disconnect() {
  scope++;
  const f = feed.value;
  const c = client;
  client = null;
  batch(() => {
    feed.value = null;
    tickets.value = null;
    appointments.value = null;
    info.value = null;
  });
  await f?.close();
  await (c as unknown as { disconnect?(): Promise<unknown> } | null)?.disconnect?.();
}

/** Connects for the signed-in member of staff, now and whenever the session changes. */
export function followSession(): void {
  let active: string | null = null;
  effect(() => {
    const user = session.user.value;
    const key = consoleKey(user);
    if (key === active) return;
    active = key;
    void disconnect().then(() => {
      if (key && user?.clinic_code) void connect(user.clinic_code).catch(() => {});
    });
  });

  // A refreshed access token goes to the realtime channel too.
  effect(() => {
    if (session.current.value?.access_token && client) void client.setAuth().catch(() => {});
  });
}
