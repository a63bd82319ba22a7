// The sign-in form.
import { useState } from "preact/hooks";
import { t } from "../i18n";
import { signIn } from "../state/session";
import { LangSwitch } from "../ui/LangSwitch";

export function Login() {
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    try {
      await signIn(String(data.get("email")), String(data.get("password")));
    } catch {
      setError(t("login.failed"));
    }
  };
  return (
    <div class="login">
      <form onSubmit={submit} class="card">
        <h1>{t("login.title")}</h1>
        <label>{t("login.email")}<input name="email" type="email" required data-testid="login-email" autocomplete="username" /></label>
        <label>{t("login.password")}<input name="password" type="password" required data-testid="login-password" autocomplete="current-password" /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" data-testid="login-submit">{t("login.submit")}</button>
        <div class="row"><span>{t("nav.language")}</span><LangSwitch /></div>
      </form>
    </div>
  );
}
