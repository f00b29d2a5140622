/** @jsxImportSource preact */
/**
 * The account: "forgot password", the pages the e-mailed links open (`/reset-password#<token>`,
 * `/confirm-email#<token>`, `/accept-invite#<token>`), and the profile's address, password and change-of-address forms.
 * A link's token stays in the fragment (never in a request line or Referer) and is used only on
 * a press, so a mail scanner opening the link cannot use it up.
 */
import { useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { ApiError, messageOf } from "../lib/api.ts";
import { account } from "../lib/endpoints.ts";
import { Notice, PageTitle, TextField } from "../lib/ui.tsx";
import { type AppKey, t } from "./messages.ts";
import { session } from "./store.ts";

/** A form's state: busy, the error (with its fields) or the success message. */
function useForm() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ComponentChildren | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string | null>(null);
  async function run(
    work: () => Promise<string>,
    explain: (e: ApiError) => ComponentChildren | null = () => null,
  ) {
    if (busy) return;
    setBusy(true);
    setError(null);
    setFields({});
    setDone(null);
    try {
      setDone(await work());
    } catch (e) {
      setError(e instanceof ApiError ? explain(e) ?? messageOf(e) : messageOf(e));
      if (e instanceof ApiError) setFields(e.fieldErrors());
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, fields, done, run };
}

const linkToken = () => location.hash.slice(1);
const forget = () => history.replaceState(null, "", location.pathname);
const usedOrExpired = (e: ApiError) => e.status === 410 || e.code === "invalid_token";

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const form = useForm();
  return (
    <section class="narrow">
      <PageTitle>{t("forgot.title")}</PageTitle>
      {form.error && <Notice kind="error">{form.error}</Notice>}
      {form.done ? <Notice kind="success">{form.done}</Notice> : (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const address = email.trim();
            form.run(async () => {
              await account.forgot(address);
              return t("forgot.sent", { email: address });
            });
          }}
        >
          <p>{t("forgot.intro")}</p>
          <TextField
            id="email"
            label={t("field.email")}
            type="email"
            inputMode="email"
            autoComplete="email"
            required
            value={email}
            error={form.fields.email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
          <button class="btn block" type="submit" disabled={form.busy}>
            {form.busy ? t("forgot.busy") : t("forgot.submit")}
          </button>
        </form>
      )}
      <p class="after-form">
        <a href="/login">{t("logIn")}</a>
      </p>
    </section>
  );
}

export function ResetPassword() {
  const [password, setPassword] = useState("");
  const token = linkToken();
  const form = useForm();
  return (
    <section class="narrow">
      <PageTitle>{t("reset.title")}</PageTitle>
      {form.error && <Notice kind="error">{form.error}</Notice>}
      {form.done
        ? (
          <Notice kind="success">
            {form.done} <a href="/login">{t("logIn")}</a>
          </Notice>
        )
        : token
        ? (
          <form
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              form.run(async () => {
                await account.reset(token, password);
                forget();
                // This browser's session ended with the others.
                if (session.user.value) await session.logout().catch(() => {});
                return t("reset.done");
              }, (e) =>
                usedOrExpired(e) && (
                  <>
                    {t("reset.expired")} <a href="/forgot-password">{t("reset.again")}</a>
                  </>
                ));
            }}
          >
            <TextField
              id="password"
              label={t("reset.field")}
              type="password"
              autoComplete="new-password"
              hint={t("field.passwordHint")}
              required
              value={password}
              error={form.fields.password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <button class="btn block" type="submit" disabled={form.busy}>
              {form.busy ? t("profile.saving") : t("reset.submit")}
            </button>
          </form>
        )
        : <p>{t("reset.noToken")}</p>}
    </section>
  );
}

/**
 * A page an e-mailed link opens that uses its token on a press: the intro and the button, then
 * the answer of `use` (with `after`), or what went wrong.
 */
export function LinkPage(props: {
  title: string;
  intro: string;
  submit: string;
  busy: string;
  noToken: string;
  use: (token: string) => Promise<string>;
  explain: (e: ApiError) => ComponentChildren | null;
  after: ComponentChildren;
}) {
  const token = linkToken();
  const form = useForm();
  return (
    <section class="narrow">
      <PageTitle>{props.title}</PageTitle>
      {form.error && <Notice kind="error">{form.error}</Notice>}
      {form.done ? <Notice kind="success">{form.done} {props.after}</Notice> : token
        ? (
          <>
            <p>{props.intro}</p>
            <button
              class="btn block"
              type="button"
              disabled={form.busy}
              onClick={() =>
                form.run(async () => {
                  const done = await props.use(token);
                  forget();
                  return done;
                }, props.explain)}
            >
              {form.busy ? props.busy : props.submit}
            </button>
          </>
        )
        : <p>{props.noToken}</p>}
    </section>
  );
}

export function ConfirmEmail() {
  return (
    <LinkPage
      title={t("confirm.title")}
      intro={t("confirm.intro")}
      submit={t("confirm.submit")}
      busy={t("confirm.busy")}
      noToken={t("confirm.noToken")}
      use={async (token) => {
        const done = await account.confirm(token);
        const key: AppKey = done.purpose === "email_change"
          ? "confirm.changed"
          : "confirm.verified";
        return t(key, { email: done.email });
      }}
      explain={(e) =>
        usedOrExpired(e)
          ? t("confirm.expired")
          : e.code === "email_taken"
          ? t("confirm.taken")
          : null}
      after={<a href="/">{t("notFound.home")}</a>}
    />
  );
}

