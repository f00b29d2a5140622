/** @jsxImportSource preact */
/**
 * The profile: the app's (and the clinic's messages') language, the mobile number, per
 * clinic which channels may reach the patient, and the account (address, password:
 * account.tsx). Sign-up asks the same consent question (`ConsentFields`), nothing ticked. Push is asked on its own, where it helps ("Tell me when I'm
 * called"), so it is not offered here.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, messageOf } from "../lib/api.ts";
import {
  type Consents,
  GENDERS,
  type Profile as ProfileData,
  profile as api,
} from "../lib/endpoints.ts";
import { chooseLang, type Lang, lang, LANG_NAMES, LANGS } from "../lib/i18n.ts";
import { Loading, Notice, PageTitle, SelectField, TextField } from "../lib/ui.tsx";
import { t } from "./messages.ts";
import { t as tl } from "../lib/messages.ts";
import { session } from "./store.ts";
import { AccountSettings } from "./account.tsx";

export type Channel = "email" | "sms" | "whatsapp";
export const CHANNELS: readonly Channel[] = ["email", "sms", "whatsapp"];
export type ChannelConsents = Record<Channel, boolean>;
/** Nothing ticked: consent is given, never assumed. */
export const NO_CONSENT: ChannelConsents = { email: false, sms: false, whatsapp: false };
/** A phone number as the API takes it (it stores E.164). */
const PHONE = /^[+0-9][0-9 -]{5,19}$/;

/** What is wrong with the phone number given these consents (SMS and WhatsApp need one). */
export function phoneProblem(phone: string, consents: ChannelConsents[]): string | null {
  const number = phone.trim();
  if (number && !PHONE.test(number)) return t("signup.err.phone");
  if (!number && consents.some((c) => c.sms || c.whatsapp)) return t("signup.err.phoneNeeded");
  return null;
}

/** The mobile number, optional. */
export function PhoneField(
  props: { value: string; error?: string; onInput: (value: string) => void },
) {
  return (
    <TextField
      id="phone"
      label={t("field.phone")}
      type="tel"
      autoComplete="tel"
      hint={t("field.phoneHint")}
      value={props.value}
      error={props.error}
      onInput={(e) => props.onInput(e.currentTarget.value)}
    />
  );
}

/**
 * Date of birth and gender, both required. `self` when they are the signed-in person's own: only
 * then may the browser fill the date in (a dependant's birthday is not the user's).
 */
export function BirthFields(props: {
  dateOfBirth: string;
  gender: string;
  errors: { date_of_birth?: string; gender?: string };
  onInput: (key: "date_of_birth" | "gender", value: string) => void;
  self?: boolean;
}) {
  return (
    <>
      <TextField
        id="date_of_birth"
        label={t("field.dob")}
        type="date"
        autoComplete={props.self ? "bday" : undefined}
        required
        value={props.dateOfBirth}
        error={props.errors.date_of_birth}
        onInput={(e) => props.onInput("date_of_birth", e.currentTarget.value)}
      />
      <SelectField
        id="gender"
        label={t("field.gender")}
        required
        value={props.gender}
        error={props.errors.gender}
        onChange={(e) => props.onInput("gender", e.currentTarget.value)}
      >
        <option value="">{t("field.choose")}</option>
        {GENDERS.map((g) => <option key={g} value={g}>{tl(`gender.${g}`)}</option>)}
      </SelectField>
    </>
  );
}

/** One checkbox per channel, under the question. */
export function ConsentFields(
  props: {
    id: string;
    legend?: string;
    value: ChannelConsents;
    onChange: (value: ChannelConsents) => void;
  },
) {
  return (
    <fieldset class="consents" aria-describedby={`${props.id}-hint`}>
      <legend>{props.legend ?? t("consent.legend")}</legend>
      <p class="hint" id={`${props.id}-hint`}>{t("consent.hint")}</p>
      {CHANNELS.map((c) => (
        <label key={c} class="check">
          <input
            type="checkbox"
            id={`${props.id}-${c}`}
            name={`${props.id}-${c}`}
            checked={props.value[c]}
            onChange={(e) => props.onChange({ ...props.value, [c]: e.currentTarget.checked })}
          />
          <span>{t(`consent.${c}`)}</span>
        </label>
      ))}
    </fieldset>
  );
}

