// The sign-in form.
import { useState } from "preact/hooks";
import { errorText, fieldProblems } from "../api/http";
import { t } from "../i18n";
import { signIn } from "../state/session";
import { FieldError } from "../ui/FieldError";
import { LangSwitch } from "../ui/LangSwitch";

export function Login() {
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    setError(null);
    try {
      await signIn(String(data.get("email")), String(data.get("password")));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="login">
      <form onSubmit={submit} class="card">
        <h1>{t("login.title")}</h1>
        <label>{t("login.email")}<input name="email" type="email" required data-testid="login-email" autocomplete="username" /></label>
        <FieldError err={error} name="email" />
        <label>{t("login.password")}<input name="password" type="password" required data-testid="login-password" autocomplete="current-password" /></label>
        <FieldError err={error} name="password" />
        {error !== null && fieldProblems(error).length === 0 && <p class="error" role="alert" data-testid="login-error">{errorText(error)}</p>}
        <button type="submit" class="primary" data-testid="login-submit">{t("login.submit")}</button>
        <div class="row"><span>{t("nav.language")}</span><LangSwitch /></div>
      </form>
    </div>
  );
}
