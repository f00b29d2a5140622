/** @jsxImportSource preact */
/**
 * The clinic's outbound webhook endpoints, for its admins: list, add (all events), enable or
 * disable, rotate the signing secret (shown once, like at creation), each endpoint's recent
 * deliveries with their attempts, and sending a failed one again.
 */
import { useEffect, useState } from "preact/hooks";
import { type WebhookDelivery, type WebhookEndpoint, webhooks } from "../lib/endpoints.ts";
import { dayLabel, timeIn } from "../lib/format.ts";
import { run, say, session, tz } from "./store.ts";
import { t } from "./messages.ts";

/** Delivery states an admin may send again (the API answers 409 for the others). */
const RETRYABLE = new Set(["failed", "dead", "cancelled"]);

export function Webhooks(props: { code: string }) {
  const [list, setList] = useState<WebhookEndpoint[] | null>(null);
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const reload = () => webhooks.list(session, props.code).then(setList);
  useEffect(() => {
    run(t("hooks.title"), reload);
  }, [props.code]);
  const zone = tz();
  const when = (at: string) => `${dayLabel(at, zone)} ${timeIn(at, zone)}`;

  async function add() {
    await run(t("hooks.add"), async () => {
      const created = await webhooks.create(session, props.code, {
        url,
        events: ["*"],
        ...(description ? { description } : {}),
      });
      setSecret({ url: created.endpoint.url, secret: created.secret });
      setUrl("");
      setDescription("");
      say("success", t("hooks.added"));
      await reload();
    });
  }

  async function update(e: WebhookEndpoint, changes: { enabled?: boolean; rotate?: boolean }) {
    await run(changes.rotate ? t("hooks.rotate") : t("hooks.toggle"), async () => {
      const updated = await webhooks.update(session, props.code, e.id, {
        ...(changes.enabled === undefined ? {} : { enabled: changes.enabled }),
        ...(changes.rotate ? { rotate_secret: true } : {}),
      });
      if (updated.secret) setSecret({ url: e.url, secret: updated.secret });
      await reload();
    });
  }

  return (
    <section class="panel" aria-labelledby="hooks-h">
      <h2 id="hooks-h">{t("hooks.title")}</h2>
      {secret && (
        <div class="notice" role="alert" data-secret>
          <p>{t("hooks.secret", { url: secret.url })}</p>
          <code class="secret">{secret.secret}</code>
          <button class="btn small" type="button" onClick={() => setSecret(null)}>
            {t("hooks.secretDone")}
          </button>
        </div>
      )}
      {!list && <p role="status" class="muted">{t("hooks.loading")}</p>}
      {list?.length === 0 && <p class="muted">{t("hooks.none")}</p>}
      {list && list.length > 0 && (
        <ul class="hooks">
          {list.map((e) => (
            <li key={e.id} data-endpoint={e.id}>
              <strong class="url">{e.url}</strong>
              {e.description && <span>{` ${e.description}`}</span>}
              <span class="muted">
                {` ${e.enabled ? t("hooks.enabled") : t("hooks.disabled")}`}
                {e.failing_since && ` · ${t("hooks.failing", { when: when(e.failing_since) })}`}
                {e.previous_secret_expires_at &&
                  ` · ${t("hooks.previous", { when: when(e.previous_secret_expires_at) })}`}
              </span>
              <span class="row">
                <button
                  class="btn small secondary"
                  type="button"
                  onClick={() => setOpen(open === e.id ? null : e.id)}
                  aria-expanded={open === e.id}
                >
                  {t("hooks.deliveries")}
                  <span class="visually-hidden">{` ${e.url}`}</span>
                </button>
                <button
                  class="btn small secondary"
                  type="button"
                  onClick={() => update(e, { rotate: true })}
                >
                  {t("hooks.rotate")}
                  <span class="visually-hidden">{` ${e.url}`}</span>
                </button>
                <button
                  class="btn small secondary"
                  type="button"
                  onClick={() => update(e, { enabled: !e.enabled })}
                >
                  {e.enabled ? t("hooks.disable") : t("hooks.enable")}
                  <span class="visually-hidden">{` ${e.url}`}</span>
                </button>
              </span>
              {open === e.id && <Deliveries code={props.code} endpoint={e} when={when} />}
            </li>
          ))}
        </ul>
      )}
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          add();
        }}
      >
        <label>
          {t("hooks.url")}
          <input
            name="url"
            type="url"
            required
            maxLength={2000}
            placeholder="https://"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
        </label>
        <label>
          {t("hooks.description")}
          <input
            name="description"
            maxLength={500}
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
        </label>
        <button class="btn" type="submit">{t("hooks.add")}</button>
      </form>
    </section>
  );
}

function Deliveries(
  props: { code: string; endpoint: WebhookEndpoint; when: (at: string) => string },
) {
  const [list, setList] = useState<WebhookDelivery[] | null>(null);
  const reload = () => webhooks.deliveries(session, props.code, props.endpoint.id).then(setList);
  useEffect(() => {
    run(t("hooks.deliveries"), reload);
  }, [props.endpoint.id]);

  async function retry(d: WebhookDelivery) {
    await run(t("hooks.retry"), async () => {
      await webhooks.retry(session, props.code, props.endpoint.id, d.id);
      say("success", t("hooks.retried"));
      await reload();
    });
  }

  if (!list) return <p role="status" class="muted">{t("hooks.loading")}</p>;
  if (list.length === 0) return <p class="muted">{t("hooks.noDeliveries")}</p>;
  return (
    <ul class="deliveries">
      {list.map((d) => (
        <li key={d.id} data-delivery={d.id} data-status={d.status}>
          {`${props.when(d.created_at)} ${d.event_type} · ${d.status} · `}
          {t("hooks.attempts", { n: String(d.attempts) })}
          {d.last_status_code !== null && ` · HTTP ${d.last_status_code}`}
          {d.last_error && <span class="muted">{` · ${d.last_error}`}</span>}
          {RETRYABLE.has(d.status) && props.endpoint.enabled && (
            <button
              class="btn small"
              type="button"
              onClick={() => retry(d)}
            >
              {t("hooks.retry")}
              <span class="visually-hidden">{` ${d.event_type}`}</span>
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
