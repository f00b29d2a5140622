/** @jsxImportSource preact */
/**
 * The staff console, `/staff`: today's appointments and the live queue of the clinic — call
 * next per room, recall, start, complete, no-show, cancel, staff check-in, walk-ins (nameless,
 * a patient found by name / number / phone, or a new patient registered with the ticket), and
 * a TV board link. Changes by other staff arrive live (realtime → debounced refetch of the truth).
 *
 * Pure state in `state.ts`, data and actions in `store.ts`, the realtime wiring in
 * `realtime.ts`, the desk's remembered settings in `storage.ts`, one file per panel.
 */
import { render } from "preact";
import { registerServiceWorker } from "../lib/pwa.ts";
import { Console } from "./console.tsx";
import { Login } from "./login.tsx";
import { followSession } from "./realtime.ts";
import { consoleKey } from "./state.ts";
import { session } from "./store.ts";
import { t } from "./messages.ts";

function App() {
  return (
    <>
      <a class="skip-link" href="#main">{t("skip")}</a>
      {consoleKey(session.user.value) ? <Console /> : <Login />}
    </>
  );
}

followSession();
const root = document.getElementById("root")!;
root.textContent = ""; // drop the no-JS fallback
render(<App />, root);
registerServiceWorker();
