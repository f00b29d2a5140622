/** @jsxImportSource preact */
/**
 * "Tell me when I'm called": offered after a booking and on "my visit", never on page load.
 * The tap asks the browser for permission, subscribes this browser to web push with the
 * server's VAPID key, registers the subscription with the API (edge/routes/push.ts) and records
 * the patient's consent to push (`PATCH /api/me/profile`: private.notify sends a channel only
 * with its consent). Where
 * permission was already given, the subscription is registered again quietly, so it follows
 * whoever is signed in on this browser; signing out takes it off the account
 * (`forgetThisBrowser`), so the next person on a shared phone never sees the last one's calls.
 * Nothing shows where the browser has no web push or the server has it off.
 */
import { useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { publicConfig } from "../lib/config.ts";
import { push } from "../lib/endpoints.ts";
import { t } from "./messages.ts";
import { session } from "./store.ts";

type State = "hidden" | "offer" | "asking" | "on" | "blocked" | "failed";

const supported = () =>
  "serviceWorker" in navigator && "PushManager" in globalThis && "Notification" in globalThis;

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(
    atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")),
    (c) => c.charCodeAt(0),
  );
}

const sameKey = (a: ArrayBuffer | null, b: Uint8Array) =>
  !!a && a.byteLength === b.length && new Uint8Array(a).every((x, i) => x === b[i]);

/** This browser's subscription for `key` (a subscription for an older key is replaced). */
async function subscription(key: Uint8Array<ArrayBuffer>): Promise<PushSubscription> {
  const registration = await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  if (existing && sameKey(existing.options.applicationServerKey, key)) return existing;
  await existing?.unsubscribe();
  return await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: key,
  });
}

async function register(key: string): Promise<void> {
  const json = (await subscription(keyBytes(key))).toJSON();
  await push.subscribe(session, {
    endpoint: json.endpoint ?? "",
    keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" },
  });
}

/** Takes this browser's subscription off the signed-in account (before signing out). */
export async function forgetThisBrowser(): Promise<void> {
  if (!supported()) return;
  const registration = await navigator.serviceWorker.getRegistration();
  const endpoint = (await registration?.pushManager.getSubscription())?.endpoint;
  if (!endpoint) return;
  const { subscriptions } = await push.list(session);
  const mine = subscriptions.find((s) => s.endpoint === endpoint);
  if (mine) await push.unsubscribe(session, mine.id);
}

export function PushPrompt() {
  const [state, setState] = useState<State>("hidden");
  const [key, setKey] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!supported()) return;
    let live = true;
    publicConfig().then(async (config) => {
      const vapid = config.vapid_public_key;
      if (!live || !vapid) return;
      setKey(vapid);
      if (Notification.permission === "denied") return setState("blocked");
      if (Notification.permission !== "granted") return setState("offer");
      await register(vapid);
      if (live) setState("on");
    }).catch(() => live && setState("offer"));
    return () => {
      live = false;
    };
  }, []);

  async function turnOn() {
    if (!key) return;
    setState("asking");
    setError(null);
    try {
      // Asked only now, on the tap: the browser shows its permission prompt.
      const permission = await Notification.requestPermission();
      if (permission !== "granted") return setState(permission === "denied" ? "blocked" : "offer");
      await register(key);
      await push.consent(session);
      setState("on");
    } catch (e) {
      setError(messageOf(e));
      setState("failed");
    }
  }

  if (state === "hidden") return null;
  if (state === "on") {
    return <p class="muted push-prompt" role="status">{t("push.on")}</p>;
  }
  if (state === "blocked") {
    return <p class="muted push-prompt">{t("push.blocked")}</p>;
  }
  return (
    <div class="push-prompt">
      {state === "failed" && (
        <p class="muted" role="alert">{t("push.failed", { message: error ?? "" })}</p>
      )}
      <button
        class="btn secondary"
        type="button"
        disabled={state === "asking"}
        onClick={turnOn}
      >
        {state === "asking" ? t("push.asking") : t("push.offer")}
      </button>
    </div>
  );
}
