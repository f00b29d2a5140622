/** @jsxImportSource preact */
/**
 * A dependant's messages, chosen by their guardian: messages about someone without an account
 * of their own come to the guardian (in the app, by push on the guardian's devices), and by
 * SMS, WhatsApp or e-mail to the dependant's phone or address on file only where ticked here,
 * in the language chosen here (`PATCH /me/dependants/:id`). Someone with an account of their
 * own chooses their own.
 */
import { useState } from "preact/hooks";
import { messageOf } from "../lib/api.ts";
import { type Dependant, families } from "../lib/endpoints.ts";
import { type Lang, LANG_NAMES, LANGS } from "../lib/i18n.ts";
import { Notice, SelectField } from "../lib/ui.tsx";
import { t } from "./messages.ts";
import { type ChannelConsents, CHANNELS, ConsentFields } from "./profile.tsx";
import { session } from "./store.ts";

export function DependantMessages(props: { dependant: Dependant }) {
  const [d, setD] = useState(props.dependant);
  const [consents, setConsents] = useState<ChannelConsents>(channelsOf(d));
  const [language, setLanguage] = useState(d.language);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  if (d.own_account) return <p class="muted">{t("family.ownAccount", { name: d.full_name })}</p>;

  async function save(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setNote(null);
    try {
      const changed = Object.fromEntries(
        CHANNELS.filter((c) => consents[c] !== d.consents[c]).map((c) => [c, consents[c]]),
      );
      const next = await families.update(session, d.id, {
        consents: changed,
        ...(language !== d.language ? { language: language as Lang } : {}),
      });
      setD(next);
      setNote({ kind: "success", text: t("family.messagesSaved", { name: d.full_name }) });
    } catch (err) {
      setNote({ kind: "error", text: messageOf(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <details class="dependant-messages">
      <summary>{t("family.messagesTitle", { name: d.full_name })}</summary>
      <form onSubmit={save}>
        <p class="muted">{t("family.messagesIntro", { name: d.full_name })}</p>
        <ConsentFields
          id={`consent-${d.id}`}
          legend={t("family.messagesHow", { name: d.full_name })}
          value={consents}
          onChange={setConsents}
        />
        <SelectField
          id={`language-${d.id}`}
          label={t("family.messagesLang")}
          value={language}
          onChange={(e) => setLanguage(e.currentTarget.value)}
        >
          {LANGS.map((l) => <option key={l} value={l} lang={l}>{LANG_NAMES[l]}</option>)}
        </SelectField>
        {note && <Notice kind={note.kind}>{note.text}</Notice>}
        <button class="btn secondary" type="submit" disabled={busy} aria-busy={busy}>
          {t("family.messagesSave", { name: d.full_name })}
        </button>
      </form>
    </details>
  );
}

const channelsOf = (d: Dependant): ChannelConsents => ({
  email: d.consents.email,
  sms: d.consents.sms,
  whatsapp: d.consents.whatsapp,
});
