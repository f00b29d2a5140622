/** @jsxImportSource preact */
/** A link for the waiting-room TV (a board token: no sign-in, no patient names). */
import { useState } from "preact/hooks";
import { staff } from "../lib/endpoints.ts";
import { boardUrl } from "./state.ts";
import { run, session } from "./store.ts";

export function BoardLink(props: { code: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function create() {
    setBusy(true);
    await run("Board link", async () => {
      const res = await staff.boardToken(
        session,
        props.code,
        `TV ${new Date().toLocaleDateString()}`,
      );
      setUrl(boardUrl(location.origin, props.code, res.token));
    });
    setBusy(false);
  }
  return (
    <section class="panel" aria-labelledby="board-h">
      <h2 id="board-h">Waiting-room TV</h2>
      <p class="muted">
        Create a link, open it once on the TV; it keeps working (no sign-in, no patient names).
      </p>
      <button class="btn secondary" type="button" onClick={create} disabled={busy}>
        Create TV board link
      </button>
      {url && (
        <div class="field board-url">
          <label for="board-url">Board link (keep it private)</label>
          <input id="board-url" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
          <a href={url} target="_blank" rel="noopener">Open the board</a>
        </div>
      )}
    </section>
  );
}
