/** @jsxImportSource preact */
/** Log in and sign up (patients). Errors are announced and tied to their fields. */
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, messageOf } from "../lib/api.ts";
import { navigate, queryParam } from "../lib/router.ts";
import { Notice, PageTitle, TextField } from "../lib/ui.tsx";
import type { Gender } from "../lib/endpoints.ts";
import { notSignedIn } from "../lib/session.ts";
import { ClinicPicker } from "./clinic_picker.tsx";
import { LinkPage } from "./account.tsx";
import {
  BirthFields,
  ConsentFields,
  LanguageField,
  NO_CONSENT,
  PhoneField,
  phoneProblem,
} from "./profile.tsx";
import { chooseLang, lang } from "../lib/i18n.ts";
import { chooseClinic, clinicCode, clinicInfo, session } from "./store.ts";
import { t } from "./messages.ts";

function nextPath(): string {
  const next = queryParam("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    setFields({});
    try {
      const s = await session.login(email.trim(), password, clinicCode.value || undefined);
      if (s.clinic_code) chooseClinic(s.clinic_code);
      navigate(nextPath(), { replace: true });
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401 ? notSignedIn() : messageOf(e),
      );
      if (e instanceof ApiError) setFields(e.fieldErrors());
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <PageTitle>{t("logIn")}</PageTitle>
      {session.expired.value && !error && <Notice kind="warning">{t("login.expired")}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <form onSubmit={submit} noValidate>
        <TextField
          id="email"
          label={t("field.email")}
          type="email"
          autoComplete="email"
          inputMode="email"
          required
          value={email}
          error={fields.email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <TextField
          id="password"
          label={t("field.password")}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          error={fields.password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <button class="btn block" type="submit" disabled={busy}>
          {busy ? t("login.busy") : t("logIn")}
        </button>
      </form>
      <p class="after-form">
        <a href="/forgot-password">{t("login.forgot")}</a>
      </p>
      <p class="after-form">
        {t("login.new")} <a href={`/signup${location.search}`}>{t("createAccount")}</a>
      </p>
    </section>
  );
}

/**
 * "No clinic has the code X" as soon as a well-formed code is known not to exist (a mistyped
 * clinic link), not after the whole form was filled in.
 */
function useUnknownClinic(input: string): string | null {
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const code = input.trim().toUpperCase();
    setProblem(null);
    if (!/^[A-Z0-9-]{2,20}$/.test(code)) return;
    let live = true;
    const timer = setTimeout(() => {
      clinicInfo(code).catch((e) => {
        if (live && e instanceof ApiError && e.status === 404) {
          setProblem(t("signup.unknownClinic", { code }));
        }
      });
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [input]);
  return problem;
}

export function Signup() {
  const [form, setForm] = useState({
    clinic_code: clinicCode.value,
    full_name: "",
    email: "",
    password: "",
    date_of_birth: "",
    gender: "" as Gender | "",
    phone: "",
    language: lang.value,
    consents: NO_CONSENT,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const set = (key: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const unknownClinic = useUnknownClinic(form.clinic_code);

  function validate(): Record<string, string> {
    const out: Record<string, string> = {};
    if (!/^[A-Za-z0-9-]{2,20}$/.test(form.clinic_code.trim())) {
      out.clinic_code = t("signup.err.clinicCode");
    } else if (unknownClinic) out.clinic_code = unknownClinic;
    if (!form.full_name.trim()) out.full_name = t("signup.err.fullName");
    if (!/^\S+@\S+\.\S+$/.test(form.email.trim())) out.email = t("signup.err.email");
    if (form.password.length < 8) out.password = t("signup.err.password");
    if (!form.date_of_birth) out.date_of_birth = t("signup.err.dob");
    if (!form.gender) out.gender = t("signup.err.gender");
    const phone = phoneProblem(form.phone, [form.consents]);
    if (phone) out.phone = phone;
    return out;
  }

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    const problems = validate();
    setFields(problems);
    if (Object.keys(problems).length) {
      setError(t("signup.correct"));
      const first = Object.keys(problems)[0];
      document.getElementById(first)?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const code = form.clinic_code.trim().toUpperCase();
      await session.signup({
        clinic_code: code,
        email: form.email.trim(),
        password: form.password,
        full_name: form.full_name.trim(),
        date_of_birth: form.date_of_birth,
        gender: form.gender as Gender, // validate() refused ""
        ...(form.phone.trim() ? { phone: form.phone.trim() } : {}),
        language: form.language,
        consents: form.consents,
      });
      chooseClinic(code);
      navigate(queryParam("next") ? nextPath() : "/book", { replace: true });
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 409 ? t("signup.exists") : messageOf(e),
      );
      if (e instanceof ApiError) setFields(e.fieldErrors());
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <PageTitle>{t("signup.title")}</PageTitle>
      {error && <Notice kind="error">{error}</Notice>}
      <form onSubmit={submit} noValidate>
        <LanguageField
          value={form.language}
          onChange={(language) => {
            setForm({ ...form, language });
            chooseLang(language);
          }}
        />
        <TextField
          id="clinic_code"
          label={t("field.clinicCode")}
          hint={t("field.clinicCodeHint")}
          autoCapitalize="characters"
          required
          value={form.clinic_code}
          error={fields.clinic_code ?? unknownClinic ?? undefined}
          onInput={set("clinic_code")}
        />
        <ClinicPicker
          hideFor={form.clinic_code}
          onPick={(code) => setForm({ ...form, clinic_code: code })}
        />
        <TextField
          id="full_name"
          label={t("field.fullName")}
          autoComplete="name"
          required
          value={form.full_name}
          error={fields.full_name}
          onInput={set("full_name")}
        />
        <TextField
          id="email"
          label={t("field.email")}
          type="email"
          inputMode="email"
          autoComplete="email"
          required
          value={form.email}
          error={fields.email}
          onInput={set("email")}
        />
        <TextField
          id="password"
          label={t("field.password")}
          type="password"
          autoComplete="new-password"
          hint={t("field.passwordHint")}
          required
          value={form.password}
          error={fields.password}
          onInput={set("password")}
        />
        <BirthFields
          self
          dateOfBirth={form.date_of_birth}
          gender={form.gender}
          errors={fields}
          onInput={(key, value) => setForm({ ...form, [key]: value })}
        />
        <PhoneField
          value={form.phone}
          error={fields.phone}
          onInput={(phone) => setForm({ ...form, phone })}
        />
        <ConsentFields
          id="consent"
          value={form.consents}
          onChange={(consents) => setForm({ ...form, consents })}
        />
        <button class="btn block" type="submit" disabled={busy}>
          {busy ? t("signup.busy") : t("signup.submit")}
        </button>
      </form>
      <p class="after-form">
        {t("signup.already")} <a href={`/login${location.search}`}>{t("logIn")}</a>
      </p>
    </section>
  );
}

/**
 * `/unlock#<token>`: the e-mailed unlock link. The token stays in the fragment (never sent in a
 * request line or Referer) and is used only on a press, so a mail scanner opening the link
 * cannot use it up; it makes this browser one the account may sign in from.
 */
export function Unlock() {
  return (
    <LinkPage
      title={t("unlock.title")}
      intro={t("unlock.intro")}
      submit={t("unlock.submit")}
      busy={t("unlock.busy")}
      noToken={t("unlock.noToken")}
      use={async (token) => {
        await call("post", "/api/auth/unlock", { body: { token } });
        return t("unlock.done");
      }}
      explain={(e) => e.status === 401 ? t("unlock.expired") : null}
      after={
        <>
          <a href="/login">{t("logIn")}</a> · <a href="/staff">{t("unlock.staff")}</a>
        </>
      }
    />
  );
}
