/** @jsxImportSource preact */
/**
 * A modal question before a step that is hard to take back. The safe choice has the focus, and
 * Escape or the backdrop's close take it too.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { Question } from "./state.ts";

export function Confirm(
  props: Question & { onYes: () => void; onNo: () => void; children?: ComponentChildren },
) {
  const dialog = useRef<HTMLDialogElement>(null);
  const safe = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    safe.current?.focus();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="confirm-h"
      aria-describedby="confirm-body"
      onCancel={(e) => {
        e.preventDefault();
        props.onNo();
      }}
    >
      <h2 id="confirm-h">{props.title}</h2>
      <p id="confirm-body">{props.body}</p>
      {props.children}
      <div class="row">
        <button ref={safe} class="btn secondary" type="button" onClick={props.onNo}>
          {props.no}
        </button>
        <button class="btn danger" type="button" onClick={props.onYes}>{props.yes}</button>
      </div>
    </dialog>
  );
}
