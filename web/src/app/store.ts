/**
 * The patient app's state: the session, its realtime connection and the two live feeds (my
 * visit, my notifications). Everything is scoped to the signed-in user and torn down, with all
 * cached data cleared, when the user signs out or another user signs in — one patient's data
 * never shows on another patient's screen.
 */
import { batch, computed, effect, signal } from "@preact/signals";
import { ApiError } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import { waitForConfig } from "../lib/config.ts";
import {
  booking,
  type ClinicInfo,
  clinics,
  families,
  type MyQueue,
  type MyTicket,
  type Notification,
  notifications as notificationsApi,
  profile,
  queue,
} from "../lib/endpoints.ts";
import { chooseLang } from "../lib/i18n.ts";
import { type ClientLike, createClient, debounce, type Feed, openFeed } from "../lib/live.ts";
import { createSession } from "../lib/session.ts";
import { chime, vibrate } from "../lib/sound.ts";

export const session = createSession("clinic.session");

/** The clinic the patient arrived by (clinic link) or belongs to. */
const CLINIC_KEY = "clinic.code";
export const clinicCode = signal<string>(
  session.current.value?.clinic_code ?? localStorage.getItem(CLINIC_KEY) ?? "",
);
export function chooseClinic(code: string): void {
  clinicCode.value = code.toUpperCase();
  try {
    localStorage.setItem(CLINIC_KEY, clinicCode.value);
  } catch {
    // ignore
  }
}

const clinicCache = new Map<string, Promise<ClinicInfo>>();
/** Public clinic details and doctors (cached per page). */
export function clinicInfo(code: string): Promise<ClinicInfo> {
  const key = code.toUpperCase();
  let p = clinicCache.get(key);
  if (!p) {
    p = clinics.get(key).catch((error) => {
      clinicCache.delete(key);
      throw error;
    });
    clinicCache.set(key, p);
  }
  return p;
}

// ---- the last known data, on this device, per user ----------------------------------------
// Offline (an installed app reopened without network) the patient still sees their ticket,
// appointments and notifications as they last were, marked "as of": never an endless spinner,
// never "no appointments" when the truth is "unknown". Removed on sign-out.

const SAVED = "clinic.saved.";
interface Saved<T> {
  at: number;
  data: T;
}
function readSaved<T>(kind: string): Saved<T> | null {
  const id = session.user.value?.id;
  try {
    return id ? JSON.parse(localStorage.getItem(`${SAVED}${id}.${kind}`) ?? "null") : null;
  } catch {
    return null;
  }
}
/** Saves `data` as `owner`'s — unless another user (or nobody) is signed in by now. */
function save(owner: string | undefined, kind: string, data: unknown): void {
  if (!owner || owner !== session.user.value?.id) return;
  try {
    localStorage.setItem(`${SAVED}${owner}.${kind}`, JSON.stringify({ at: Date.now(), data }));
  } catch {
    // Storage full or private mode: only the offline copy is lost.
  }
}
function forgetSaved(): void {
  try {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith(SAVED)) localStorage.removeItem(key);
    }
  } catch {
    // ignore
  }
}
/** A network failure (offline, server down), as opposed to an answer. */
const unreachable = (e: unknown) => !(e instanceof ApiError) || e.status === 0 || e.status >= 500;

export type MyAppointments = Awaited<ReturnType<typeof booking.mine>>;
/** Data and, when it is the saved copy (the clinic could not be reached), when it was saved. */
export interface Known<T> {
  data: T;
  asOf: number | null;
}
/** My appointments; offline, the saved copy (it throws when there is none). */
export async function myAppointments(): Promise<Known<MyAppointments>> {
  const owner = session.user.value?.id;
  try {
    const data = await booking.mine(session);
    save(owner, "appointments", data);
    return { data, asOf: null };
  } catch (error) {
    const saved = unreachable(error) ? readSaved<MyAppointments>("appointments") : null;
    if (saved) return { data: saved.data, asOf: saved.at };
    throw error;
  }
}

// ---- live state, per user ----------------------------------------------------------------

