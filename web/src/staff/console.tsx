/** @jsxImportSource preact */
/** The signed-in console: header, link state, flash messages and the panels. */
import { useEffect } from "preact/hooks";
import { LinkBanner, Notice, PageTitle } from "../lib/ui.tsx";
import { Appointments } from "./appointments.tsx";
import { AuditLog } from "./audit.tsx";
import { BoardLink } from "./board_link.tsx";
import { Boards } from "./boards.tsx";
import { CallNext } from "./call_next.tsx";
import { Members } from "./members.tsx";
import { Closures } from "./closures.tsx";
import { PhoneBooking } from "./phone_booking.tsx";
import { Schedules } from "./schedules.tsx";
import { Collisions } from "./collisions.tsx";
import { AppointmentTypes } from "./types.tsx";
import { ClinicSettingsPanel } from "./settings.tsx";
import { Queue } from "./queue.tsx";
import { isAdmin } from "./state.ts";
import { feed, flash, info, session } from "./store.ts";
import { WalkIn } from "./walk_in.tsx";
import { Webhooks } from "./webhooks.tsx";
import { t } from "./messages.ts";

/** How long a flash message stays. */
const FLASH_MS = 8000;

export function Console() {
  const user = session.user.value!;
  const code = user.clinic_code!;
  const message = flash.value;
  useEffect(() => {
    if (!message) return;
    const t = setTimeout(() => (flash.value = null), FLASH_MS);
    return () => clearTimeout(t);
  }, [message]);
  return (
    <>
      <header class="staff-head">
        <div>
          <span class="brand">✚ {info.value?.clinic.name ?? code}</span>
          <span class="muted-on-primary">{user.full_name} · {user.role}</span>
        </div>
        <button class="btn link" type="button" onClick={() => session.logout()}>
          {t("signOut")}
        </button>
      </header>
      <LinkBanner feed={feed.value} />
      <main id="main" class="console" data-link={feed.value?.state.value ?? "connecting"}>
        <PageTitle suffix={t("suffix")} title={t("console.tab")}>
          {t("console.title", { clinic: info.value?.clinic.name ?? code })}
        </PageTitle>
        <div aria-live="polite" class="flash-area">
          {message && <Notice kind={message.kind}>{message.text}</Notice>}
        </div>
        <div class="grid">
          <div class="col-main">
            <CallNext code={code} />
            <Queue />
          </div>
          <div class="col-side">
            <WalkIn code={code} />
            <PhoneBooking code={code} />
            <BoardLink code={code} />
            {isAdmin(user) && <Boards code={code} />}
            {isAdmin(user) && <Webhooks code={code} />}
            {isAdmin(user) && <Members code={code} />}
            {isAdmin(user) && <Closures code={code} />}
            {isAdmin(user) && <AppointmentTypes code={code} />}
            {isAdmin(user) && <ClinicSettingsPanel code={code} />}
          </div>
        </div>
        <Appointments code={code} />
        {isAdmin(user) && <Schedules code={code} />}
        {isAdmin(user) && <Collisions code={code} />}
        {isAdmin(user) && <AuditLog code={code} />}
      </main>
    </>
  );
}
