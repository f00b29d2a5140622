/** @jsxImportSource preact */
/**
 * A button whose action is asked again in a dialog: the safe choice ("Keep it") has the focus,
 * so Enter never does the harm; a failure is shown in the dialog, which stays open.
 */
import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { Notice } from "../lib/ui.tsx";
import { t } from "./messages.ts";

export function ConfirmButton(props: {
  /** Unique on the page: the dialog's title is `<id>` (its label). */
  id: string;
  /** The button's content, and its accessible name when that is not enough. */
  children: ComponentChildren;
  ariaLabel?: string;
  title: string;
  body: ComponentChildren;
  yes: string;
  yesBusy?: string;
  action: () => Promise<unknown>;
  onDone: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await props.action();
      dialog.current?.close();
      props.onDone();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <button
        class="btn secondary"
        type="button"
        aria-label={props.ariaLabel}
        onClick={() => dialog.current?.showModal()}
      >
        {props.children}
      </button>
      <dialog ref={dialog} aria-labelledby={props.id}>
        <h2 id={props.id}>{props.title}</h2>
        <p>{props.body}</p>
        {error && <Notice kind="error">{error}</Notice>}
        <div class="row">
          <button class="btn danger" type="button" onClick={confirm} disabled={busy}>
            {busy && props.yesBusy ? props.yesBusy : props.yes}
          </button>
          <button
            class="btn secondary"
            type="button"
            autofocus
            onClick={() => dialog.current?.close()}
          >
            {t("appts.keep")}
          </button>
        </div>
      </dialog>
    </>
  );
}
