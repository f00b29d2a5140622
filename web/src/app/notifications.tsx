/** @jsxImportSource preact */
/** Notifications: newest first, live (new ones arrive while the page is open), mark read. */
import { useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { notifications as api } from "../lib/endpoints.ts";
import { serverNow } from "../lib/clock.ts";
import { dayLabel, localDay, timeIn } from "../lib/format.ts";
import { LinkBanner, Loading, Notice, PageTitle, SavedCopy } from "../lib/ui.tsx";
import {
  clinicZone,
  noticeFeed,
  noticesAsOf,
  notificationList,
  refreshNotifications,
  session,
  unread,
} from "./store.ts";
import { t } from "./messages.ts";

/** "Today, 09:30" or "Mon, 7 Dec, 09:30" (clinic time): a time alone is ambiguous. */
function whenLabel(at: string, tz: string): string {
  const day = localDay(at, tz) === localDay(serverNow(), tz) ? t("today") : dayLabel(at, tz);
  return t("notices.when", { day, time: timeIn(at, tz) });
}

export function Notifications() {
  const list = notificationList.value;
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    refreshNotifications().catch((e) => setError(messageOf(e)));
  }, []);

  async function markRead(id: string) {
    const before = notificationList.value ?? [];
    const target = before.find((n) => n.id === id);
    if (!target || target.read_at) return;
    notificationList.value = before.map((n) =>
      n.id === id ? { ...n, read_at: new Date().toISOString() } : n
    );
    unread.value = Math.max(0, unread.value - 1);
    await api.read(session, id).catch((e) => {
      setError(messageOf(e));
      void refreshNotifications().catch(() => {});
    });
  }

  async function markAll() {
    const now = new Date().toISOString();
    notificationList.value = (notificationList.value ?? []).map((n) => ({
      ...n,
      read_at: n.read_at ?? now,
    }));
    unread.value = 0;
    await api.readAll(session).catch((e) => {
      setError(messageOf(e));
      void refreshNotifications().catch(() => {});
    });
  }

  return (
    <section class="narrow">
      <div class="spread">
        <PageTitle>{t("notices.title")}</PageTitle>
        {unread.value > 0 && (
          <button class="btn secondary" type="button" onClick={markAll}>
            {t("notices.markAll")}
          </button>
        )}
      </div>
      <LinkBanner feed={noticeFeed.value} />
      <SavedCopy asOf={noticesAsOf.value} time={(at) => timeIn(at, clinicZone.value)} />
      {error && <Notice kind="error">{error}</Notice>}
      {list === null && !error && <Loading />}
      {list?.length === 0 && <p>{t("notices.none")}</p>}
      <ul class="list notifications" aria-live="polite">
        {list?.map((n) => (
          <li key={n.id} class={n.read_at ? "read" : "unread"}>
            <article class="card">
              <div class="spread">
                <h2 class="n-title">
                  {!n.read_at && <span class="visually-hidden">{t("notices.unread")}</span>}
                  {n.title}
                </h2>
                <time class="muted" dateTime={n.created_at}>
                  {whenLabel(n.created_at, clinicZone.value)}
                </time>
              </div>
              {n.body && <p>{n.body}</p>}
              {!n.read_at && (
                <button class="btn link" type="button" onClick={() => markRead(n.id)}>
                  {t("notices.markRead")}
                  <span class="visually-hidden">: {n.title}</span>
                </button>
              )}
            </article>
          </li>
        ))}
      </ul>
    </section>
  );
}
