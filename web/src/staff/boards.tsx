/** @jsxImportSource preact */
/**
 * The clinic's TV board links, for its admins: label, when each board was last seen, rename and
 * revoke (a revoked board stops at once). Issuing a link is the BoardLink panel's.
 */
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import { type BoardTokenInfo, staff } from "../lib/endpoints.ts";
import { serverNow } from "../lib/clock.ts";
import { dayLabel, timeIn } from "../lib/format.ts";
import { Confirm } from "./confirm.tsx";
import { boardState } from "./state.ts";
import { run, say, session, tz } from "./store.ts";
import { t } from "./messages.ts";

/** Bumped when a board link is issued, so the list shows it. */
export const boardsIssued = signal(0);

export function Boards(props: { code: string }) {
  const [list, setList] = useState<BoardTokenInfo[] | null>(null);
  const [editing, setEditing] = useState<{ id: string; label: string } | null>(null);
  const [revoking, setRevoking] = useState<BoardTokenInfo | null>(null);
  const issued = boardsIssued.value;
  const reload = () => staff.boardTokens(session, props.code).then(setList);
  useEffect(() => {
    run(t("boards.title"), reload);
  }, [props.code, issued]);
  const zone = tz();
  const seen = (at: string | null) =>
    at ? `${dayLabel(at, zone)} ${timeIn(at, zone)}` : t("boards.never");

  async function rename(id: string, label: string) {
    await run(t("boards.rename"), async () => {
      await staff.labelBoard(session, props.code, id, label);
      setEditing(null);
      await reload();
    });
  }

  async function revoke(b: BoardTokenInfo) {
    setRevoking(null);
    await run(t("boards.revoke"), async () => {
      await staff.revokeBoard(session, props.code, b.id);
      say("success", t("boards.revokedDone", { label: b.label }));
      await reload();
    });
  }

  return (
    <section class="panel" aria-labelledby="boards-h">
      <h2 id="boards-h">{t("boards.title")}</h2>
      {!list && <p role="status" class="muted">{t("boards.loading")}</p>}
      {list?.length === 0 && <p class="muted">{t("boards.none")}</p>}
      {list && list.length > 0 && (
        <ul class="boards">
          {list.map((b) => {
            const state = boardState(b, serverNow());
            return (
              <li key={b.id} data-board={b.id}>
                {editing?.id === b.id
                  ? (
                    <form
                      class="row"
                      onSubmit={(e) => {
                        e.preventDefault();
                        rename(b.id, editing.label);
                      }}
                    >
                      <label class="visually-hidden" for={`board-label-${b.id}`}>
                        {t("boards.label")}
                      </label>
                      <input
                        id={`board-label-${b.id}`}
                        value={editing.label}
                        maxLength={100}
                        required
                        onInput={(e) => setEditing({ id: b.id, label: e.currentTarget.value })}
                      />
                      <button class="btn small" type="submit">{t("boards.save")}</button>
                      <button
                        class="btn small secondary"
                        type="button"
                        onClick={() => setEditing(null)}
                      >
                        {t("boards.cancel")}
                      </button>
                    </form>
                  )
                  : <strong>{b.label}</strong>}
                <span class="muted">
                  {` ${t(`boards.${state}`)} · ${t("boards.seen", { when: seen(b.last_seen_at) })}`}
                </span>
                {state === "live" && editing?.id !== b.id && (
                  <span class="row">
                    <button
                      class="btn small secondary"
                      type="button"
                      onClick={() => setEditing({ id: b.id, label: b.label })}
                    >
                      {t("boards.rename")}
                      <span class="visually-hidden">{` ${b.label}`}</span>
                    </button>
                    <button class="btn small danger" type="button" onClick={() => setRevoking(b)}>
                      {t("boards.revoke")}
                      <span class="visually-hidden">{` ${b.label}`}</span>
                    </button>
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {revoking && (
        <Confirm
          title={t("boards.revokeTitle", { label: revoking.label })}
          body={t("boards.revokeBody")}
          yes={t("boards.revoke")}
          no={t("boards.keep")}
          onYes={() => revoke(revoking)}
          onNo={() => setRevoking(null)}
        />
      )}
    </section>
  );
}