/** The profile's account part: the address and whether it is confirmed, and the two changes. */
export function AccountSettings() {
  const [me, setMe] = useState<{ email: string | null; email_verified: boolean } | null>(null);
  const verify = useForm();
  const password = useForm();
  const email = useForm();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [newEmail, setNewEmail] = useState("");
  const [emailPassword, setEmailPassword] = useState("");
  useEffect(() => {
    account.me(session).then((r) => setMe(r.user)).catch(() => {});
  }, []);
  const wrong = (e: ApiError) => e.code === "wrong_password" ? t("account.wrongPassword") : null;

  return (
    <section aria-labelledby="account-title">
      <h2 id="account-title">{t("account.title")}</h2>
      {me?.email && (
        <p>
          {t("account.email", { email: me.email })}{" "}
          <strong>
            ({me.email_verified ? t("account.verified") : t("account.unverified")})
          </strong>
        </p>
      )}
      {verify.error && <Notice kind="error">{verify.error}</Notice>}
      {verify.done && <Notice kind="success">{verify.done}</Notice>}
      {me?.email && !me.email_verified && !verify.done && (
        <button
          class="btn secondary"
          type="button"
          disabled={verify.busy}
          onClick={() =>
            verify.run(async () => {
              await account.verify(session);
              return t("account.verifySent", { email: me.email! });
            })}
        >
          {t("account.verify")}
        </button>
      )}

      <form
        noValidate
        aria-labelledby="password-title"
        onSubmit={(e) => {
          e.preventDefault();
          password.run(async () => {
            await account.changePassword(session, {
              current_password: current,
              new_password: next,
            });
            setCurrent("");
            setNext("");
            return t("account.passwordChanged");
          }, wrong);
        }}
      >
        <h3 id="password-title">{t("account.passwordTitle")}</h3>
        {password.error && <Notice kind="error">{password.error}</Notice>}
        {password.done && <Notice kind="success">{password.done}</Notice>}
        <TextField
          id="current_password"
          label={t("account.current")}
          type="password"
          autoComplete="current-password"
          required
          value={current}
          error={password.fields.current_password}
          onInput={(e) => setCurrent(e.currentTarget.value)}
        />
        <TextField
          id="new_password"
          label={t("reset.field")}
          type="password"
          autoComplete="new-password"
          hint={t("field.passwordHint")}
          required
          value={next}
          error={password.fields.new_password}
          onInput={(e) => setNext(e.currentTarget.value)}
        />
        <button class="btn block" type="submit" disabled={password.busy}>
          {password.busy ? t("profile.saving") : t("account.changePassword")}
        </button>
      </form>

      <form
        noValidate
        aria-labelledby="email-title"
        onSubmit={(e) => {
          e.preventDefault();
          const address = newEmail.trim();
          email.run(async () => {
            await account.changeEmail(session, { new_email: address, password: emailPassword });
            setEmailPassword("");
            return t("account.emailSent", { email: address });
          }, (e) => e.code === "email_taken" ? t("account.taken") : wrong(e));
        }}
      >
        <h3 id="email-title">{t("account.emailTitle")}</h3>
        {email.error && <Notice kind="error">{email.error}</Notice>}
        {email.done && <Notice kind="success">{email.done}</Notice>}
        <TextField
          id="new_email"
          label={t("account.newEmail")}
          type="email"
          inputMode="email"
          autoComplete="email"
          required
          value={newEmail}
          error={email.fields.new_email}
          onInput={(e) => setNewEmail(e.currentTarget.value)}
        />
        <TextField
          id="email_password"
          label={t("field.password")}
          type="password"
          autoComplete="current-password"
          required
          value={emailPassword}
          error={email.fields.password}
          onInput={(e) => setEmailPassword(e.currentTarget.value)}
        />
        <button class="btn block" type="submit" disabled={email.busy}>
          {email.busy ? t("forgot.busy") : t("account.changeEmail")}
        </button>
      </form>
    </section>
  );
}

/**
 * `/accept-invite#<token>`: a staff invitation. The first press tries the invited address's
 * account; when there is none yet the API says so and the page asks for a name and a password.
 */
export function AcceptInvite() {
  const [fullName, setFullName] = useState("");
  const [password, setPassword] = useState("");
  const [newAccount, setNewAccount] = useState(false);
  const token = linkToken();
  const form = useForm();
  return (
    <section class="narrow">
      <PageTitle>{t("invite.title")}</PageTitle>
      {form.error && <Notice kind="error">{form.error}</Notice>}
      {form.done
        ? (
          <Notice kind="success">
            {form.done} <a href="/staff">{t("invite.console")}</a>
          </Notice>
        )
        : token
        ? (
          <form
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              form.run(async () => {
                const done = await account.acceptInvitation(
                  newAccount ? { token, full_name: fullName.trim(), password } : { token },
                );
                forget();
                return t("invite.done", { clinic: done.clinic_code });
              }, (e) => {
                if (e.code === "account_details_required") {
                  setNewAccount(true);
                  return t("invite.newAccount");
                }
                return usedOrExpired(e) ? t("invite.expired") : null;
              });
            }}
          >
            <p>{t("invite.intro")}</p>
            {newAccount && (
              <>
                <TextField
                  id="full_name"
                  label={t("field.fullName")}
                  autoComplete="name"
                  required
                  value={fullName}
                  error={form.fields.full_name}
                  onInput={(e) => setFullName(e.currentTarget.value)}
                />
                <TextField
                  id="password"
                  label={t("field.password")}
                  type="password"
                  autoComplete="new-password"
                  hint={t("field.passwordHint")}
                  required
                  value={password}
                  error={form.fields.password}
                  onInput={(e) => setPassword(e.currentTarget.value)}
                />
              </>
            )}
            <button class="btn block" type="submit" disabled={form.busy}>
              {form.busy ? t("invite.busy") : t("invite.submit")}
            </button>
          </form>
        )
        : <p>{t("invite.noToken")}</p>}
    </section>
  );
}
