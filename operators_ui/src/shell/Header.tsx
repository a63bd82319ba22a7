// The header: the screens this user may open, their presence, language and sign-out.
import type { Presence } from "../api/types";
import { t } from "../i18n";
import { isAdmin, readsCrm, setStatus, signOut, supervisesAny } from "../state/session";
import { S, type View } from "../state/store";
import { fail, setView } from "../state/ui";
import { LangSwitch } from "../ui/LangSwitch";

const PRESENCES: Presence[] = ["online", "away", "offline"];

export function Header() {
  const views: [View, string, boolean][] = [
    ["inbox", "nav.inbox", true],
    ["board", "nav.board", supervisesAny()],
    ["crm", "nav.crm", readsCrm()],
    ["answers", "nav.answers", true],
    ["users", "nav.users", isAdmin()],
    ["lines", "nav.lines", isAdmin()],
    ["channels", "nav.channels", isAdmin()],
  ];
  return (
    <header class="top">
      <strong class="brand">{t("app.title")}</strong>
      <nav>
        {views.filter((v) => v[2]).map(([v, key]) => (
          <button key={v} class={S.view === v ? "tab on" : "tab"} data-testid={`nav-${v}`} onClick={() => setView(v)}>{t(key)}</button>
        ))}
      </nav>
      <span class="grow" />
      <label class="inline">{t("status.label")}
        <select data-testid="status-switch" value={S.status} class={`status-${S.status}`}
          onChange={(e) => setStatus((e.target as HTMLSelectElement).value as Presence).catch(fail)}>
          {PRESENCES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
        </select>
      </label>
      <LangSwitch />
      <span class="me" data-testid="me">{S.me!.name}</span>
      <button data-testid="sign-out" onClick={() => signOut()}>{t("nav.signout")}</button>
    </header>
  );
}