export const myQueue = signal<MyQueue | null>(null);
/** Set while myQueue is the saved copy (when it was saved); null once fresh. */
export const queueAsOf = signal<number | null>(null);
/** The last attempt to load my queue could not reach the clinic (and nothing was saved). */
export const queueUnreachable = signal(false);
export const ticket = computed<MyTicket | null>(() => myQueue.value?.ticket ?? null);
/** The time zone of my clinic (clinic-local times everywhere). */
export const clinicZone = signal<string>(Intl.DateTimeFormat().resolvedOptions().timeZone);
effect(() => {
  const code = session.user.value?.clinic_code ?? clinicCode.value;
  if (!code) return;
  clinicInfo(code).then((info) => {
    clinicZone.value = info.clinic.timezone;
  }).catch(() => {});
});
// Signed in, the app speaks the account's language (the profile's switch changes it).
effect(() => {
  const id = session.user.value?.id;
  if (!id) return;
  profile.get(session).then((p) => {
    if (session.user.value?.id === id) chooseLang(p.language);
  }).catch(() => {});
});
/** The time zone of my ticket's clinic (clinic-local times on the visit card). */
export const ticketZone = signal<string | null>(null);
effect(() => {
  const code = ticket.value?.clinic_code;
  if (!code) return;
  clinicInfo(code).then((info) => {
    ticketZone.value = info.clinic.timezone;
  }).catch(() => {});
});
export const notificationList = signal<Notification[] | null>(null);
/** Set while notificationList is the saved copy (when it was saved); null once fresh. */
export const noticesAsOf = signal<number | null>(null);
export const unread = signal(0);
export const visitFeed = signal<Feed | null>(null);
export const noticeFeed = signal<Feed | null>(null);
/** Set when my ticket is called (for the alert on any page). */
export const calledAlert = signal<{ code: string; room: string | null; at: string } | null>(null);

let client: ClientLike | null = null;
let scope = 0;
/** The user the live state belongs to (set as soon as the signed-in user changes). */
let activeUser: string | null = null;

function applyTicketPatch(patch: Partial<MyTicket> & { id?: string; ticket_id?: string }) {
  const current = myQueue.value;
  const t = current?.ticket;
  const id = patch.ticket_id ?? patch.id;
  if (!current || !t || id !== t.id) return;
  const next: MyTicket = { ...t };
  if (typeof patch.status === "string") next.status = patch.status;
  if (patch.room !== undefined) next.room = patch.room;
  if (patch.called_at !== undefined) next.called_at = patch.called_at;
  // people_ahead and the estimate are per doctor: they come from the server (refetch).
  if (patch.position !== undefined) next.position = patch.position;
  setQueue({ ...current, ticket: next });
}

/** Installs a new "my queue" state and raises the called alert on a new call. */
function setQueue(next: MyQueue | null) {
  const before = myQueue.value?.ticket;
  myQueue.value = next;
  if (next) save(activeUser ?? undefined, "queue", next);
  const after = next?.ticket;
  if (
    after && after.status === "called" && after.called_at &&
    (before?.id !== after.id || before.called_at !== after.called_at ||
      before.status !== "called")
  ) {
    // Only alert for a fresh call (not one from long ago, e.g. on reload).
    const age = serverNow() - Date.parse(after.called_at);
    if (age < 5 * 60_000) {
      calledAlert.value = { code: after.code, room: after.room ?? null, at: after.called_at };
      chime();
      vibrate();
    }
  }
  if (after && after.status !== "called" && calledAlert.value?.code === after.code) {
    calledAlert.value = null;
  }
}

async function loadQueue(myScope: number) {
  let data: MyQueue;
  try {
    data = await queue.mine(session);
  } catch (error) {
    if (myScope === scope && unreachable(error) && !myQueue.value) queueUnreachable.value = true;
    throw error;
  }
  if (myScope !== scope) return;
  batch(() => {
    queueAsOf.value = null;
    queueUnreachable.value = false;
    setQueue(data);
  });
}

async function loadNotifications(myScope: number) {
  const data = await notificationsApi.list(session);
  if (myScope !== scope) return;
  batch(() => {
    noticesAsOf.value = null;
    notificationList.value = data.notifications;
    unread.value = data.unread_count;
  });
  saveNotices();
}

/** The inbox as it now is, for offline (after a snapshot or a live change). */
function saveNotices() {
  const list = notificationList.value;
  if (list && noticesAsOf.value === null) {
    save(activeUser ?? undefined, "notifications", {
      notifications: list,
      unread_count: unread.value,
    });
  }
}

/** Shows the saved copies at once (before the network answers, or when it never does). */
function showSaved() {
  const q = readSaved<MyQueue>("queue");
  const n = readSaved<{ notifications: Notification[]; unread_count: number }>("notifications");
  const today = (at: number) => new Date(at).toDateString() === new Date().toDateString();
  batch(() => {
    // Yesterday's ticket is no ticket today.
    if (q && today(q.at)) {
      myQueue.value = q.data;
      queueAsOf.value = q.at;
    }
    if (n) {
      notificationList.value = n.data.notifications;
      unread.value = n.data.unread_count;
      noticesAsOf.value = n.at;
    }
  });
}