/** The language switch: each language named in itself. */
export function LanguageField(props: { value: Lang; onChange: (l: Lang) => void }) {
  return (
    <SelectField
      id="language"
      label={t("field.language")}
      value={props.value}
      onChange={(e) => props.onChange(e.currentTarget.value as Lang)}
    >
      {LANGS.map((l) => <option key={l} value={l} lang={l}>{LANG_NAMES[l]}</option>)}
    </SelectField>
  );
}

const channelsOf = (c: Consents): ChannelConsents => ({
  email: c.email,
  sms: c.sms,
  whatsapp: c.whatsapp,
});

export function Profile() {
  const [data, setData] = useState<ProfileData | null>(null);
  const [language, setLanguage] = useState<Lang>(lang.value);
  const [phone, setPhone] = useState("");
  const [consents, setConsents] = useState<Record<string, ChannelConsents>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  function show(p: ProfileData) {
    setData(p);
    setLanguage(p.language);
    setPhone(p.phone ?? "");
    setConsents(Object.fromEntries(p.patients.map((r) => [r.clinic_code, channelsOf(r.consents)])));
  }
  useEffect(() => {
    api.get(session).then(show).catch((e) => setError(messageOf(e)));
  }, []);

  async function save(event: Event) {
    event.preventDefault();
    if (busy || !data) return;
    const number = phone.trim();
    const problem = phoneProblem(number, Object.values(consents));
    setFields(problem ? { phone: problem } : {});
    setSaved(false);
    if (problem) {
      document.getElementById("phone")?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // One change per clinic record whose consents differ; language and phone with the first.
      const records = data.patients.filter((r) =>
        CHANNELS.some((c) => consents[r.clinic_code]?.[c] !== r.consents[c])
      );
      let answer = await api.update(session, {
        language,
        ...(number && number !== data.phone ? { phone: number } : {}),
        ...(records[0]
          ? { clinic_code: records[0].clinic_code, consents: consents[records[0].clinic_code] }
          : {}),
      });
      for (const r of records.slice(1)) {
        answer = await api.update(session, {
          clinic_code: r.clinic_code,
          consents: consents[r.clinic_code],
        });
      }
      show(answer);
      chooseLang(answer.language);
      setSaved(true);
    } catch (e) {
      setError(messageOf(e));
      if (e instanceof ApiError) setFields(e.fieldErrors());
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <PageTitle>{t("profile.title")}</PageTitle>
      <p>
        <a href="/family">{t("nav.family")}</a>
      </p>
      {error && <Notice kind="error">{error}</Notice>}
      {saved && <Notice kind="success">{t("profile.saved")}</Notice>}
      {!data && !error && <Loading />}
      {data && (
        <form onSubmit={save} noValidate>
          <LanguageField value={language} onChange={setLanguage} />
          <p class="muted small">{t("profile.languageHint")}</p>
          <PhoneField value={phone} error={fields.phone} onInput={setPhone} />
          {data.patients.map((r) => (
            <ConsentFields
              key={r.clinic_code}
              id={`consent-${r.clinic_code}`}
              legend={data.patients.length > 1
                ? `${t("consent.legend")} (${r.clinic_name})`
                : undefined}
              value={consents[r.clinic_code] ?? NO_CONSENT}
              onChange={(v) => setConsents({ ...consents, [r.clinic_code]: v })}
            />
          ))}
          <button class="btn block" type="submit" disabled={busy}>
            {busy ? t("profile.saving") : t("profile.save")}
          </button>
        </form>
      )}
      <AccountSettings />
    </section>
  );
}
