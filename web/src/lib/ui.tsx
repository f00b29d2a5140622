/** @jsxImportSource preact */
/** Small accessible building blocks shared by the patient app and the staff console. */
import type { ComponentChildren, InputHTMLAttributes } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { Feed } from "./live.ts";
import { type LibKey, t } from "./messages.ts";

/** The page's h1: sets the document title and takes focus on navigation (screen readers). */
export function PageTitle(
  props: { children: ComponentChildren; title?: string; suffix?: string },
) {
  const ref = useRef<HTMLHeadingElement>(null);
  const text = props.title ?? (typeof props.children === "string" ? props.children : "");
  useEffect(() => {
    if (text) document.title = `${text} · ${props.suffix ?? t("app.name")}`;
    ref.current?.focus({ preventScroll: true });
  }, [text]);
  return <h1 ref={ref} tabIndex={-1}>{props.children}</h1>;
}

export function Notice(
  props: { kind?: "error" | "success" | "info" | "warning"; children: ComponentChildren },
) {
  const kind = props.kind ?? "info";
  return (
    <div class={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function Loading(props: { label?: string }) {
  return <p role="status" class="muted">{props.label ?? t("loading")}</p>;
}

type Handler = (event: Event & { currentTarget: HTMLInputElement }) => void;

export interface TextFieldProps {
  id: string;
  label: string;
  hint?: string;
  error?: string;
  type?: "text" | "email" | "password" | "tel" | "date" | "time" | "number" | "search" | "color";
  value?: string;
  min?: number;
  max?: number;
  pattern?: string;
  onInput?: Handler;
  required?: boolean;
  disabled?: boolean;
  autoComplete?: string;
  inputMode?: "text" | "email" | "tel" | "numeric" | "search";
  autoCapitalize?: "none" | "off" | "on" | "sentences" | "words" | "characters";
  maxLength?: number;
  placeholder?: string;
}

export function TextField(props: TextFieldProps) {
  const { label, hint, error, id, ...rest } = props;
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean)
    .join(" ");
  // Preact 11 types <input> as a union keyed by `type`; this component allows several.
  const attrs = {
    id,
    name: id,
    type: rest.type ?? "text",
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": described || undefined,
    ...rest,
  } as unknown as InputHTMLAttributes<HTMLInputElement>;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && <span class="hint" id={`${id}-hint`}>{hint}</span>}
      <input {...attrs} />
      {error && <span class="error" id={`${id}-error`}>{error}</span>}
    </div>
  );
}

export function SelectField(props: {
  id: string;
  label: string;
  error?: string;
  value?: string;
  required?: boolean;
  disabled?: boolean;
  onChange?: (event: Event & { currentTarget: HTMLSelectElement }) => void;
  children: ComponentChildren;
}) {
  const { label, error, id, children, ...rest } = props;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        name={id}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        {...rest}
      >
        {children}
      </select>
      {error && <span class="error" id={`${id}-error`}>{error}</span>}
    </div>
  );
}

/** A visible, announced line when live data is not live. */
export function LinkBanner(props: { feed: Feed | null }) {
  const feed = props.feed;
  if (!feed) return null;
  const state = feed.state.value;
  if (state === "live") return null;
  return (
    <div class="link-state" role="status">
      {state === "connecting" ? t("link.connecting") : t("link.reconnecting")}
    </div>
  );
}

/** Data from the device's saved copy: say so, and from when (the caller formats the time). */
export function SavedCopy(props: { asOf: number | null; time: (at: number) => string }) {
  if (props.asOf === null) return null;
  return (
    <p class="link-state saved-copy" role="status">
      {t("link.savedCopy", { time: props.time(props.asOf) })}
    </p>
  );
}

/** The tone of the chip of each appointment and ticket status (labels: `status.*`). */
export const STATUS: Record<string, "" | "ok" | "warn" | "info"> = {
  held: "warn",
  scheduled: "ok",
  confirmed: "ok",
  checked_in: "info",
  in_progress: "info",
  completed: "",
  cancelled: "warn",
  no_show: "warn",
  rescheduled: "",
  waiting: "info",
  called: "ok",
  serving: "info",
};

export function StatusChip(props: { status: string }) {
  const tone = STATUS[props.status];
  const label = tone === undefined ? props.status : t(`status.${props.status}` as LibKey);
  return <span class={`status ${tone ?? ""}`}>{label}</span>;
}