async function teardown() {
  const feeds = [visitFeed.value, noticeFeed.value];
  const old = client;
  client = null;
  batch(() => {
    visitFeed.value = null;
    noticeFeed.value = null;
    myQueue.value = null;
    queueAsOf.value = null;
    queueUnreachable.value = false;
    notificationList.value = null;
    noticesAsOf.value = null;
    unread.value = 0;
    calledAlert.value = null;
  });
  for (const f of feeds) await f?.close();
  if (old) await (old as unknown as { disconnect(): Promise<unknown> }).disconnect?.();
}

async function setup(
  myScope: number,
  userId: string,
  patientId: string | null,
  clinicId: string | null,
) {
  showSaved();
  // Offline, the config never comes: the first snapshot must still say so.
  void loadQueue(myScope).catch(() => {});
  const config = await waitForConfig({ cancelled: () => myScope !== scope });
  if (!config || myScope !== scope) return;
  client = createClient(config.anon_key, () => session.token());
  const refetchQueue = debounce(() => void loadQueue(myScope).catch(() => {}), 400);

  const visitChanges = [];
  if (patientId) {
    visitChanges.push({ table: "queue_tickets", filter: `patient_id=eq.${patientId}` });
  }
  // The tickets of the people I look after, live too (a guardian checks them in); one added
  // later follows from the next sign-in, meanwhile from the board and the periodic snapshot.
  const dependants = await families.dependants(session).catch(() => []);
  if (myScope !== scope) return;
  if (dependants.length) {
    const ids = dependants.slice(0, 100).map((d) => d.id).join(",");
    visitChanges.push({ table: "queue_tickets", filter: `patient_id=in.(${ids})` });
  }
  if (clinicId) visitChanges.push({ table: "queue_board", filter: `clinic_id=eq.${clinicId}` });
  visitFeed.value = openFeed({
    client,
    topic: `visit:${userId}`,
    changes: visitChanges,
    refreshMs: 2 * 60_000,
    snapshot: () => loadQueue(myScope),
    onChange(change) {
      if (myScope !== scope) return;
      const mine = myQueue.value?.ticket;
      const row = change.new as Partial<MyTicket> & { ticket_id?: string };
      if (change.table === "queue_board") {
        if (mine && row.ticket_id === mine.id) {
          applyTicketPatch(row);
          refetchQueue();
        } else if (mine && mine.status === "waiting") {
          // Someone else moved: my estimate may change (my own row carries my position).
          refetchQueue();
        }
      } else {
        if (mine && row.id === mine.id) applyTicketPatch(row);
        refetchQueue();
      }
    },
  });

  noticeFeed.value = openFeed({
    client,
    topic: `notifications:${userId}`,
    changes: [{ table: "notifications", filter: `user_id=eq.${userId}` }],
    refreshMs: 5 * 60_000,
    snapshot: () => loadNotifications(myScope),
    onChange(change) {
      if (myScope !== scope) return;
      const n = change.new as unknown as Notification;
      const list = notificationList.value ?? [];
      if (change.eventType === "INSERT" && n?.id) {
        if (list.some((x) => x.id === n.id)) return;
        batch(() => {
          notificationList.value = [n, ...list].slice(0, 100);
          if (!n.read_at) unread.value += 1;
        });
        saveNotices();
      } else if (change.eventType === "UPDATE" && n?.id) {
        const prev = list.find((x) => x.id === n.id);
        batch(() => {
          notificationList.value = list.map((x) => (x.id === n.id ? { ...x, ...n } : x));
          if (prev && !prev.read_at && n.read_at) unread.value = Math.max(0, unread.value - 1);
          if (prev && prev.read_at && !n.read_at) unread.value += 1;
        });
        saveNotices();
      } else {
        void loadNotifications(myScope).catch(() => {});
      }
    },
  });
}

/** Forces a fresh "my queue" snapshot (after check-in, say). */
export function refreshQueue(): Promise<void> {
  return loadQueue(scope);
}

export function refreshNotifications(): Promise<void> {
  return loadNotifications(scope);
}

// Follow the signed-in user: a different user (or none) tears everything down first.
let chain: Promise<void> = Promise.resolve();
effect(() => {
  const user = session.user.value;
  const id = user?.id ?? null;
  if (id === activeUser) return;
  activeUser = id;
  // From now on, answers still on their way for the previous user are dropped.
  const myScope = ++scope;
  // Signed out: the saved copies go at once (nothing is saved without a signed-in user).
  if (!user) forgetSaved();
  chain = chain.then(async () => {
    await teardown();
    if (user && myScope === scope) {
      if (user.clinic_code && !clinicCode.value) chooseClinic(user.clinic_code);
      await setup(myScope, user.id, user.patient_id ?? null, user.clinic_id ?? null).catch(
        () => {},
      );
    }
  });
});

// A refreshed access token goes to the realtime channels too.
effect(() => {
  const token = session.current.value?.access_token;
  if (token && client) void client.setAuth().catch(() => {});
});
