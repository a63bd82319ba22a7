// The header: the screens this user may open, their presence, language, offer alerts and
// sign-out. On a
// phone the screens become a row that scrolls in its own box, and the account (name,
// language, sign-out) folds into a menu.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Presence } from "../api/types";
import { t } from "../i18n";
import { isAdmin, readsCrm, setStatus, signOut, supervisesAny } from "../state/session";
import { S, type View } from "../state/store";
import { fail, setView } from "../state/ui";
import { askNotifications, notificationPermission, setSound, soundOn } from "../state/notice";
import { Icon } from "../ui/Icon";
import { LangSwitch } from "../ui/LangSwitch";

const PRESENCES: Presence[] = ["online", "away", "offline"];

export function Header() {
  const [menu, setMenu] = useState(false);
  const account = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!menu) return;
    // The menu closes on Escape (focus back on its button) and on a tap outside it.
    const onKey = (e: KeyboardEvent) => { if (e.key === "Escape") { setMenu(false); toggle.current?.focus(); } };
    const onTap = (e: Event) => {
      const inside = e.target instanceof Node && (account.current?.contains(e.target) || toggle.current?.contains(e.target));
      if (!inside) setMenu(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onTap);
    return () => { document.removeEventListener("keydown", onKey); document.removeEventListener("pointerdown", onTap); };
  }, [menu]);
  const views: [View, string, boolean][] = [
    ["inbox", "nav.inbox", true],
    ["board", "nav.board", supervisesAny()],
    ["crm", "nav.crm", readsCrm()],
    ["answers", "nav.answers", true],
    ["users", "nav.users", isAdmin()],
    ["lines", "nav.lines", isAdmin()],
    ["channels", "nav.channels", isAdmin()],
    ["forms", "nav.forms", isAdmin()],
    ["bots", "nav.bots", isAdmin()],
  ];
  return (
    <header class="top">
      <strong class="brand">{t("app.title")}</strong>
      <nav aria-label={t("nav.sections")}>
        {views.filter((v) => v[2]).map(([v, key]) => (
          <button key={v} class={S.view === v ? "tab on" : "tab"} data-testid={`nav-${v}`} aria-current={S.view === v ? "page" : undefined}
            onClick={() => setView(v)}>{t(key)}</button>
        ))}
      </nav>
      <span class="grow" />
      <label class="inline status">
        <span class="status-label">{t("status.label")}</span>
        <select data-testid="status-switch" value={S.status} class={`status-${S.status}`}
          onChange={(e) => setStatus((e.target as HTMLSelectElement).value as Presence).catch(fail)}>
          {PRESENCES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
        </select>
      </label>
      <button ref={toggle} class="menu-toggle" data-testid="menu" aria-expanded={menu} aria-controls="account-menu"
        aria-label={t("nav.menu")} title={t("nav.menu")} onClick={() => setMenu(!menu)}>
        <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true">
          <path d="M4 6h16M4 12h16M4 18h16" />
        </svg>
      </button>
      <div ref={account} id="account-menu" class={menu ? "account open" : "account"}>
        <LangSwitch />
        <NoticeSwitch />
        <span class="me" data-testid="me">{S.me!.name}</span>
        <button data-testid="sign-out" onClick={() => signOut()}>{t("nav.signout")}</button>
      </div>
    </header>
  );
}

/** The offer alerts: the ring's switch and, until the browser was asked, a button that asks
 * for notifications (browsers only ask on a click). Icons on a desktop, words in the menu. */
function NoticeSwitch() {
  const on = soundOn();
  return (
    <>
      <button role="switch" aria-checked={on} class="notice" data-testid="sound-switch" title={t("notice.sound")} onClick={() => setSound(!on)}>
        <Icon name={on ? "bell" : "bellOff"} /><span class="notice-label">{t("notice.sound")}</span>
      </button>
      {notificationPermission() === "default" && (
        <button class="notice" data-testid="notify-allow" title={t("notice.allow")} onClick={askNotifications}>
          <Icon name="bellPlus" /><span class="notice-label">{t("notice.allow")}</span>
        </button>
      )}
    </>
  );
}
