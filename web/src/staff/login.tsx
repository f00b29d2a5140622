/** @jsxImportSource preact */
/** The console's sign-in: staff only (a patient account is signed out again and sent to /). */
import { useState } from "preact/hooks";
import { ApiError, messageOf } from "../lib/api.ts";
import { notSignedIn } from "../lib/session.ts";
import { Notice, PageTitle, TextField } from "../lib/ui.tsx";
import { isStaff } from "./state.ts";
import { session } from "./store.ts";
import { t } from "./messages.ts";

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await session.login(email.trim(), password, code.trim().toUpperCase() || undefined);
      if (!isStaff(s.user)) {
        await session.logout();
        setError(t("login.notStaff"));
      }
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? notSignedIn() : messageOf(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="login">
      <PageTitle suffix={t("suffix")}>{t("login.title")}</PageTitle>
      {error && <Notice kind="error">{error}</Notice>}
      <form onSubmit={submit}>
        <TextField
          id="email"
          label={t("login.email")}
          type="email"
          autoComplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <TextField
          id="password"
          label={t("login.password")}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <TextField
          id="clinic"
          label={t("login.clinic")}
          autoCapitalize="characters"
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        <button class="btn block" type="submit" disabled={busy}>
          {busy ? t("login.busy") : t("login.submit")}
        </button>
      </form>
    </main>
  );
}
