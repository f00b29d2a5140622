/** @jsxImportSource preact */
/** A link for the waiting-room TV (a board token: no sign-in, no patient names). */
import { useState } from "preact/hooks";
import { staff } from "../lib/endpoints.ts";
import { type Lang, LANG_NAMES } from "../lib/i18n.ts";
import { SelectField } from "../lib/ui.tsx";
import { BOARD_LANGS, boardUrl } from "./state.ts";
import { run, session } from "./store.ts";
import { t } from "./messages.ts";

export function BoardLink(props: { code: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [langs, setLangs] = useState("");
  async function create() {
    setBusy(true);
    await run(t("board.action"), async () => {
      const res = await staff.boardToken(
        session,
        props.code,
        t("board.tokenName", { date: new Date().toLocaleDateString() }),
      );
      setUrl(boardUrl(location.origin, props.code, res.token, langs));
    });
    setBusy(false);
  }
  return (
    <section class="panel" aria-labelledby="board-h">
      <h2 id="board-h">{t("board.title")}</h2>
      <p class="muted">{t("board.intro")}</p>
      <SelectField
        id="board-langs"
        label={t("board.langs")}
        value={langs}
        onChange={(e) => setLangs(e.currentTarget.value)}
      >
        <option value="">{t("board.tvLang")}</option>
        {BOARD_LANGS.map((l) => (
          <option key={l} value={l}>
            {l.split(",").map((c) => LANG_NAMES[c as Lang]).join(" + ")}
          </option>
        ))}
      </SelectField>
      <button class="btn secondary" type="button" onClick={create} disabled={busy}>
        {t("board.create")}
      </button>
      {url && (
        <div class="field board-url">
          <label for="board-url">{t("board.url")}</label>
          <input id="board-url" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
          <a href={url} target="_blank" rel="noopener">{t("board.open")}</a>
        </div>
      )}
    </section>
  );
}
